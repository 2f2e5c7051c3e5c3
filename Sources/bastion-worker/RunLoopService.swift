import Logging
import ServiceLifecycle
import Shared

/// The worker's run loop: look for work, then sleep until a `wake runs` hint or the safety timeout.
///
/// The database is the source of truth; a wake only makes the next look happen sooner.
struct RunLoopService: Service {
    let database: AppDatabase
    let wake: WakeSignal
    let safetyPoll: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var reason = "start"
            while !Task.isCancelled {
                await lookForWork(reason: reason)
                let woke = await wake.wait(timeout: safetyPoll)
                if woke == .cancelled { break }
                reason = woke.rawValue
            }
        }
        logger.info("Run loop stopped")
    }

    private func lookForWork(reason: String) async {
        do {
            let next = try await database.nextQueuedRunID()
            logger.debug("Looked for work", metadata: ["reason": "\(reason)", "queued_run": "\(next ?? "none")"])
        } catch {
            logger.error("Looking for work failed", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }
}
