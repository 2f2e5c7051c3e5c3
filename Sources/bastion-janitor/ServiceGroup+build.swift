import Bus
import Core
import Logging
import ServiceLifecycle
import Store

/// Builds the janitor's one `ServiceGroup`: the bus connection (so the API lists it), the maintenance loop and
/// recovery of lost runs and interrupted notifications.
func buildServiceGroup(_ config: JanitorConfig, logger: Logger) throws -> ServiceGroup {
    let client = BusClient(
        socketPath: config.common.dataDirectory.socketPath,
        peer: BusPeer(role: .janitor, id: config.janitorID),
        logger: logger
    )
    // Events the janitor commits (a lost run's terminal event, an interrupted notification) reach live WebSocket
    // streams through the API; re-queued notifications wake the workers (the API relays the wake).
    let database = try AppDatabase.open(
        in: config.common.dataDirectory,
        traceLogger: logger,
        publisher: BusClientPublisher(client: client)
    )
    let snapshotsWake = WakeSignal()
    let bus = BusClientService(client: client) { event in
        switch event {
        case .message(.wake(.snapshots)), .connected: snapshotsWake.signal()
        default: break
        }
    }
    let pass = MaintenancePass(database: database, settings: config.pass, logger: logger)
    let maintenance = MaintenanceService(pass: pass, interval: config.interval, logger: logger)
    let deletions = SnapshotDeletionService(pass: pass, wake: snapshotsWake, logger: logger)
    let recovery = RecoveryService(
        database: database,
        leaseSeconds: config.leaseSeconds,
        agentLeaseSeconds: config.agentLeaseSeconds,
        safetyPoll: config.common.safetyPoll,
        logger: logger
    )
    logger.info("Janitor starting", metadata: ["data_dir": "\(config.common.dataDirectory.path)"])
    return ServiceGroup(
        configuration: .init(
            services: [bus, maintenance, deletions, recovery],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}
