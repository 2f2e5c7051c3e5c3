import Core
import Logging
import ServiceLifecycle
import Store

/// Fails runs whose worker died (heartbeat older than the lease) with `worker_lost`, and runs of agents not heard from
/// for the agent lease with `agent_lost`, and re-queues notifications
/// left in `sending` longer than the lease. It sleeps until the earliest lease among running runs and sending
/// notifications can expire, or the safety timeout when nothing is in flight: no fixed-interval polling.
struct RecoveryService: Service {
    let database: AppDatabase
    let leaseSeconds: Int64
    /// The lease of runs on agents (docs/agents.md, "Leases").
    let agentLeaseSeconds: Int64
    let safetyPoll: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var sleep = safetyPoll
                do {
                    let recovered = try await database.recoverLostRuns(leaseSeconds: leaseSeconds, agentLeaseSeconds: agentLeaseSeconds)
                    if !recovered.isEmpty {
                        logger.warning("Recovered runs of lost workers or agents", metadata: ["runs": "\(recovered)"])
                    }
                    let requeued = try await database.requeueStuckNotifications(leaseSeconds: leaseSeconds)
                    if !requeued.isEmpty {
                        logger.warning("Re-queued notifications of lost workers", metadata: ["notifications": "\(requeued)"])
                    }
                    let expiries = [
                        try await database.nextLeaseExpiry(leaseSeconds: leaseSeconds, agentLeaseSeconds: agentLeaseSeconds),
                        try await database.nextStuckNotificationExpiry(leaseSeconds: leaseSeconds),
                    ].compactMap { $0 }
                    if let expiry = expiries.min() {
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
