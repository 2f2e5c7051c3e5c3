import Foundation
import GRDB
import TestClients
import Testing

/// Runs on agents through the real binaries (docs/agents.md, "Runs on agents"): the hub's API and worker, and agents
/// with data directories and targets of their own.
@Suite(.serialized) struct AgentRunTests {
    let links = AgentLinkTests()

    func agentId(_ fixture: RunsFixture, _ name: String) async throws -> String {
        try #require(await links.agents(fixture)[name]?["id"] as? String)
    }

    func createJob(_ fixture: RunsFixture, name: String, agent: String, spec: [String: Any]) async throws -> String {
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": name, "agent_id": agent, "spec": spec])
        return try #require(created.json?["id"] as? String, "\(created.status) \(String(decoding: created.body, as: UTF8.self))")
    }

    func filesystemSpec(_ source: String, _ target: String) -> [String: Any] {
        ["v": 1, "type": "filesystem", "source": ["paths": [source]], "target": ["type": "local_dir", "base_dir": target]]
    }

    /// Every event of the run read over a browser-like WebSocket until its terminal event.
    func follow(_ fixture: RunsFixture, _ run: String) async throws -> [Int] {
        let socket = try await fixture.webSocket(fixture.wsPath(run))
        defer { socket.shutdown() }
        var seqs: [Int] = []
        while let event = try await socket.nextEvent(timeout: 60) {
            seqs.append(event["seq"] as? Int ?? -1)
            if ["complete", "failed", "canceled"].contains(event["kind"] as? String ?? "") { break }
        }
        return seqs
    }

    /// Agent a1, whose SQLite copies are slowed down (150 ms per 100 pages) so a test can act mid-run.
    func startSlowAgent(_ fixture: RunsFixture, hub: String, token: String, pauseMs: Int = 150) throws -> Child {
        // The token from a file (docs/agents.md, "Enrolment"): never on the command line.
        let tokenFile = fixture.scratch.path + "/enroll-token-a1"
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: tokenFile))
        let agent = try Child(
            Binaries.path("bastion-agent"),
            [
                "--hub-url", hub, "--data-dir", fixture.scratch.path + "/agent-a1", "--heartbeat-seconds", "1", "--name", "a1",
                "--enroll-token-file", tokenFile, "--sqlite-step-pause-ms", "\(pauseMs)",
            ],
            name: "agent-a1",
            logDir: fixture.scratch.path
        )
        fixture.children.append(agent)
        return agent
    }

    /// An SQLite job on a1 (about 2,000 pages) and its run, once the copy is under way.
    func startCopyOnA1(_ fixture: RunsFixture) async throws -> (job: String, run: String) {
        let spec: [String: Any] = [
            "v": 1, "type": "sqlite", "source": ["path": try fixture.makeSourceDatabase(pages: 2000)],
            "target": ["type": "local_dir", "base_dir": fixture.scratch.path + "/target-a1"],
        ]
        let job = try await createJob(fixture, name: "db", agent: try await agentId(fixture, "a1"), spec: spec)
        let run = try await fixture.enqueue(job).id
        #expect(await eventually { (try? await fixture.events(run))?.contains { $0["kind"] as? String == "snapshot" } == true })
        return (job, run)
    }

    @Test func twoAgentsEachRunTheirJobThroughTheSamePathAsWorkers() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let token = try await links.token(fixture)
        _ = try links.startAgent(fixture, "a1", token: token)
        _ = try links.startAgent(fixture, "a2", token: token)
        let both = await eventually { await links.bothConnected(fixture) }
        #expect(both)
        var runs: [(name: String, agent: String, job: String, run: String, target: String)] = []
        for name in ["a1", "a2"] {
            let source = fixture.scratch.path + "/source-\(name)"
            try FileManager.default.createDirectory(atPath: source + "/docs", withIntermediateDirectories: true)
            for index in 0..<20 { try Data("\(name) file \(index)\n".utf8).write(to: URL(fileURLWithPath: "\(source)/docs/\(index).txt")) }
            let target = fixture.scratch.path + "/target-\(name)"
            let agent = try await agentId(fixture, name)
            var spec = filesystemSpec(source, target)
            // a1 encrypts: the hub hands it the recipient only.
            if name == "a1" { spec["pipeline"] = ["encryption": ["type": "age_x25519", "key_name": "agent-key"]] }
            let job = try await createJob(fixture, name: "job-\(name)", agent: agent, spec: spec)
            runs.append((name, agent, job, try await fixture.enqueue(job).id, target))
        }
        for entry in runs {
            let seen = try await follow(fixture, entry.run)
            let run = try await fixture.run(entry.run)
            #expect(run["status"] as? String == "success", "\(run)")
            #expect(run["worker_id"] as? String == "agent:\(entry.agent)" && run["node_id"] as? String == entry.agent, "\(run)")
            let events = try await fixture.events(entry.run)
            let seqs = events.compactMap { $0["seq"] as? Int }
            #expect(seqs == Array(1...seqs.count), "dense: \(seqs)")
            #expect(seen == seqs, "the WebSocket saw every event once, in order: \(seen) vs \(seqs)")
            #expect(events.filter { $0["kind"] as? String == "start" }.count == 1)
            #expect(FileManager.default.fileExists(atPath: "\(entry.target)/\(entry.job)/\(entry.run)/complete.json"), "on its own agent's target")
        }
        // a1's snapshot is age-encrypted; its verify and restore run on a1 (which gets the identity for that task only).
        let encrypted = runs[0]
        let part = try Data(contentsOf: URL(fileURLWithPath: "\(encrypted.target)/\(encrypted.job)/\(encrypted.run)/payload.part000001"))
        #expect(String(decoding: part.prefix(21), as: UTF8.self) == "age-encryption.org/v1")
        let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(encrypted.run)/verify").json?["run_id"] as? String)
        let verified = await eventually(timeout: .seconds(60)) { await fixture.status(verify) == "success" }
        let verifyLog = try await fixture.events(verify).compactMap { $0["message"] as? String }
        #expect(verified, "\(verifyLog)")
        #expect(try await fixture.run(verify)["node_id"] as? String == encrypted.agent)
        let destination = fixture.scratch.path + "/restored-a1"
        let restore = try #require(
            try await HTTP.send(
                "POST",
                fixture.base + "/api/runs/\(encrypted.run)/restore",
                json: ["destination": ["type": "local_fs", "directory": destination]]
            ).json?["run_id"] as? String
        )
        let restored = await eventually(timeout: .seconds(60)) { await fixture.status(restore) == "success" }
        let restoreLog = try await fixture.events(restore).compactMap { $0["message"] as? String }
        #expect(restored, "\(restoreLog)")
        let restoredFile = destination + fixture.scratch.path + "/source-a1/docs/7.txt"
        #expect((try? String(contentsOfFile: restoredFile, encoding: .utf8)) == "a1 file 7\n")
        let browse = try await HTTP.get(fixture.base + "/api/runs/\(encrypted.run)/entries")
        #expect(browse.status == 409 && browse.json?["error"] as? String == "snapshot_on_agent")

        // Nothing of one agent's job on the other's target; the hub's worker ran neither.
        #expect(!FileManager.default.fileExists(atPath: "\(runs[1].target)/\(runs[0].job)"))
        #expect(!FileManager.default.fileExists(atPath: "\(runs[0].target)/\(runs[1].job)"))
        // w0 was there all along, idle and able to claim: it took neither run (both carry their agent's worker_id, checked
        // above), and no run at all names it.
        #expect(await systemPeers(fixture.base, "workers")?.contains { $0["id"] as? String == "w0" } == true)
        let claimedByWorker = try await fixture.readDatabase { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs WHERE worker_id = 'w0'") }
        #expect(claimedByWorker == 0)
    }

    @Test func aCutLinkNeitherStopsNorDoublesARunAndCancelAndForgeryAreHandled() async throws {
        let fixture = try await RunsFixture()
        let relay = try TCPRelay(targetPort: fixture.port).start()
        defer { relay.stop() }
        let token = try await links.token(fixture)
        // a1 reaches the hub through the relay; its SQLite copies take ~2 s.
        let a1 = try startSlowAgent(fixture, hub: "http://127.0.0.1:\(relay.port)", token: token, pauseMs: 100)
        let a2 = try links.startAgent(fixture, "a2", token: token)
        let both = await eventually { await links.bothConnected(fixture) }
        #expect(both, "\(a1.log)\n\(a2.log)")
        let a1Id = try await agentId(fixture, "a1")
        let database = try fixture.makeSourceDatabase(pages: 2000)
        let spec: [String: Any] = [
            "v": 1, "type": "sqlite", "source": ["path": database], "target": ["type": "local_dir", "base_dir": fixture.scratch.path + "/target-a1"],
        ]
        let job = try await createJob(fixture, name: "db", agent: a1Id, spec: spec)
        let run = try await fixture.enqueue(job).id
        #expect(await eventually { (try? await fixture.events(run))?.contains { $0["kind"] as? String == "snapshot" } == true })

        // Another agent holding the run's claim token still cannot write to it.
        let claimToken = try await fixture.readDatabase { db in
            try String.fetchOne(db, sql: "SELECT claim_token FROM runs WHERE id = ?", arguments: [run])
        }
        let a2Key =
            try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture.scratch.path + "/agent-a2/agent.json")))
                    as? [String: Any]
            )["agent_key"] as? String
        let forger = try await RawWebSocket.connect(
            port: fixture.port,
            path: "/agent/ws",
            headers: ["Authorization": "Bearer \(try #require(a2Key))"]
        )
        let forged: [String: Any] = [
            "v": 1, "type": "run_event", "run_id": run, "claim_token": claimToken ?? "", "aseq": 999, "level": "info", "kind": "forged",
            "message": "x",
        ]
        try await forger.send(String(decoding: try JSONSerialization.data(withJSONObject: forged), as: UTF8.self))
        let forgedResult: [String: Any] = [
            "v": 1, "type": "task_result", "task_id": run, "run_id": run, "claim_token": claimToken ?? "", "status": "failed",
        ]
        try await forger.send(String(decoding: try JSONSerialization.data(withJSONObject: forgedResult), as: UTF8.self))
        let forgedProgress: [String: Any] = [
            "v": 1, "type": "progress", "run_id": run, "claim_token": claimToken ?? "",
            "progress": ["v": 1, "kind": "backup", "stage": "forged", "ts": 0, "done": [:]],
        ]
        try await forger.send(String(decoding: try JSONSerialization.data(withJSONObject: forgedProgress), as: UTF8.self))
        try await Task.sleep(for: .milliseconds(500))
        forger.shutdown()
        #expect(fixture.api.log.contains("Agent event refused") && fixture.api.log.contains("Agent result refused"))
        #expect(fixture.api.log.contains("Agent progress refused"))
        #expect((try await fixture.run(run)["progress"] as? [String: Any])?["stage"] as? String != "forged")

        // The link is cut for 3 s mid-copy: the run goes on, and completes once.
        let acceptedBefore = relay.accepted
        relay.cut()
        try await Task.sleep(for: .seconds(3))
        relay.restore()
        #expect(await eventually(timeout: .seconds(60)) { await fixture.status(run) == "success" }, "\(a1.log)")
        #expect(relay.accepted > acceptedBefore, "a1 reconnected")
        let events = try await fixture.events(run)
        let seqs = events.compactMap { $0["seq"] as? Int }
        #expect(seqs == Array(1...seqs.count), "dense: \(seqs)")
        for kind in ["start", "snapshot", "packaging", "upload", "complete"] {
            #expect(events.filter { $0["kind"] as? String == kind }.count == 1, "\(kind) once: \(events.compactMap { $0["kind"] as? String })")
        }
        #expect(!events.contains { $0["kind"] as? String == "forged" })
        #expect(a1.log.contains("Reconnecting"))
        // The copy ran once through the cut (nothing started again, so no part was written twice).
        #expect(a1.log.components(separatedBy: "run.id=\(run) [bastion_agent] Run started").count == 2, "\(a1.log)")

        // Cancel while connected: the agent stops the copy.
        let second = try await fixture.enqueue(job).id
        #expect(await eventually { (try? await fixture.events(second))?.contains { $0["kind"] as? String == "snapshot" } == true })
        _ = try await HTTP.send("POST", fixture.base + "/api/runs/\(second)/cancel")
        #expect(await eventually(timeout: .seconds(15)) { await fixture.status(second) == "canceled" }, "\(a1.log)")

        // Cancel while the link is down: told on reconnect.
        let third = try await fixture.enqueue(job).id
        #expect(await eventually { (try? await fixture.events(third))?.contains { $0["kind"] as? String == "snapshot" } == true })
        relay.cut()
        _ = try await HTTP.send("POST", fixture.base + "/api/runs/\(third)/cancel")
        try await Task.sleep(for: .seconds(1))
        relay.restore()
        #expect(await eventually(timeout: .seconds(40)) { await fixture.status(third) == "canceled" }, "\(a1.log)")
    }

    @Test func anAgentSilentPastItsLeaseLosesItsRunAndIsToldWhenItWakes() async throws {
        let fixture = try await RunsFixture()
        let janitor = try Child.bastion(
            "bastion-janitor",
            dataDir: fixture.dataDir,
            logDir: fixture.scratch.path,
            ["--agent-lease-seconds", "4", "--safety-poll-seconds", "1"]
        )
        fixture.children.append(janitor)
        let token = try await links.token(fixture)
        let a1 = try startSlowAgent(fixture, hub: fixture.base, token: token)
        #expect(await eventually { await links.connected(fixture, "a1") })
        let (_, run) = try await startCopyOnA1(fixture)
        a1.signal(SIGSTOP)
        #expect(await eventually(timeout: .seconds(20)) { await fixture.status(run) == "failed" })
        #expect(try await fixture.run(run)["error"] as? String == "agent_lost")
        a1.signal(SIGCONT)
        // Awake, the agent reconnects and is told the run is no longer its own; the run stays as the janitor left it.
        #expect(await eventually(timeout: .seconds(30)) { a1.log.contains("Task revoked by the hub") }, "\(a1.log)")
        try await Task.sleep(for: .seconds(3))
        let kinds = try await fixture.events(run).compactMap { $0["kind"] as? String }
        #expect(try await fixture.run(run)["status"] as? String == "failed")
        #expect(kinds.filter { ["complete", "failed", "canceled"].contains($0) } == ["failed"], "\(kinds)")
    }

    @Test func theHubKilledMidRunStoresTheResultExactlyOnceAfterTheAgentReconnects() async throws {
        let fixture = try await RunsFixture()
        let token = try await links.token(fixture)
        let a1 = try startSlowAgent(fixture, hub: fixture.base, token: token)
        #expect(await eventually { await links.connected(fixture, "a1") })
        let (job, run) = try await startCopyOnA1(fixture)
        // SIGKILL: no graceful close, no last write; the agent keeps copying and queues what it cannot send.
        fixture.api.kill9()
        _ = await fixture.api.waitForExit(timeout: .seconds(10))
        try await Task.sleep(for: .seconds(2))
        try fixture.startAPI()
        #expect(await eventually(timeout: .seconds(20)) { await HTTP.tryGet(fixture.base + "/api/ready")?.status == 200 })
        try await fixture.signIn()
        #expect(await eventually(timeout: .seconds(60)) { await fixture.status(run) == "success" }, "\(a1.log)")
        let events = try await fixture.events(run)
        let seqs = events.compactMap { $0["seq"] as? Int }
        #expect(seqs == Array(1...seqs.count), "dense: \(seqs)")
        for kind in ["start", "snapshot", "packaging", "upload", "complete"] {
            #expect(events.filter { $0["kind"] as? String == kind }.count == 1, "\(kind) once: \(events.compactMap { $0["kind"] as? String })")
        }
        #expect(a1.log.contains("Task delivered again: acked, not run twice"), "the task resent after hello was not run again\n\(fixture.api.log)")
        let snapshots =
            try JSONSerialization.jsonObject(with: try await HTTP.get(fixture.base + "/api/jobs/\(job)/snapshots").body) as? [[String: Any]]
        #expect(snapshots?.count == 1, "one snapshot recorded: \(snapshots ?? [])")
    }
}
