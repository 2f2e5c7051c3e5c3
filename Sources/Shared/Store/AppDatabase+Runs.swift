import Core
import Foundation
import GRDB

/// A run a worker has claimed, with what it needs to execute it.
public struct ClaimedRun: Sendable {
    public var run: Run
    public var job: Job?
    public var claimToken: String
    /// The W3C `traceparent` the enqueuing request stored (`runs.trace_context`), nil when it was not traced.
    public var traceContext: String? = nil
}

/// How an execution ended, as the worker reports it.
public enum RunOutcome: Sendable, Equatable {
    case success(summary: JSONValue)
    case failed(code: String, message: String, summary: JSONValue?)
    case canceled(reason: String)
}

/// What a heartbeat learned.
public enum HeartbeatResult: Sendable, Equatable {
    case alive(cancelRequested: Bool)
    /// The run is no longer this worker's (recovered as lost, or finished elsewhere): stop, write nothing.
    case lost
}

/// What a cancel request did.
public struct CancelResult: Sendable {
    public var run: Run
    /// True when the run is running: its worker is told after COMMIT (`AfterCommit.cancels`).
    public var notifyWorker: Bool
}

extension AppDatabase {
    /// The claim candidate query of docs/architecture.md, "Runs": the oldest queued run of one node (`?`: `hub` for the
    /// hub's workers, an agent's id for that agent) not being canceled. Tests check its plan.
    public static let nextQueuedRunSQL = """
        SELECT id FROM runs
        WHERE node_id = ? AND status = 'queued' AND cancel_requested_at IS NULL
        ORDER BY started_at
        LIMIT 1
        """

    /// The node of the hub's own workers (`runs.node_id`).
    public static let hubNode = "hub"

    // MARK: - Enqueue

    /// Enqueues a run of `jobId`, applying the job's overlap policy in the same IMMEDIATE transaction as the insert,
    /// and appends a `queued` or `rejected` event with `fields.source`. Nil when the job does not exist.
    /// The caller's trace context (its W3C `traceparent`, when traced) is kept on the run for the worker's span
    /// (docs/observability.md, "Tracing").
    public func enqueueRun(jobId: String, source: String, now: Int64 = unixNow()) async throws -> Run? {
        let traceContext = RunTraceContext.current()
        return try await write { db, after -> Run? in
            guard let job = try Self.fetchJob(db, id: jobId) else { return nil }
            // An archived job keeps its history and snapshots but runs no more (as the bulk action and the scheduler).
            guard job.archivedAt == nil else { throw JobArchived(jobId: jobId) }
            let run = try Self.insertRun(db, job: job, fields: ["source": .string(source)], scheduledFor: nil, now: now, after: &after)
            if let traceContext, let run {
                try db.execute(sql: "UPDATE runs SET trace_context = ? WHERE id = ?", arguments: [traceContext, run.id])
            }
            return run
        }
    }

    /// Enqueues the run of a cron trigger through the same path as a manual run (`source = "schedule"`).
    /// Any number of workers may call it for the same trigger: the first insert wins and the others are no-ops,
    /// guaranteed by the UNIQUE `runs(job_id, scheduled_for, kind)` index and checked first inside the IMMEDIATE
    /// transaction. Nil when the trigger already has its run, or the job is gone, archived or unscheduled.
    public func enqueueScheduledRun(
        jobId: String,
        scheduledFor: Int64,
        extraFields: [String: JSONValue] = [:],
        now: Int64 = unixNow()
    ) async throws -> Run? {
        try await write { db, after -> Run? in
            guard let job = try Self.fetchJob(db, id: jobId), job.archivedAt == nil, job.schedule != nil else { return nil }
            let exists =
                try Bool.fetchOne(
                    db,
                    sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE job_id = ? AND scheduled_for = ? AND kind = 'backup')",
                    arguments: [jobId, scheduledFor]
                ) ?? false
            if exists { return nil }
            var fields = extraFields
            fields["source"] = .string("schedule")
            fields["scheduled_for"] = .number(Double(scheduledFor))
            return try Self.insertRun(db, job: job, fields: fields, scheduledFor: scheduledFor, now: now, after: &after)
        }
    }

    /// Whether a trigger already has its run (a drill's trigger: `kind` verify; docs/architecture.md, "Restore drills").
    public func hasScheduledRun(jobId: String, scheduledFor: Int64, kind: RunKind = .backup) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE job_id = ? AND scheduled_for = ? AND kind = ?)",
                arguments: [jobId, scheduledFor, kind.rawValue]
            ) ?? false
        }
    }

    /// The enqueue itself: overlap policy, insert, `queued`/`rejected` event, inside the caller's transaction. A rejected
    /// run is terminal at once and enqueues its notifications.
    static func insertRun(
        _ db: Database,
        job: Job,
        fields: [String: JSONValue],
        scheduledFor: Int64?,
        now: Int64,
        after: inout AfterCommit
    ) throws -> Run? {
        let active =
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM runs WHERE job_id = ? AND status IN ('queued', 'running') AND kind = 'backup'",
                arguments: [job.id]
            ) ?? 0
        let rejected = job.overlapPolicy == .reject && active > 0
        let id = UUID().uuidString.lowercased()
        try db.execute(
            sql: """
                INSERT INTO runs (id, job_id, status, started_at, ended_at, error, scheduled_for, node_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, job.id, rejected ? "rejected" : "queued", now, rejected ? now : nil, rejected ? "overlap_rejected" : nil, scheduledFor,
                job.agentId ?? Self.hubNode,
            ]
        )
        let event =
            rejected
            ? NewRunEvent(
                .warn,
                kind: RunEventKind.rejected,
                message: "Run rejected: another run of this job is queued or running",
                fields: .object(fields)
            )
            : NewRunEvent(.info, kind: RunEventKind.queued, message: "Run queued", fields: .object(fields))
        try Self.insertEvents(db, runId: id, [event], now: now, after: &after)
        if !rejected { after.wake(.runs) }
        if rejected {
            try Self.enqueueNotifications(db, runId: id, jobId: job.id, now: now, after: &after)
            try Self.enqueuePings(db, runId: id, jobId: job.id, event: .failure, now: now, after: &after)
        }
        return try Self.fetchRun(db, id: id)
    }

    /// Queues a restore or verify of the finished backup `source` (a run of the same job, `kind` operation, with its
    /// parameters), with a `queued` event. Operations skip the overlap policy.
    public func enqueueOperation(kind: RunKind, source: Run, parameters: JSONValue, now: Int64 = unixNow()) async throws -> Run {
        try await write { db, after -> Run in
            try Self.insertOperation(db, kind: kind, source: source, parameters: parameters, now: now, after: &after)
        }
    }

    /// The insert of `enqueueOperation`, inside the caller's transaction (a drill's also carries its trigger).
    static func insertOperation(
        _ db: Database,
        kind: RunKind,
        source: Run,
        parameters: JSONValue,
        scheduledFor: Int64? = nil,
        now: Int64,
        after: inout AfterCommit
    ) throws -> Run {
        let id = UUID().uuidString.lowercased()
        var operation: [String: JSONValue] = ["source_run_id": .string(source.id)]
        if case .object(let object) = parameters { for (key, value) in object { operation[key] = value } }
        // A verify of a sqlite backup also runs PRAGMA integrity_check on the database the snapshot holds.
        if kind == .verify, let name = BackupSummary(json: source.summary)?.sqlite?.snapshotName {
            operation["sqlite_snapshot_name"] = .string(name)
        }
        // Where the snapshot is, as the backup recorded it (the job's target may have changed since). For an agent's
        // snapshot, as the hub recorded it at the claim: the agent's own word is never where credentials go.
        // A copy (docs/targets.md, "Copies"): read where the API chose, by the hub (which holds the copy target's secret).
        let atCopy = operation["location_id"] != nil && operation["source_target"] != nil
        // A `local_dir` copy an agent wrote is on that agent's disk: read there (docs/agents.md, "Copies").
        let copyNode =
            atCopy
            ? try operation["location_id"]?.stringValue.flatMap { try Self.agentCopyNode(db, runId: source.id, locationId: $0) } ?? Self.hubNode
            : source.nodeId
        if atCopy {
        } else if source.nodeId != Self.hubNode {
            let recorded = try String.fetchOne(db, sql: "SELECT target_snapshot_json FROM runs WHERE id = ?", arguments: [source.id])
            if let location = recorded.flatMap({ RunLocation(json: try? JSONValue.parse($0)) }) { operation["source_target"] = location.json }
        } else if let location = BackupSummary(json: source.summary)?.location {
            operation["source_target"] = location.json
        }
        try db.execute(
            sql: """
                INSERT INTO runs (id, job_id, status, started_at, kind, operation_json, node_id, scheduled_for)
                VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)
                """,
            // A restore or verify runs where the snapshot is: on the node that wrote it.
            arguments: [
                id, source.jobId, now, kind.rawValue, JSONValue.object(operation).jsonString(), copyNode, scheduledFor,
            ]
        )
        after.wake(.runs)
        try Self.insertEvents(
            db,
            runId: id,
            [
                NewRunEvent(
                    kind: RunEventKind.queued,
                    message: "\(kind.rawValue.capitalized) of run \(source.id) queued",
                    fields: .object(operation)
                )
            ],
            now: now,
            after: &after
        )
        return try Self.fetchRun(db, id: id)!
    }

    // MARK: - Claim, heartbeat, completion (worker side; every write is fenced by the claim token)

    /// Claims the oldest queued run through the `runs(status, started_at)` index, with a fresh claim token, and
    /// appends its `start` event, all in one IMMEDIATE transaction. Nil when nothing is queued.
    public func claimNextRun(workerId: String, node: String = hubNode, now: Int64 = unixNow()) async throws -> ClaimedRun? {
        try await write { db, after in try Self.claim(db, workerId: workerId, node: node, now: now, after: &after) }
    }

    /// The claim itself, inside the caller's IMMEDIATE transaction.
    static func claim(_ db: Database, workerId: String, node: String = hubNode, now: Int64, after: inout AfterCommit) throws -> ClaimedRun? {
        let token = UUID().uuidString.lowercased()
        let update = try db.cachedStatement(
            sql: """
                UPDATE runs SET status = 'running', started_at = ?, worker_id = ?, claim_token = ?, heartbeat_at = ?
                WHERE id = (\(Self.nextQueuedRunSQL))
                RETURNING id
                """
        )
        guard let id = try String.fetchOne(update, arguments: [now, workerId, token, now, node]), var run = try Self.fetchRun(db, id: id)
        else { return nil }
        try Self.insertEvents(
            db,
            runId: id,
            [NewRunEvent(kind: RunEventKind.start, message: "Run started", fields: .object(["worker_id": .string(workerId)]))],
            now: now,
            after: &after
        )
        let job = try Self.fetchJob(db, id: run.jobId)
        // Where this backup writes, as the executor will see it: what the cleanup of an incomplete run removes.
        if run.kind == .backup, let job, let spec = try? JobSpec.parse(job.spec) {
            // The job's start pings, in the claim's transaction (docs/architecture.md, "Notifications").
            try Self.enqueuePings(db, runId: id, jobId: job.id, pings: spec.pings, event: .start, now: now, after: &after)
            try db.execute(
                sql: "UPDATE runs SET target_snapshot_json = ? WHERE id = ?",
                arguments: [RunLocation(target: spec.target, jobId: job.id, runId: id).json.jsonString(), id]
            )
            // Full or incremental, and on which snapshot: decided here, in the claim's transaction (docs/formats.md).
            if let setting = spec.incremental {
                var operation: [String: JSONValue] = [:]
                if case .object(let existing)? = run.operation { operation = existing }
                operation["incremental"] = try Self.incrementalPlan(db, job: job, spec: spec, setting: setting, runId: id).json
                run.operation = .object(operation)
                try db.execute(sql: "UPDATE runs SET operation_json = ? WHERE id = ?", arguments: [JSONValue.object(operation).jsonString(), id])
            }
        }
        let traceContext = try String.fetchOne(db, sql: "SELECT trace_context FROM runs WHERE id = ?", arguments: [id])
        return ClaimedRun(run: run, job: job, claimToken: token, traceContext: traceContext)
    }

    /// The chain a backup of an incremental job builds on: the job's newest present snapshot of a chain on the same
    /// target, when its level is below `full_every - 1` and every snapshot of its chain is still present; else a full
    /// snapshot, with the reason.
    static func incrementalPlan(_ db: Database, job: Job, spec: JobSpec, setting: JobSpec.Incremental, runId: String) throws -> IncrementalPlan {
        func full(_ reason: String) -> IncrementalPlan {
            IncrementalPlan(chain: SnapshotChain(level: 0, before: []), base: nil, rehash: setting.rehash, reason: reason)
        }
        guard
            let newest = try Row.fetchOne(
                db,
                sql: """
                    SELECT run_id, chain_level, target_snapshot_json, base_run_id FROM run_artifacts
                    WHERE job_id = ? AND status = 'present' AND chain_level IS NOT NULL ORDER BY ended_at DESC, rowid DESC LIMIT 1
                    """,
                arguments: [job.id]
            )
        else { return full("first") }
        let baseRunId: String = newest[0]
        let baseLevel: Int = newest[1]
        guard let base = (newest[2] as String?).flatMap({ RunLocation(json: try? JSONValue.parse($0)) }), base.target == spec.target else {
            return full("target_changed")
        }
        if baseLevel + 1 >= setting.fullEvery { return full("full_every") }
        // Down the chain to its full snapshot, each one still present.
        var chain = [baseRunId]
        var parent: String? = newest[3]
        while let next = parent {
            guard chain.count <= baseLevel,
                let row = try Row.fetchOne(db, sql: "SELECT status, base_run_id FROM run_artifacts WHERE run_id = ?", arguments: [next]),
                row[0] as String? == "present"
            else { return full("base_unavailable") }
            chain.append(next)
            parent = row[1]
        }
        guard chain.count == baseLevel + 1 else { return full("base_unavailable") }
        return IncrementalPlan(
            chain: SnapshotChain(level: baseLevel + 1, before: chain.reversed()),
            base: base,
            rehash: setting.rehash,
            reason: "incremental"
        )
    }

    /// Records that the worker holding `claimToken` is alive, and reports whether a cancel was requested.
    public func heartbeat(runId: String, claimToken: String, now: Int64 = unixNow()) async throws -> HeartbeatResult {
        try await pool.write { db in
            let cancelRequested = try Row.fetchOne(
                db,
                sql: """
                    UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running' AND claim_token = ?
                    RETURNING cancel_requested_at
                    """,
                arguments: [now, runId, claimToken]
            )
            guard let cancelRequested else { return .lost }
            return .alive(cancelRequested: (cancelRequested[0] as Int64?) != nil)
        }
    }

    /// Stores the latest progress of a run (fenced by the claim token) and forwards it to live subscribers after
    /// COMMIT. False when the run is no longer ours.
    @discardableResult
    public func updateProgress(runId: String, claimToken: String, progress: RunProgress) async throws -> Bool {
        try await write { db, after in
            try db.execute(
                sql: "UPDATE runs SET progress_json = ? WHERE id = ? AND status = 'running' AND claim_token = ?",
                arguments: [progress.json.jsonString(), runId, claimToken]
            )
            guard db.changesCount == 1 else { return false }
            after.progress.append(RunProgress.Update(runId: runId, progress: progress))
            return true
        }
    }

    /// The terminal write: compare-and-set on status and claim token, so a late or fenced-off writer changes nothing;
    /// a cancel request turns any outcome into `canceled`. Appends the terminal event (`complete`, `failed` or
    /// `canceled`) in the same transaction, plus `extraEvents` before it. Returns the final status, nil when the run
    /// was no longer this worker's.
    public func completeRun(
        runId: String,
        claimToken: String,
        outcome: RunOutcome,
        extraEvents: [NewRunEvent] = [],
        now: Int64 = unixNow()
    ) async throws -> RunStatus? {
        try await write { db, after in
            try Self.complete(db, runId: runId, claimToken: claimToken, outcome: outcome, extraEvents: extraEvents, now: now, after: &after)
        }
    }

    /// `completeRun`, then the claim of this worker's next run in the same IMMEDIATE transaction: one commit and one
    /// lock acquisition per run while the queue is not empty. The claim is exactly `claimNextRun`'s.
    public func completeRunAndClaimNext(
        runId: String,
        claimToken: String,
        outcome: RunOutcome,
        workerId: String,
        now: Int64 = unixNow()
    ) async throws -> (status: RunStatus?, next: ClaimedRun?) {
        try await write { db, after -> (RunStatus?, ClaimedRun?) in
            let status = try Self.complete(
                db,
                runId: runId,
                claimToken: claimToken,
                outcome: outcome,
                extraEvents: [],
                now: now,
                after: &after
            )
            let next = try Self.claim(db, workerId: workerId, now: now, after: &after)
            return (status, next)
        }
    }

    /// The terminal compare-and-set, inside the caller's transaction; `success` and `failed` enqueue notifications in
    /// the same transaction (`canceled` does not).
    static func complete(
        _ db: Database,
        runId: String,
        claimToken: String,
        outcome: RunOutcome,
        extraEvents: [NewRunEvent],
        now: Int64,
        after: inout AfterCommit
    ) throws -> RunStatus? {
        let check = try db.cachedStatement(
            sql: """
                SELECT cancel_requested_at, cancel_reason, job_id, kind, operation_json FROM runs
                WHERE id = ? AND status = 'running' AND claim_token = ?
                """
        )
        guard let row = try Row.fetchOne(check, arguments: [runId, claimToken]) else { return nil }
        let cancelRequested = (row[0] as Int64?) != nil
        var outcome = outcome
        if cancelRequested, case .canceled = outcome {
        } else if cancelRequested {
            outcome = .canceled(reason: row[1] ?? "canceled")
        }
        let status: RunStatus
        let terminal: NewRunEvent
        switch outcome {
        case .success(let summary):
            status = .success
            try db.cachedStatement(sql: "UPDATE runs SET status = 'success', ended_at = ?, summary_json = ?, error = NULL, warnings = ? WHERE id = ?")
                .execute(arguments: [now, summary.jsonString(), summary["warnings"]?.intValue ?? 0, runId])
            terminal = NewRunEvent(kind: RunEventKind.complete, message: "Run completed")
        case .failed(let code, let message, let summary):
            status = .failed
            try db.execute(
                sql: "UPDATE runs SET status = 'failed', ended_at = ?, summary_json = ?, error = ?, warnings = ? WHERE id = ?",
                arguments: [now, summary?.jsonString(), code, summary?["warnings"]?.intValue ?? 0, runId]
            )
            terminal = NewRunEvent(.error, kind: RunEventKind.failed, message: message, fields: .object(["error_code": .string(code)]))
        case .canceled(let reason):
            status = .canceled
            try db.execute(
                sql: "UPDATE runs SET status = 'canceled', ended_at = ?, summary_json = NULL, error = COALESCE(error, 'canceled') WHERE id = ?",
                arguments: [now, runId]
            )
            terminal = NewRunEvent(.warn, kind: RunEventKind.canceled, message: "Run canceled", fields: .object(["reason": .string(reason)]))
        }
        try Self.insertEvents(db, runId: runId, extraEvents + [terminal], now: now, after: &after)
        if status != .canceled, (row[3] as String?) == RunKind.backup.rawValue {
            if status == .success, case .success(let summary) = outcome {
                try Self.recordSnapshot(db, runId: runId, jobId: row[2], summary: summary, now: now)
            }
            try Self.enqueueNotifications(db, runId: runId, jobId: row[2], now: now, after: &after)
            try Self.enqueuePings(db, runId: runId, jobId: row[2], event: status == .success ? .success : .failure, now: now, after: &after)
            // Copies (docs/targets.md, "Copies"): queued with the snapshot they copy.
            if status == .success { try Self.enqueueCopies(db, runId: runId, jobId: row[2], now: now, after: &after) }
        } else if status == .failed, Self.isDrill(kind: row[3], operation: row[4]) {
            // A failed restore drill alerts like a failed backup (docs/architecture.md, "Restore drills").
            try Self.enqueueNotifications(db, runId: runId, jobId: row[2], now: now, after: &after)
        }
        if (row[3] as String?) == RunKind.copy.rawValue {
            try Self.finishCopy(db, runId: runId, status: status, outcome: outcome, now: now)
        }
        return status
    }

    /// Gives an in-flight run back to the queue (graceful worker shutdown), or cancels it if a cancel was requested.
    /// Fenced by the claim token. Returns the resulting status, nil when the run was no longer ours.
    public func releaseRun(runId: String, claimToken: String, reason: String, now: Int64 = unixNow()) async throws -> RunStatus? {
        try await write { db, after -> RunStatus? in
            try Self.release(db, runId: runId, claimToken: claimToken, reason: reason, now: now, after: &after)
        }
    }

    /// The release itself, inside the caller's transaction.
    static func release(_ db: Database, runId: String, claimToken: String, reason: String, now: Int64, after: inout AfterCommit) throws -> RunStatus?
    {
        guard
            let row = try Row.fetchOne(
                db,
                sql: "SELECT cancel_requested_at FROM runs WHERE id = ? AND status = 'running' AND claim_token = ?",
                arguments: [runId, claimToken]
            )
        else { return nil }
        if (row["cancel_requested_at"] as Int64?) != nil {
            try db.execute(
                sql: "UPDATE runs SET status = 'canceled', ended_at = ?, summary_json = NULL, error = COALESCE(error, 'canceled') WHERE id = ?",
                arguments: [now, runId]
            )
            try Self.insertEvents(
                db,
                runId: runId,
                [NewRunEvent(.warn, kind: RunEventKind.canceled, message: "Run canceled")],
                now: now,
                after: &after
            )
            return .canceled
        }
        try db.execute(
            sql: """
                UPDATE runs SET status = 'queued', worker_id = NULL, claim_token = NULL, heartbeat_at = NULL,
                  progress_json = NULL, summary_json = NULL, error = NULL
                WHERE id = ?
                """,
            arguments: [runId]
        )
        try Self.insertEvents(
            db,
            runId: runId,
            [NewRunEvent(.warn, kind: RunEventKind.requeued, message: "Run returned to the queue", fields: .object(["reason": .string(reason)]))],
            now: now,
            after: &after
        )
        return .queued
    }

    /// How many times the process executing a run may die with it before the run fails as `poison_run`.
    public static let maxCrashAttempts = 3

    /// A worker starting with the id of one that died (SIGKILL, power loss, a crash) takes back the runs that one still
    /// held: each goes back to the queue (`requeued`, reason `worker_restarted`), or is canceled if a cancel was
    /// requested, so a backup resumes from what it had written (docs/targets.md, "Resume") instead of waiting for the
    /// lease to fail it. Each such death is counted on the run (a `crashed` event with `crash`, the attempt, and what the
    /// dead process left in `crashNote`); the `maxCrashAttempts`-th fails the run as `poison_run` instead of retrying it
    /// forever (docs/architecture.md, "Poison runs"). Only with a stable `--worker-id`: generated ids never repeat. The
    /// run ids handed back or failed.
    public func releaseRunsOfRestartedWorker(workerId: String, crashNote: String? = nil, now: Int64 = unixNow()) async throws -> [String] {
        let held = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, claim_token FROM runs WHERE status = 'running' AND worker_id = ?", arguments: [workerId])
                .map { ($0[0] as String, $0[1] as String) }
        }
        var released: [String] = []
        for (runId, token) in held {
            let status = try await write { db, after -> RunStatus? in
                guard
                    let attempt = try Int.fetchOne(
                        db,
                        sql: """
                            UPDATE runs SET crash_attempts = crash_attempts + 1 WHERE id = ? AND status = 'running' AND claim_token = ?
                            RETURNING crash_attempts
                            """,
                        arguments: [runId, token]
                    )
                else { return nil }
                var fields: [String: JSONValue] = [
                    "crash": .number(Double(attempt)), "max_crashes": .number(Double(Self.maxCrashAttempts)), "worker_id": .string(workerId),
                ]
                if let crashNote { fields["note"] = .string(String(crashNote.prefix(2000))) }
                let crashed = NewRunEvent(
                    .error,
                    kind: RunEventKind.crashed,
                    message: "The worker executing this run died (\(attempt) of \(Self.maxCrashAttempts))"
                        + (crashNote.map { ": \($0.prefix(200))" } ?? ""),
                    fields: .object(fields)
                )
                guard attempt >= Self.maxCrashAttempts else {
                    try Self.insertEvents(db, runId: runId, [crashed], now: now, after: &after)
                    return try Self.release(db, runId: runId, claimToken: token, reason: "worker_restarted", now: now, after: &after)
                }
                return try Self.complete(
                    db,
                    runId: runId,
                    claimToken: token,
                    outcome: .failed(
                        code: "poison_run",
                        message: "The worker executing this run died \(attempt) times: the run is not retried again",
                        summary: nil
                    ),
                    extraEvents: [crashed],
                    now: now,
                    after: &after
                )
            }
            if status != nil { released.append(runId) }
        }
        return released
    }

    // MARK: - Cancel (API side)

    /// Requests cancellation. Queued → `canceled` at once; running → `cancel_requested_at` + a `cancel_requested`
    /// event (the worker stops cooperatively); terminal → unchanged. Idempotent. Nil when there is no such run.
    public func cancelRun(id: String, userId: Int64?, reason: String?, now: Int64 = unixNow()) async throws -> CancelResult? {
        let reason = reason.flatMap { $0.isEmpty ? nil : $0 } ?? "manual"
        return try await write { db, after -> CancelResult? in
            guard let run = try Self.fetchRun(db, id: id) else { return nil }
            switch run.status {
            case .queued:
                try db.execute(
                    sql: """
                        UPDATE runs SET status = 'canceled', ended_at = ?, error = 'canceled', cancel_requested_at = ?,
                          cancel_requested_by_user_id = ?, cancel_reason = ?
                        WHERE id = ? AND status = 'queued'
                        """,
                    arguments: [now, now, userId, reason, id]
                )
                try Self.insertEvents(
                    db,
                    runId: id,
                    [
                        NewRunEvent(
                            .warn,
                            kind: RunEventKind.canceled,
                            message: "Run canceled before it started",
                            fields: .object(["reason": .string(reason)])
                        )
                    ],
                    now: now,
                    after: &after
                )
                if run.kind == .copy { try Self.finishCopy(db, runId: id, status: .canceled, outcome: .canceled(reason: reason), now: now) }
                return CancelResult(run: try Self.fetchRun(db, id: id)!, notifyWorker: false)
            case .running where run.cancelRequestedAt == nil:
                try db.execute(
                    sql: "UPDATE runs SET cancel_requested_at = ?, cancel_requested_by_user_id = ?, cancel_reason = ? WHERE id = ?",
                    arguments: [now, userId, reason, id]
                )
                try Self.insertEvents(
                    db,
                    runId: id,
                    [
                        NewRunEvent(
                            .warn,
                            kind: RunEventKind.cancelRequested,
                            message: "Cancel requested",
                            fields: .object(["reason": .string(reason)])
                        )
                    ],
                    now: now,
                    after: &after
                )
                after.cancels.append(id)
                return CancelResult(run: try Self.fetchRun(db, id: id)!, notifyWorker: true)
            case .running:
                // Already requested: nothing changes; the hint is resent in case the first one was lost.
                after.cancels.append(id)
                return CancelResult(run: run, notifyWorker: true)
            default:
                return CancelResult(run: run, notifyWorker: false)
            }
        }
    }

    // MARK: - Recovery

    /// Marks runs whose heartbeat is older than the lease `failed` with error `worker_lost` (or `canceled` when a
    /// cancel was requested), with an event each. Their claim token is cleared, so the lost worker can no longer write.
    /// Returns the recovered run ids.
    public func recoverLostRuns(leaseSeconds: Int64, agentLeaseSeconds: Int64 = 600, now: Int64 = unixNow()) async throws -> [String] {
        try await write { db, after -> [String] in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, cancel_requested_at, worker_id, job_id, kind, node_id, operation_json FROM runs
                    WHERE status = 'running' AND COALESCE(heartbeat_at, started_at) < (CASE WHEN node_id = 'hub' THEN ? ELSE ? END)
                    """,
                arguments: [now - leaseSeconds, now - agentLeaseSeconds]
            )
            for row in rows {
                let id: String = row["id"]
                let canceled = (row["cancel_requested_at"] as Int64?) != nil
                // An agent's run is lost when the agent was not heard from for its (longer) lease: `agent_lost`.
                let onAgent = (row["node_id"] as String?) != Self.hubNode
                let code = onAgent ? "agent_lost" : "worker_lost"
                let lease = onAgent ? agentLeaseSeconds : leaseSeconds
                try db.execute(
                    sql: """
                        UPDATE runs SET status = ?, ended_at = ?, error = ?, claim_token = NULL
                        WHERE id = ? AND status = 'running'
                        """,
                    arguments: [canceled ? "canceled" : "failed", now, canceled ? "canceled" : code, id]
                )
                let fields: JSONValue = .object([
                    "error_code": .string(code), "worker_id": (row["worker_id"] as String?).map(JSONValue.string) ?? .null,
                ])
                try Self.insertEvents(
                    db,
                    runId: id,
                    [
                        canceled
                            ? NewRunEvent(
                                .warn,
                                kind: RunEventKind.canceled,
                                message: "Run canceled; its \(onAgent ? "agent" : "worker") was lost",
                                fields: fields
                            )
                            : NewRunEvent(
                                .error,
                                kind: RunEventKind.failed,
                                message: "\(onAgent ? "Agent" : "Worker") lost: no heartbeat for \(lease) s",
                                fields: fields
                            )
                    ],
                    now: now,
                    after: &after
                )
                if !canceled, (row["kind"] as String?) == RunKind.backup.rawValue || Self.isDrill(kind: row["kind"], operation: row["operation_json"])
                {
                    try Self.enqueueNotifications(db, runId: id, jobId: row["job_id"], now: now, after: &after)
                    try Self.enqueuePings(db, runId: id, jobId: row["job_id"], event: .failure, now: now, after: &after)
                }
                // A copy whose worker was lost: its location is `failed`, retried later (docs/targets.md, "Copies").
                if (row["kind"] as String?) == RunKind.copy.rawValue {
                    try Self.finishCopy(
                        db,
                        runId: id,
                        status: canceled ? .canceled : .failed,
                        outcome: canceled ? .canceled(reason: "canceled") : .failed(code: code, message: "no heartbeat for \(lease) s", summary: nil),
                        now: now
                    )
                }
            }
            return rows.map { $0["id"] }
        }
    }

    /// The earliest instant (unix seconds) at which a running run's lease expires, if any run is running.
    public func nextLeaseExpiry(leaseSeconds: Int64, agentLeaseSeconds: Int64 = 600) async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT MIN(COALESCE(heartbeat_at, started_at) + (CASE WHEN node_id = 'hub' THEN ? ELSE ? END)) FROM runs
                    WHERE status = 'running'
                    """,
                arguments: [leaseSeconds, agentLeaseSeconds]
            )
        }
    }

    // MARK: - Reads

    public func run(id: String) async throws -> Run? {
        try await pool.read { db in try Self.fetchRun(db, id: id) }
    }

    /// Runs newest first, filtered by status and job, paged. Returns the page and the total count.
    public func listRuns(status: RunStatus?, jobId: String?, page: Int, pageSize: Int) async throws -> (items: [Run], total: Int) {
        let result = try await listRuns(RunListQuery(status: status, jobId: jobId, pageSize: pageSize, position: .page(page)))
        return (result.items.map(\.run), result.total ?? 0)
    }

    /// A page of runs, newest first (`started_at DESC, id DESC`), with each run's job name. With a cursor the page is a
    /// range read of an index whatever its depth; with a page number it is `OFFSET` plus a total count (kept for
    /// clients of the original's paging).
    public func listRuns(_ query: RunListQuery) async throws -> RunListPage {
        try await pool.read { db in
            var conditions = SQLConditions()
            if let status = query.status { conditions.add("runs.status = ?", [status.rawValue]) }
            if let jobId = query.jobId { conditions.add("runs.job_id = ?", [jobId]) }
            if let kind = query.kind { conditions.add("runs.kind = ?", [kind.rawValue]) }
            if let name = query.jobName {
                conditions.addContains("name", name) { "runs.job_id IN (SELECT id FROM jobs WHERE \($0))" }
            }
            var total: Int?
            var offset = 0
            switch query.position {
            case .page(let page):
                total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs \(conditions.whereClause)", arguments: conditions.arguments) ?? 0
                offset = (page - 1) * query.pageSize
            case .after(let cursor?):
                conditions.add("(runs.started_at, runs.id) < (?, ?)", [cursor.time, cursor.id])
            case .after(nil):
                break
            }
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.qualifiedRunColumns), jobs.name
                    FROM runs LEFT JOIN jobs ON jobs.id = runs.job_id \(conditions.whereClause)
                    ORDER BY runs.started_at DESC, runs.id DESC LIMIT \(query.pageSize + 1) OFFSET \(offset)
                    """,
                arguments: conditions.arguments
            )
            let items = rows.prefix(query.pageSize).map { (run: Self.run($0), jobName: $0[Self.runColumnCount] as String?) }
            let next = rows.count > query.pageSize ? items.last.map { ListCursor(time: $0.run.startedAt, id: $0.run.id) } : nil
            return RunListPage(items: Array(items), total: total, next: next)
        }
    }

    /// The columns `run(_:)` reads, by position (hot path: no by-name lookups, and safe when migrations add columns).
    static let runColumns = """
        id, job_id, status, started_at, ended_at, summary_json, error, progress_json, cancel_requested_at, \
        cancel_requested_by_user_id, cancel_reason, worker_id, heartbeat_at, scheduled_for, kind, operation_json, warnings, node_id
        """

    /// How many columns `runColumns` names: a joined query's own columns come after them.
    static let runColumnCount = 18

    /// `runColumns` prefixed with `runs.`, for queries that join another table.
    static let qualifiedRunColumns = runColumns.split(separator: ",").map { "runs." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        .joined(separator: ", ")

    static func fetchRun(_ db: Database, id: String) throws -> Run? {
        let statement = try db.cachedStatement(sql: "SELECT \(runColumns) FROM runs WHERE id = ?")
        return try Row.fetchOne(statement, arguments: [id]).map(Self.run)
    }

    static func run(_ row: Row) -> Run {
        Run(
            id: row[0],
            jobId: row[1],
            status: RunStatus(rawValue: row[2]) ?? .failed,
            startedAt: row[3],
            endedAt: row[4],
            summary: (row[5] as String?).flatMap { try? JSONValue.parse($0) },
            error: row[6],
            progress: (row[7] as String?).flatMap { try? JSONValue.parse($0) },
            cancelRequestedAt: row[8],
            cancelRequestedByUserId: row[9],
            cancelReason: row[10],
            workerId: row[11],
            heartbeatAt: row[12],
            scheduledFor: row[13],
            kind: RunKind(rawValue: row[14]) ?? .backup,
            operation: (row[15] as String?).flatMap { try? JSONValue.parse($0) },
            warnings: row[16],
            nodeId: row[17]
        )
    }
}

extension AppDatabase {
    /// How many runs are in each status (one pass over the `runs(status, started_at)` index).
    public func runCountsByStatus() async throws -> [RunStatus: Int] {
        try await pool.read { db in
            var counts: [RunStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM runs GROUP BY status") {
                if let status = RunStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }
}

/// `enqueueRun` of an archived job: refused, nothing queued.
public struct JobArchived: Error, Sendable {
    public let jobId: String
}
