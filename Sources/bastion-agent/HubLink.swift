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
    let identity: AgentIdentity
    let heartbeat: Duration
    let logger: Logger

    static let version = "0.1.0"

    init(hub: HubAddress, identity: AgentIdentity, heartbeat: Duration, logger: Logger) {
        self.hub = hub
        self.identity = identity
        self.heartbeat = heartbeat
        self.logger = logger
    }

    func run() async -> Outcome {
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
                    try await self.session(inbound: inbound, outbound: outbound)
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
    private func session(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
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
