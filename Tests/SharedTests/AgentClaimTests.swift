import Core
import GRDB
import Store
import TestClients
import Testing

/// The hub's claims for an agent (docs/agents.md, "Runs on agents").
struct AgentClaimTests {
    @Test func concurrentDispatchesHandAnAgentOneRunAtATime() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        try await database.pool.write { db in
            try db.execute(sql: "INSERT INTO agents (id, name, key_hash, created_at) VALUES ('a1', 'a1', x'00', 0)")
        }
        var input = try JobInput(
            name: "j",
            schedule: nil,
            scheduleTimezone: nil,
            overlapPolicy: "queue",
            spec: .object([
                "v": 1, "type": "sqlite", "source": .object(["path": "/x.db"]), "target": .object(["type": "local_dir", "base_dir": "/t"]),
            ]),
            defaultTimezone: "UTC"
        )
        input.agentId = "a1"
        let job = try await database.createJob(input)
        for _ in 0..<3 { _ = try await database.enqueueRun(jobId: job.id, source: "manual") }
        // Ten dispatches at once: exactly one claim while that run is open.
        let claimed = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 { group.addTask { (try? await database.claimAgentRun(agentId: "a1")) != nil } }
            var count = 0
            for await got in group where got { count += 1 }
            return count
        }
        #expect(claimed == 1)
        // A hub worker never takes an agent's run.
        #expect(try await database.claimNextRun(workerId: "w0") == nil)
        // Once the agent's task is completed, the next run is handed out.
        let open = try await database.openAgentTasks(agentId: "a1")
        #expect(open.count == 1)
        let task = try #require(open.first).task
        let location = RunLocation(target: try JobSpec.parse(job.spec).target, jobId: job.id, runId: task.runId)
        let summary = BackupSummary(
            location: location,
            entriesCount: 1,
            parts: 1,
            source: .init(files: 1, dirs: 0, bytes: 1),
            transferBytes: 1,
            filesystemWarnings: 0,
            filesystemErrors: 0
        )
        let status = try await database.completeAgentRun(
            agentId: "a1",
            runId: task.runId,
            claimToken: task.claimToken,
            outcome: .success(summary: summary.json)
        )
        #expect(status == .success)
        #expect(try await database.snapshot(runId: task.runId)?.nodeId == "a1")
        // The next one: a result naming another place than the claim recorded fails the run and records nothing.
        let next = try #require(try await database.claimAgentRun(agentId: "a1"))
        var elsewhere = summary
        elsewhere.location = RunLocation(target: location.target, jobId: "hub-data", runId: "precious")
        let refused = try await database.completeAgentRun(
            agentId: "a1",
            runId: next.run.id,
            claimToken: next.claimToken,
            outcome: .success(summary: elsewhere.json)
        )
        #expect(refused == .failed)
        #expect(try await database.run(id: next.run.id)?.error == AppDatabase.locationMismatchCode)
        #expect(try await database.snapshot(runId: next.run.id) == nil)
        // A revoked agent is handed nothing more.
        _ = try await database.revokeAgent(id: "a1")
        #expect(try await database.claimAgentRun(agentId: "a1") == nil)
    }

    /// The ids in a stored location name directories under the target's base: ids, never paths.
    @Test func locationIdsAreIdsNotPaths() {
        let base: [String: JSONValue] = ["type": "local_dir", "base_dir": "/backups", "job_id": "j-1", "run_id": "r-1"]
        #expect(RunLocation(json: .object(base))?.localDirectory == "/backups/j-1/r-1")
        for (key, value) in [("job_id", ".."), ("run_id", "../../etc"), ("run_id", "a/b"), ("job_id", "")] {
            var forged = base
            forged[key] = .string(value)
            #expect(RunLocation(json: .object(forged)) == nil, "\(key) = \(value)")
        }
    }
}
