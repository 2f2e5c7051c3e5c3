import Core
import Logging
import Scheduling
import ServiceLifecycle

/// Sleeps until the earliest cron trigger of any job, enqueues what is due, and wakes early on `wake jobs` (a job
/// was created, changed or deleted) to reload. At start it first catches up one missed trigger per job within the
/// misfire grace. With no schedules it sleeps until a `wake jobs` hint or the safety timeout.
struct SchedulerService: Service {
    let scheduler: Scheduler
    let jobsWake: WakeSignal
    let safetyPoll: Duration
    /// (Enqueued runs wake the run loops through the database's after-COMMIT publisher.)
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                try await scheduler.reload()
                _ = await scheduler.catchUp()
            } catch {
                logger.error("Loading schedules failed", metadata: ["error": "\(error)"])
            }
            while !Task.isCancelled {
                _ = await scheduler.fireDue()
                var wait = safetyPoll
                var dueWake = false
                if let next = scheduler.earliestNext {
                    // A trigger still pending after fireDue means its enqueue failed: retry in 5 s, not at once.
                    let untilNext = max(scheduler.clock.realDuration(until: next), next <= scheduler.clock.now() ? .seconds(5) : .zero)
                    if untilNext <= wait {
                        wait = untilNext
                        dueWake = true
                    }
                }
                let reason = await jobsWake.wait(timeout: wait)
                if reason == .cancelled { break }
                if reason == .signaled || !dueWake {
                    do {
                        try await scheduler.reload()
                    } catch {
                        logger.error("Reloading schedules failed", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
        logger.info("Scheduler stopped")
    }
}
