import Bus
import Core
import Logging
import Notifications
import Runs
import Scheduling
import ServiceLifecycle
import Store

/// The executors this worker registers, one per job type.
func jobExecutors(_ config: WorkerConfig) -> [any JobExecutor] {
    [
        SQLiteBackupExecutor(stepPause: config.sqliteStepPause, stagingDirectory: config.common.dataDirectory.runsPath),
        FilesystemBackupExecutor(
            stagingDirectory: config.common.dataDirectory.runsPath,
            snapshotRecords: config.common.dataDirectory.snapshotsPath
        ),
        VaultwardenBackupExecutor(stepPause: config.sqliteStepPause, stagingDirectory: config.common.dataDirectory.runsPath),
        RestoreExecutor(stagingDirectory: config.common.dataDirectory.runsPath),
        VerifyExecutor(workDirectory: config.common.dataDirectory.runsPath),
        CopyExecutor(stagingDirectory: config.common.dataDirectory.runsPath),
        DatabaseDumpExecutor(
            engine: PostgresEngine(),
            stagingDirectory: config.common.dataDirectory.runsPath,
            streamChunkBytes: config.dumpChunkMiB << 20
        ),
        DatabaseDumpExecutor(
            engine: MariaDBEngine(),
            stagingDirectory: config.common.dataDirectory.runsPath,
            streamChunkBytes: config.dumpChunkMiB << 20
        ),
    ]
}

/// Builds the worker's one `ServiceGroup`: the bus connection, the run loop, the cron scheduler and notification
/// delivery.
func buildServiceGroup(_ config: WorkerConfig, logger: Logger, tracing: (any Service)? = nil) throws -> ServiceGroup {
    var logger = logger
    logger[metadataKey: "worker.id"] = "\(config.workerID)"
    let client = BusClient(
        socketPath: config.common.dataDirectory.socketPath,
        peer: BusPeer(role: .worker, id: config.workerID),
        logger: logger
    )
    let runsWake = WakeSignal()
    let jobsWake = WakeSignal()
    let notificationsWake = WakeSignal()
    // After COMMIT: events and progress go to the API over the bus; new runs wake this worker's run loop and, through
    // the API's relay, every other worker's; notifications its finished runs enqueued are delivered by its own loop.
    let database = try AppDatabase.open(
        in: config.common.dataDirectory,
        traceLogger: logger,
        publisher: BusClientPublisher(
            client: client,
            local: [.runs: runsWake, .jobs: jobsWake, .notifications: notificationsWake],
            relayed: [.runs, .jobs]
        )
    )
    let worker = RunWorker(
        database: database,
        settings: .init(
            workerId: config.workerID,
            heartbeatInterval: config.heartbeatInterval,
            leaseSeconds: config.leaseSeconds,
            crashNotePath: CrashNote.path(workerID: config.workerID, dataDirectory: config.common.dataDirectory)
        ),
        executors: jobExecutors(config),
        logger: logger
    )
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
        logger: logger
    )
    let notifications = NotificationService(
        deliverer: NotificationDeliverer(database: database, dataDirectory: config.common.dataDirectory, clock: clock, logger: logger),
        wake: notificationsWake,
        safetyPoll: config.common.safetyPoll,
        logger: logger
    )
    logger.info("Worker starting", metadata: ["data_dir": "\(config.common.dataDirectory.path)"])
    // btrfs snapshots a worker that died left behind (records no running process holds; docs/architecture.md,
    // "Filesystem snapshots").
    SourceSnapshots.sweep(records: config.common.dataDirectory.snapshotsPath, logger: logger)
    // Catalogs a killed backup was building (never at a catalog's path; docs/architecture.md, "One pass").
    SnapshotCatalog.sweepTemporaries(in: config.common.dataDirectory)
    return ServiceGroup(
        configuration: .init(
            // The tracing exporter first: a group stops in reverse order, so it flushes the others' last spans.
            services: [tracing].compactMap { $0 } + [bus, runLoop, scheduler, notifications],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}
