import Core
import Logging
import ServiceLifecycle

/// Runs a maintenance pass at start and then every `interval`, sleeping until the next due time (no polling).
struct MaintenanceService: Service {
    let pass: MaintenancePass
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var due = clock.now
            while !Task.isCancelled {
                await pass.run(now: unixNow())
                due = due.advanced(by: interval)
                if due < clock.now { due = clock.now.advanced(by: interval) }
                logger.debug("Maintenance sleeping", metadata: ["next_in_seconds": "\((due - clock.now).components.seconds)"])
                do {
                    try await Task.sleep(until: due, clock: clock)
                } catch {
                    break
                }
            }
        }
        logger.info("Maintenance stopped")
    }
}
