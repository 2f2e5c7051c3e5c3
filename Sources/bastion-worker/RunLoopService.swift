import Core
import Logging
import Runs
import ServiceLifecycle

/// The worker's run loop: recover lost runs once at start, then claim until nothing is queued, then sleep until a
/// `wake runs` hint or the safety timeout. The database is the source of truth; a wake only makes the next look
/// happen sooner.
///
/// Graceful shutdown does not cancel this task: it tells the `RunWorker`, which stops the run in flight
/// cooperatively and hands it back to the queue, and wakes the loop so it returns.
struct RunLoopService: Service {
    let worker: RunWorker
    let wake: WakeSignal
    let safetyPoll: Duration
    let logger: Logger

    func run() async throws {
        await withGracefulShutdownHandler {
            await worker.recoverLostRuns()
            var reason = "start"
            while !worker.isShuttingDown {
                let executed = await worker.drainQueue()
                logger.debug("Looked for work", metadata: ["reason": "\(reason)", "executed": "\(executed)"])
                if worker.isShuttingDown { break }
                reason = await wake.wait(timeout: safetyPoll).rawValue
            }
        } onGracefulShutdown: {
            worker.beginShutdown()
            wake.signal()
        }
        logger.info("Run loop stopped")
    }
}
