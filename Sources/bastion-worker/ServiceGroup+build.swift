import Logging
import ServiceLifecycle
import Shared

/// Builds the worker's one `ServiceGroup`: the bus connection, then the run loop.
func buildServiceGroup(_ config: WorkerConfig, logger: Logger) throws -> ServiceGroup {
    var logger = logger
    logger[metadataKey: "worker.id"] = "\(config.workerID)"
    let database = try AppDatabase.open(in: config.common.dataDirectory)
    let runsWake = WakeSignal()
    let client = BusClient(
        socketPath: config.common.dataDirectory.socketPath,
        peer: BusPeer(role: .worker, id: config.workerID),
        logger: logger
    )
    let bus = BusClientService(client: client) { event in
        switch event {
        case .message(.wake(.runs)):
            runsWake.signal()
        case .connected:
            // A wake sent while we were disconnected is lost: look once after every (re)connect.
            runsWake.signal()
        case .message, .disconnected:
            break
        }
    }
    let runLoop = RunLoopService(database: database, wake: runsWake, safetyPoll: config.common.safetyPoll, logger: logger)
    logger.info("Worker starting", metadata: ["data_dir": "\(config.common.dataDirectory.path)"])
    return ServiceGroup(
        configuration: .init(
            services: [bus, runLoop],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}
