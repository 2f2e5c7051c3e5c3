import Foundation
import TestClients
import Testing

/// The Procfile as a user runs it, through honcho.
@Suite(.serialized) struct HonchoTests {
    static let honcho: String? = {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/honcho"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    func honcho(_ arguments: [String], scratch: Scratch, port: Int, name: String) throws -> Child {
        let honcho = try #require(Self.honcho, "honcho is not installed (scripts/install-deps.sh installs it)")
        return try Child(
            honcho,
            ["-f", repositoryRoot + "/Procfile", "-d", repositoryRoot, "--no-colour"] + arguments,
            name: name,
            logDir: scratch.path,
            environment: [
                "BASTION_BIN": Binaries.directory, "BASTION_DATA_DIR": scratch.dataDir, "BASTION_PORT": "\(port)",
                "PYTHONUNBUFFERED": "1",
            ]
        )
    }

    @Test func procfileBringsUpEverythingAndScalesWorkers() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let all = try honcho(["start", "-c", "worker=2"], scratch: scratch, port: port, name: "honcho")
        defer { all.kill9() }
        #expect(
            await eventually(timeout: .seconds(20)) {
                let workers = await systemPeers(base, "workers")?.count
                let janitors = await systemPeers(base, "janitors")?.count
                return workers == 2 && janitors == 1
            },
            "honcho output:\n\(all.log)"
        )
        all.signal(SIGTERM)
        #expect(await all.waitForExit(timeout: .seconds(10)) != nil)
        #expect(await eventually(timeout: .seconds(5)) { access(scratch.socketPath, F_OK) != 0 })
        #expect(!all.log.contains("database is locked"))
    }

    @Test func oneProcessRestartsWhileTheOthersKeepRunning() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let core = try honcho(["start", "api", "janitor"], scratch: scratch, port: port, name: "honcho-core")
        defer { core.kill9() }
        var worker = try honcho(["start", "worker"], scratch: scratch, port: port, name: "honcho-worker")
        defer { worker.kill9() }
        #expect(await eventually(timeout: .seconds(20)) { await systemPeers(base, "workers")?.count == 1 })
        let firstPID = await systemPeers(base, "workers")?.first?["pid"] as? Int

        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(10)) != nil)
        #expect(await eventually { await systemPeers(base, "workers")?.count == 0 })
        #expect(await HTTP.tryGet(base + "/api/health")?.status == 200, "api went down with the worker")

        worker = try honcho(["start", "worker"], scratch: scratch, port: port, name: "honcho-worker2")
        #expect(await eventually(timeout: .seconds(20)) { await systemPeers(base, "workers")?.count == 1 })
        let secondPID = await systemPeers(base, "workers")?.first?["pid"] as? Int
        #expect(firstPID != nil && secondPID != nil && firstPID != secondPID)
        #expect(await systemPeers(base, "janitors")?.count == 1)
        worker.signal(SIGTERM)
        core.signal(SIGTERM)
        _ = await worker.waitForExit(timeout: .seconds(10))
        _ = await core.waitForExit(timeout: .seconds(10))
    }

    /// `honcho start -c worker=3`: each copy has its own id (its honcho process name), a stream of runs each runs once
    /// and succeeds, and a second worker started with a live id refuses to start (docs/architecture.md, "Workers").
    @Test func scaledWorkersNeverShareAnIdentity() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let all = try honcho(["start", "-c", "worker=3"], scratch: scratch, port: port, name: "honcho")
        defer { all.kill9() }
        #expect(
            await eventually(timeout: .seconds(30)) {
                Set((await systemPeers(base, "workers") ?? []).compactMap { $0["id"] as? String }) == ["worker.1", "worker.2", "worker.3"]
            },
            "honcho output:\n\(all.log)"
        )
        let source = scratch.path + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        for n in 0..<20 { FileManager.default.createFile(atPath: "\(source)/f\(n)", contents: Data(repeating: UInt8(n), count: 200_000)) }
        var runs: [String] = []
        for j in 0..<4 {
            let spec: [String: Any] = [
                "v": 1, "type": "filesystem", "source": ["paths": [source]], "target": ["type": "local_dir", "base_dir": scratch.path + "/target"],
            ]
            let created = try await HTTP.send("POST", base + "/api/jobs", json: ["name": "job-\(j)", "overlap_policy": "queue", "spec": spec])
            let job = try #require(created.json?["id"] as? String, "\(created)")
            for _ in 0..<3 {
                runs.append(try #require(try await HTTP.send("POST", base + "/api/jobs/\(job)/run").json?["run_id"] as? String))
            }
        }

        // A second worker with a live id: it exits non-zero and says why, and takes nothing.
        let twin = try Child(
            Binaries.path("bastion-worker"),
            ["--data-dir", scratch.dataDir, "--worker-id", "worker.2"],
            name: "twin",
            logDir: scratch.path
        )
        defer { twin.kill9() }
        let status = await twin.waitForExit(timeout: .seconds(10))
        #expect(status != nil && status != 0, "\(twin.log)")
        #expect(twin.log.contains("worker id worker.2 is in use by a live worker"), "\(twin.log)")

        func runStatus(_ run: String) async -> String? { try? await HTTP.get(base + "/api/runs/\(run)").json?["status"] as? String }
        #expect(
            await eventually(timeout: .seconds(120)) {
                for run in runs where !["success", "failed", "canceled"].contains(await runStatus(run) ?? "") { return false }
                return true
            },
            "\(all.log)"
        )
        var workers: Set<String> = []
        for run in runs {
            let details = try await HTTP.get(base + "/api/runs/\(run)").json ?? [:]
            let events = (try JSONSerialization.jsonObject(with: try await HTTP.get(base + "/api/runs/\(run)/events").body) as? [[String: Any]]) ?? []
            let starts = events.filter { $0["kind"] as? String == "start" }
            let requeued = events.filter { $0["kind"] as? String == "requeued" }
            #expect(details["status"] as? String == "success" && starts.count == 1 && requeued.isEmpty, "\(run): \(details) \(events)")
            if let worker = (starts.first?["fields"] as? [String: Any])?["worker_id"] as? String { workers.insert(worker) }
        }
        #expect(workers.isSubset(of: ["worker.1", "worker.2", "worker.3"]) && !workers.isEmpty, "\(workers)")
        all.signal(SIGTERM)
        _ = await all.waitForExit(timeout: .seconds(10))
    }
}
