import Core
import Logging
import ServiceLifecycle

/// Deletes the snapshots users or retention queued as soon as the API says so (a `snapshots` wake over the bus),
/// instead of at the next hourly maintenance pass; the pass still sweeps what a lost wake left. The same wake attempts
/// incomplete-run cleanups a user made due (retry now).
struct SnapshotDeletionService: Service {
    let pass: MaintenancePass
    let wake: WakeSignal
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                guard await wake.wait(timeout: .seconds(3600)) == .signaled else { continue }
                do {
                    let deleted = try await pass.deleteQueuedSnapshots(limit: pass.settings.batchSize)
                    if deleted > 0 { logger.info("Queued snapshots deleted", metadata: ["count": "\(deleted)"]) }
                    if pass.settings.incompleteCleanupDays > 0 { _ = try await pass.cleanIncompleteRuns(now: unixNow(), limit: 50) }
                } catch is CancellationError {
                    break
                } catch {
                    logger.error("Deleting queued snapshots failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
