import Core
import GRDB

/// A job's backup figures for `/metrics` (docs/observability.md, "Backup metrics"): its last successful backup and its
/// last finished one.
public struct JobBackupMetrics: Sendable, Equatable {
    public var jobId: String
    public var name: String
    /// The last successful backup run: when it ended (Unix seconds), how long it ran (claim to end, seconds), what it
    /// stored (bytes written to the target), and the source's files and bytes. Nil fields when it never succeeded.
    public var lastSuccessAt: Int64?
    public var lastSuccessDurationSeconds: Int64?
    public var lastSuccessStoredBytes: Int64?
    public var lastSuccessSourceBytes: Int64?
    public var lastSuccessFiles: Int64?
    /// The last finished backup run (success, failed, canceled or rejected): when it ended and whether it succeeded.
    public var lastRunAt: Int64?
    public var lastRunSucceeded: Bool?
}

extension AppDatabase {
    /// Every job that is not archived, with its last successful and last finished backup (one query; the
    /// `runs(job_id, ...)` index finds each job's newest rows).
    public func jobBackupMetrics() async throws -> [JobBackupMetrics] {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT j.id, j.name,
                      s.ended_at, s.ended_at - s.started_at,
                      json_extract(s.summary_json, '$.metrics.transfer_total_bytes'),
                      json_extract(s.summary_json, '$.metrics.source_total.bytes'),
                      json_extract(s.summary_json, '$.metrics.source_total.files'),
                      l.ended_at, l.status
                    FROM jobs j
                    LEFT JOIN runs s ON s.id = (
                      SELECT id FROM runs WHERE job_id = j.id AND kind = 'backup' AND status = 'success'
                      ORDER BY ended_at DESC LIMIT 1)
                    LEFT JOIN runs l ON l.id = (
                      SELECT id FROM runs WHERE job_id = j.id AND kind = 'backup' AND ended_at IS NOT NULL
                        AND status IN ('success', 'failed', 'canceled', 'rejected')
                      ORDER BY ended_at DESC LIMIT 1)
                    WHERE j.archived_at IS NULL
                    ORDER BY j.id
                    """
            )
            return rows.map { row in
                JobBackupMetrics(
                    jobId: row[0],
                    name: row[1],
                    lastSuccessAt: row[2],
                    lastSuccessDurationSeconds: row[3],
                    lastSuccessStoredBytes: row[4],
                    lastSuccessSourceBytes: row[5],
                    lastSuccessFiles: row[6],
                    lastRunAt: row[7],
                    lastRunSucceeded: (row[8] as String?).map { $0 == "success" }
                )
            }
        }
    }
}
