import Core
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOWebSocket
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
    func send(_ message: JSONValue) async -> Bool {
        guard let outbound = current.withLock({ $0 }) else { return false }
        do {
            try await outbound.write(.text(message.jsonString()))
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
                    configuration: .init(maxFrameSize: 4 << 20, additionalHeaders: headers),
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
        let heartbeatSeconds = heartbeat.components.seconds
        let hello: JSONValue = .object([
            "v": 1, "type": "hello", "agent_id": .string(identity.agentId), "name": .string(identity.name),
            "heartbeat_seconds": .number(Double(heartbeatSeconds)),
            "info": .object(["version": .string(Self.version), "os": "linux", "arch": "x86_64"]),
            "capabilities": .object(["backup": .array(["filesystem", "sqlite"])]),
        ])
        try await outbound.write(.text(hello.jsonString()))
        logger.info("Connected to the hub", metadata: ["hub": "\(hub.base)"])
        let lastPong = Stamp()
        let logger = self.logger
        let heartbeat = self.heartbeat
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await message in inbound.messages(maxSize: 4 << 20) {
                    guard case .text(let text) = message, let json = try? JSONValue.parse(text), json["v"]?.doubleValue == 1 else { continue }
                    switch json["type"]?.stringValue {
                    case "pong": lastPong.touch()
                    case "task": await runner.receive(task: json)
                    case "event_ack":
                        if let runId = json["run_id"]?.stringValue, let aseq = json["aseq"]?.int64Value {
                            try? runner.store.acked(runId: runId, upTo: aseq)
                            runner.outboxChanged.signal()
                        }
                    case "result_ack":
                        if let runId = json["run_id"]?.stringValue { try? runner.store.resultAcked(runId: runId) }
                    case "cancel_run_task":
                        if let runId = json["run_id"]?.stringValue { runner.cancel(runId: runId) }
                    case "task_revoked":
                        if let runId = json["run_id"]?.stringValue { runner.revoke(runId: runId) }
                    case "rotate_key":
                        // Stored before it is confirmed: the hub replaces the old key only after the ack.
                        guard let key = json["agent_key"]?.stringValue else { break }
                        var rotated = self.identity
                        rotated.agentKey = key
                        do {
                            try rotated.save(in: self.directory)
                            self.identityState.withLock { $0 = rotated }
                            try await outbound.write(.text(#"{"type":"rotate_key_ack","v":1}"#))
                            logger.warning("The hub rotated this agent's key; stored")
                        } catch {
                            logger.error("New key not stored: not confirmed (the old key keeps working)", metadata: ["error": "\(error)"])
                        }
                    case "hello_ack":
                        logger.debug(
                            "Hub acknowledged hello",
                            metadata: ["idle_timeout_seconds": "\(json["idle_timeout_seconds"]?.doubleValue ?? 0)"]
                        )
                    default: logger.debug("Hub frame ignored", metadata: ["type": "\(json["type"]?.stringValue ?? "?")"])
                    }
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
                    try await outbound.write(.text(#"{"type":"ping","v":1}"#))
                }
            }
            // The sender: every event not yet acked (once per connection), then each finished run's result once its
            // events are all acked, again every 5 s until `result_ack`.
            group.addTask {
                var sentUpTo: [String: Int64] = [:]
                var resultSent: [String: ContinuousClock.Instant] = [:]
                while !Task.isCancelled {
                    let tasks = (try? runner.store.tasks()) ?? []
                    let tokens = Dictionary(uniqueKeysWithValues: tasks.map { ($0.runId, $0.claimToken) })
                    let pending = (try? runner.store.pending(limit: 500)) ?? []
                    for item in pending where item.aseq > sentUpTo[item.runId, default: 0] {
                        guard case .object(var event) = item.event, let token = tokens[item.runId] else { continue }
                        event["v"] = 1
                        event["type"] = "run_event"
                        event["run_id"] = .string(item.runId)
                        event["claim_token"] = .string(token)
                        try await outbound.write(.text(JSONValue.object(event).jsonString()))
                        sentUpTo[item.runId] = item.aseq
                    }
                    let waiting = Set(pending.map(\.runId))
                    for task in tasks where task.finished && !waiting.contains(task.runId) {
                        guard case .object(var result)? = task.result else { continue }
                        if let sent = resultSent[task.runId], ContinuousClock.now - sent < .seconds(5) { continue }
                        result["v"] = 1
                        result["type"] = "task_result"
                        result["task_id"] = .string(task.runId)
                        result["run_id"] = .string(task.runId)
                        result["claim_token"] = .string(task.claimToken)
                        try await outbound.write(.text(JSONValue.object(result).jsonString()))
                        resultSent[task.runId] = .now
                    }
                    _ = await runner.outboxChanged.wait(timeout: .seconds(1))
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }
}

/// When something last happened, settable and readable from any task.
final class Stamp: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    func touch() { instant.withLock { $0 = .now } }

    var age: Duration { ContinuousClock.now - instant.withLock { $0 } }
}
