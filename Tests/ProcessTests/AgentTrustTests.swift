import Core
import Foundation
import GRDB
import Store
import TestClients
import Testing

/// Agents are untrusted (docs/security.md, "Agents"): fake agents speak raw WebSocket to the real bastion-api and try
/// what a hostile or broken agent could: out-of-range numbers and unknown messages, a snapshot location of their own
/// choosing, a link that raced its revoke, a lost `rotate_key_ack`, a flood.
@Suite(.serialized) struct AgentTrustTests {
    /// A fake agent: enrolled through the API, its id and key.
    struct Enrolled {
        var id: String
        var key: String
    }

    func enrol(_ fixture: RunsFixture, _ name: String) async throws -> Enrolled {
        let created = try await HTTP.send("POST", fixture.base + "/api/agents/enrollment-tokens", json: [String: Any]())
        let token = try #require(created.json?["token"] as? String)
        let enrolled = try await HTTP.send("POST", fixture.base + "/agent/enroll", json: ["token": token, "name": name], anonymous: true)
        return Enrolled(
            id: try #require(enrolled.json?["agent_id"] as? String),
            key: try #require(enrolled.json?["agent_key"] as? String)
        )
    }

    func link(_ fixture: RunsFixture, _ key: String, hello: String? = #"{"v":1,"type":"hello","heartbeat_seconds":60}"#) async throws -> RawWebSocket
    {
        let socket = try await RawWebSocket.connect(port: fixture.port, path: "/agent/ws", headers: ["Authorization": "Bearer \(key)"])
        if let hello { try await socket.send(hello) }
        return socket
    }

    /// The next frame of `type` (others skipped); nil when the link closed or nothing came in time. `closed` gets the
    /// close code when the link closed.
    func next(_ socket: RawWebSocket, _ type: String, timeout: Double = 10, closed: ((UInt16?) -> Void)? = nil) async -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let frame = try? await socket.next(timeout: max(0.1, deadline.timeIntervalSinceNow)) else { return nil }
            switch frame {
            case .text(let text):
                guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { continue }
                if json["type"] as? String == type { return json }
            case .close(let code):
                closed?(code)
                return nil
            default: continue
            }
        }
        return nil
    }

    /// The close code the hub sends next (skipping other frames); nil when none came in time.
    func closeCode(_ socket: RawWebSocket, timeout: Double = 10) async -> UInt16? {
        var code: UInt16?
        _ = await next(socket, "never", timeout: timeout) { code = $0 }
        return code
    }

    func createJob(_ fixture: RunsFixture, agent: String, base: String) async throws -> String {
        let created = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: [
                "name": "fake-\(UUID().uuidString.prefix(6))", "agent_id": agent,
                "spec": ["v": 1, "type": "filesystem", "source": ["paths": ["/etc/hostname"]], "target": ["type": "local_dir", "base_dir": base]],
            ]
        )
        return try #require(created.json?["id"] as? String, "\(created.status) \(String(decoding: created.body, as: UTF8.self))")
    }

    /// A backup summary as an executor writes it, naming `target` as the snapshot's location.
    func summary(_ target: [String: Any]) -> [String: Any] {
        [
            "artifact_format": "archive_v1", "target": target, "entries_count": 1, "parts": 1,
            "metrics": ["source_total": ["files": 1, "dirs": 0, "bytes": 1], "transfer_total_bytes": 1],
            "filesystem": ["warnings_total": 0, "errors_total": 0], "warnings": 0,
        ]
    }

    func text(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// The task the hub hands the fake agent, acked.
    func takeTask(_ socket: RawWebSocket, run: String) async throws -> String {
        let task = try #require(await next(socket, "task", timeout: 15))
        #expect(task["task_id"] as? String == run)
        let token = try #require(task["claim_token"] as? String)
        try await socket.send(#"{"v":1,"type":"ack","task_id":"\#(run)"}"#)
        return token
    }

    func snapshotCount(_ fixture: RunsFixture, _ run: String) async throws -> Int {
        try await fixture.readDatabase { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run_artifacts WHERE run_id = ?", arguments: [run]) ?? 0
        }
    }

    func eventCount(_ fixture: RunsFixture, _ run: String, kind: String) async throws -> Int {
        try await fixture.readDatabase { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run_events WHERE run_id = ? AND kind = ?", arguments: [run, kind]) ?? 0
        }
    }

    // MARK: - Decoding

    /// `heartbeat_seconds: 1e19` once killed bastion-api (`Int64(Double)`); an unknown type or key was ignored. Each is
    /// now a protocol error: the link closes with 4400, the hub stays up.
    @Test func outOfRangeNumbersUnknownTypesAndKeysCloseTheLinkWith4400() async throws {
        let fixture = try await RunsFixture()
        let agent = try await enrol(fixture, "hostile")
        for frame in [
            #"{"v":1,"type":"hello","heartbeat_seconds":1e19}"#,
            #"{"v":1,"type":"hello","heartbeat_seconds":-1e300}"#,
            #"{"v":1,"type":"hello","heartbeat_seconds":15,"shell":"rm -rf /"}"#,
            #"{"v":1,"type":"take_over"}"#,
            #"{"v":2,"type":"ping"}"#,
            #"{"v":1,"type":"run_event","run_id":"r","claim_token":"t","aseq":1e300,"kind":"log","message":"x"}"#,
            #"{"v":1,"type":"rotate_key","agent_key":"AAAA"}"#,
        ] {
            let socket = try await link(fixture, agent.key, hello: nil)
            try await socket.send(frame)
            #expect(await closeCode(socket) == 4400, "\(frame)\n\(fixture.api.log.suffix(2000))")
            socket.shutdown()
        }
        #expect(await HTTP.tryGet(fixture.base + "/api/ready")?.status == 200, "\(fixture.api.log.suffix(2000))")
        // A well-formed hello still works afterwards.
        let socket = try await link(fixture, agent.key)
        #expect(await next(socket, "hello_ack") != nil)
        socket.shutdown()
    }

    // MARK: - The hub decides where a snapshot lives

    /// A fake agent answers `success` naming a directory on the hub as its snapshot (with job and run ids of its
    /// choosing): the result is refused (`agent_location_mismatch`), no snapshot is recorded. A result naming the
    /// location the hub recorded is accepted; deleting that snapshot leaves the agent's files alone and says so.
    @Test func aFakeAgentCannotChooseWhereItsSnapshotLivesAndTheJanitorNeverDeletesIt() async throws {
        let fixture = try await RunsFixture()
        let agent = try await enrol(fixture, "liar")
        let socket = try await link(fixture, agent.key)
        #expect(await next(socket, "hello_ack") != nil)
        let base = fixture.scratch.path + "/agent-target"
        let job = try await createJob(fixture, agent: agent.id, base: base)
        // What the hub holds dear: a directory the fake agent names as its snapshot.
        let precious = fixture.scratch.path + "/hub-data/precious"
        try FileManager.default.createDirectory(atPath: precious, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: precious + "/keep.txt", contents: Data("keep".utf8))

        let lie = try await fixture.enqueue(job).id
        var token = try await takeTask(socket, run: lie)
        let forged: [String: Any] = ["type": "local_dir", "base_dir": fixture.scratch.path, "job_id": "hub-data", "run_id": "precious"]
        try await socket.send(
            try text([
                "v": 1, "type": "task_result", "task_id": lie, "run_id": lie, "claim_token": token, "status": "success",
                "summary": summary(forged),
            ])
        )
        #expect(await next(socket, "result_ack") != nil)
        let refused = try await fixture.run(lie)
        #expect(refused["status"] as? String == "failed" && refused["error"] as? String == "agent_location_mismatch", "\(refused)")
        #expect(try await snapshotCount(fixture, lie) == 0)

        // A webdav location of the agent's choosing on the same job: refused too (no secret follows it anywhere).
        let webdav = try await fixture.enqueue(job).id
        token = try await takeTask(socket, run: webdav)
        try await socket.send(
            try text([
                "v": 1, "type": "task_result", "task_id": webdav, "run_id": webdav, "claim_token": token, "status": "success",
                "summary": summary([
                    "type": "webdav", "base_url": "http://127.0.0.1:9/steal", "secret_name": "nas", "job_id": job, "run_id": webdav,
                ]),
            ])
        )
        #expect(await next(socket, "result_ack") != nil)
        #expect(try await fixture.run(webdav)["error"] as? String == "agent_location_mismatch")

        // The truth: accepted, recorded where the hub said.
        let honest = try await fixture.enqueue(job).id
        token = try await takeTask(socket, run: honest)
        let runDir = "\(base)/\(job)/\(honest)"
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: runDir + "/part-000001.tar.zst", contents: Data("agent data".utf8))
        try await socket.send(
            try text([
                "v": 1, "type": "task_result", "task_id": honest, "run_id": honest, "claim_token": token, "status": "success",
                "summary": summary(["type": "local_dir", "base_dir": base, "job_id": job, "run_id": honest]),
            ])
        )
        #expect(await next(socket, "result_ack") != nil)
        #expect(try await fixture.run(honest)["status"] as? String == "success")

        // Deleting it: the janitor leaves the agent's files and says so.
        let janitor = try Child.bastion("bastion-janitor", dataDir: fixture.dataDir, logDir: fixture.scratch.path, [])
        fixture.children.append(janitor)
        let queued = try await HTTP.send("DELETE", fixture.base + "/api/runs/\(honest)/snapshot")
        #expect(queued.status == 200, "\(queued.status) \(String(decoding: queued.body, as: UTF8.self))")
        let left = await eventually(timeout: .seconds(20)) {
            (try? await fixture.events(honest))?.contains { $0["kind"] as? String == "snapshot_left_on_agent" } == true
        }
        #expect(left, "\(janitor.log.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: runDir + "/part-000001.tar.zst"), "the janitor deleted the agent's snapshot")
        #expect(FileManager.default.fileExists(atPath: precious + "/keep.txt"))
        socket.shutdown()
    }

    // MARK: - Revocation

    /// A revoke whose disconnect missed the link (it raced the registration; here: revoked in the database only): the
    /// agent gets no task and its next ping closes the link with 4401.
    @Test func aLinkThatRacedItsRevokeGetsNoTaskAndIsClosedAtItsNextPing() async throws {
        let fixture = try await RunsFixture()
        let agent = try await enrol(fixture, "raced")
        let socket = try await link(fixture, agent.key)
        #expect(await next(socket, "hello_ack") != nil)
        let job = try await createJob(fixture, agent: agent.id, base: fixture.scratch.path + "/t")
        let (database, client) = try #require(fixture.writer())
        defer { Task { await client.shutdown() } }
        _ = try await database.revokeAgent(id: agent.id)
        _ = try await fixture.enqueue(job)
        #expect(await next(socket, "task", timeout: 7) == nil, "a revoked agent was handed a task")
        try await socket.send(#"{"v":1,"type":"ping"}"#)
        #expect(await closeCode(socket) == 4401)
        socket.shutdown()
    }

    /// A revoked agent's link that is still open (its close not yet through, or the revoke written by another
    /// process): nothing it sends afterwards is stored or acted on. Before, 18,839 events landed in the 40 s after the
    /// revoke and a result sent after the close was applied.
    @Test func nothingARevokedAgentSendsIsActedOn() async throws {
        let fixture = try await RunsFixture()
        let agent = try await enrol(fixture, "revoked-mid-run")
        let socket = try await link(fixture, agent.key)
        #expect(await next(socket, "hello_ack") != nil)
        let job = try await createJob(fixture, agent: agent.id, base: fixture.scratch.path + "/t")
        let run = try await fixture.enqueue(job).id
        let token = try await takeTask(socket, run: run)
        let (database, client) = try #require(fixture.writer())
        defer { Task { await client.shutdown() } }
        // Revoked in the database only: the hub's socket stays open, as when the revoke raced this link.
        _ = try await database.revokeAgent(id: agent.id)
        try await socket.send(
            try text([
                "v": 1, "type": "run_event", "run_id": run, "claim_token": token, "aseq": 1, "kind": "log", "message": "after the revoke",
            ])
        )
        try await socket.send(
            try text([
                "v": 1, "type": "task_result", "task_id": run, "run_id": run, "claim_token": token, "status": "failed",
                "error_code": "agent_failed", "error": "after the revoke",
            ])
        )
        // Frames are handled in order: once the ping's 4401 is back, the two before it were handled too.
        try await socket.send(#"{"v":1,"type":"ping"}"#)
        #expect(await closeCode(socket) == 4401)
        let messages = try await fixture.events(run).compactMap { $0["message"] as? String }
        #expect(messages.contains("Run started") && !messages.contains("after the revoke"), "\(messages)")
        #expect(try await fixture.run(run)["status"] as? String == "running")
        socket.shutdown()
    }

    // MARK: - Enrolment

    /// A token made without `remaining_uses` enrols one agent, not any number.
    @Test func enrolmentTokensAreSingleUseByDefault() async throws {
        let fixture = try await RunsFixture()
        let created = try await HTTP.send("POST", fixture.base + "/api/agents/enrollment-tokens", json: [String: Any]())
        #expect(created.json?["remaining_uses"] as? Int == 1)
        let token = try #require(created.json?["token"] as? String)
        let first = try await HTTP.send("POST", fixture.base + "/agent/enroll", json: ["token": token, "name": "one"], anonymous: true)
        #expect(first.status == 200, "\(first.status)")
        let second = try await HTTP.send("POST", fixture.base + "/agent/enroll", json: ["token": token, "name": "two"], anonymous: true)
        #expect(second.status == 401, "a default token enrolled a second agent")
        // And the agent refuses a token on its command line (every local user reads /proc/*/cmdline).
        let child = try Child(
            Binaries.path("bastion-agent"),
            ["--hub-url", fixture.base, "--data-dir", fixture.scratch.path + "/argv", "--enroll-token=\(token)"],
            name: "agent-argv",
            logDir: fixture.scratch.path
        )
        fixture.children.append(child)
        #expect(await child.waitForExit(timeout: .seconds(10)) != nil, "\(child.log)")
        #expect(child.log.contains("enroll-token"))
    }

    // MARK: - Key rotation

    /// The fake agent stores the rotated key but its `rotate_key_ack` is lost: the rotation times out, and the new key
    /// still connects (it then replaces the old one, which stops working).
    @Test func aLostRotateAckNeverLocksTheAgentOut() async throws {
        let fixture = try await RunsFixture()
        let agent = try await enrol(fixture, "rotating")
        let socket = try await link(fixture, agent.key)
        #expect(await next(socket, "hello_ack") != nil)
        // The call waits 10 s for an ack that never comes (504 rotate_timeout); the client gives up sooner.
        let base = fixture.base
        Task { _ = try? await HTTP.send("POST", base + "/api/agents/\(agent.id)/rotate-key") }
        let message = try #require(await next(socket, "rotate_key", timeout: 10))
        let newKey = try #require(message["agent_key"] as? String)
        // No ack: lost on the way. The hub closes the link when it gives up waiting, so the agent reconnects.
        #expect(await closeCode(socket, timeout: 20) == 4410)
        socket.shutdown()
        let renewed = try await link(fixture, newKey)
        #expect(await next(renewed, "hello_ack") != nil, "the agent holding the new key is locked out")
        renewed.shutdown()
        await #expect(throws: RawWebSocket.Refused.self) { _ = try await link(fixture, agent.key, hello: nil) }
    }

    // MARK: - Limits

    /// One agent floods run_events; the hub stores them at the configured rate (never above burst + rate × time),
    /// loses none of them, keeps at most the per-run budget with one warning, and another agent's event is acked
    /// meanwhile. An event over the size limit closes the link with 4400.
    @Test func aFloodingAgentIsPacedAndOnlyHurtsItself() async throws {
        let fixture = try await RunsFixture(apiArgs: ["--agent-events-per-second", "100", "--agent-events-per-run", "500"])
        let flooder = try await enrol(fixture, "flooder")
        let steady = try await enrol(fixture, "steady")
        let floodLink = try await link(fixture, flooder.key)
        let steadyLink = try await link(fixture, steady.key)
        #expect(await next(floodLink, "hello_ack") != nil)
        #expect(await next(steadyLink, "hello_ack") != nil)
        let floodRun = try await fixture.enqueue(try await createJob(fixture, agent: flooder.id, base: fixture.scratch.path + "/f")).id
        let steadyRun = try await fixture.enqueue(try await createJob(fixture, agent: steady.id, base: fixture.scratch.path + "/s")).id
        let floodToken = try await takeTask(floodLink, run: floodRun)
        let steadyToken = try await takeTask(steadyLink, run: steadyRun)

        // The acks the flooder gets, on their own thread.
        let acked = Counter()
        Thread {
            while let text = try? floodLink.nextTextBlocking(timeout: 60) {
                if let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], json["type"] as? String == "event_ack" {
                    acked.set(json["aseq"] as? Int ?? 0)
                }
            }
        }
        .start()
        let started = Date()
        let total = 700
        Thread {
            for first in stride(from: 1, through: total, by: 100) {
                let events = (first..<first + 100).map { #"{"aseq":\#($0),"level":"info","kind":"log","message":"flood \#($0)"}"# }
                let frame =
                    #"{"v":1,"type":"run_events","run_id":"\#(floodRun)","claim_token":"\#(floodToken)","events":[\#(events.joined(separator: ","))]}"#
                guard (try? floodLink.sendBlocking(frame)) != nil else { return }
            }
        }
        .start()
        try await Task.sleep(for: .seconds(2))
        // The budget: a burst of 200, then 100 per second (one frame of slack for the frame being read).
        let elapsed = Date().timeIntervalSince(started)
        let early = acked.value
        #expect(Double(early) <= 200 + 100 * elapsed + 100, "\(early) events stored in \(elapsed) s")
        // The other agent is not held up by the flood.
        let before = Date()
        try await steadyLink.send(
            #"{"v":1,"type":"run_events","run_id":"\#(steadyRun)","claim_token":"\#(steadyToken)","events":[{"aseq":1,"level":"info","kind":"log","message":"hello"}]}"#
        )
        let steadyAck = await next(steadyLink, "event_ack", timeout: 5)
        #expect(steadyAck?["aseq"] as? Int == 1)
        #expect(Date().timeIntervalSince(before) < 2, "another agent waited for the flood")
        // Nothing lost: every event acked; the first 500 stored, then one warning.
        #expect(await eventually(timeout: .seconds(30)) { acked.value == total }, "acked \(acked.value)")
        #expect(try await eventCount(fixture, floodRun, kind: "log") == 500)
        #expect(try await eventCount(fixture, floodRun, kind: "agent_events_dropped") == 1)

        // An event over the size limit is a protocol error.
        let big = String(repeating: "x", count: 16 * 1024 + 1)  // AgentMessage.Limits.messageBytes + 1
        try await steadyLink.send(
            #"{"v":1,"type":"run_event","run_id":"\#(steadyRun)","claim_token":"\#(steadyToken)","aseq":2,"kind":"log","message":"\#(big)"}"#
        )
        #expect(await closeCode(steadyLink) == 4400)
        floodLink.shutdown()
        steadyLink.shutdown()
    }
}

/// The highest value seen, from any thread.
final class Counter: @unchecked Sendable {
    // A lock guards `highest`; the class is shared between the test and its reader thread.
    private let lock = NSLock()
    private var highest = 0

    func set(_ value: Int) { lock.withLock { highest = max(highest, value) } }

    var value: Int { lock.withLock { highest } }
}
