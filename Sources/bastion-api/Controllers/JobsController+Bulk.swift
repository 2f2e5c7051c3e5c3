import Core
import Foundation
import Hummingbird
import HummingbirdCore
import Store

/// The jobs list at scale (docs/ui.md, "Jobs at scale"): the list's filters, and one action over many jobs.
extension JobsController {
    /// At most this many ids per bulk request (`JobBulkRequest.maxIds`).
    static let bulkMaxIds = JobBulkRequest.maxIds
    /// Job ids are UUIDs; anything longer than this is no id this API issued.
    static let maxIdLength = JobBulkRequest.maxIdLength
    /// The name search, as long as `GET /api/runs?q=` takes.
    static let maxQueryLength = 200
    /// The job types a filter may ask for (the spec's `type`).
    static let jobTypes = ["filesystem", "sqlite", "postgres", "mariadb", "vaultwarden"]

    /// The filters of `GET /api/jobs`; each bad value is `400 invalid_query` naming the field.
    static func listQuery(_ uri: URI, database: AppDatabase) async throws -> JobListQuery {
        let parameters = uri.queryParameters
        var query = JobListQuery()
        if let raw = parameters.get("sort") {
            guard let sort = JobSort(rawValue: raw) else {
                throw invalid("sort", "sort must be one of \(JobSort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.sort = sort
        }
        // `include_archived` (the first API's switch) and `archived` (which of the two sets) say the same thing twice;
        // both at once would have to agree, so one of them only.
        let includeArchived = parameters.get("include_archived")
        let archived = parameters.get("archived")
        if includeArchived != nil && archived != nil {
            throw invalid("archived", "give archived or include_archived, not both")
        }
        switch includeArchived {
        case nil, "false": break
        case "true": query.archived = .all
        default: throw invalid("include_archived", "include_archived must be true or false")
        }
        if let archived {
            guard let value = JobListQuery.Archived(rawValue: archived) else {
                throw invalid("archived", "archived must be one of \(JobListQuery.Archived.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.archived = value
        }
        if let text = parameters.get("q") {
            guard text.count <= maxQueryLength else { throw invalid("q", "q must be at most \(maxQueryLength) characters") }
            query.query = text
        }
        if let type = parameters.get("type"), type != "all" {
            guard jobTypes.contains(type) else { throw invalid("type", "type must be one of all, \(jobTypes.joined(separator: ", "))") }
            query.type = type
        }
        if let node = parameters.get("node"), node != "all" {
            if node == AppDatabase.hubNode {
                query.node = .hub
            } else {
                // An agent that was never enrolled is a mistake worth saying (a revoked one still has its jobs).
                guard node.count <= maxIdLength, try await database.agent(id: node) != nil else {
                    throw invalid("node", "node must be all, hub or the id of an agent")
                }
                query.node = .agent(node)
            }
        }
        if let status = parameters.get("status"), status != "all" {
            if status == "never" {
                query.latestStatus = .never
            } else if let value = RunStatus(rawValue: status) {
                query.latestStatus = .status(value)
            } else {
                throw invalid("status", "status must be one of all, never, \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        return query
    }

    static func invalid(_ field: String, _ message: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_query", message: message, details: ["field": field])
    }

    struct BulkResult: ResponseEncodable {
        var id: String
        /// `done`, `unchanged`, `not_found`, `job_archived`, `rejected`.
        var result: String
        var ok: Bool
        var message: String?
        var runId: String?
        var runStatus: String?
    }

    struct BulkResponse: ResponseEncodable {
        var action: String
        /// Ids the action changed (`done`), found already so (`unchanged`), and could not act on (`failed`).
        var done: Int
        var unchanged: Int
        var failed: Int
        var results: [BulkResult]
    }

    /// `POST /api/jobs/bulk {action, ids}`: Run now, Archive or Unarchive for up to `bulkMaxIds` jobs at once. The
    /// request is checked whole first (`JobBulkRequest`: a bad action, a non-string, empty, over-long or repeated id,
    /// too many ids: `400`, nothing done); then every id is acted on in one transaction and answered on its own, in
    /// the order given. 200 even when some failed: `failed` counts them and each says why.
    @Sendable func bulk(_ request: Request, context: AppRequestContext) async throws -> BulkResponse {
        let body = try await RequestInput.object(request, known: JobBulkRequest.knownKeys)
        let bulk: JobBulkRequest
        do {
            bulk = try JobBulkRequest(body: body)
        } catch let error as ValidationError {
            var refusal = RequestInput.badRequest(error)
            if error.code == "too_many_ids" { refusal.details["max"] = "\(JobBulkRequest.maxIds)" }
            throw refusal
        }
        let (action, ids) = (bulk.action, bulk.ids)
        let outcomes = try await services.database.bulkJobs(action, ids: ids)
        let results = outcomes.map { outcome in
            BulkResult(
                id: outcome.id,
                result: outcome.result,
                ok: outcome.succeeded,
                message: Self.bulkMessage(outcome.result),
                runId: outcome.runId,
                runStatus: outcome.runStatus
            )
        }
        let done = outcomes.filter { $0.result == "done" }.count
        let unchanged = outcomes.filter { $0.result == "unchanged" }.count
        context.logger.info(
            "Bulk job action",
            metadata: ["action": "\(action.rawValue)", "ids": "\(ids.count)", "done": "\(done)", "failed": "\(ids.count - done - unchanged)"]
        )
        return BulkResponse(action: action.rawValue, done: done, unchanged: unchanged, failed: ids.count - done - unchanged, results: results)
    }

    /// The server's words for a failed id (the UI shows its own for the codes it knows).
    static func bulkMessage(_ result: String) -> String? {
        switch result {
        case "not_found": return "job not found"
        case "job_archived": return "the job is archived: unarchive it to run it"
        case "rejected": return "run rejected: another run of this job is queued or running (overlap policy reject)"
        default: return nil
        }
    }
}
