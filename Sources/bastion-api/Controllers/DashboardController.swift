import Core
import Foundation
import Hummingbird
import Store

/// `GET /api/dashboard`: everything the overview page shows in one round trip (docs/architecture.md, "HTTP API").
struct DashboardController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("dashboard", use: dashboard)
    }

    /// A scheduled job whose next trigger after its latest backup is this far in the past has missed a run.
    static let overdueGrace: Int64 = 15 * 60

    struct RunRefDTO: ResponseEncodable {
        var runId: String
        var status: String
        var startedAt: Int64
        var endedAt: Int64?
        var error: String?

        init(_ ref: DashboardData.RunRef) {
            runId = ref.runId
            status = ref.status
            startedAt = ref.startedAt
            endedAt = ref.endedAt
            error = ref.error
        }
    }

    struct DayDTO: ResponseEncodable {
        /// `YYYY-MM-DD` in the hub's time zone.
        var date: String
        var success: Int
        var failed: Int
        /// Canceled, rejected, still running or queued.
        var other: Int
    }

    struct JobCardDTO: ResponseEncodable {
        var id: String
        var name: String
        var type: String?
        var schedule: String?
        var scheduleTimezone: String
        var nextRunAt: Int64?
        /// `failed` (its latest finished backup or restore drill failed), `overdue` (missed a scheduled run), `running`, `never` (no
        /// backup yet), `ok`: the overview lists the worst first.
        var state: String
        var lastSuccess: RunRefDTO?
        var lastFailure: RunRefDTO?
        var latestRun: RunRefDTO?
        var days: [DayDTO]
        /// Snapshots whose copy failed or is missing (docs/targets.md, "Copies"); empty when all is well.
        var attention: [JSONValue] = []
        /// The latest finished restore drill and the latest successful one (docs/architecture.md, "Restore drills").
        var lastDrill: RunRefDTO? = nil
        var lastSuccessfulDrill: RunRefDTO? = nil
    }

    struct Counts: ResponseEncodable {
        var success: Int
        var failed: Int
        var canceled: Int
        var rejected: Int
    }

    struct Dashboard: ResponseEncodable {
        var now: Int64
        var hubTimezone: String
        var last24h: Counts
        var last7d: Counts
        var running: Int
        var queued: Int
        var jobs: [JobCardDTO]
        var recentRuns: [RunsController.RunListItemDTO]
    }

    static let stateOrder = ["failed": 0, "overdue": 1, "attention": 2, "running": 3, "never": 4, "ok": 5]

    @Sendable func dashboard(_ request: Request, context: AppRequestContext) async throws -> Dashboard {
        let days = Int(try RequestInput.integer(request, "days", range: 1...90) ?? 30)
        let now = unixNow()
        let zone = TimeZone(identifier: services.config.hubTimezone) ?? TimeZone(identifier: "UTC")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let today = calendar.startOfDay(for: Date(timeIntervalSince1970: TimeInterval(now)))
        let starts = (0...days).compactMap { calendar.date(byAdding: .day, value: $0 - days + 1, to: today) }
        let formatter = DateFormatter()
        formatter.calendar = calendar
        formatter.timeZone = zone
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd"
        let data = try await services.database.dashboard(now: now, dayStarts: starts.map { Int64(saturating: $0.timeIntervalSince1970) })
        let recent = try await services.database.listRuns(RunListQuery(pageSize: 10)).items
        func counts(_ values: [String: Int]) -> Counts {
            Counts(
                success: values["success"] ?? 0,
                failed: values["failed"] ?? 0,
                canceled: values["canceled"] ?? 0,
                rejected: values["rejected"] ?? 0
            )
        }
        let attention = try await services.database.copyAttention(jobIds: data.jobs.map(\.job.id))
        let cards = data.jobs.map { health -> JobCardDTO in
            let job = health.job
            var state = Self.state(health, now: now)
            let items = attention[job.id] ?? []
            // Attention ranks after overdue and before running: a worse state stays.
            if !items.isEmpty, (Self.stateOrder[state] ?? 9) > (Self.stateOrder["attention"] ?? 0) { state = "attention" }
            var card = JobCardDTO(
                id: job.id,
                name: job.name,
                type: job.spec["type"]?.stringValue,
                schedule: job.schedule,
                scheduleTimezone: job.scheduleTimezone,
                nextRunAt: JobsController.JobDTO.nextTriggers(job, count: 1).first,
                state: state,
                lastSuccess: health.lastSuccess.map(RunRefDTO.init),
                lastFailure: health.lastFailure.map(RunRefDTO.init),
                latestRun: health.latest.map(RunRefDTO.init),
                days: zip(starts, health.days).map { start, outcomes in
                    let success = outcomes["success"] ?? 0
                    let failed = outcomes["failed"] ?? 0
                    return DayDTO(
                        date: formatter.string(from: start),
                        success: success,
                        failed: failed,
                        other: outcomes.values.reduce(0, +) - success - failed
                    )
                },
                attention: items
            )
            card.lastDrill = health.lastDrill.map(RunRefDTO.init)
            card.lastSuccessfulDrill = health.lastSuccessfulDrill.map(RunRefDTO.init)
            return card
        }
        return Dashboard(
            now: now,
            hubTimezone: zone.identifier,
            last24h: counts(data.last24h),
            last7d: counts(data.last7d),
            running: data.running,
            queued: data.queued,
            jobs: cards.sorted { (Self.stateOrder[$0.state] ?? 9, $0.name.lowercased()) < (Self.stateOrder[$1.state] ?? 9, $1.name.lowercased()) },
            recentRuns: recent.map { RunsController.RunListItemDTO($0.run, jobName: $0.jobName) }
        )
    }

    static func state(_ health: DashboardData.JobHealth, now: Int64) -> String {
        if let latest = health.latest, latest.status == "running" || latest.status == "queued" { return "running" }
        if let failure = health.lastFailure, failure.startedAt >= health.lastSuccess?.startedAt ?? Int64.min { return "failed" }
        // A failed latest restore drill: the backups may not restore.
        if health.lastDrill?.status == "failed" { return "failed" }
        let job = health.job
        if let schedule = job.schedule, let cron = try? CronExpression(parsing: schedule), let zone = TimeZone(identifier: job.scheduleTimezone),
            let due = cron.nextTrigger(after: health.latest?.startedAt ?? job.updatedAt, in: zone), due + overdueGrace < now
        {
            return "overdue"
        }
        return health.latest == nil ? "never" : "ok"
    }
}
