import Core
import Foundation
import GRDB

/// What asking for a drill did.
public enum DrillEnqueue: Sendable, Equatable {
    /// The verify run of the drill, queued.
    case queued(Run)
    /// The job has no present successful snapshot: a scheduled drill records itself failed (`no_snapshot`, and alerts);
    /// a manual one records nothing (`run` nil).
    case noSnapshot(Run?)
}

extension AppDatabase {
    /// The jobs whose spec has drills switched on (not archived), for the scheduler.
    public func drillJobs() async throws -> [Job] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.jobColumns) FROM jobs
                    WHERE archived_at IS NULL AND json_valid(spec_json) AND json_extract(spec_json, '$.drills.enabled') = 1
                    """
            ).map(Self.job)
        }
    }

    /// Queues a restore drill of `jobId` (docs/architecture.md, "Restore drills"): a `verify` run with
    /// `operation.drill = true` of the newest or a random present snapshot of the job, picked in the same IMMEDIATE
    /// transaction as the insert. `scheduledFor` is the drill's cron trigger: like a backup's, the existence check and
    /// the UNIQUE `runs(job_id, scheduled_for, kind)` index make N workers insert it once, and a backup trigger of the
    /// same minute is another kind. Nil when the job is gone or archived, when a scheduled drill's trigger already has
    /// its run, or when the job no longer schedules drills. `pick`/`testRestore` override the job's settings (manual).
    public func enqueueDrill(
        jobId: String,
        scheduledFor: Int64?,
        pick: JobDrills.Pick? = nil,
        testRestore: Bool? = nil,
        extraFields: [String: JSONValue] = [:],
        now: Int64 = unixNow()
    ) async throws -> DrillEnqueue? {
        try await write { db, after -> DrillEnqueue? in
            guard let job = try Self.fetchJob(db, id: jobId), job.archivedAt == nil else { return nil }
            let settings = (try? JobSpec.parse(job.spec))?.drills
            if let scheduledFor {
                guard settings?.activeSchedule != nil else { return nil }
                let exists =
                    try Bool.fetchOne(
                        db,
                        sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE job_id = ? AND scheduled_for = ? AND kind = 'verify')",
                        arguments: [jobId, scheduledFor]
                    ) ?? false
                if exists { return nil }
            }
            let chosenPick = pick ?? settings?.pick ?? .newest
            var parameters = extraFields
            parameters["drill"] = .bool(true)
            parameters["pick"] = .string(chosenPick.rawValue)
            parameters["test_restore"] = .bool(testRestore ?? settings?.testRestore ?? false)
            parameters["trigger"] = .string(scheduledFor == nil ? "manual" : "schedule")
            if let scheduledFor { parameters["scheduled_for"] = .number(Double(scheduledFor)) }
            let order = chosenPick == .random ? "random()" : "a.ended_at DESC, a.rowid DESC"
            let candidate = try String.fetchOne(
                db,
                sql: """
                    SELECT r.id FROM run_artifacts a JOIN runs r ON r.id = a.run_id
                    WHERE a.job_id = ? AND a.status = 'present' AND r.status = 'success' AND r.kind = 'backup'
                    ORDER BY \(order) LIMIT 1
                    """,
                arguments: [jobId]
            )
            if let candidate, let source = try Self.fetchRun(db, id: candidate) {
                let run = try Self.insertOperation(
                    db,
                    kind: .verify,
                    source: source,
                    parameters: .object(parameters),
                    scheduledFor: scheduledFor,
                    now: now,
                    after: &after
                )
                return .queued(run)
            }
            guard let scheduledFor else { return .noSnapshot(nil) }
            // Nothing to drill on is a failed drill: nobody is left believing the job's backups restore.
            let id = UUID().uuidString.lowercased()
            let message = "Restore drill failed: the job has no present successful snapshot"
            try db.execute(
                sql: """
                    INSERT INTO runs (id, job_id, status, started_at, ended_at, error, kind, operation_json, node_id, scheduled_for)
                    VALUES (?, ?, 'failed', ?, ?, 'no_snapshot', 'verify', ?, ?, ?)
                    """,
                arguments: [id, jobId, now, now, JSONValue.object(parameters).jsonString(), job.agentId ?? Self.hubNode, scheduledFor]
            )
            try Self.insertEvents(
                db,
                runId: id,
                [
                    NewRunEvent(.info, kind: RunEventKind.queued, message: "Restore drill queued", fields: .object(parameters)),
                    NewRunEvent(.error, kind: RunEventKind.failed, message: message, fields: .object(["error_code": "no_snapshot"])),
                ],
                now: now,
                after: &after
            )
            try Self.enqueueNotifications(db, runId: id, jobId: jobId, now: now, after: &after)
            return .noSnapshot(try Self.fetchRun(db, id: id))
        }
    }

    /// Whether a run is a restore drill: a `verify` whose operation says `drill: true`.
    static func isDrill(kind: String?, operation: String?) -> Bool {
        guard kind == RunKind.verify.rawValue, let operation, operation.contains("\"drill\"") else { return false }
        return (try? JSONValue.parse(operation))?["drill"] == .bool(true)
    }

    /// The job's latest finished drill (`success` or `failed`), or its latest successful one, for the overview: the job's
    /// verify runs newest first through `idx_runs_job_id_kind_started_at`, to the first drill.
    static func latestDrill(_ db: Database, jobId: String, successfulOnly: Bool) throws -> DashboardData.RunRef? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT id, status, started_at, ended_at, error FROM runs
                INDEXED BY idx_runs_job_id_kind_started_at
                WHERE job_id = ? AND kind = 'verify' AND status IN \(successfulOnly ? "('success')" : "('success', 'failed')")
                  AND json_valid(operation_json) AND json_extract(operation_json, '$.drill') = 1
                ORDER BY started_at DESC, rowid DESC LIMIT 1
                """,
            arguments: [jobId]
        ).map { DashboardData.RunRef(runId: $0[0], status: $0[1], startedAt: $0[2], endedAt: $0[3], error: $0[4]) }
    }

    /// The run ids of `<data-dir>/runs/<id>/drill` scratch directories whose run is no longer running (a drill's worker
    /// died in the middle of its test restore), for the janitor to remove.
    public func abandonedDrillScratch(runIds: [String]) async throws -> [String] {
        guard !runIds.isEmpty else { return [] }
        return try await pool.read { db in
            try runIds.filter { id in
                let status = try String.fetchOne(db, sql: "SELECT status FROM runs WHERE id = ?", arguments: [id])
                return status != RunStatus.running.rawValue && status != RunStatus.queued.rawValue
            }
        }
    }
}
