import Core
import Foundation
import Logging
import Store
import Synchronization

/// Cron scheduling inside a worker (docs/architecture.md, "Processes and services"): every worker computes each job's next trigger and enqueues it
/// when due; `enqueueScheduledRun` makes the second insert of a trigger a no-op, so N workers enqueue it once.
/// Schedules are parsed once per job change (a reload), not on every tick.
public final class Scheduler: Sendable {
    struct Entry: Sendable {
        var job: Job
        var cron: CronExpression
        var zone: TimeZone
        var next: Int64?
        /// A restore drill's schedule (`spec.drills`, docs/architecture.md, "Restore drills"), not the backup's.
        var drill = false
        /// Where it is kept: the job's id, `drill:<id>` for its drills.
        var key: String { drill ? "drill:\(job.id)" : job.id }

        /// The cron of a job's backups, or of its drills.
        static func schedule(of job: Job, drill: Bool) -> String? {
            drill ? (try? JobSpec.parse(job.spec))?.drills?.activeSchedule : job.schedule
        }
    }

    public let database: AppDatabase
    public let clock: SchedulerClock
    /// How far back a missed trigger is still caught up at start (seconds).
    public let misfireGrace: Int64
    private let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])

    public init(database: AppDatabase, clock: SchedulerClock, misfireGrace: Int64, logger: Logger) {
        self.database = database
        self.clock = clock
        self.misfireGrace = misfireGrace
        self.logger = logger
    }

    /// Re-reads the scheduled jobs (backups, and drills); keeps parsed schedules of jobs that did not change.
    public func reload() async throws {
        let jobs = try await database.scheduledJobs().map { ($0, false) } + database.drillJobs().map { ($0, true) }
        let now = clock.now()
        let previous = entries.withLock { $0 }
        var fresh: [String: Entry] = [:]
        for (job, drill) in jobs {
            let key = drill ? "drill:\(job.id)" : job.id
            if let old = previous[key], old.job.updatedAt == job.updatedAt, old.job.schedule == job.schedule, old.job.spec == job.spec {
                fresh[key] = old
                continue
            }
            let schedule = Entry.schedule(of: job, drill: drill)
            // A drills section without a schedule only drills when asked.
            if drill, schedule == nil { continue }
            guard let schedule, let cron = try? CronExpression(parsing: schedule), let zone = TimeZone(identifier: job.scheduleTimezone) else {
                logger.warning("Unusable schedule skipped", metadata: ["job.id": "\(job.id)", "schedule": "\(schedule ?? "")"])
                continue
            }
            fresh[key] = Entry(job: job, cron: cron, zone: zone, next: cron.nextTrigger(after: now, in: zone), drill: drill)
        }
        entries.withLock { $0 = fresh }
        logger.debug("Schedules loaded", metadata: ["jobs": "\(fresh.count)", "next": "\(earliestNext.map(String.init) ?? "none")"])
    }

    /// The earliest pending trigger among all jobs.
    public var earliestNext: Int64? {
        entries.withLock { $0.values.compactMap(\.next).min() }
    }

    /// Enqueues every trigger that is due; returns how many runs this worker inserted (others may have won).
    @discardableResult
    public func fireDue() async -> Int {
        let now = clock.now()
        let due = entries.withLock { $0.values.filter { ($0.next ?? .max) <= now } }
        var inserted = 0
        for entry in due {
            guard let trigger = entry.next else { continue }
            do {
                if let run = try await enqueue(entry, trigger: trigger) {
                    inserted += 1
                    logger.info(
                        entry.drill ? "Scheduled restore drill enqueued" : "Scheduled run enqueued",
                        metadata: ["job.id": "\(entry.job.id)", "run.id": "\(run.id)", "scheduled_for": "\(trigger)"]
                    )
                }
            } catch {
                logger.error("Scheduled enqueue failed", metadata: ["job.id": "\(entry.job.id)", "error": "\(error)"])
                continue
            }
            entries.withLock { entries in
                entries[entry.key]?.next = entry.cron.nextTrigger(after: max(trigger, now), in: entry.zone)
            }
        }
        return inserted
    }

    /// Enqueues one trigger of `entry`: a backup run, or a drill's verify run. Nil when another worker already did.
    private func enqueue(_ entry: Entry, trigger: Int64, extraFields: [String: JSONValue] = [:]) async throws -> Run? {
        guard entry.drill else { return try await database.enqueueScheduledRun(jobId: entry.job.id, scheduledFor: trigger, extraFields: extraFields) }
        switch try await database.enqueueDrill(jobId: entry.job.id, scheduledFor: trigger, extraFields: extraFields) {
        case .queued(let run)?: return run
        case .noSnapshot(let run)?: return run
        case nil: return nil
        }
    }

    /// At start: for each job, one catch-up run for the most recent trigger missed within the grace (and after the
    /// job's last change); older misses are skipped and logged. Returns how many runs this worker inserted.
    @discardableResult
    public func catchUp() async -> Int {
        let now = clock.now()
        let all = entries.withLock { Array($0.values) }
        var inserted = 0
        for entry in all {
            // Triggers before the job's last change are not its triggers.
            let since = entry.job.updatedAt
            let windowStart = max(since, now - misfireGrace)
            guard let latest = Self.lastTrigger(of: entry.cron, in: entry.zone, after: windowStart, notAfter: now) else {
                // Nothing within the grace. An older trigger without a run (looking back at most 7 days) is
                // reported, not run.
                if let older = Self.lastTrigger(of: entry.cron, in: entry.zone, after: max(since, windowStart - 7 * 86_400), notAfter: windowStart),
                    (try? await database.hasScheduledRun(jobId: entry.job.id, scheduledFor: older, kind: entry.drill ? .verify : .backup)) == false
                {
                    logger.warning(
                        "Missed trigger older than the misfire grace skipped",
                        metadata: ["job.id": "\(entry.job.id)", "missed": "\(older)", "grace_seconds": "\(misfireGrace)"]
                    )
                }
                continue
            }
            do {
                let fields: [String: JSONValue] = ["catch_up": .bool(true), "missed_trigger": .number(Double(latest))]
                if let run = try await enqueue(entry, trigger: latest, extraFields: fields) {
                    inserted += 1
                    logger.info(
                        "Catch-up run enqueued for a missed trigger",
                        metadata: ["job.id": "\(entry.job.id)", "run.id": "\(run.id)", "missed": "\(latest)"]
                    )
                }
            } catch {
                logger.error("Catch-up enqueue failed", metadata: ["job.id": "\(entry.job.id)", "error": "\(error)"])
            }
        }
        return inserted
    }

    /// The last trigger in `(after, notAfter]`, if any.
    static func lastTrigger(of cron: CronExpression, in zone: TimeZone, after: Int64, notAfter: Int64) -> Int64? {
        var latest: Int64?
        var cursor = after
        while let next = cron.nextTrigger(after: cursor, in: zone), next <= notAfter {
            latest = next
            cursor = next
        }
        return latest
    }
}
