import Core
import Foundation
import GRDB

/// What the overview page shows, read in one transaction from indexed queries (docs/architecture.md, "HTTP API",
/// overview): backup counts by status over two windows, what is active, and per job its last success and failure,
/// its latest backup and its outcomes per day.
public struct DashboardData: Sendable {
    public struct RunRef: Sendable, Equatable {
        public var runId: String
        public var status: String
        public var startedAt: Int64
        public var endedAt: Int64?
        public var error: String?
    }

    public struct JobHealth: Sendable {
        public var job: Job
        public var lastSuccess: RunRef?
        public var lastFailure: RunRef?
        public var latest: RunRef?
        /// One dictionary per day (oldest first), backup count by status.
        public var days: [[String: Int]]
        /// The latest finished restore drill and the latest successful one (docs/architecture.md, "Restore drills").
        public var lastDrill: RunRef? = nil
        public var lastSuccessfulDrill: RunRef? = nil
    }

    /// Backups by status started in the last 24 hours and 7 days.
    public var last24h: [String: Int]
    public var last7d: [String: Int]
    /// Runs of any kind running and queued now.
    public var running: Int
    public var queued: Int
    public var jobs: [JobHealth]
}

extension AppDatabase {
    /// `dayStarts`: the instants that bound the days of the strip, ascending (N + 1 of them for N days), computed by
    /// the caller in the time zone it shows days in.
    public func dashboard(now: Int64, dayStarts: [Int64]) async throws -> DashboardData {
        try await pool.read { db in
            func counts(since: Int64) throws -> [String: Int] {
                var result: [String: Int] = [:]
                for row in try Row.fetchAll(
                    db,
                    sql: "SELECT status, COUNT(*) FROM runs WHERE kind = 'backup' AND started_at >= ? GROUP BY status",
                    arguments: [since]
                ) { result[row[0]] = row[1] }
                return result
            }
            var active: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM runs WHERE status IN ('running', 'queued') GROUP BY status") {
                active[row[0]] = row[1]
            }
            let jobs = try Row.fetchAll(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE archived_at IS NULL ORDER BY name COLLATE NOCASE, id")
                .map(Self.job)
            // Outcomes per job, day and status: one range read of (kind, started_at) per day.
            var buckets: [String: [[String: Int]]] = [:]
            let dayCount = max(0, dayStarts.count - 1)
            if dayCount > 0 {
                let values = (0..<dayCount).map { "(\($0), \(dayStarts[$0]), \(dayStarts[$0 + 1]))" }.joined(separator: ", ")
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        WITH days(d, s, e) AS (VALUES \(values))
                        SELECT runs.job_id, days.d, runs.status, COUNT(*) FROM days
                        JOIN runs ON runs.kind = 'backup' AND runs.started_at >= days.s AND runs.started_at < days.e
                        GROUP BY runs.job_id, days.d, runs.status
                        """
                )
                for row in rows {
                    let jobId: String = row[0]
                    let day: Int = row[1]
                    var strip = buckets[jobId] ?? Array(repeating: [:], count: dayCount)
                    strip[day][row[2] as String, default: 0] += row[3] as Int
                    buckets[jobId] = strip
                }
            }
            func newest(_ jobId: String, status: String?) throws -> DashboardData.RunRef? {
                let filter = status == nil ? "" : "AND status = ?"
                var arguments: StatementArguments = [jobId]
                if let status { arguments += [status] }
                return try Row.fetchOne(
                    db,
                    sql: """
                        SELECT id, status, started_at, ended_at, error FROM runs WHERE job_id = ? \(filter) AND kind = 'backup'
                        ORDER BY started_at DESC, rowid DESC LIMIT 1
                        """,
                    arguments: arguments
                ).map { DashboardData.RunRef(runId: $0[0], status: $0[1], startedAt: $0[2], endedAt: $0[3], error: $0[4]) }
            }
            return DashboardData(
                last24h: try counts(since: now - 86_400),
                last7d: try counts(since: now - 7 * 86_400),
                running: active["running"] ?? 0,
                queued: active["queued"] ?? 0,
                jobs: try jobs.map { job in
                    var health = DashboardData.JobHealth(
                        job: job,
                        lastSuccess: try newest(job.id, status: "success"),
                        lastFailure: try newest(job.id, status: "failed"),
                        latest: try newest(job.id, status: nil),
                        days: buckets[job.id] ?? Array(repeating: [:], count: dayCount)
                    )
                    health.lastDrill = try Self.latestDrill(db, jobId: job.id, successfulOnly: false)
                    health.lastSuccessfulDrill = try Self.latestDrill(db, jobId: job.id, successfulOnly: true)
                    return health
                }
            )
        }
    }
}
