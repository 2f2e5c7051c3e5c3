import Logging
import ServiceLifecycle
import Shared

/// The executors this worker registers, one per job type.
func jobExecutors(_ config: WorkerConfig) -> [any JobExecutor] {
    [SQLiteBackupExecutor(stepPause: config.sqliteStepPause)]
}

/// Builds the worker's one `ServiceGroup`: the bus connection, then the run loop.
func buildServiceGroup(_ config: WorkerConfig, logger: Logger) throws -> ServiceGroup {
    var logger = logger
    logger[metadataKey: "worker.id"] = "\(config.workerID)"
    let client = BusClient(
        socketPath: config.common.dataDirectory.socketPath,
        peer: BusPeer(role: .worker, id: config.workerID),
        logger: logger
    )
    // Every event this worker commits goes to the API over the bus (a hint: the API's WebSocket re-reads on a gap).
    let database = try AppDatabase.open(in: config.common.dataDirectory, traceLogger: logger) { events in
        for event in events { client.send(.event(event)) }
    }
    let worker = RunWorker(
        database: database,
        settings: .init(workerId: config.workerID, heartbeatInterval: config.heartbeatInterval, leaseSeconds: config.leaseSeconds),
        executors: jobExecutors(config),
        logger: logger,
        publishProgress: { runId, progress in client.send(.progress(runId: runId, progress: progress)) }
    )
    let runsWake = WakeSignal()
    let bus = BusClientService(client: client) { event in
        switch event {
        case .message(.wake(.runs)):
            runsWake.signal()
        case .message(.cancel(let runId)):
            worker.cancelHint(runId: runId)
        case .connected:
            // A wake sent while we were disconnected is lost: look once after every (re)connect.
            runsWake.signal()
        case .message, .disconnected:
            break
        }
    }
    let runLoop = RunLoopService(worker: worker, wake: runsWake, safetyPoll: config.common.safetyPoll, logger: logger)
    logger.info("Worker starting", metadata: ["data_dir": "\(config.common.dataDirectory.path)"])
    return ServiceGroup(
        configuration: .init(
            services: [bus, runLoop],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}
