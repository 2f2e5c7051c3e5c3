import Core
import Logging
import Notifications
import ServiceLifecycle

/// Delivers notifications: sends everything due, then sleeps until the earliest `next_attempt_at`, a
/// `wake notifications` hint (a run finished here, or the API asked for a retry), or the safety timeout.
struct NotificationService: Service {
    let deliverer: NotificationDeliverer
    let wake: WakeSignal
    let safetyPoll: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await deliverer.deliverDue()
                var wait = safetyPoll
                do {
                    if let next = try await deliverer.nextDue() {
                        // Never a busy loop: a due row another worker holds is looked at again shortly.
                        wait = min(wait, max(deliverer.clock.realDuration(until: next), .milliseconds(5)))
                    }
                } catch is CancellationError {
                    break  // shutting down
                } catch {
                    logger.error("Reading the notification queue failed", metadata: ["error": "\(error)"])
                    wait = min(wait, .seconds(5))
                }
                if await wake.wait(timeout: wait) == .cancelled { break }
            }
        }
        logger.info("Notification delivery stopped")
    }
}
