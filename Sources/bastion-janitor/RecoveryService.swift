import Logging
import ServiceLifecycle
import Shared

/// Fails runs whose worker died (heartbeat older than the lease) with `worker_lost`. It sleeps until the earliest
/// lease among running runs can expire, or the safety timeout when nothing runs: no fixed-interval polling.
struct RecoveryService: Service {
    let database: AppDatabase
    let leaseSeconds: Int64
    let safetyPoll: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var sleep = safetyPoll
                do {
                    let recovered = try await database.recoverLostRuns(leaseSeconds: leaseSeconds)
                    if !recovered.isEmpty {
                        logger.warning("Recovered runs of lost workers", metadata: ["runs": "\(recovered)", "error": "worker_lost"])
                    }
                    if let expiry = try await database.nextLeaseExpiry(leaseSeconds: leaseSeconds) {
                        let untilExpiry = Duration.seconds(max(1, expiry - unixNow() + 1))
                        sleep = min(sleep, untilExpiry)
                    }
                } catch {
                    logger.error("Run recovery failed", metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: sleep)
                } catch {
                    break
                }
            }
        }
    }
}
