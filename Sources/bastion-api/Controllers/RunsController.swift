import Foundation
import Hummingbird
import HummingbirdCore
import Shared

/// Runs: list, detail, cancel, and the HTTP event log (reference/original-api.md §1 "Runs").
struct RunsController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup<AppRequestContext>) {
        group.get("runs", use: list)
        group.get("runs/:id", use: show)
        group.post("runs/:id/cancel", use: cancel)
        group.get("runs/:id/events", use: events)
    }

    struct RunListItemDTO: Encodable, Sendable {
        var id: String
        var jobId: String
        var status: String
        var startedAt: Int64
        var endedAt: Int64?
        var error: String?

        init(_ run: Run) {
            id = run.id
            jobId = run.jobId
            status = run.status.rawValue
            startedAt = run.startedAt
            endedAt = run.endedAt
            error = run.error
        }

        enum CodingKeys: String, CodingKey {
            case id, status, error
            case jobId = "job_id"
            case startedAt = "started_at"
            case endedAt = "ended_at"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(jobId, forKey: .jobId)
            try container.encode(status, forKey: .status)
            try container.encode(startedAt, forKey: .startedAt)
            try container.encode(endedAt, forKey: .endedAt)
            try container.encode(error, forKey: .error)
        }
    }

    /// The run detail of the original plus this system's worker fields.
    struct RunDTO: ResponseEncodable {
        var run: Run
        var jobName: String?

        enum CodingKeys: String, CodingKey {
            case id, status, progress, summary, error
            case jobId = "job_id"
            case jobName = "job_name"
            case nodeId = "node_id"
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case cancelRequestedAt = "cancel_requested_at"
            case cancelRequestedByUserId = "cancel_requested_by_user_id"
            case cancelReason = "cancel_reason"
            case workerId = "worker_id"
            case heartbeatAt = "heartbeat_at"
            case scheduledFor = "scheduled_for"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(run.id, forKey: .id)
            try container.encode(run.jobId, forKey: .jobId)
            try container.encode(jobName, forKey: .jobName)
            try container.encode("hub", forKey: .nodeId)
            try container.encode(run.status.rawValue, forKey: .status)
            try container.encode(run.startedAt, forKey: .startedAt)
            try container.encode(run.endedAt, forKey: .endedAt)
            try container.encode(run.cancelRequestedAt, forKey: .cancelRequestedAt)
            try container.encode(run.cancelRequestedByUserId, forKey: .cancelRequestedByUserId)
            try container.encode(run.cancelReason, forKey: .cancelReason)
            try container.encode(run.progress, forKey: .progress)
            try container.encode(run.summary, forKey: .summary)
            try container.encode(run.error, forKey: .error)
            try container.encode(run.workerId, forKey: .workerId)
            try container.encode(run.heartbeatAt, forKey: .heartbeatAt)
            try container.encode(run.scheduledFor, forKey: .scheduledFor)
        }
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JobsController.Page<RunListItemDTO> {
        let paging = try RequestInput.paging(request)
        var status: RunStatus?
        if let raw = request.uri.queryParameters.get("status"), raw != "all" {
            guard let parsed = RunStatus(rawValue: raw) else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_query",
                    message: "status must be one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                    details: ["field": "status"]
                )
            }
            status = parsed
        }
        let jobId = request.uri.queryParameters.get("job_id").map { String($0) }
        let result = try await services.database.listRuns(status: status, jobId: jobId, page: paging.page, pageSize: paging.pageSize)
        return JobsController.Page(items: result.items.map { RunListItemDTO($0) }, page: paging.page, pageSize: paging.pageSize, total: result.total)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> RunDTO {
        let id = try context.parameters.require("id")
        guard let run = try await services.database.run(id: id) else { throw APIError.runNotFound }
        return RunDTO(run: run, jobName: try await services.database.job(id: run.jobId)?.name)
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> RunDTO {
        let id = try context.parameters.require("id")
        let body = try await RequestInput.object(request, allowEmpty: true)
        let reason = try RequestInput.string(body, "reason", code: "invalid_reason")
        if let reason, reason.count > 500 {
            throw APIError(
                status: .badRequest,
                code: "invalid_reason",
                message: "reason must be at most 500 characters",
                details: ["field": "reason"]
            )
        }
        guard let result = try await services.database.cancelRun(id: id, userId: context.session?.userId, reason: reason) else {
            throw APIError.runNotFound
        }
        if result.notifyWorker { services.bus.broadcast(.cancel(runId: id)) }
        context.logger.info("Cancel requested", metadata: ["run.id": "\(id)", "status": "\(result.run.status.rawValue)"])
        return RunDTO(run: result.run, jobName: try await services.database.job(id: result.run.jobId)?.name)
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> [RunEvent] {
        let id = try context.parameters.require("id")
        let after = try Self.afterSeq(request)
        let limit = Int(try RequestInput.integer(request, "limit", range: 1...500) ?? 500)
        guard try await services.database.run(id: id) != nil else { throw APIError.runNotFound }
        return try await services.database.events(runId: id, afterSeq: after, limit: limit)
    }

    /// `after_seq` (alias `after`): a non-negative integer, default 0; anything else is a 400.
    static func afterSeq(_ request: Request) throws -> Int64 {
        try afterSeq(request.uri)
    }

    static func afterSeq(_ uri: URI) throws -> Int64 {
        try RequestInput.integer(uri, "after_seq") ?? RequestInput.integer(uri, "after") ?? 0
    }
}

extension RunEvent: ResponseEncodable {}
