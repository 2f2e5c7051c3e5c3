import Foundation
import GRDB
import TestClients
import Testing

/// Runs through real workers: exactly-once claims, a SIGKILLed worker, cancel, graceful shutdown, idle silence.
@Suite(.serialized) struct RunsLifecycleTests {
    static let fastLease = ["--lease-seconds", "2", "--heartbeat-seconds", "0.3"]

    func waitForTerminal(_ fixture: RunsFixture, _ ids: [String], timeout: Duration = .seconds(60)) async -> [String: String] {
        var statuses: [String: String] = [:]
        _ = await eventually(timeout: timeout) {
            for id in ids where statuses[id].map({ ["queued", "running"].contains($0) }) ?? true {
                statuses[id] = await fixture.status(id)
            }
            return statuses.values.allSatisfy { !["queued", "running"].contains($0) } && statuses.count == ids.count
        }
        return statuses
    }

    @Test func everyRunExecutesOnceAcrossWorkersEvenWhenOneIsKilled() async throws {
        let fixture = try await RunsFixture()
        // ~60 steps of 100 pages at 20 ms: each run takes over a second, so the kill lands mid-run.
        let source = try fixture.makeSourceDatabase(pages: 6000)
        let job = try await fixture.createJob(source: source)
        var workers: [Child] = []
        for index in 0..<3 {
            workers.append(try await fixture.startWorker("w\(index)", Self.fastLease + ["--sqlite-step-pause-ms", "20"]))
        }
        let janitor = try Child.bastion("bastion-janitor", dataDir: fixture.dataDir, logDir: fixture.scratch.path, ["--lease-seconds", "2"])
        fixture.children.append(janitor)
        var runs: [String] = []
        for _ in 0..<9 { runs.append(try await fixture.enqueue(job).id) }

        // Kill whichever worker runs the first run, mid-run.
        var victimRun: String?
        var victimWorker: String?
        #expect(
            await eventually(timeout: .seconds(20)) {
                for id in runs {
                    let run = (try? await fixture.run(id)) ?? [:]
                    if run["status"] as? String == "running", let worker = run["worker_id"] as? String {
                        victimRun = id
                        victimWorker = worker
                        return true
                    }
                }
                return false
            }
        )
        let victim = try #require(workers.first { $0.log.contains("worker.id=\(victimWorker ?? "?")") })
        victim.signal(SIGKILL)
        _ = await victim.waitForExit(timeout: .seconds(5))

        let statuses = await waitForTerminal(fixture, runs, timeout: .seconds(90))
        #expect(statuses[victimRun ?? ""] == "failed")
        #expect(try await fixture.run(victimRun ?? "")["error"] as? String == "worker_lost")
        for id in runs where id != victimRun {
            #expect(statuses[id] == "success", "run \(id): \(statuses[id] ?? "?")")
        }
        // Exactly once: one `start` per run, one terminal event per run, never two.
        for id in runs {
            let kinds = try await fixture.events(id).compactMap { $0["kind"] as? String }
            #expect(kinds.filter { $0 == "start" }.count == 1, "run \(id): \(kinds)")
            #expect(kinds.filter { ["complete", "failed", "canceled"].contains($0) }.count == 1, "run \(id): \(kinds)")
        }
        let claimedBy = Set(try await runs.asyncMap { try await fixture.run($0)["worker_id"] as? String })
        #expect(claimedBy.count >= 2, "work was spread over workers: \(claimedBy)")
    }

    /// A run whose execution kills its worker is taken back by the restarted worker, but not forever: the third death
    /// fails it as `poison_run` (docs/architecture.md, "Poison runs"). Each death is a `crashed` event; one from a fatal
    /// signal names the signal.
    @Test func aRunThatKeepsKillingItsWorkerFailsAsPoison() async throws {
        let fixture = try await RunsFixture()
        // ~30 steps of 100 pages at 300 ms: long enough to be killed mid-run each time.
        let source = try fixture.makeSourceDatabase(pages: 3000)
        let job = try await fixture.createJob(source: source)
        let arguments = ["--sqlite-step-pause-ms", "300"]
        var worker = try await fixture.startWorker("w0", arguments)
        let run = try await fixture.enqueue(job).id
        for death in 1...3 {
            let started = await eventually(timeout: .seconds(30)) {
                let kinds = ((try? await fixture.events(run)) ?? []).compactMap { $0["kind"] as? String }
                let status = await fixture.status(run)
                return kinds.filter { $0 == "start" }.count == death && status == "running"
            }
            let log = try await fixture.events(run).compactMap { $0["message"] as? String }
            #expect(started, "start \(death): \(log)")
            // The first death is a fatal signal (it leaves a note), the others a SIGKILL.
            // (The runtime's own crash handler, called after the note, may take its time: SIGKILL then.)
            worker.signal(death == 1 ? SIGSEGV : SIGKILL)
            if await worker.waitForExit(timeout: .seconds(10)) == nil { worker.signal(SIGKILL) }
            #expect(await worker.waitForExit(timeout: .seconds(10)) != nil)
            worker = try await fixture.startWorker("w0", arguments)
        }
        _ = await eventually(timeout: .seconds(30)) { await fixture.status(run) == "failed" }
        let finished = try await fixture.run(run)
        #expect(finished["status"] as? String == "failed" && finished["error"] as? String == "poison_run", "\(finished)")
        let events = try await fixture.events(run)
        let kinds = events.compactMap { $0["kind"] as? String }
        #expect(kinds.filter { $0 == "crashed" }.count == 3 && kinds.filter { $0 == "requeued" }.count == 2, "\(kinds)")
        #expect(kinds.filter { $0 == "start" }.count == 3 && kinds.last == "failed", "\(kinds)")
        let firstCrash = events.first { $0["kind"] as? String == "crashed" }?["message"] as? String ?? ""
        #expect(firstCrash.contains("SIGSEGV"), "\(firstCrash)")
        // Not taken again: the worker stays idle.
        try await Task.sleep(for: .seconds(1))
        #expect(try await fixture.events(run).compactMap { $0["kind"] as? String }.filter { $0 == "start" }.count == 3)
    }

    @Test func cancelQueuedRunningTwiceAndFinished() async throws {
        let fixture = try await RunsFixture()
        let slow = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 5000), name: "slow")
        let tiny = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 1, name: "tiny.db"), name: "tiny")

        // Queued → canceled at once, without any worker.
        let queued = try await fixture.enqueue(slow).id
        let first = try await HTTP.send("POST", fixture.base + "/api/runs/\(queued)/cancel", json: ["reason": "changed my mind"])
        #expect(first.status == 200)
        #expect(first.json?["status"] as? String == "canceled")
        #expect(first.json?["cancel_reason"] as? String == "changed my mind")
        let eventCount = try await fixture.events(queued).count
        let twice = try await HTTP.send("POST", fixture.base + "/api/runs/\(queued)/cancel")
        #expect(twice.json?["status"] as? String == "canceled")
        #expect(twice.json?["cancel_reason"] as? String == "changed my mind")
        #expect(try await fixture.events(queued).count == eventCount, "a repeated cancel appended events")

        // Running → cancel requested → the worker stops within about a second and writes `canceled`.
        try await fixture.startWorker("w1", Self.fastLease + ["--sqlite-step-pause-ms", "50"])
        let running = try await fixture.enqueue(slow).id
        #expect(await eventually { await fixture.status(running) == "running" })
        // Progress is written while the copy runs, not only at its end.
        #expect(
            await eventually(timeout: .seconds(10)) {
                guard let progress = try? await fixture.run(running)["progress"] as? [String: Any],
                    let done = (progress["done"] as? [String: Any])?["pages"] as? Int,
                    let total = (progress["total"] as? [String: Any])?["pages"] as? Int
                else { return false }
                return progress["stage"] as? String == "snapshot" && done > 0 && done < total
            }
        )
        let requested = try await HTTP.send("POST", fixture.base + "/api/runs/\(running)/cancel")
        #expect(requested.json?["status"] as? String == "running")
        #expect(requested.json?["cancel_requested_at"] as? Int != nil)
        #expect(requested.json?["cancel_reason"] as? String == "manual")
        #expect(await eventually(timeout: .seconds(5)) { await fixture.status(running) == "canceled" })
        let kinds = try await fixture.events(running).compactMap { $0["kind"] as? String }
        #expect(kinds.contains("cancel_requested") && kinds.last == "canceled", "\(kinds)")
        let runDir = try #require(try await fixture.run(running)["job_id"] as? String).map { "\(fixture.targetDir)/\($0)/\(running)" }
        #expect(!FileManager.default.fileExists(atPath: "\(runDir)/manifest.json"))

        // Finished → unchanged.
        let done = try await fixture.enqueue(tiny).id
        #expect(await eventually(timeout: .seconds(10)) { await fixture.status(done) == "success" })
        let finished = try await HTTP.send("POST", fixture.base + "/api/runs/\(done)/cancel")
        #expect(finished.status == 200)
        #expect(finished.json?["status"] as? String == "success")
        #expect(finished.json?["cancel_requested_at"] is NSNull)

        // The sqlite backup on disk is an archive_v1 snapshot of a real database with the source's rows.
        let summary = try #require(try await fixture.run(done)["summary"] as? [String: Any])
        let dir = try #require((summary["target"] as? [String: Any])?["run_dir"] as? String)
        #expect(summary["artifact_format"] as? String == "archive_v1")
        let out = fixture.scratch.path + "/extracted"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        #expect(try Shell.run("cat '\(dir)'/payload.part* | zstd -d | tar -x -C '\(out)'").status == 0)
        #expect(try Shell.run("cat '\(dir)'/payload.part* | zstd -d | tar -t").output == "tiny.db\n")
        let copy = try DatabaseQueue(
            path: out + "/tiny.db",
            configuration: {
                var c = Configuration()
                c.readonly = true
                return c
            }()
        )
        #expect(try await copy.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") } == 1)
        #expect(FileManager.default.fileExists(atPath: dir + "/manifest.json") && FileManager.default.fileExists(atPath: dir + "/complete.json"))
    }

    @Test func gracefulShutdownHandsTheRunBack() async throws {
        let fixture = try await RunsFixture()
        let job = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 5000))
        let worker = try await fixture.startWorker("w1", ["--sqlite-step-pause-ms", "50"])
        let run = try await fixture.enqueue(job).id
        #expect(await eventually { await fixture.status(run) == "running" })
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(5)) == 0, "\(worker.log)")
        #expect(await fixture.status(run) == "queued")
        #expect(try await fixture.events(run).compactMap { $0["kind"] as? String }.contains("requeued"))
        // The next worker picks it up and finishes it.
        try await fixture.startWorker("w2", ["--sqlite-step-pause-ms", "0"])
        #expect(await eventually(timeout: .seconds(20)) { await fixture.status(run) == "success" })
    }

    @Test func aWorkerMidRunSurvivesTheAPIDying() async throws {
        let fixture = try await RunsFixture()
        let job = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 6000))
        // Progress goes over the bus every 250 ms: the API dies while the worker is writing to it.
        let worker = try await fixture.startWorker("w1", ["--sqlite-step-pause-ms", "30"])
        let run = try await fixture.enqueue(job).id
        #expect(await eventually { await fixture.status(run) == "running" })
        try await Task.sleep(for: .milliseconds(300))
        fixture.api.kill9()
        try await Task.sleep(for: .seconds(1))
        #expect(worker.isRunning, "worker died with the API:\n\(worker.log)")
        try fixture.startAPI()
        #expect(await eventually(timeout: .seconds(20)) { await fixture.status(run) == "success" })
        #expect(worker.isRunning)
    }

    @Test func idleProcessesRunNoQueries() async throws {
        let fixture = try await RunsFixture(apiArgs: ["--log-level", "trace"])
        let worker = try await fixture.startWorker("w1", ["--log-level", "trace", "--safety-poll-seconds", "3600"])
        let job = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 1))
        let run = try await fixture.enqueue(job).id
        #expect(await eventually(timeout: .seconds(10)) { await fixture.status(run) == "success" })
        // An open event stream on a finished run with a long close delay is idle too.
        let ws = try await fixture.webSocket(fixture.wsPath(run))
        _ = try await ws.collectSeqs(until: 1)
        try await Task.sleep(for: .seconds(1))
        let apiBefore = fixture.api.count("sql=")
        let workerBefore = worker.count("sql=")
        #expect(workerBefore > 0, "trace logging shows the worker's statements")
        try await Task.sleep(for: .seconds(3))
        #expect(worker.count("sql=") == workerBefore, "worker queried while idle")
        #expect(fixture.api.count("sql=") == apiBefore, "api queried while idle")
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
