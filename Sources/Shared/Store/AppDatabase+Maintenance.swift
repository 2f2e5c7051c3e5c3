import Foundation
import GRDB

/// Janitor work: pruning in bounded batches, `PRAGMA optimize`, WAL checkpoints. Each batch is its own short
/// IMMEDIATE transaction, so a writer in another process waits at most one batch.
extension AppDatabase {
    /// Statuses of `run_artifacts` that keep their run from being pruned (a snapshot that still exists or is being
    /// deleted must keep its history).
    static let liveArtifactStatuses = "('present', 'deleting', 'error')"

    /// The retention candidate query; also checked by `EXPLAIN QUERY PLAN` in tests.
    public static let expiredRunsSQL = """
        SELECT id FROM runs
        WHERE ended_at IS NOT NULL AND ended_at < ?
          AND NOT EXISTS (SELECT 1 FROM run_artifacts a WHERE a.run_id = runs.id AND a.status IN \(liveArtifactStatuses))
        ORDER BY ended_at
        LIMIT ?
        """

    /// Deletes sessions with `expires_at < now`. Returns the number removed.
    public func deleteExpiredSessions(now: Int64, batchSize: Int) async throws -> Int {
        try await deleteInBatches(
            sql: "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < ? LIMIT ?)",
            arguments: [now],
            batchSize: batchSize
        )
    }

    /// Deletes enrollment tokens with `expires_at < now`.
    public func deleteExpiredEnrollmentTokens(now: Int64, batchSize: Int) async throws -> Int {
        try await deleteInBatches(
            sql: """
                DELETE FROM enrollment_tokens WHERE token_hash IN
                    (SELECT token_hash FROM enrollment_tokens WHERE expires_at < ? LIMIT ?)
                """,
            arguments: [now],
            batchSize: batchSize
        )
    }

    /// Deletes login-throttle rows whose last failure is before `cutoff` (30 days ago in production).
    public func deleteStaleLoginThrottles(lastFailedBefore cutoff: Int64, batchSize: Int) async throws -> Int {
        try await deleteInBatches(
            sql: "DELETE FROM login_throttle WHERE ip IN (SELECT ip FROM login_throttle WHERE last_failed_at < ? LIMIT ?)",
            arguments: [cutoff],
            batchSize: batchSize
        )
    }

    /// Deletes finished runs that ended before `cutoff`, with their events, and never a run whose snapshot is live.
    ///
    /// Events go first, in chunks of `batchSize` rows per transaction, so a run with a huge log never holds the write
    /// lock for long; then the run row, re-checking the condition in the same transaction.
    public func deleteRunsEnded(before cutoff: Int64, batchSize: Int) async throws -> (runs: Int, events: Int) {
        var runs = 0
        var events = 0
        while true {
            let ids = try await pool.read { db in
                try String.fetchAll(db, sql: Self.expiredRunsSQL, arguments: [cutoff, batchSize])
            }
            if ids.isEmpty { break }
            for id in ids {
                while true {
                    let removed = try await pool.write { db -> Int in
                        try db.execute(
                            sql: """
                                DELETE FROM run_events WHERE run_id = ? AND seq IN
                                    (SELECT seq FROM run_events WHERE run_id = ? ORDER BY seq LIMIT ?)
                                """,
                            arguments: [id, id, batchSize]
                        )
                        return db.changesCount
                    }
                    events += removed
                    if removed < batchSize { break }
                }
                runs += try await pool.write { db -> Int in
                    try db.execute(
                        sql: """
                            DELETE FROM runs WHERE id = ? AND ended_at IS NOT NULL AND ended_at < ?
                              AND NOT EXISTS (SELECT 1 FROM run_artifacts a WHERE a.run_id = runs.id
                                              AND a.status IN \(Self.liveArtifactStatuses))
                            """,
                        arguments: [id, cutoff]
                    )
                    return db.changesCount
                }
            }
            if ids.count < batchSize { break }
        }
        return (runs, events)
    }

    /// `PRAGMA analysis_limit` then `PRAGMA optimize`, as SQLite recommends for long-lived connections.
    ///
    /// Inside an IMMEDIATE transaction: outside one, `optimize` reads and then upgrades to a write, and an upgrade
    /// that meets another process's write lock fails with SQLITE_BUSY at once, busy timeout or not.
    public func optimize(analysisLimit: Int = 400) async throws {
        try await pool.write { db in
            try db.execute(sql: "PRAGMA analysis_limit = \(analysisLimit)")
            try db.execute(sql: "PRAGMA optimize")
        }
    }

    /// Checkpoints the WAL: TRUNCATE when the `-wal` file is larger than `truncateAboveBytes`, else PASSIVE.
    public func checkpoint(truncateAboveBytes: Int64) async throws -> WALCheckpointResult {
        let walPath = path + "-wal"
        let before = Self.fileSize(walPath)
        let mode: Database.CheckpointMode = before > truncateAboveBytes ? .truncate : .passive
        let modeName = mode == .truncate ? "truncate" : "passive"
        let frames: (walFrameCount: Int, checkpointedFrameCount: Int)
        do {
            frames = try await pool.writeWithoutTransaction { db in
                try db.checkpoint(mode)
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            // Another process (a second janitor, a worker's auto-checkpoint) is checkpointing right now; SQLite
            // answers BUSY without consulting the busy handler. Its checkpoint does the job: skip ours.
            return WALCheckpointResult(
                mode: modeName,
                skipped: true,
                walBytesBefore: before,
                walBytesAfter: Self.fileSize(walPath),
                walFrames: 0,
                checkpointedFrames: 0
            )
        }
        return WALCheckpointResult(
            mode: modeName,
            skipped: false,
            walBytesBefore: before,
            walBytesAfter: Self.fileSize(walPath),
            walFrames: frames.walFrameCount,
            checkpointedFrames: frames.checkpointedFrameCount
        )
    }

    private static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Runs `sql` (which must end in `LIMIT ?`) until a batch removes fewer than `batchSize` rows.
    private func deleteInBatches(sql: String, arguments: StatementArguments, batchSize: Int) async throws -> Int {
        var total = 0
        while true {
            let removed = try await pool.write { db -> Int in
                try db.execute(sql: sql, arguments: arguments + [batchSize])
                return db.changesCount
            }
            total += removed
            if removed < batchSize { return total }
        }
    }
}

/// What one checkpoint did.
public struct WALCheckpointResult: Sendable, Equatable {
    public var mode: String
    /// True when another connection was checkpointing and this one stood aside.
    public var skipped: Bool
    public var walBytesBefore: Int64
    public var walBytesAfter: Int64
    public var walFrames: Int
    public var checkpointedFrames: Int
}
