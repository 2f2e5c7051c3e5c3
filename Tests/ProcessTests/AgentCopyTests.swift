import Foundation
import GRDB
import TestClients
import Testing

/// Copies of an agent's snapshot (docs/agents.md, "Copies") through the real binaries: a snapshot on the agent's own
/// disk is copied by that agent, to a `local_dir` on its host and to WebDAV (`rclone serve webdav`), whose secret
/// reaches the agent in the copy's task only.
@Suite(.serialized) struct AgentCopyTests {
    let links = AgentLinkTests()
    let copies = CopiesTests()
    let targets = TargetsTests()

    /// An encrypted agent job with a `local_dir` primary on the agent and two copies: the agent runs both copy runs,
    /// both locations become `present`; with the primary deleted, the snapshot verifies and restores identical from
    /// each copy: from the agent's `local_dir` copy on the agent, from the WebDAV copy on the hub.
    @Test func anAgentCopiesItsLocalSnapshotAndItRestoresFromEachCopy() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let agent = try links.startAgent(fixture, "a1", token: try await links.token(fixture, ["remaining_uses": 1]))
        let connected = await eventually { await links.connected(fixture, "a1") }
        #expect(connected, "\(agent.log)")
        let agentId = try #require(await links.agents(fixture)["a1"]?["id"] as? String)
        let davRoot = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(
            root: davRoot,
            user: CopiesTests.user,
            password: CopiesTests.password,
            logDir: fixture.scratch.path
        )
        defer { dav.stop() }
        try await targets.saveSecret(
            fixture,
            "webdav",
            "nas",
            ["username": CopiesTests.user, "password": CopiesTests.password, "url": "http://127.0.0.1:\(dav.port)/"]
        )
        let source = fixture.scratch.path + "/src"
        try ArchiveFormatTests.makeTree(source)
        let primary = fixture.scratch.path + "/target-a1"
        let copyDir = fixture.scratch.path + "/copy-a1"
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]], "target": ["type": "local_dir", "base_dir": primary],
            "pipeline": ["encryption": ["type": "age_x25519", "key_name": "agent-copy-key"]],
            "copies": [
                ["target": ["type": "local_dir", "base_dir": copyDir]],
                ["target": ["type": "webdav", "base_url": "http://127.0.0.1:\(dav.port)/b", "secret_name": "nas"]],
            ],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "agent-copies", "agent_id": agentId, "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(created.status) \(String(decoding: created.body, as: UTF8.self))")
        let run = try await fixture.enqueue(job).id
        let finished = try await targets.waitFor(fixture, run, ["success", "failed"])
        #expect(finished["status"] as? String == "success" && finished["node_id"] as? String == agentId, "\(finished)")

        // Both copies present, each copied by the agent (its node, its worker id), none by the hub's worker.
        let present = await copies.allPresent(fixture, job, run, count: 3)
        let locations = try await copies.locations(fixture, job, run)
        #expect(present, "\(locations)\n\(agent.log)")
        let copyRuns = try await fixture.readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT node_id, worker_id, status FROM runs WHERE kind = 'copy' AND job_id = ?", arguments: [job])
                .map { [$0[0] as String? ?? "", $0[1] as String? ?? "", $0[2] as String? ?? ""] }
        }
        #expect(copyRuns.count == 2 && copyRuns.allSatisfy { $0 == [agentId, "agent:\(agentId)", "success"] }, "\(copyRuns)")
        #expect(FileManager.default.fileExists(atPath: "\(copyDir)/\(job)/\(run)/complete.json"))
        #expect(FileManager.default.fileExists(atPath: "\(davRoot)/b/\(job)/\(run)/complete.json"))
        // The hub wrote the job's recovery file beside the WebDAV copy, never into the agent's directory.
        let jobFile = await eventually { FileManager.default.fileExists(atPath: "\(davRoot)/b/\(job)/bastion-job.json") }
        #expect(jobFile)
        #expect(!FileManager.default.fileExists(atPath: "\(copyDir)/\(job)/bastion-job.json"))
        // The copy target's secret was in the task only: nothing of it in the agent's data directory once the results
        // are acked.
        let grep = "grep -r -l -a '\(CopiesTests.password)' '\(fixture.scratch.path)/agent-a1' || true"
        let forgotten = await eventually {
            (try? await targets.sh(fixture, grep))?.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true
        }
        let left = try await targets.sh(fixture, grep).output
        #expect(forgotten, "\(left)")

        // The primary is gone: each copy verifies and restores the snapshot.
        try FileManager.default.removeItem(atPath: "\(primary)/\(job)")
        let localCopy = try #require(locations.first { $0.value["type"] as? String == "local_dir" && $0.key != "primary" }?.key)
        let davCopy = try #require(locations.first { $0.value["type"] as? String == "webdav" }?.key)
        for (location, node) in [(localCopy, agentId), (davCopy, "hub")] {
            let verified = try await copies.operation(fixture, "/api/runs/\(run)/verify", ["location": location])
            #expect(verified["node_id"] as? String == node, "\(location): \(verified)")
            let out = fixture.scratch.path + "/restored-\(location.dropFirst(5))"
            let restored = try await copies.operation(
                fixture,
                "/api/runs/\(run)/restore",
                ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail", "location": location]
            )
            #expect(restored["node_id"] as? String == node, "\(location): \(restored)")
            let diff = try await targets.sh(fixture, "diff -r --no-dereference '\(source)' '\(out)\(source)'")
            #expect(diff.status == 0, "\(location): \(diff.output)")
        }

        // Retention at each location: a second snapshot, then `keep_last: 1`. The WebDAV copy of the first is deleted
        // by the janitor; the agent's `local_dir` copy leaves the index with `snapshot_left_on_agent` and its files stay.
        let janitor = try Child.bastion(
            "bastion-janitor",
            dataDir: fixture.dataDir,
            logDir: fixture.scratch.path,
            ["--maintenance-interval", "3600"]
        )
        fixture.children.append(janitor)
        let second = try await fixture.enqueue(job).id
        let secondDone = try await targets.waitFor(fixture, second, ["success", "failed"])
        #expect(secondDone["status"] as? String == "success", "\(secondDone)")
        #expect(await copies.allPresent(fixture, job, second, count: 3))
        let applied = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs/\(job)/retention/apply",
            json: ["retention": ["enabled": true, "keep_last": 1]]
        )
        #expect(applied.status == 200, "\(String(decoding: applied.body, as: UTF8.self))")
        #expect(await eventually(timeout: .seconds(60)) { !FileManager.default.fileExists(atPath: "\(davRoot)/b/\(job)/\(run)") })
        let localStatus = { @Sendable () async -> String? in
            try? await fixture.readDatabase { db in
                try String.fetchOne(
                    db,
                    sql: "SELECT status FROM snapshot_locations WHERE run_id = ? AND location_id = ?",
                    arguments: [run, localCopy]
                )
            }
        }
        let leftOnAgent = await eventually(timeout: .seconds(60)) { await localStatus() == "deleted" }
        let localNow = await localStatus() ?? "none"
        #expect(leftOnAgent, "\(localNow)")
        #expect(FileManager.default.fileExists(atPath: "\(copyDir)/\(job)/\(run)/complete.json"), "the agent's copy is not deleted by the hub")
        let warned = try await fixture.events(run).contains {
            $0["kind"] as? String == "snapshot_left_on_agent" && ($0["fields"] as? [String: Any])?["location_id"] as? String == localCopy
        }
        #expect(warned)
        #expect(FileManager.default.fileExists(atPath: "\(copyDir)/\(job)/\(second)/complete.json"))
    }
}
