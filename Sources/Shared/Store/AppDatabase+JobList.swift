import Core
import Foundation
import GRDB

/// What `GET /api/jobs` asks for: the filters of the jobs list at scale (docs/ui.md, "Jobs at scale"), a sort and a page.
public struct JobListQuery: Sendable {
    /// Which jobs by their archived state.
    public enum Archived: String, Sendable, CaseIterable {
        case active, archived, all
    }

    /// Where a job runs: the hub's workers, or one agent.
    public enum Node: Sendable, Equatable {
        case hub
        case agent(String)
    }

    /// The status of the job's latest run, or `never` (no run yet).
    public enum LatestStatus: Sendable, Equatable {
        case status(RunStatus)
        case never
    }

    public var archived: Archived = .active
    /// Name contains (case-insensitive for ASCII, as SQLite's LIKE), taken literally.
    public var query: String?
    /// The spec's `type` (`filesystem`, `sqlite`, `postgres`, `mariadb`, `vaultwarden`).
    public var type: String?
    public var node: Node?
    public var latestStatus: LatestStatus?
    public var sort: JobSort = .updatedDesc
    /// nil: every matching row.
    public var page: Int?
    public var pageSize: Int = 20

    public init() {}
}

/// What a bulk action did to one job (`POST /api/jobs/bulk`).
public struct JobBulkOutcome: Sendable, Equatable {
    public var id: String
    /// `done`, `unchanged` (already in the asked state), or a failure: `not_found`, `job_archived`, `rejected`.
    public var result: String
    public var runId: String?
    public var runStatus: String?

    public var succeeded: Bool { result == "done" || result == "unchanged" }
}

extension AppDatabase {
    /// The job list with its filters (nil `page`: every matching row); each row with its latest run, in one query (no
    /// query per row, through runs(job_id, started_at)).
    public func listJobs(_ query: JobListQuery) async throws -> (items: [JobListItem], total: Int) {
        try await pool.read { db in
            var conditions = SQLConditions()
            switch query.archived {
            case .active: conditions.add("jobs.archived_at IS NULL", [])
            case .archived: conditions.add("jobs.archived_at IS NOT NULL", [])
            case .all: break
            }
            if let text = query.query, !text.isEmpty { conditions.addContains("jobs.name", text) }
            // `json_valid` first: a row whose spec is not JSON (never written by this API) is simply not of any type.
            if let type = query.type { conditions.add("json_valid(jobs.spec_json) AND json_extract(jobs.spec_json, '$.type') = ?", [type]) }
            switch query.node {
            case nil: break
            case .hub?: conditions.add("jobs.agent_id IS NULL", [])
            case .agent(let id)?: conditions.add("jobs.agent_id = ?", [id])
            }
            switch query.latestStatus {
            case nil: break
            case .never?: conditions.add("latest.id IS NULL", [])
            case .status(let status)?: conditions.add("latest.status = ?", [status.rawValue])
            }
            // The latest run is the same subquery as the rows', so the count agrees with what the pages show.
            let from = """
                FROM jobs
                LEFT JOIN runs AS latest ON latest.id =
                  (SELECT r.id FROM runs r WHERE r.job_id = jobs.id ORDER BY r.started_at DESC LIMIT 1)
                \(conditions.whereClause)
                """
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) \(from)", arguments: conditions.arguments) ?? 0
            var limit = ""
            if let page = query.page {
                limit = " LIMIT \(query.pageSize) OFFSET \((page - 1) * query.pageSize)"
            }
            let qualified = Self.jobColumns.split(separator: ",").map { "jobs." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT \(qualified), latest.id, latest.status, latest.started_at, latest.ended_at \(from) ORDER BY \(query.sort.orderBy)\(limit)",
                arguments: conditions.arguments
            )
            let items = rows.map { row -> JobListItem in
                var item = JobListItem(job: Self.job(row))
                item.latestRunId = row[10]
                item.latestRunStatus = row[11]
                item.latestRunStartedAt = row[12]
                item.latestRunEndedAt = row[13]
                return item
            }
            return (items, total)
        }
    }

    /// One action over many jobs in ONE transaction: either every outcome below is committed, or (an error thrown)
    /// none is. Each id gets its own outcome, in the order given: an unknown id is `not_found`, Run now of an
    /// archived job is `job_archived`, a run the overlap policy refused is `rejected` (with its run, as Run now).
    /// `ids` are distinct (the API refuses duplicates before this).
    public func bulkJobs(_ action: JobBulkAction, ids: [String], source: String = "manual", now: Int64 = unixNow()) async throws -> [JobBulkOutcome] {
        try await write { db, after -> [JobBulkOutcome] in
            var outcomes: [JobBulkOutcome] = []
            outcomes.reserveCapacity(ids.count)
            var changed = false
            for id in ids {
                guard let job = try Self.fetchJob(db, id: id) else {
                    outcomes.append(JobBulkOutcome(id: id, result: "not_found"))
                    continue
                }
                switch action {
                case .archive, .unarchive:
                    let archive = action == .archive
                    guard (job.archivedAt == nil) == archive else {
                        outcomes.append(JobBulkOutcome(id: id, result: "unchanged"))
                        continue
                    }
                    try db.execute(
                        sql: "UPDATE jobs SET archived_at = ?, updated_at = ? WHERE id = ?",
                        arguments: [archive ? now : nil, now, id]
                    )
                    changed = true
                    outcomes.append(JobBulkOutcome(id: id, result: "done"))
                case .run:
                    guard job.archivedAt == nil else {
                        outcomes.append(JobBulkOutcome(id: id, result: "job_archived"))
                        continue
                    }
                    guard let run = try Self.insertRun(db, job: job, fields: ["source": .string(source)], scheduledFor: nil, now: now, after: &after)
                    else {
                        outcomes.append(JobBulkOutcome(id: id, result: "not_found"))
                        continue
                    }
                    let result = run.status == .rejected ? "rejected" : "done"
                    outcomes.append(JobBulkOutcome(id: id, result: result, runId: run.id, runStatus: run.status.rawValue))
                }
            }
            if changed { after.wake(.jobs) }
            return outcomes
        }
    }
}
