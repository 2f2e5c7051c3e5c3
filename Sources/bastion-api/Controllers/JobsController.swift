import Core
import Foundation
import Hummingbird
import Store
import Targets

/// Jobs: CRUD, manual runs, and a job's recent runs (docs/architecture.md).
struct JobsController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("jobs", use: list)
        group.post("jobs", use: create)
        group.post("jobs/bulk", use: bulk)
        group.get("jobs/:id", use: show)
        group.put("jobs/:id", use: update)
        group.delete("jobs/:id", use: delete)
        group.post("jobs/:id/archive", use: archive)
        group.post("jobs/:id/unarchive", use: unarchive)
        group.post("jobs/:id/run", use: runNow)
        group.post("jobs/:id/drill", use: drill)
        group.get("jobs/:id/runs", use: runs)
        group.post("schedules/preview", use: previewSchedule)
    }

    struct SchedulePreview: ResponseEncodable {
        var schedule: String
        var timezone: String
        var next: [Int64]
    }

    /// `POST /api/schedules/preview {schedule, timezone?, count?}`: the next trigger instants, or the validation
    /// error a job with that schedule would get.
    @Sendable func previewSchedule(_ request: Request, context: AppRequestContext) async throws -> SchedulePreview {
        let body = try await RequestInput.object(request, known: ["schedule", "timezone", "count"])
        let schedule = try RequestInput.string(body, "schedule", code: "invalid_schedule") ?? ""
        let timezone = try RequestInput.string(body, "timezone", code: "invalid_timezone") ?? services.config.hubTimezone
        var count = 5
        if let raw = body["count"] {
            guard let value = raw.intValue, (1...50).contains(value) else {
                throw APIError(status: .badRequest, code: "invalid_count", message: "count must be an integer in 1...50", details: ["field": "count"])
            }
            count = value
        }
        let expression: CronExpression
        do {
            expression = try CronExpression(parsing: schedule)
        } catch let error as CronExpression.ParseError {
            throw APIError(
                status: .badRequest,
                code: "invalid_schedule",
                message: error.message,
                details: ["field": "schedule", "reason": "invalid_cron"]
            )
        }
        guard expression.canFire else {
            throw APIError(
                status: .badRequest,
                code: "invalid_schedule",
                message: "schedule \"\(schedule)\" can never fire",
                details: ["field": "schedule", "reason": "never_fires"]
            )
        }
        guard JobInput.isIANATimeZone(timezone), let zone = TimeZone(identifier: timezone) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_timezone",
                message: "unknown IANA time zone \"\(timezone)\"",
                details: ["field": "timezone"]
            )
        }
        return SchedulePreview(schedule: schedule, timezone: timezone, next: expression.nextTriggers(after: unixNow(), count: count, in: zone))
    }

    /// A job as the API shows it. The detail view adds `spec` and `next_run_at`; a row of the list adds its latest
    /// run (the original's `latest_run_*`) instead.
    struct JobDTO: ResponseEncodable {
        var id: String
        var name: String
        var agentId: String?
        var schedule: String?
        var scheduleTimezone: String
        var overlapPolicy: String
        var createdAt: Int64
        var updatedAt: Int64
        var archivedAt: Int64?
        /// The spec's `type` (`filesystem`, `sqlite`), for lists that do not carry the spec.
        var type: String?
        var spec: Omittable<JSONValue> = .absent
        /// The next trigger instants (unix seconds) of the detail view; empty for manual and archived jobs.
        var nextRunAt: Omittable<[Int64]> = .absent
        var latestRunId: Omittable<String?> = .absent
        var latestRunStatus: Omittable<String?> = .absent
        var latestRunStartedAt: Omittable<Int64?> = .absent
        var latestRunEndedAt: Omittable<Int64?> = .absent

        init(_ job: Job, detail: Bool = true, nextRuns: Int = 0) {
            id = job.id
            name = job.name
            agentId = job.agentId
            schedule = job.schedule
            scheduleTimezone = job.scheduleTimezone
            overlapPolicy = job.overlapPolicy.rawValue
            createdAt = job.createdAt
            updatedAt = job.updatedAt
            archivedAt = job.archivedAt
            type = job.spec["type"]?.stringValue
            guard detail else { return }
            spec = .present(job.spec)
            nextRunAt = .present(Self.nextTriggers(job, count: nextRuns))
        }

        /// The job's next `count` trigger instants (unix seconds); none for manual and archived jobs.
        static func nextTriggers(_ job: Job, count: Int) -> [Int64] {
            guard count > 0, job.archivedAt == nil, let schedule = job.schedule, let cron = try? CronExpression(parsing: schedule),
                let zone = TimeZone(identifier: job.scheduleTimezone)
            else { return [] }
            return cron.nextTriggers(after: unixNow(), count: count, in: zone)
        }

        /// A row of `GET /api/jobs`.
        init(listItem item: JobListItem) {
            self.init(item.job, detail: false)
            nextRunAt = .present(Self.nextTriggers(item.job, count: 1))
            latestRunId = .present(item.latestRunId)
            latestRunStatus = .present(item.latestRunStatus)
            latestRunStartedAt = .present(item.latestRunStartedAt)
            latestRunEndedAt = .present(item.latestRunEndedAt)
        }
    }

    struct Page<Item: Encodable & Sendable>: ResponseEncodable {
        var items: [Item]
        var page: Int
        var pageSize: Int
        var total: Int
    }

    /// `GET /api/jobs`: filtered (docs/ui.md, "Jobs at scale"), sorted and paged on the server, so a list of 500 jobs
    /// ships one page, never every row.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<JobDTO> {
        let paging = try RequestInput.paging(request)
        var query = try await Self.listQuery(request.uri, database: services.database)
        query.page = paging.requested ? paging.page : nil
        query.pageSize = paging.pageSize
        let result = try await services.database.listJobs(query)
        return Page(
            items: result.items.map { JobDTO(listItem: $0) },
            page: paging.page,
            pageSize: paging.requested ? paging.pageSize : result.total,
            total: result.total
        )
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<JobDTO> {
        let input = try await input(request)
        let job = try await services.database.createJob(input)
        context.logger.info("Job created", metadata: ["job.id": "\(job.id)"])
        return EditedResponse(status: .created, response: JobDTO(job))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> JobDTO {
        let id = try context.parameters.require("id")
        guard let job = try await services.database.job(id: id) else { throw APIError.jobNotFound }
        return JobDTO(job, nextRuns: 5)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> JobDTO {
        let id = try context.parameters.require("id")
        guard try await services.database.job(id: id) != nil else { throw APIError.jobNotFound }
        let input = try await input(request)
        guard let job = try await services.database.updateJob(id: id, input) else { throw APIError.jobNotFound }
        return JobDTO(job)
    }

    /// `POST /api/jobs/{id}/archive`: no more scheduled runs (Run now is refused); history and snapshots stay.
    @Sendable func archive(_ request: Request, context: AppRequestContext) async throws -> JobDTO {
        try await setArchived(context, true)
    }

    @Sendable func unarchive(_ request: Request, context: AppRequestContext) async throws -> JobDTO {
        try await setArchived(context, false)
    }

    func setArchived(_ context: AppRequestContext, _ archived: Bool) async throws -> JobDTO {
        let id = try context.parameters.require("id")
        guard let job = try await services.database.setJobArchived(id: id, archived: archived) else { throw APIError.jobNotFound }
        context.logger.info(archived ? "Job archived" : "Job unarchived", metadata: ["job.id": "\(id)"])
        return JobDTO(job, nextRuns: 5)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard try await services.database.deleteJob(id: id) else { throw APIError.jobNotFound }
        return Response(status: .noContent)
    }

    struct Enqueued: ResponseEncodable {
        var runId: String
        var status: String
    }

    @Sendable func runNow(_ request: Request, context: AppRequestContext) async throws -> Enqueued {
        let id = try context.parameters.require("id")
        let enqueued: Run?
        do {
            enqueued = try await services.database.enqueueRun(jobId: id, source: "manual")
        } catch is JobArchived {
            throw APIError(status: .conflict, code: "job_archived", message: "job \(id) is archived: unarchive it to run it")
        }
        guard let run = enqueued else { throw APIError.jobNotFound }
        context.logger.info("Run enqueued", metadata: ["job.id": "\(id)", "run.id": "\(run.id)", "status": "\(run.status.rawValue)"])
        return Enqueued(runId: run.id, status: run.status.rawValue)
    }

    @Sendable func runs(_ request: Request, context: AppRequestContext) async throws -> [RunsController.RunListItemDTO] {
        let id = try context.parameters.require("id")
        guard try await services.database.job(id: id) != nil else { throw APIError.jobNotFound }
        return try await services.database.listRuns(RunListQuery(jobId: id, pageSize: 50)).items.map {
            RunsController.RunListItemDTO($0.run, jobName: $0.jobName)
        }
    }

    /// Parses and validates a create/update body.
    func input(_ request: Request) async throws -> JobInput {
        let body = try await RequestInput.object(request, known: ["name", "schedule", "schedule_timezone", "overlap_policy", "agent_id", "spec"])
        var input = try Self.input(body, defaultTimezone: services.config.hubTimezone)
        // `agent_id`: the agent that runs the job (null: the hub's workers); it must exist and not be revoked.
        if let agentId = try RequestInput.string(body, "agent_id", code: "invalid_agent") {
            guard let agent = try await services.database.agent(id: agentId), agent.revokedAt == nil else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_agent",
                    message: "no usable agent has id \(agentId)",
                    details: ["field": "agent_id"]
                )
            }
            input.agentId = agent.id
        }
        try await Self.checkSecretOrigin(input.spec.target, secrets: HubTargetSecrets(database: services.database))
        return input
    }

    /// A WebDAV target's secret must be bound to the target's origin (docs/security.md, "Targets and secrets"); a secret
    /// not saved yet is allowed (the run fails with `target_secret_missing` until it is).
    static func checkSecretOrigin(_ target: JobSpec.Target, secrets: HubTargetSecrets) async throws {
        guard case .webdav(let webdav) = target, let secret = try await secrets.secret(kind: "webdav", name: webdav.secretName) else { return }
        do {
            try WebDAVStore.checkOrigin(of: secret, named: webdav.secretName, for: webdav.baseURL)
        } catch let error as TargetError {
            throw APIError(status: .badRequest, code: error.code, message: error.message, details: ["field": "spec.target.secret_name"])
        }
    }

    static func input(_ body: [String: JSONValue], defaultTimezone: String) throws -> JobInput {
        do {
            return try JobInput(
                name: try RequestInput.string(body, "name", code: "invalid_name"),
                schedule: try RequestInput.string(body, "schedule", code: "invalid_schedule"),
                scheduleTimezone: try RequestInput.string(body, "schedule_timezone", code: "invalid_timezone"),
                overlapPolicy: try RequestInput.string(body, "overlap_policy", code: "invalid_overlap_policy"),
                spec: body["spec"],
                defaultTimezone: defaultTimezone
            )
        } catch let error as ValidationError {
            throw RequestInput.badRequest(error)
        }
    }
}

extension APIError {
    static let jobNotFound = APIError(status: .notFound, code: "job_not_found", message: "job not found")
    static let runNotFound = APIError(status: .notFound, code: "run_not_found", message: "run not found")
}
