import Logging
import ServiceLifecycle
import Shared

/// Builds the janitor's one `ServiceGroup`: the bus connection (so the API lists it), the maintenance loop and
/// lost-run recovery.
func buildServiceGroup(_ config: JanitorConfig, logger: Logger) throws -> ServiceGroup {
    let database = try AppDatabase.open(in: config.common.dataDirectory, traceLogger: logger)
    let client = BusClient(
        socketPath: config.common.dataDirectory.socketPath,
        peer: BusPeer(role: .janitor, id: config.janitorID),
        logger: logger
    )
    let bus = BusClientService(client: client) { _ in }
    let maintenance = MaintenanceService(
        pass: MaintenancePass(database: database, settings: config.pass, logger: logger),
        interval: config.interval,
        logger: logger
    )
    let recovery = RecoveryService(database: database, leaseSeconds: config.leaseSeconds, safetyPoll: config.common.safetyPoll, logger: logger)
    logger.info("Janitor starting", metadata: ["data_dir": "\(config.common.dataDirectory.path)"])
    return ServiceGroup(
        configuration: .init(
            services: [bus, maintenance, recovery],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}
