import Core
import Foundation
import Logging
import Store
import Synchronization
import Tracing

/// The worker's claim-and-execute engine: claims queued runs one at a time through the indexed claim, executes each
/// with the executor for its job type, heartbeats while it runs, and writes the outcome with a fenced
/// compare-and-set. Used by `bastion-worker` and by the benchmarks (with their own executors).
public final class RunWorker: Sendable {
    public struct Settings: Sendable {
        public var workerId: String
        public var heartbeatInterval: Duration
        public var leaseSeconds: Int64
        /// Where this worker id's previous process noted the signal that killed it (`<data-dir>/workers/<id>.crash`);
        /// read, put in the `crashed` event of the runs it held, and removed at start (docs/architecture.md, "Poison runs").
        public var crashNotePath: String?

        public init(workerId: String, heartbeatInterval: Duration = .seconds(10), leaseSeconds: Int64 = 60, crashNotePath: String? = nil) {
            self.workerId = workerId
            self.heartbeatInterval = heartbeatInterval
            self.leaseSeconds = leaseSeconds
            self.crashNotePath = crashNotePath
        }
    }

    public let database: AppDatabase
    public let settings: Settings
    private let executors: [String: any JobExecutor]
    private let logger: Logger
    /// The run in flight and how to stop it.
    private let current = Mutex<(runId: String, cancellation: RunCancellation)?>(nil)
    private let shuttingDown = Mutex(false)

    public init(
        database: AppDatabase,
        settings: Settings,
        executors: [any JobExecutor],
        logger: Logger
    ) {
        self.database = database
        self.settings = settings
        self.executors = Dictionary(executors.map { ($0.jobType, $0) }, uniquingKeysWith: { first, _ in first })
        self.logger = logger
    }

    /// A bus `cancel` hint: stop the run if it is ours (the database already holds the request).
    public func cancelHint(runId: String) {
        current.withLock { current in
            if current?.runId == runId { current?.cancellation.cancel(.requested) }
        }
    }

    /// Graceful shutdown: no new claims; the run in flight stops cooperatively and is handed back to the queue.
    public func beginShutdown() {
        shuttingDown.withLock { $0 = true }
        current.withLock { $0?.cancellation.cancel(.shutdown) }
    }

    public var isShuttingDown: Bool { shuttingDown.withLock { $0 } }

    /// Fails runs whose worker stopped heartbeating (done by every worker at start-up, and by the janitor).
    public func recoverLostRuns() async {
        do {
            let note = settings.crashNotePath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let released = try await database.releaseRunsOfRestartedWorker(workerId: settings.workerId, crashNote: note)
            if let path = settings.crashNotePath { unlink(path) }
            if !released.isEmpty {
                logger.warning("Runs this worker held before it restarted returned to the queue", metadata: ["runs": "\(released)"])
            }
            let recovered = try await database.recoverLostRuns(leaseSeconds: settings.leaseSeconds)
            if !recovered.isEmpty {
                logger.warning("Recovered runs of lost workers", metadata: ["runs": "\(recovered)"])
            }
        } catch {
            logger.error("Recovering lost runs failed", metadata: ["error": "\(error)"])
        }
    }

    /// Claims and executes runs until none is queued (or shutdown begins). Returns how many ran.
    ///
    /// After the first claim, each run's terminal write also claims the next run in the same transaction.
    @discardableResult
    public func drainQueue() async -> Int {
        var executed = 0
        var next: ClaimedRun?
        // When the claim of `next` began and ended (its run's `claim` span, docs/observability.md).
        var claimTimes = (DefaultTracerClock.now, DefaultTracerClock.now)
        while !isShuttingDown {
            if next == nil {
                do {
                    let started = DefaultTracerClock.now
                    next = try await database.claimNextRun(workerId: settings.workerId)
                    claimTimes = (started, DefaultTracerClock.now)
                } catch {
                    logger.error("Claim failed", metadata: ["error": "\(error)"])
                    return executed
                }
            }
            guard let claimed = next else { return executed }
            var nextClaimTimes = claimTimes
            next = await execute(claimed, claimTimes: claimTimes, nextClaimTimes: &nextClaimTimes)
            claimTimes = nextClaimTimes
            executed += 1
        }
        if let next {
            // Claimed together with the previous run's completion just as shutdown began: hand it back untouched.
            _ = try? await database.releaseRun(runId: next.run.id, claimToken: next.claimToken, reason: "worker_shutdown")
        }
        return executed
    }

    /// Executes one claimed run to its terminal write; returns the next run claimed in that same transaction.
    ///
    /// Traced (docs/observability.md, "Tracing"): one `run` span, child of the span that enqueued the run (its
    /// `runs.trace_context`), from the claim to the terminal write, with `claim`, `execute` (and a span per stage the
    /// progress history marked) and `terminal write` under it. `claimTimes`: when the claim began and ended;
    /// `nextClaimTimes` receives the terminal write's, which claims the next run.
    func execute(
        _ claimed: ClaimedRun,
        claimTimes: (DefaultTracerClock.Instant, DefaultTracerClock.Instant) = (DefaultTracerClock.now, DefaultTracerClock.now),
        nextClaimTimes: inout (DefaultTracerClock.Instant, DefaultTracerClock.Instant)
    ) async -> ClaimedRun? {
        let run = claimed.run
        let span = startSpan(
            "run \(run.kind.rawValue)",
            at: claimTimes.0,
            context: RunTraceContext.context(traceparent: claimed.traceContext),
            ofKind: .consumer
        )
        span.updateAttributes { attributes in
            attributes["bastion.run.id"] = run.id
            attributes["bastion.job.id"] = run.jobId
            attributes["bastion.run.kind"] = run.kind.rawValue
            attributes["bastion.worker.id"] = settings.workerId
        }
        let claimSpan = startSpan("claim", at: claimTimes.0, context: span.context)
        claimSpan.end(at: claimTimes.1)
        defer { span.end() }
        var times = nextClaimTimes
        let next = await ServiceContext.withValue(span.context) {
            await executeInSpan(claimed, span: span, nextClaimTimes: &times)
        }
        nextClaimTimes = times
        return next
    }

    private func executeInSpan(
        _ claimed: ClaimedRun,
        span: any Span,
        nextClaimTimes: inout (DefaultTracerClock.Instant, DefaultTracerClock.Instant)
    ) async -> ClaimedRun? {
        let run = claimed.run
        var logger = logger
        logger[metadataKey: "run.id"] = "\(run.id)"
        logger[metadataKey: "job.id"] = "\(run.jobId)"
        logger.info("Run claimed")
        let cancellation = RunCancellation()
        current.withLock { $0 = (run.id, cancellation) }
        if isShuttingDown { cancellation.cancel(.shutdown) }
        defer { current.withLock { $0 = nil } }

        let sink = RunEventSink(database: database, runId: run.id)
        let progress = ProgressReporter(database: database, runId: run.id, claimToken: claimed.claimToken)
        // The sink is stopped, never cancelled: its last events must commit before the terminal write.
        async let sinkLoop: Void = sink.run()
        let executeSpan = startSpan("execute", context: span.context)
        let outcome: RunOutcome = await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                await heartbeat(run.id, claimed.claimToken, cancellation)
            }
            let outcome = await ServiceContext.withValue(executeSpan.context) {
                await perform(claimed, sink: sink, progress: progress, cancellation: cancellation, logger: logger)
            }
            group.cancelAll()
            return outcome
        }
        sink.stop()
        await sinkLoop
        Self.stageSpans(progress.stageMarks, under: executeSpan, endingAt: DefaultTracerClock.now)
        executeSpan.end()
        span.attributes["bastion.run.outcome"] = outcome.traceName
        let writeStarted = DefaultTracerClock.now
        let writeSpan = startSpan("terminal write", at: writeStarted, context: span.context)
        defer {
            writeSpan.end()
            nextClaimTimes = (writeStarted, DefaultTracerClock.now)
        }

        do {
            switch (cancellation.reason, outcome) {
            case (.leaseLost?, _):
                logger.warning("Run lost its lease; nothing written")
            case (.shutdown?, .canceled):
                let status = try await database.releaseRun(runId: run.id, claimToken: claimed.claimToken, reason: "worker_shutdown")
                logger.info("Run released on shutdown", metadata: ["status": "\(status?.rawValue ?? "lost")"])
            default:
                if isShuttingDown {
                    let status = try await database.completeRun(runId: run.id, claimToken: claimed.claimToken, outcome: outcome)
                    logger.info("Run finished", metadata: ["status": "\(status?.rawValue ?? "lost (lease)")"])
                    return nil
                }
                let (status, next) = try await database.completeRunAndClaimNext(
                    runId: run.id,
                    claimToken: claimed.claimToken,
                    outcome: outcome,
                    workerId: settings.workerId
                )
                logger.info("Run finished", metadata: ["status": "\(status?.rawValue ?? "lost (lease)")"])
                return next
            }
        } catch {
            logger.error("Terminal write failed; the run will be recovered after its lease", metadata: ["error": "\(error)"])
        }
        return nil
    }

    private func perform(
        _ claimed: ClaimedRun,
        sink: RunEventSink,
        progress: ProgressReporter,
        cancellation: RunCancellation,
        logger: Logger
    ) async -> RunOutcome {
        guard let job = claimed.job else {
            return .failed(code: "job_not_found", message: "The run's job no longer exists", summary: nil)
        }
        let spec: JobSpec
        do {
            spec = try JobSpec.parse(job.spec)
        } catch {
            sink.emit(.error, kind: "invalid_spec", message: "\(error)")
            return .failed(code: "invalid_spec", message: "Invalid job spec: \(error)", summary: nil)
        }
        // Restores and verifies run on their own executors; backups on their job type's.
        let executorKey = claimed.run.kind == .backup ? spec.type : claimed.run.kind.rawValue
        guard let executor = executors[executorKey] else {
            return .failed(code: "unsupported_job_type", message: "This worker cannot run \(spec.type) jobs yet", summary: nil)
        }
        let context = RunContext(
            run: claimed.run,
            job: job,
            spec: spec,
            events: sink,
            progress: progress,
            cancellation: cancellation,
            keys: BackupKeys(
                database: database,
                dataDirectory: database.dataDirectory
            ),
            catalogs: database.dataDirectory,
            targetSecrets: HubTargetSecrets(database: database)
        )
        do {
            try context.checkCancellation()
            let summary = try await HookedRun.execute(executor, context)
            if claimed.run.kind == .backup { await ensureJobFilesAfterRun(job: job, target: spec.target, events: sink, logger: logger) }
            if claimed.run.kind == .copy, let target = CopyExecutor.copyTarget(of: claimed.run) {
                await ensureJobFilesAfterRun(job: job, target: target, events: sink, logger: logger)
            }
            return .success(summary: summary)
        } catch is CancellationError {
            return .canceled(reason: cancellation.reason?.rawValue ?? "canceled")
        } catch let failure as RunFailure {
            return .failed(code: failure.code, message: failure.message, summary: failure.summary)
        } catch {
            logger.error("Executor failed", metadata: ["error": "\(error)"])
            return .failed(code: "run_failed", message: "\(error)", summary: nil)
        }
    }

    /// A span per stage of the run's progress history (`RunProgress.stages`), each ending where the next began.
    static func stageSpans(_ marks: [RunProgress.StageMark], under parent: any Span, endingAt end: DefaultTracerClock.Instant) {
        for (index, mark) in marks.enumerated() {
            let start = DefaultTracerClock.Instant(nanosecondsSinceEpoch: UInt64(clamping: mark.startedMs) &* 1_000_000)
            let stop =
                index + 1 < marks.count
                ? DefaultTracerClock.Instant(nanosecondsSinceEpoch: UInt64(clamping: marks[index + 1].startedMs) &* 1_000_000) : end
            let stage = startSpan("stage \(mark.stage)", at: start, context: parent.context)
            stage.end(at: max(start, stop))
        }
    }

    /// Heartbeats until cancelled; re-reads the cancel flag each time in case the bus hint was lost.
    private func heartbeat(_ runId: String, _ token: String, _ cancellation: RunCancellation) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: settings.heartbeatInterval)
            } catch {
                return
            }
            do {
                switch try await database.heartbeat(runId: runId, claimToken: token) {
                case .alive(let cancelRequested):
                    if cancelRequested { cancellation.cancel(.requested) }
                case .lost:
                    cancellation.cancel(.leaseLost)
                    return
                }
            } catch {
                logger.warning("Heartbeat failed", metadata: ["run.id": "\(runId)", "error": "\(error)"])
            }
        }
    }
}

extension RunOutcome {
    /// The outcome as the run span's `bastion.run.outcome` attribute.
    fileprivate var traceName: String {
        switch self {
        case .success: "succeeded"
        case .failed(let code, _, _): "failed: \(code)"
        case .canceled: "canceled"
        }
    }
}
