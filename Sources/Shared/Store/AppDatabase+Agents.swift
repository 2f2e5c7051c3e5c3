import Core
import Foundation
import GRDB

/// What `POST /agent/enroll` found for a token.
public enum EnrollmentResult: Sendable, Equatable {
    case enrolled(Agent)
    case notFound
    case expired
    case exhausted
}

/// Enrolment tokens and agents (docs/agents.md, "Enrolment").
extension AppDatabase {
    static let agentColumns = "id, name, created_at, revoked_at, last_seen_at, info_json, key_rotated_at"

    static func agent(_ row: Row) -> Agent {
        Agent(
            id: row[0],
            name: row[1],
            createdAt: row[2],
            revokedAt: row[3],
            lastSeenAt: row[4],
            info: (row[5] as String?).flatMap { try? JSONValue.parse($0) },
            keyRotatedAt: row[6]
        )
    }

    /// Stores a token's hash, valid until `expiresAt`, for `remainingUses` enrolments (nil: any number).
    public func createEnrollmentToken(hash: Data, expiresAt: Int64, remainingUses: Int?, now: Int64 = unixNow()) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO enrollment_tokens (token_hash, created_at, expires_at, remaining_uses) VALUES (?, ?, ?, ?)",
                arguments: [hash, now, expiresAt, remainingUses]
            )
        }
    }

    /// Spends one use of the token and creates the agent, in one IMMEDIATE transaction: the token's last use deletes
    /// it (a later use is `notFound`); an expired token is deleted and refused.
    public func enroll(tokenHash: Data, name: String, keyHash: Data, now: Int64 = unixNow()) async throws -> EnrollmentResult {
        try await pool.write { db in
            guard
                let token = try Row.fetchOne(
                    db,
                    sql: "SELECT expires_at, remaining_uses FROM enrollment_tokens WHERE token_hash = ?",
                    arguments: [tokenHash]
                )
            else { return .notFound }
            if (token[0] as Int64) <= now {
                try db.execute(sql: "DELETE FROM enrollment_tokens WHERE token_hash = ?", arguments: [tokenHash])
                return .expired
            }
            if let remaining = token[1] as Int64? {
                guard remaining > 0 else { return .exhausted }
                if remaining == 1 {
                    try db.execute(sql: "DELETE FROM enrollment_tokens WHERE token_hash = ?", arguments: [tokenHash])
                } else {
                    try db.execute(
                        sql: "UPDATE enrollment_tokens SET remaining_uses = remaining_uses - 1 WHERE token_hash = ?",
                        arguments: [tokenHash]
                    )
                }
            }
            let agent = Agent(id: UUID().uuidString.lowercased(), name: name, createdAt: now)
            try db.execute(
                sql: "INSERT INTO agents (id, name, key_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [agent.id, agent.name, keyHash, now]
            )
            return .enrolled(agent)
        }
    }

    /// The agent whose key hashes to `keyHash` (revoked ones included: the caller refuses them with their own code).
    /// A rotated key the agent has not used yet (`pending_key_hash`) authenticates too, and its first use makes it the
    /// agent's only key (docs/agents.md, "Rotating a key"): the agent proved it stored it.
    public func agent(keyHash: Data, now: Int64 = unixNow()) async throws -> Agent? {
        let (current, pending) = try await pool.read { db in
            (
                try Row.fetchOne(db, sql: "SELECT \(Self.agentColumns) FROM agents WHERE key_hash = ?", arguments: [keyHash]).map(Self.agent),
                try Bool.fetchOne(db, sql: "SELECT 1 FROM agents WHERE pending_key_hash = ?", arguments: [keyHash]) ?? false
            )
        }
        if let current { return current }
        // An unknown key (anyone can send one) costs a read, never the write lock.
        guard pending else { return nil }
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE agents SET key_hash = pending_key_hash, pending_key_hash = NULL, key_rotated_at = ? WHERE pending_key_hash = ?",
                arguments: [now, keyHash]
            )
            return try Row.fetchOne(db, sql: "SELECT \(Self.agentColumns) FROM agents WHERE key_hash = ?", arguments: [keyHash]).map(Self.agent)
        }
    }

    public func agent(id: String) async throws -> Agent? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT \(Self.agentColumns) FROM agents WHERE id = ?", arguments: [id]).map(Self.agent)
        }
    }

    /// Every agent, by name.
    public func agents() async throws -> [Agent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.agentColumns) FROM agents ORDER BY name COLLATE NOCASE, id").map(Self.agent)
        }
    }

    /// How many runs are running on each agent (`runs.node_id`), through `idx_runs_node_id_status_started_at`.
    public func runningRunsByAgent() async throws -> [String: Int] {
        try await pool.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT node_id, COUNT(*) FROM runs WHERE status = 'running' AND node_id IN (SELECT id FROM agents) GROUP BY node_id"
            ) { counts[row[0]] = row[1] }
            return counts
        }
    }

    /// Revokes an agent (its key no longer authenticates); nil when there is no such agent.
    public func revokeAgent(id: String, now: Int64 = unixNow()) async throws -> Agent? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE agents SET revoked_at = COALESCE(revoked_at, ?), pending_key_hash = NULL WHERE id = ?", arguments: [now, id])
            return try Row.fetchOne(db, sql: "SELECT \(Self.agentColumns) FROM agents WHERE id = ?", arguments: [id]).map(Self.agent)
        }
    }

    /// Records a rotated key as pending (before it is sent): the old key and this one both authenticate until the agent
    /// connects with the new one (`agent(keyHash:)`). A newer rotation replaces a pending key. Nil for a revoked or
    /// unknown agent.
    public func setPendingAgentKey(id: String, keyHash: Data) async throws -> Agent? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE agents SET pending_key_hash = ? WHERE id = ? AND revoked_at IS NULL", arguments: [keyHash, id])
            guard db.changesCount == 1 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT \(Self.agentColumns) FROM agents WHERE id = ?", arguments: [id]).map(Self.agent)
        }
    }

    /// Records that the agent was heard from, and what it said of itself when `info` is given.
    public func agentSeen(id: String, info: JSONValue? = nil, now: Int64 = unixNow()) async throws {
        try await pool.write { db in
            if let info {
                try db.execute(sql: "UPDATE agents SET last_seen_at = ?, info_json = ? WHERE id = ?", arguments: [now, info.jsonString(), id])
            } else {
                try db.execute(sql: "UPDATE agents SET last_seen_at = ? WHERE id = ?", arguments: [now, id])
            }
        }
    }
}

/// An agent run as the hub hands it out (docs/agents.md, "Runs on agents").
public struct AgentTask: Sendable, Equatable {
    public var runId: String
    public var claimToken: String
    public var status: String
    public var lastAseq: Int64
}

extension AppDatabase {
    /// Claims the agent's oldest queued run (its node), with a fresh claim token, the `start` event and the task row,
    /// in one IMMEDIATE transaction; nil when none is queued, or when the agent still holds a running task (one run at
    /// a time per agent: checked in the same transaction, so two dispatches racing cannot hand out two).
    public func claimAgentRun(agentId: String, now: Int64 = unixNow()) async throws -> ClaimedRun? {
        // Most looks find nothing queued: a read says so without the write lock (docs/agents.md, "The hub at fleet
        // size": 1,000 idle agents looked every 5 s were 200 write transactions a second). A run queued just after it
        // is found by its wake or the next look.
        let queued = try await pool.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (\(Self.nextQueuedRunSQL))", arguments: [agentId]) }
        guard queued == true else { return nil }
        return try await write { db, after -> ClaimedRun? in
            // A revoked agent gets nothing, even on a link that raced the revoke (docs/agents.md, "Revoking").
            let revoked = try Row.fetchOne(db, sql: "SELECT revoked_at FROM agents WHERE id = ?", arguments: [agentId]).map {
                ($0[0] as Int64?) != nil
            }
            guard revoked == false else { return nil }
            let busy = try Bool.fetchOne(
                db,
                sql: """
                    SELECT 1 FROM agent_tasks t JOIN runs r ON r.id = t.run_id
                    WHERE t.agent_id = ? AND t.completed_at IS NULL AND r.status = 'running' AND r.claim_token = t.claim_token
                    """,
                arguments: [agentId]
            )
            guard busy != true else { return nil }
            guard let claimed = try Self.claim(db, workerId: "agent:\(agentId)", node: agentId, now: now, after: &after) else { return nil }
            try db.execute(
                sql: "INSERT INTO agent_tasks (run_id, agent_id, claim_token, status, created_at) VALUES (?, ?, ?, 'sent', ?)",
                arguments: [claimed.run.id, agentId, claimed.claimToken, now]
            )
            return claimed
        }
    }

    /// The agent's tasks not yet completed, oldest first, each with its run and job (to send again on reconnect).
    public func openAgentTasks(agentId: String) async throws -> [(task: AgentTask, claimed: ClaimedRun)] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT t.run_id, t.claim_token, t.status, t.last_aseq FROM agent_tasks t JOIN runs r ON r.id = t.run_id
                    WHERE t.agent_id = ? AND t.completed_at IS NULL AND r.status = 'running' AND r.claim_token = t.claim_token
                    ORDER BY t.created_at
                    """,
                arguments: [agentId]
            ).compactMap { row in
                let task = AgentTask(runId: row[0], claimToken: row[1], status: row[2], lastAseq: row[3])
                guard let run = try Self.fetchRun(db, id: task.runId) else { return nil }
                return (task, ClaimedRun(run: run, job: try Self.fetchJob(db, id: run.jobId), claimToken: task.claimToken))
            }
        }
    }

    /// Whether `runId` is this agent's open task under `claimToken` (a progress sample is taken only then).
    public func agentHoldsRun(agentId: String, runId: String, claimToken: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT 1 FROM agent_tasks WHERE run_id = ? AND agent_id = ? AND claim_token = ? AND completed_at IS NULL
                      AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = agent_tasks.agent_id AND a.revoked_at IS NOT NULL)
                    """,
                arguments: [runId, agentId, claimToken]
            ) ?? false
        }
    }

    /// The agent stored the task; false when it is not this agent's open task.
    @discardableResult
    public func ackAgentTask(agentId: String, runId: String, now: Int64 = unixNow()) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql:
                    "UPDATE agent_tasks SET status = 'acked', acked_at = COALESCE(acked_at, ?) WHERE run_id = ? AND agent_id = ? AND status = 'sent'",
                arguments: [now, runId, agentId]
            )
            return db.changesCount == 1
        }
    }

    /// The events one agent run may store (docs/agents.md, "Limits"); past it they are acknowledged and dropped.
    public static let maxAgentEventsPerRun: Int64 = 100_000

    /// Appends the agent's events with `aseq` above what is stored, in order and each once, in one transaction that
    /// also keeps the run's lease; returns the highest `aseq` committed (for a cumulative `event_ack`), or nil when
    /// the run is not this agent's running run under this claim (a forged or stale sender: nothing is written).
    public func appendAgentEvents(
        agentId: String,
        runId: String,
        claimToken: String,
        _ events: [(aseq: Int64, event: NewRunEvent)],
        maxPerRun: Int64 = maxAgentEventsPerRun,
        now: Int64 = unixNow()
    ) async throws -> Int64? {
        try await write { db, after -> Int64? in
            guard
                let last = try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT t.last_aseq FROM agent_tasks t JOIN runs r ON r.id = t.run_id
                        WHERE t.run_id = ? AND t.agent_id = ? AND t.claim_token = ? AND t.completed_at IS NULL
                          AND r.status = 'running' AND r.claim_token = ?
                          AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = t.agent_id AND a.revoked_at IS NOT NULL)
                        """,
                    arguments: [runId, agentId, claimToken, claimToken]
                )
            else { return nil }
            var next = last
            var fresh: [NewRunEvent] = []
            for (aseq, event) in events.sorted(by: { $0.aseq < $1.aseq }) where aseq == next + 1 {
                // Past the per-run budget an event is acknowledged and not stored; one warning says so.
                if aseq <= maxPerRun {
                    fresh.append(event)
                } else if aseq == maxPerRun + 1 {
                    fresh.append(
                        NewRunEvent(
                            .warn,
                            kind: "agent_events_dropped",
                            message: "The agent sent more than \(maxPerRun) events for this run: the rest are not stored"
                        )
                    )
                }
                next = aseq
            }
            if !fresh.isEmpty {
                try Self.insertEvents(db, runId: runId, fresh, now: now, after: &after)
                try db.execute(sql: "UPDATE agent_tasks SET last_aseq = ? WHERE run_id = ?", arguments: [next, runId])
            }
            try db.execute(sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ?", arguments: [now, runId])
            return next
        }
    }

    /// The agent's terminal result: the same fenced terminal write as a worker's, and the task completed, in one
    /// transaction. `nil` when it is not this agent's task under this claim; a task already completed answers its
    /// run's status (a resent result is acknowledged again, never applied twice).
    public func completeAgentRun(
        agentId: String,
        runId: String,
        claimToken: String,
        outcome: RunOutcome,
        now: Int64 = unixNow()
    ) async throws
        -> RunStatus?
    {
        try await write { db, after -> RunStatus? in
            guard
                let completed = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT completed_at FROM agent_tasks WHERE run_id = ? AND agent_id = ? AND claim_token = ?
                          AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = agent_tasks.agent_id AND a.revoked_at IS NOT NULL)
                        """,
                    arguments: [runId, agentId, claimToken]
                )
            else { return nil }
            if (completed[0] as Int64?) != nil { return try Self.fetchRun(db, id: runId)?.status }
            let checked = try Self.checkAgentLocation(db, runId: runId, outcome: outcome)
            let status = try Self.complete(db, runId: runId, claimToken: claimToken, outcome: checked, extraEvents: [], now: now, after: &after)
            try db.execute(sql: "UPDATE agent_tasks SET status = 'completed', completed_at = ? WHERE run_id = ?", arguments: [now, runId])
            if let status { return status }
            return try Self.fetchRun(db, id: runId)?.status
        }
    }

    /// The error code of an agent backup whose result names another place than the hub recorded at its claim.
    public static let locationMismatchCode = "agent_location_mismatch"

    /// The hub decides where an agent's snapshot lives (docs/security.md, "Agents"): a backup's summary must name
    /// the location recorded at the claim (`runs.target_snapshot_json`) and the chain the claim planned
    /// (`operation_json.incremental`); it is then stored with the hub's own JSON for both. A summary that disagrees
    /// fails the run with `agent_location_mismatch`, storing nothing of it. Other runs' summaries lose any `target`.
    static func checkAgentLocation(_ db: Database, runId: String, outcome: RunOutcome) throws -> RunOutcome {
        guard let row = try Row.fetchOne(db, sql: "SELECT kind, target_snapshot_json, operation_json FROM runs WHERE id = ?", arguments: [runId])
        else { return outcome }
        let recordedJSON = (row[1] as String?).flatMap { try? JSONValue.parse($0) }
        let plan = IncrementalPlan(json: (row[2] as String?).flatMap { try? JSONValue.parse($0) }?["incremental"])
        func hubs(_ summary: JSONValue) -> JSONValue {
            guard case .object(var object) = summary else { return summary }
            object["target"] = recordedJSON
            if let plan { object["incremental"] = plan.chain.json(runId: runId) }
            // The file counts the run page shows: four counts, or none (an agent's summary is outside input).
            object["changes"] = BackupSummary.FileChanges(json: object["changes"])?.json
            return .object(object)
        }
        func mismatch(_ why: String) -> RunOutcome {
            .failed(code: locationMismatchCode, message: "The agent's result was refused: \(why)", summary: nil)
        }
        switch outcome {
        case .success(let summary) where (row[0] as String?) == RunKind.backup.rawValue:
            guard let recordedJSON, let recorded = RunLocation(json: recordedJSON) else {
                return mismatch("the hub recorded no location for this run")
            }
            guard let reported = BackupSummary(json: summary) else { return mismatch("its summary is not a backup summary") }
            guard reported.location == recorded else {
                return mismatch("it names \(reported.location.display), the hub recorded \(recorded.display)")
            }
            guard reported.chain == plan?.chain else { return mismatch("its incremental chain is not the one the claim planned") }
            return .success(summary: hubs(summary))
        case .success(let summary):
            guard case .object(var object) = summary else { return outcome }
            object["target"] = nil
            return .success(summary: .object(object))
        case .failed(let code, let message, let summary?):
            guard case .object(var object) = summary else { return .failed(code: code, message: message, summary: nil) }
            object["target"] = recordedJSON
            return .failed(code: code, message: message, summary: .object(object))
        default:
            return outcome
        }
    }

    /// Keeps the leases of the agent's runs alive (its ping); returns the runs it holds that were canceled meanwhile.
    /// With `seen`, the agent's `last_seen_at` too, in the same transaction (a `ping`: one write, not two).
    public func agentHeartbeat(agentId: String, seen: Bool = false, now: Int64 = unixNow()) async throws -> [String] {
        try await pool.write { db in
            if seen { try db.execute(sql: "UPDATE agents SET last_seen_at = ? WHERE id = ?", arguments: [now, agentId]) }
            try db.execute(
                sql: """
                    UPDATE runs SET heartbeat_at = ? WHERE status = 'running' AND id IN
                      (SELECT run_id FROM agent_tasks WHERE agent_id = ? AND completed_at IS NULL)
                    """,
                arguments: [now, agentId]
            )
            return try String.fetchAll(
                db,
                sql: """
                    SELECT r.id FROM runs r JOIN agent_tasks t ON t.run_id = r.id
                    WHERE t.agent_id = ? AND t.completed_at IS NULL AND r.status = 'running' AND r.cancel_requested_at IS NOT NULL
                    """,
                arguments: [agentId]
            )
        }
    }
}
