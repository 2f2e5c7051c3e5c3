import Logging
import ServiceLifecycle
import Shared

/// The executors this worker registers, one per job type.
func jobExecutors(_ config: WorkerConfig) -> [any JobExecutor] {
    [
        SQLiteBackupExecutor(stepPause: config.sqliteStepPause, stagingDirectory: config.common.dataDirectory.runsPath),
        FilesystemBackupExecutor(),
        RestoreExecutor(),
        VerifyExecutor(workDirectory: config.common.dataDirectory.runsPath),
    ]
}

/// Builds the worker's one `ServiceGroup`: the bus connection, the run loop, the cron scheduler and notification
/// delivery.
func buildServiceGroup(_ config: WorkerConfig, logger: Logger) throws -> ServiceGroup {
    var logger = logger
    logger[metadataKey: "worker.id"] = "\(config.workerID)"
    let client = BusClient(
        socketPath: config.common.dataDirectory.socketPath,
        peer: BusPeer(role: .worker, id: config.workerID),
        logger: logger
    )
    let notificationsWake = WakeSignal()
    // Every event this worker commits goes to the API over the bus (a hint: the API's WebSocket re-reads on a gap).
    // Notifications its finished runs enqueue are delivered by this worker's own loop, woken at once.
    let database = try AppDatabase.open(
        in: config.common.dataDirectory,
        traceLogger: logger,
        eventPublisher: { events in
            for event in events { client.send(.event(event)) }
        },
        wakeHook: { topic in
            if topic == .notifications { notificationsWake.signal() }
        }
    )
    let worker = RunWorker(
        database: database,
        settings: .init(workerId: config.workerID, heartbeatInterval: config.heartbeatInterval, leaseSeconds: config.leaseSeconds),
        executors: jobExecutors(config),
        logger: logger,
        publishProgress: { runId, progress in client.send(.progress(runId: runId, progress: progress)) }
    )
    let runsWake = WakeSignal()
    let jobsWake = WakeSignal()
    let bus = BusClientService(client: client) { event in
        switch event {
        case .message(.wake(.runs)):
            runsWake.signal()
        case .message(.wake(.jobs)):
            jobsWake.signal()
        case .message(.wake(.notifications)):
            notificationsWake.signal()
        case .message(.cancel(let runId)):
            worker.cancelHint(runId: runId)
        case .connected:
            // Wakes sent while we were disconnected are lost: look once after every (re)connect.
            runsWake.signal()
            jobsWake.signal()
            notificationsWake.signal()
        case .message, .disconnected:
            break
        }
    }
    let runLoop = RunLoopService(worker: worker, wake: runsWake, safetyPoll: config.common.safetyPoll, logger: logger)
    let clock = SchedulerClock.fromEnvironment()
    let scheduler = SchedulerService(
        scheduler: Scheduler(database: database, clock: clock, misfireGrace: config.misfireGrace, logger: logger),
        jobsWake: jobsWake,
        safetyPoll: config.common.safetyPoll,
        onEnqueued: {
            runsWake.signal()
            client.send(.wake(.runs))
        },
        logger: logger
    )
    let notifications = NotificationService(
        deliverer: NotificationDeliverer(database: database, dataDirectory: config.common.dataDirectory, clock: clock, logger: logger),
        wake: notificationsWake,
        safetyPoll: config.common.safetyPoll,
        logger: logger
    )
    logger.info("Worker starting", metadata: ["data_dir": "\(config.common.dataDirectory.path)"])
    return ServiceGroup(
        configuration: .init(
            services: [bus, runLoop, scheduler, notifications],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}
