import Core
import Foundation
import GRDB

/// A job row plus its latest run, as `GET /api/jobs` lists it.
public struct JobListItem: Sendable {
    public var job: Job
    public var latestRunId: String?
    public var latestRunStatus: String?
    public var latestRunStartedAt: Int64?
    public var latestRunEndedAt: Int64?
}

/// Sort orders of the job list (the original's names).
public enum JobSort: String, Sendable, CaseIterable {
    case updatedDesc = "updated_desc"
    case updatedAsc = "updated_asc"
    case nameAsc = "name_asc"
    case nameDesc = "name_desc"

    var orderBy: String {
        switch self {
        case .updatedDesc: return "jobs.updated_at DESC, jobs.id DESC"
        case .updatedAsc: return "jobs.updated_at ASC, jobs.id ASC"
        case .nameAsc: return "jobs.name COLLATE NOCASE ASC, jobs.id ASC"
        case .nameDesc: return "jobs.name COLLATE NOCASE DESC, jobs.id DESC"
        }
    }
}

extension AppDatabase {
    /// Inserts a validated job.
    public func createJob(_ input: JobInput, now: Int64 = unixNow()) async throws -> Job {
        let job = Job(
            id: UUID().uuidString.lowercased(),
            name: input.name,
            agentId: input.agentId,
            schedule: input.schedule,
            scheduleTimezone: input.scheduleTimezone,
            overlapPolicy: input.overlapPolicy,
            spec: input.spec.storedJSON,
            createdAt: now,
            updatedAt: now,
            archivedAt: nil
        )
        try await write { db, after in
            after.wake(.jobs)
            try db.execute(
                sql: """
                    INSERT INTO jobs (id, name, agent_id, schedule, schedule_timezone, overlap_policy, spec_json, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    job.id, job.name, job.agentId, job.schedule, job.scheduleTimezone, job.overlapPolicy.rawValue, job.spec.jsonString(), now, now,
                ]
            )
        }
        return job
    }

    /// Replaces a job's definition; nil when there is no such job.
    public func updateJob(id: String, _ input: JobInput, now: Int64 = unixNow()) async throws -> Job? {
        try await write { db, after -> Job? in
            try db.execute(
                sql: """
                    UPDATE jobs SET name = ?, schedule = ?, schedule_timezone = ?, overlap_policy = ?, spec_json = ?, updated_at = ?,
                      agent_id = ?
                    WHERE id = ?
                    """,
                arguments: [
                    input.name, input.schedule, input.scheduleTimezone, input.overlapPolicy.rawValue, input.spec.storedJSON.jsonString(), now,
                    input.agentId, id,
                ]
            )
            guard db.changesCount == 1 else { return nil }
            after.wake(.jobs)
            return try Self.fetchJob(db, id: id)
        }
    }

    /// Archives (a soft delete: no more scheduled runs, history and snapshots stay) or unarchives a job; nil when there
    /// is no such job.
    public func setJobArchived(id: String, archived: Bool, now: Int64 = unixNow()) async throws -> Job? {
        try await write { db, after -> Job? in
            guard try Self.fetchJob(db, id: id) != nil else { return nil }
            try db.execute(
                sql: "UPDATE jobs SET archived_at = ?, updated_at = ? WHERE id = ? AND (archived_at IS NULL) = ?",
                arguments: [archived ? now : nil, now, id, archived]
            )
            if db.changesCount == 1 { after.wake(.jobs) }
            return try Self.fetchJob(db, id: id)
        }
    }

    /// Hard delete; runs and their events cascade. False when there was no such job.
    public func deleteJob(id: String) async throws -> Bool {
        try await write { db, after in
            try db.execute(sql: "DELETE FROM jobs WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else { return false }
            after.wake(.jobs)
            return true
        }
    }

    public func job(id: String) async throws -> Job? {
        try await pool.read { db in try Self.fetchJob(db, id: id) }
    }

    /// Jobs that fire on a schedule: not archived, with a cron string.
    public func scheduledJobs() async throws -> [Job] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE schedule IS NOT NULL AND archived_at IS NULL").map(Self.job)
        }
    }

    /// The columns `job(_:)` reads, by position.
    static let jobColumns = "id, name, agent_id, schedule, schedule_timezone, overlap_policy, spec_json, created_at, updated_at, archived_at"

    static func fetchJob(_ db: Database, id: String) throws -> Job? {
        let statement = try db.cachedStatement(sql: "SELECT \(jobColumns) FROM jobs WHERE id = ?")
        return try Row.fetchOne(statement, arguments: [id]).map(Self.job)
    }

    static func job(_ row: Row) -> Job {
        Job(
            id: row[0],
            name: row[1],
            agentId: row[2],
            schedule: row[3],
            scheduleTimezone: row[4],
            overlapPolicy: OverlapPolicy(rawValue: row[5]) ?? .queue,
            spec: (row[6] as String?).flatMap { try? JSONValue.parse($0) } ?? .null,
            createdAt: row[7],
            updatedAt: row[8],
            archivedAt: row[9]
        )
    }
}

extension JobListItem {
    init(job: Job) {
        self.job = job
    }
}
