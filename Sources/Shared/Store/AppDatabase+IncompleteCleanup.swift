import Core
import Foundation
import GRDB

/// One incomplete run whose data is (to be) removed from its target.
public struct IncompleteCleanup: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case queued, retrying, done, ignored, abandoned
    }

    public var runId: String
    public var jobId: String
    public var jobName: String?
    public var nodeId: String
    public var location: RunLocation?
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var createdAt: Int64
    public var updatedAt: Int64
    /// The run's own outcome (`failed` or `canceled`) and end.
    public var runStatus: String
    public var runEndedAt: Int64?
}

/// Cleanup of incomplete runs (docs/targets.md, "Incomplete runs"): a backup that failed or was canceled leaves what it
/// wrote on its target; after `--incomplete-cleanup-days` the janitor removes it, with retries and a `cleanup` event on
/// the run. A run that is queued or running (to be resumed) is never touched, nor one whose snapshot was recorded.
extension AppDatabase {
    /// Retries wait 60 s doubling to 6 h; after 20 attempts the row is `abandoned`.
    public static let cleanupMaxAttempts = 20

    static let cleanupColumns = """
        c.run_id, c.job_id, j.name, c.node_id, c.target_json, c.status, c.attempts, c.next_attempt_at, c.last_error, c.created_at,
        c.updated_at, r.status, r.ended_at
        """

    static func cleanup(_ row: Row) -> IncompleteCleanup {
        IncompleteCleanup(
            runId: row[0],
            jobId: row[1],
            jobName: row[2],
            nodeId: row[3],
            location: RunLocation(json: try? JSONValue.parse(row[4] as String)),
            status: IncompleteCleanup.Status(rawValue: row[5]) ?? .queued,
            attempts: row[6],
            nextAttemptAt: row[7],
            lastError: row[8],
            createdAt: row[9],
            updatedAt: row[10],
            runStatus: row[11],
            runEndedAt: row[12]
        )
    }

    /// Queues the hub's failed or canceled backups that ended before `cutoff`, wrote no snapshot and are not queued
    /// yet, at most `limit`; how many were queued.
    public func queueIncompleteCleanups(endedBefore cutoff: Int64, now: Int64 = unixNow(), limit: Int = 500) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO incomplete_cleanups (run_id, job_id, node_id, target_json, status, attempts, next_attempt_at, created_at, updated_at)
                    SELECT r.id, r.job_id, r.node_id, r.target_snapshot_json, 'queued', 0, ?, ?, ?
                    FROM runs r
                    WHERE r.kind = 'backup' AND r.status IN ('failed', 'canceled') AND r.ended_at < ?
                      AND r.target_snapshot_json IS NOT NULL AND r.node_id = 'hub'
                      AND NOT EXISTS (SELECT 1 FROM run_artifacts a WHERE a.run_id = r.id)
                      AND NOT EXISTS (SELECT 1 FROM incomplete_cleanups c WHERE c.run_id = r.id)
                    LIMIT ?
                    """,
                arguments: [now, now, now, cutoff, limit]
            )
            return db.changesCount
        }
    }

    /// Cleanups due now, oldest first.
    public func dueIncompleteCleanups(now: Int64 = unixNow(), limit: Int) async throws -> [IncompleteCleanup] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.cleanupColumns) FROM incomplete_cleanups c JOIN runs r ON r.id = c.run_id LEFT JOIN jobs j ON j.id = c.job_id
                    WHERE c.status IN ('queued', 'retrying') AND c.next_attempt_at <= ? ORDER BY c.next_attempt_at LIMIT ?
                    """,
                arguments: [now, limit]
            ).map(Self.cleanup)
        }
    }

    /// Records an attempt: done (with a `cleanup` event on the run), or failed (retried later, or abandoned).
    public func finishIncompleteCleanup(runId: String, removed: String?, error: String?, now: Int64 = unixNow()) async throws {
        try await write { db, after in
            guard let attempts = try Int.fetchOne(db, sql: "SELECT attempts FROM incomplete_cleanups WHERE run_id = ?", arguments: [runId]) else {
                return
            }
            let attempt = attempts + 1
            if let error {
                let abandoned = attempt >= Self.cleanupMaxAttempts
                let delay = min(Int64(60) << Int64(min(attempt - 1, 20)), 6 * 3600)
                try db.execute(
                    sql:
                        "UPDATE incomplete_cleanups SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE run_id = ?",
                    arguments: [abandoned ? "abandoned" : "retrying", attempt, now + delay, error, now, runId]
                )
                let next = abandoned ? "given up after \(attempt) attempts" : "next attempt in \(delay) s"
                _ = try Self.insertEvents(
                    db,
                    runId: runId,
                    [
                        NewRunEvent(
                            .warn,
                            kind: "cleanup",
                            message: "Removing this incomplete run's data from its target failed (\(next)): \(error)",
                            fields: .object(["attempt": .number(Double(attempt)), "error": .string(error), "abandoned": .bool(abandoned)])
                        )
                    ],
                    now: now,
                    after: &after
                )
            } else {
                try db.execute(
                    sql: "UPDATE incomplete_cleanups SET status = 'done', attempts = ?, last_error = NULL, updated_at = ? WHERE run_id = ?",
                    arguments: [attempt, now, runId]
                )
                _ = try Self.insertEvents(
                    db,
                    runId: runId,
                    [
                        NewRunEvent(
                            kind: "cleanup",
                            message: "Removed this incomplete run's data from \(removed ?? "its target")",
                            fields: .object(["attempt": .number(Double(attempt)), "location": removed.map(JSONValue.string) ?? .null])
                        )
                    ],
                    now: now,
                    after: &after
                )
            }
        }
    }

    /// Every cleanup, newest first, optionally of one status.
    public func incompleteCleanups(status: IncompleteCleanup.Status? = nil, limit: Int = 200) async throws -> [IncompleteCleanup] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.cleanupColumns) FROM incomplete_cleanups c JOIN runs r ON r.id = c.run_id LEFT JOIN jobs j ON j.id = c.job_id
                    WHERE (?1 IS NULL OR c.status = ?1) ORDER BY c.updated_at DESC, c.run_id LIMIT ?2
                    """,
                arguments: [status?.rawValue, limit]
            ).map(Self.cleanup)
        }
    }

    public func incompleteCleanup(runId: String) async throws -> IncompleteCleanup? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT \(Self.cleanupColumns) FROM incomplete_cleanups c JOIN runs r ON r.id = c.run_id LEFT JOIN jobs j ON j.id = c.job_id
                    WHERE c.run_id = ?
                    """,
                arguments: [runId]
            ).map(Self.cleanup)
        }
    }

    /// `retry-now` (a retrying, abandoned or ignored row becomes due now), `ignore` (never attempted again until
    /// `unignore`); nil when the run has no cleanup, false when the row's status does not allow it (`done`).
    /// A cleanup made due now wakes the janitor (`snapshots`), which attempts it at once.
    public func setIncompleteCleanup(runId: String, action: String, now: Int64 = unixNow()) async throws -> Bool? {
        try await write { db, after in
            guard let status = try String.fetchOne(db, sql: "SELECT status FROM incomplete_cleanups WHERE run_id = ?", arguments: [runId]) else {
                return nil
            }
            switch (action, status) {
            case ("retry-now", "queued"), ("retry-now", "retrying"), ("retry-now", "abandoned"), ("retry-now", "ignored"):
                try db.execute(
                    sql: "UPDATE incomplete_cleanups SET status = 'retrying', next_attempt_at = ?, updated_at = ? WHERE run_id = ?",
                    arguments: [now, now, runId]
                )
            case ("ignore", "queued"), ("ignore", "retrying"), ("ignore", "abandoned"):
                try db.execute(sql: "UPDATE incomplete_cleanups SET status = 'ignored', updated_at = ? WHERE run_id = ?", arguments: [now, runId])
            case ("unignore", "ignored"):
                try db.execute(
                    sql: "UPDATE incomplete_cleanups SET status = 'queued', next_attempt_at = ?, updated_at = ? WHERE run_id = ?",
                    arguments: [now, now, runId]
                )
            default:
                return false
            }
            if action != "ignore" { after.wake(.snapshots) }
            return true
        }
    }
}
