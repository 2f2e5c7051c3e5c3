import Core
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Store
import Synchronization

/// The agent's one outbound WebSocket to the hub (docs/agents.md, "The link"): `hello`, then a `ping` every heartbeat;
/// no `pong` for 3 heartbeats closes the link. A closed link is reconnected after an exponential, fully jittered
/// delay (1 s doubling to 30 s) that resets only after a link that stayed up 60 s; when the hub closes for a restart
/// (1001, 1012) the first delay is uniform in [0, 10 s], so many agents do not all come back in the same second.
final class HubLink: Sendable {
    enum Outcome: Sendable {
        /// The hub refuses the key (`revoked`, `unauthorized`): retrying cannot help.
        case revoked(String)
        case stopped
    }

    let hub: HubAddress
    /// Who this agent is; its key changes when the hub rotates it.
    private let identityState: Mutex<AgentIdentity>
    var identity: AgentIdentity { identityState.withLock { $0 } }
    let directory: DataDirectory
    let heartbeat: Duration
    let logger: Logger
    /// The live connection's writer, for the runner's frames; nil between connections.
    private let current = Mutex<WebSocketOutboundWriter?>(nil)

    static let version = "0.1.0"

    init(hub: HubAddress, identity: AgentIdentity, directory: DataDirectory, heartbeat: Duration, logger: Logger) {
        self.hub = hub
        identityState = Mutex(identity)
        self.directory = directory
        self.heartbeat = heartbeat
        self.logger = logger
    }

    /// Writes a frame on the live connection; false when there is none (the caller keeps what must not be lost).
    func send(_ message: AgentMessage) async -> Bool {
        guard let outbound = current.withLock({ $0 }) else { return false }
        do {
            try await outbound.write(.text(message.text))
            return true
        } catch {
            return false
        }
    }

    func run(runner: AgentRunner) async -> Outcome {
        var backoff = ReconnectBackoff(base: .seconds(1), cap: .seconds(30), healthyAfter: .seconds(60))
        while !Task.isCancelled {
            let started = ContinuousClock.now
            var closeCode: UInt16?
            do {
                var headers = HTTPFields()
                headers[.authorization] = "Bearer \(identity.agentKey)"
                let frame = try await WebSocketClient.connect(
                    url: hub.webSocketURL,
                    configuration: .init(maxFrameSize: AgentMessage.Limits.hubFrameBytes, additionalHeaders: headers),
                    logger: logger
                ) { inbound, outbound, _ in
                    self.current.withLock { $0 = outbound }
                    defer { self.current.withLock { $0 = nil } }
                    try await self.session(inbound: inbound, outbound: outbound, runner: runner)
                }
                closeCode = frame.map { UInt16(webSocketErrorCode: $0.closeCode) }
                logger.warning(
                    "Link to the hub closed",
                    metadata: ["code": "\(closeCode.map(String.init) ?? "none")", "reason": "\(frame?.reason ?? "")"]
                )
            } catch {
                // A refused upgrade and a network fault look alike here: ask the hub whether it still takes the key.
                if let refusal = try? await Enrollment.refusal(hub: hub, key: identity.agentKey) { return .revoked(refusal) }
                logger.warning("Cannot reach the hub", metadata: ["error": "\(error)"])
            }
            if closeCode == 4401 { return .revoked("revoked") }
            if closeCode == 4410 {
                // The key was rotated: reconnect at once with the new one.
                backoff.connectionEnded(after: .seconds(3600))
                continue
            }
            backoff.connectionEnded(after: ContinuousClock.now - started)
            let delay: Duration
            if closeCode == 1001 || closeCode == 1012 {
                delay = .milliseconds(Int64.random(in: 0...10_000))
                _ = backoff.nextDelay()
            } else {
                delay = backoff.nextDelay()
            }
            logger.info(
                "Reconnecting",
                metadata: ["in_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)"]
            )
            do {
                try await Task.sleep(for: delay)
            } catch {
                return .stopped
            }
        }
        return .stopped
    }

    /// One connection: hello, then pings; returns when the hub closes or stops answering.
    private func session(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, runner: AgentRunner) async throws {
        let hello = AgentMessage.hello(
            .init(
                agentId: identity.agentId,
                name: identity.name,
                heartbeatSeconds: heartbeat.components.seconds,
                info: ["version": Self.version, "os": "linux", "arch": "x86_64"],
                capabilities: .object(["backup": .array(["filesystem", "sqlite", "vaultwarden", "postgres", "mariadb"])])
            )
        )
        try await outbound.write(.text(hello.text))
        logger.info("Connected to the hub", metadata: ["hub": "\(hub.base)"])
        let lastPong = Stamp()
        let logger = self.logger
        let heartbeat = self.heartbeat
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await frame in inbound.messages(maxSize: AgentMessage.Limits.hubFrameBytes) {
                    guard case .text(let text) = frame else { continue }
                    let message: AgentMessage
                    do {
                        message = try AgentMessage.decode(text)
                    } catch {
                        // A frame of another protocol version or a broken hub: dropped, loudly.
                        logger.error("Hub frame dropped: protocol error", metadata: ["error": "\(error)"])
                        continue
                    }
                    try await self.receive(message, outbound: outbound, runner: runner, lastPong: lastPong)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: heartbeat)
                    if lastPong.age > heartbeat * 3 {
                        logger.warning("No pong from the hub for 3 heartbeats: closing the link")
                        try? await outbound.close(.goingAway, reason: "pong timeout")
                        return
                    }
                    try await outbound.write(.text(AgentMessage.ping.text))
                }
            }
            group.addTask { try await self.drain(outbound: outbound, runner: runner) }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// One decoded frame from the hub.
    private func receive(_ message: AgentMessage, outbound: WebSocketOutboundWriter, runner: AgentRunner, lastPong: Stamp) async throws {
        switch message {
        case .pong: lastPong.touch()
        case .task(let taskId, let claimToken, let task): await runner.receive(taskId: taskId, claimToken: claimToken, task: task)
        case .eventAck(let runId, let aseq):
            try? runner.store.acked(runId: runId, upTo: aseq)
            runner.outboxChanged.signal()
        case .resultAck(let runId): try? runner.store.resultAcked(runId: runId)
        case .cancelRunTask(let runId): runner.cancel(runId: runId)
        case .taskRevoked(let runId): runner.revoke(runId: runId)
        case .rotateKey(let key):
            // Stored before it is confirmed; the hub takes both keys until this agent connects with the new one.
            var rotated = identity
            rotated.agentKey = key
            do {
                try rotated.save(in: directory)
                identityState.withLock { $0 = rotated }
                try await outbound.write(.text(AgentMessage.rotateKeyAck.text))
                logger.warning("The hub rotated this agent's key; stored")
            } catch {
                logger.error("New key not stored: not confirmed (the old key keeps working)", metadata: ["error": "\(error)"])
            }
        case .helloAck(_, let idle): logger.debug("Hub acknowledged hello", metadata: ["idle_timeout_seconds": "\(idle)"])
        case .hello, .ping, .ack, .runEvent, .runEvents, .progress, .taskResult, .rotateKeyAck:
            logger.error("Hub frame dropped: protocol error", metadata: ["error": "\(message.type) is an agent's message"])
        }
    }

    /// The sender: the outbox's unacked events in `run_events` frames (at most 200 events and 512 KiB each; the outbox
    /// read bounds what is in flight to 500 events), each once per connection, then each finished run's result once
    /// its events are all acked, again every 5 s until `result_ack`.
    private func drain(outbound: WebSocketOutboundWriter, runner: AgentRunner) async throws {
        var sentUpTo: [String: Int64] = [:]
        var resultSent: [String: ContinuousClock.Instant] = [:]
        while !Task.isCancelled {
            let tasks = (try? runner.store.tasks()) ?? []
            let tokens = Dictionary(uniqueKeysWithValues: tasks.map { ($0.runId, $0.claimToken) })
            let pending = (try? runner.store.pending(limit: 500)) ?? []
            var batch: [AgentMessage.AgentEvent] = []
            var batchRun: String?
            var batchBytes = 0
            func flush() async throws {
                guard let runId = batchRun, let token = tokens[runId], !batch.isEmpty else { return }
                try await outbound.write(.text(AgentMessage.runEvents(runId: runId, claimToken: token, batch).text))
                sentUpTo[runId] = batch.last?.aseq
                batch = []
                batchBytes = 0
            }
            for item in pending where item.aseq > sentUpTo[item.runId, default: 0] && tokens[item.runId] != nil {
                let event = Self.outboxEvent(item)
                // Counted as encoded (escapes can make an event six times its text): a frame over the hub's limit would
                // be refused, and sent again after every reconnect.
                let encoded = event.encodedSize
                if batchRun != item.runId || batch.count == AgentMessage.Limits.maxEventsPerFrame
                    || batchBytes + encoded > AgentMessage.Limits.agentFrameBytes / 2
                {
                    try await flush()
                    batchRun = item.runId
                }
                batch.append(event)
                batchBytes += encoded
            }
            try await flush()
            let waiting = Set(pending.map(\.runId))
            for task in tasks where task.finished && !waiting.contains(task.runId) {
                guard let stored = task.result, let result = Self.result(stored, runId: task.runId, claimToken: task.claimToken) else { continue }
                if let sent = resultSent[task.runId], ContinuousClock.now - sent < .seconds(5) { continue }
                try await outbound.write(.text(AgentMessage.taskResult(result).text))
                resultSent[task.runId] = .now
            }
            _ = await runner.outboxChanged.wait(timeout: .seconds(1))
        }
    }

    /// An outbox row as the wire's event (the outbox keeps what `OutboxEvents` bounded).
    static func outboxEvent(_ item: AgentStore.Pending) -> AgentMessage.AgentEvent {
        AgentMessage.AgentEvent(
            aseq: item.aseq,
            level: item.event["level"]?.stringValue.flatMap(RunEvent.Level.init(rawValue:)) ?? .info,
            kind: item.event["kind"]?.stringValue ?? "log",
            message: item.event["message"]?.stringValue ?? "",
            fields: item.event["fields"].flatMap { $0 == .null ? nil : $0 }
        )
    }

    /// A stored result (`AgentRunner.execute`) as the wire's `task_result`.
    static func result(_ stored: JSONValue, runId: String, claimToken: String) -> AgentMessage.TaskResult? {
        guard let status = stored["status"]?.stringValue.flatMap(AgentMessage.TaskResult.Status.init(rawValue:)) else { return nil }
        // Within the hub's limits, or the result would be a protocol error sent again forever.
        var summary = stored["summary"].flatMap { $0 == .null ? nil : $0 }
        if let text = summary?.jsonString(), text.utf8.count > AgentMessage.Limits.summaryBytes { summary = .object(["truncated": true]) }
        var code = stored["error_code"]?.stringValue
        if let value = code, value.isEmpty || value.utf8.count > AgentMessage.Limits.kindLength || !value.utf8.allSatisfy(AgentMessage.isCodeByte) {
            code = "agent_failed"
        }
        let error = stored["error"]?.stringValue.map { String(decoding: $0.utf8.prefix(AgentMessage.Limits.errorBytes - 4), as: UTF8.self) }
        return AgentMessage.TaskResult(
            taskId: runId,
            runId: runId,
            claimToken: claimToken,
            status: status,
            summary: summary,
            errorCode: code,
            error: error
        )
    }
}

/// When something last happened, settable and readable from any task.
final class Stamp: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    func touch() { instant.withLock { $0 = .now } }

    var age: Duration { ContinuousClock.now - instant.withLock { $0 } }
}
