import Core
import Foundation
import Logging
import Runs
import Store
import Synchronization
import Targets

/// Runs the hub's tasks on this host (docs/agents.md, "Runs on agents") with the worker's own executors. A task is
/// stored before it is acked, so a second delivery is acked and not run again. Execution is detached from the link:
/// events go to the durable outbox and the result is kept until the hub acks it, so a dropped link never stops a
/// backup; the link drains what is pending whenever it is up.
final class AgentRunner: Sendable {
    let store: AgentStore
    let executors: [String: any JobExecutor]
    let logger: Logger
    /// Signalled when the outbox or a result has something new to send.
    let outboxChanged = WakeSignal()
    /// Sends a frame on the live link; false when there is none.
    let send: @Sendable (AgentMessage) async -> Bool
    /// Whether this agent runs the hooks of the jobs the hub sends (`--allow-hooks`, docs/hooks.md, "On agents").
    let allowHooks: Bool
    private let running = Mutex<[String: RunCancellation]>([:])

    init(
        store: AgentStore,
        executors: [any JobExecutor],
        logger: Logger,
        allowHooks: Bool = false,
        send: @escaping @Sendable (AgentMessage) async -> Bool
    ) {
        self.store = store
        self.allowHooks = allowHooks
        self.executors = Dictionary(uniqueKeysWithValues: executors.map { ($0.jobType, $0) })
        self.logger = logger
        self.send = send
    }

    /// Starts again what an earlier process of this agent held unfinished (it stopped or crashed mid-run).
    func resume() throws {
        for task in try store.tasks() where !task.finished { start(task) }
    }

    /// A `task` from the hub: stored, acked, and run unless it was already held.
    func receive(taskId runId: String, claimToken token: String, task: JSONValue) async {
        let message = AgentMessage.task(taskId: runId, claimToken: token, task: task).json
        do {
            let isNew = try store.store(runId: runId, claimToken: token, message: message)
            _ = await send(.ack(taskId: runId))
            guard isNew else {
                logger.info("Task delivered again: acked, not run twice", metadata: ["run.id": "\(runId)"])
                return
            }
            start(AgentStore.Task(runId: runId, claimToken: token, message: message, finished: false, result: nil))
        } catch {
            logger.error("Task not stored (not acked; the hub sends it again)", metadata: ["run.id": "\(runId)", "error": "\(error)"])
        }
    }

    func cancel(runId: String, reason: RunCancellation.Reason = .requested) {
        running.withLock { $0[runId] }?.cancel(reason)
    }

    /// The hub no longer counts this run as ours (lost, or canceled while we were away): stop it, send nothing more.
    func revoke(runId: String) {
        cancel(runId: runId, reason: .leaseLost)
        try? store.resultAcked(runId: runId)
        logger.warning("Task revoked by the hub", metadata: ["run.id": "\(runId)"])
    }

    private func start(_ task: AgentStore.Task) {
        let cancellation = RunCancellation()
        running.withLock { $0[task.runId] = cancellation }
        Task.detached { [self] in
            let result = await execute(task, cancellation: cancellation)
            running.withLock { _ = $0.removeValue(forKey: task.runId) }
            if cancellation.reason == .leaseLost { return }
            do {
                try store.finish(runId: task.runId, result: result)
            } catch {
                logger.error("Result not stored", metadata: ["run.id": "\(task.runId)", "error": "\(error)"])
            }
            outboxChanged.signal()
        }
    }

    private func execute(_ task: AgentStore.Task, cancellation: RunCancellation) async -> JSONValue {
        let body = task.message["task"] ?? .null
        func failed(_ code: String, _ message: String, summary: JSONValue? = nil) -> JSONValue {
            .object(["status": "failed", "error_code": .string(code), "error": .string(message), "summary": summary ?? .null])
        }
        guard let jobId = body["job_id"]?.stringValue, let specJSON = body["spec"] else {
            return failed("invalid_task", "the task has no job or spec")
        }
        let kind = body["kind"]?.stringValue.flatMap(RunKind.init(rawValue:)) ?? .backup
        let spec: JobSpec
        do {
            spec = try JobSpec.parse(specJSON)
        } catch {
            return failed("invalid_spec", "Invalid job spec: \(error)")
        }
        guard let executor = executors[kind == .backup ? spec.type : kind.rawValue] else {
            return failed("unsupported_job_type", "This agent cannot run \(kind == .backup ? spec.type : kind.rawValue) runs yet")
        }
        let run = Run(
            id: task.runId,
            jobId: jobId,
            status: .running,
            startedAt: body["started_at"]?.int64Value ?? unixNow(),
            kind: kind,
            operation: body["operation"]
        )
        let job = Job(
            id: jobId,
            name: body["job_name"]?.stringValue ?? "",
            scheduleTimezone: "UTC",
            overlapPolicy: .queue,
            spec: specJSON,
            createdAt: 0,
            updatedAt: 0
        )
        let context = RunContext(
            run: run,
            job: job,
            spec: spec,
            events: OutboxEvents(store: store, runId: task.runId, changed: outboxChanged, logger: logger),
            progress: LinkProgress(runId: task.runId, claimToken: task.claimToken, send: send),
            cancellation: cancellation,
            keys: body["keys"].flatMap { keys in
                guard let name = keys["name"]?.stringValue, let recipient = keys["recipient"]?.stringValue else { return nil }
                return TaskKeys(name: name, recipient: recipient, identity: keys["identity"]?.stringValue)
            },
            targetSecrets: TaskSecrets(
                secrets: ["target_secret", "source_secret"].compactMap { key in
                    body[key].flatMap { secret in
                        guard let kind = secret["kind"]?.stringValue, let name = secret["name"]?.stringValue, let value = secret["value"] else {
                            return nil
                        }
                        return TaskTargetSecret(kind: kind, name: name, secret: TargetSecret(value))
                    }
                }
            )
        )
        logger.info("Run started", metadata: ["run.id": "\(task.runId)", "kind": "\(kind.rawValue)"])
        do {
            try context.checkCancellation()
            let summary = try await HookedRun.execute(executor, context, hooksAllowed: allowHooks)
            return .object(["status": "success", "summary": summary])
        } catch is CancellationError {
            return .object(["status": "canceled", "error": .string(cancellation.reason?.rawValue ?? "canceled")])
        } catch let failure as RunFailure {
            return failed(failure.code, failure.message, summary: failure.summary)
        } catch {
            return failed("run_failed", "\(error)")
        }
    }
}

/// An executor's events into the durable outbox, each with the next `aseq` of its run.
struct OutboxEvents: RunEvents {
    let store: AgentStore
    let runId: String
    let changed: WakeSignal
    let logger: Logger

    /// Bounded as the hub's decoder requires (docs/agents.md, "Limits"), so no event of this agent is ever refused.
    func emit(_ event: NewRunEvent) {
        var message = event.message
        if message.utf8.count > AgentMessage.Limits.messageBytes {
            message = String(decoding: message.utf8.prefix(AgentMessage.Limits.messageBytes - 32), as: UTF8.self) + " … (truncated)"
        }
        var fields = event.fields ?? .null
        if fields.jsonString().utf8.count > AgentMessage.Limits.fieldsBytes { fields = .object(["truncated": true]) }
        var kind = event.kind
        if kind.isEmpty || kind.utf8.count > AgentMessage.Limits.kindLength || !kind.utf8.allSatisfy(AgentMessage.isCodeByte) { kind = "log" }
        let json: JSONValue = .object([
            "level": .string(event.level.rawValue), "kind": .string(kind), "message": .string(message), "fields": fields,
        ])
        do {
            try store.append(runId: runId, event: json)
            changed.signal()
        } catch {
            logger.error("Event not stored", metadata: ["run.id": "\(runId)", "error": "\(error)"])
        }
    }
}

/// Progress over the live link, best effort (it is a sample, not part of the log): at most once a second unless the
/// stage changes, with the stage history kept as `ProgressReporter` keeps it.
final class LinkProgress: RunProgressSink {
    let runId: String
    let claimToken: String
    let send: @Sendable (AgentMessage) async -> Bool
    private let state = Mutex<(marks: [RunProgress.StageMark], last: ContinuousClock.Instant?, stage: String?)>(([], nil, nil))

    init(runId: String, claimToken: String, send: @escaping @Sendable (AgentMessage) async -> Bool) {
        self.runId = runId
        self.claimToken = claimToken
        self.send = send
    }

    func update(_ progress: RunProgress) async {
        var progress = progress
        let due = state.withLock { state -> Bool in
            ProgressReporter.merge(&state.marks, progress)
            progress.stages = state.marks
            let now = ContinuousClock.now
            if let last = state.last, state.stage == progress.stage, now - last < .seconds(1) { return false }
            state.last = now
            state.stage = progress.stage
            return true
        }
        guard due else { return }
        _ = await send(.progress(runId: runId, claimToken: claimToken, progress))
    }
}
