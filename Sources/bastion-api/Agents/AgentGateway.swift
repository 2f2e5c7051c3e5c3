import Core
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Secrets
import Store
import Synchronization
import Targets

/// The hub's end of the agents' WebSockets (docs/agents.md): who may connect (`Authorization: Bearer <agent key>`),
/// one live connection per agent, `hello` and `ping`, and the idle timeout.
///
/// The registry maps an agent to its connection's generation. A newer connection of the same agent closes the older
/// one (4409 "replaced", logged); cleanup removes an entry only when its generation is the one ending, so a late
/// close of an old socket never unregisters the new one. Revoking an agent closes its socket (4401).
actor AgentGateway {
    /// Close codes the hub sends (docs/agents.md, "Close codes").
    enum CloseCode: UInt16 {
        case replaced = 4409
        case revoked = 4401
        case idle = 4408
        case rotated = 4410
    }

    struct Connection {
        var generation: UUID
        var outbound: WebSocketOutboundWriter
        var connectedAt: Int64
    }

    let database: AppDatabase
    let policy: NetworkPolicy
    private var connections: [String: Connection] = [:]
    /// Rotations waiting for the agent's `rotate_key_ack`.
    private var rotations: [String: CheckedContinuation<Bool, Never>] = [:]

    init(database: AppDatabase, policy: NetworkPolicy) {
        self.database = database
        self.policy = policy
    }

    /// The heartbeat an agent announces when it says nothing (seconds), and the bounds of what it may announce.
    static let defaultHeartbeat: Int64 = 15
    static let heartbeatRange: ClosedRange<Int64> = 1...300

    static func bearer(_ headers: HTTPFields) -> String? {
        guard let value = headers[.authorization], value.hasPrefix("Bearer ") else { return nil }
        return String(value.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    /// The agent a request authenticates as: `401 unauthorized` without a known key, `401 revoked` for a revoked one.
    func authenticate(_ headers: HTTPFields) async throws -> Agent {
        guard let key = Self.bearer(headers), let hash = AgentCredential.hash(key), let agent = try await database.agent(keyHash: hash) else {
            throw APIError(status: .unauthorized, code: "unauthorized", message: "no agent has this key")
        }
        guard agent.revokedAt == nil else { throw APIError(status: .unauthorized, code: "revoked", message: "this agent was revoked") }
        return agent
    }

    /// The upgrade gate's check for `/agent/ws`: the edge rule, then the key.
    nonisolated func refusal(headers: HTTPFields, peer: String?) async -> (status: HTTPResponse.Status, body: String)? {
        await gateRefusal(headers: headers, peer: peer, policy: policy) { _ = try await self.authenticate(headers) }
    }

    var connectedAgents: Set<String> { Set(connections.keys) }

    func isConnected(_ agentId: String) -> Bool { connections[agentId] != nil }

    private func register(_ agentId: String, outbound: WebSocketOutboundWriter, logger: Logger) async -> UUID {
        let generation = UUID()
        let previous = connections[agentId]
        connections[agentId] = Connection(generation: generation, outbound: outbound, connectedAt: unixNow())
        if let previous {
            logger.warning("Agent connected again: closing its older connection", metadata: ["agent.id": "\(agentId)"])
            try? await previous.outbound.close(.unknown(CloseCode.replaced.rawValue), reason: "replaced by a newer connection")
        }
        return generation
    }

    private func unregister(_ agentId: String, generation: UUID) {
        if connections[agentId]?.generation == generation { connections[agentId] = nil }
    }

    enum RotationOutcome: Sendable {
        case rotated(Agent)
        case offline
        case timedOut
    }

    /// Rotates the agent's key over its live link (docs/agents.md, "Rotating a key"): the new key goes to the agent,
    /// which stores it and answers `rotate_key_ack`; only then does the hub replace the key's hash and close the link
    /// (4410), and the agent reconnects with the new key. Without an answer within `timeout` nothing changes.
    func rotate(_ agentId: String, timeout: Duration = .seconds(10), logger: Logger) async throws -> RotationOutcome {
        guard let connection = connections[agentId], rotations[agentId] == nil else { return .offline }
        let (key, hash) = AgentCredential.generate()
        let message = JSONValue.object(["v": 1, "type": "rotate_key", "agent_key": .string(key)])
        try await connection.outbound.write(.text(message.jsonString()))
        let acknowledged = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            rotations[agentId] = continuation
            Task {
                try? await Task.sleep(for: timeout)
                self.rotationAcknowledged(agentId, ok: false)
            }
        }
        guard acknowledged else { return .timedOut }
        guard let agent = try await database.rotateAgentKey(id: agentId, keyHash: hash) else { return .offline }
        logger.warning("Agent key rotated", metadata: ["agent.id": "\(agentId)"])
        await disconnect(agentId, code: .rotated, reason: "key rotated")
        return .rotated(agent)
    }

    private func rotationAcknowledged(_ agentId: String, ok: Bool = true) {
        rotations.removeValue(forKey: agentId)?.resume(returning: ok)
    }

    /// Closes the agent's live connection, if any (revoke, rotate).
    func disconnect(_ agentId: String, code: CloseCode, reason: String) async {
        guard let connection = connections.removeValue(forKey: agentId) else { return }
        try? await connection.outbound.close(.unknown(code.rawValue), reason: reason)
    }

    /// One agent connection, from upgrade to close.
    nonisolated func serve(agent: Agent, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger base: Logger) async {
        var tagged = base
        tagged[metadataKey: "agent.id"] = "\(agent.id)"
        let logger = tagged
        let generation = await register(agent.id, outbound: outbound, logger: logger)
        logger.info("Agent connected", metadata: ["agent.name": "\(agent.name)"])
        try? await database.agentSeen(id: agent.id)
        let clock = LinkClock(idleTimeout: .seconds(3 * Self.defaultHeartbeat))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 4 << 20) {
                        clock.heard()
                        guard case .text(let text) = message else { continue }
                        await self.receive(text, agent: agent, outbound: outbound, clock: clock, logger: logger)
                    }
                } catch {
                    logger.debug("Agent connection read failed", metadata: ["error": "\(error)"])
                }
            }
            // The idle watchdog: nothing heard for 3 heartbeats closes the socket (a half-open TCP link never says so).
            group.addTask {
                var ticks = 0
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    ticks += 1
                    // A safety net under the wakes: a queued run of this agent is looked for every 5 s.
                    if ticks % 5 == 0 { await self.dispatch(agent.id, logger: logger) }
                    let (quiet, limit) = clock.quiet
                    if quiet > limit {
                        logger.warning("Agent silent past its idle timeout: closing", metadata: ["quiet_seconds": "\(quiet.components.seconds)"])
                        try? await outbound.close(.unknown(CloseCode.idle.rawValue), reason: "idle timeout")
                        return
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
        await unregister(agent.id, generation: generation)
        try? await database.agentSeen(id: agent.id)
        logger.info("Agent disconnected")
    }

    /// One text frame from an agent. Frames that are not JSON objects of `v: 1`, or of a type this hub does not know,
    /// are ignored (the original's forward compatibility), and logged at debug.
    private nonisolated func receive(_ text: String, agent: Agent, outbound: WebSocketOutboundWriter, clock: LinkClock, logger: Logger) async {
        guard let message = try? JSONValue.parse(text), message["v"]?.doubleValue == 1, let type = message["type"]?.stringValue else {
            logger.debug("Agent frame ignored: not a v1 message")
            return
        }
        switch type {
        case "hello":
            let heartbeat =
                message["heartbeat_seconds"]?.int64Value.flatMap { Self.heartbeatRange.contains($0) ? $0 : nil }
                ?? Self.defaultHeartbeat
            clock.setIdleTimeout(.seconds(3 * heartbeat))
            var info: [String: JSONValue] = ["heartbeat_seconds": .number(Double(heartbeat))]
            for key in ["info", "capabilities", "name"] { info[key] = message[key] }
            try? await database.agentSeen(id: agent.id, info: .object(info))
            let reply = JSONValue.object([
                "v": 1, "type": "hello_ack", "agent_id": .string(agent.id), "idle_timeout_seconds": .number(Double(3 * heartbeat)),
            ])
            try? await outbound.write(.text(reply.jsonString()))
            logger.info(
                "Agent said hello",
                metadata: ["heartbeat_seconds": "\(heartbeat)", "version": "\(message["info"]?["version"]?.stringValue ?? "?")"]
            )
            // Tasks it holds (or was sent and may not have stored) go again: it acks and ignores what it has.
            do {
                for (task, claimed) in try await database.openAgentTasks(agentId: agent.id) {
                    try await outbound.write(.text(await taskMessage(claimed).jsonString()))
                    if claimed.run.cancelRequestedAt != nil { try await outbound.write(.text(Self.cancelMessage(task.runId))) }
                    logger.info("Open task sent again", metadata: ["run.id": "\(task.runId)"])
                }
            } catch {
                logger.warning("Open tasks not sent again", metadata: ["error": "\(error)"])
            }
            await dispatch(agent.id, logger: logger)
        case "ping":
            try? await outbound.write(.text(#"{"type":"pong","v":1}"#))
            try? await database.agentSeen(id: agent.id)
            // The ping keeps the leases of its runs; a cancel requested meanwhile is told again (idempotent).
            for runId in (try? await database.agentHeartbeat(agentId: agent.id)) ?? [] {
                try? await outbound.write(.text(Self.cancelMessage(runId)))
            }
        case "rotate_key_ack":
            await rotationAcknowledged(agent.id)
        case "ack":
            if let runId = message["task_id"]?.stringValue { try? await database.ackAgentTask(agentId: agent.id, runId: runId) }
        case "run_event":
            await receiveEvent(message, agent: agent, outbound: outbound, logger: logger)
        case "progress":
            guard let runId = message["run_id"]?.stringValue, let token = message["claim_token"]?.stringValue,
                let value = message["progress"].flatMap(RunProgress.init(json:))
            else { return }
            guard (try? await database.agentHoldsRun(agentId: agent.id, runId: runId, claimToken: token)) == true else {
                logger.warning("Agent progress refused: not this agent's running run", metadata: ["run.id": "\(runId)"])
                return
            }
            _ = try? await database.updateProgress(runId: runId, claimToken: token, progress: value)
        case "task_result":
            await receiveResult(message, agent: agent, outbound: outbound, logger: logger)
        default:
            logger.debug("Agent frame ignored: unknown type", metadata: ["type": "\(type)"])
        }
    }
}

extension AgentGateway {
    /// `task` with the age key the run needs, if any (docs/agents.md, "Keys"): a backup gets the recipient only; a
    /// restore or verify gets the identity too, for that task only.
    func taskMessage(_ claimed: ClaimedRun) async -> JSONValue {
        let message = await withTargetSecret(Self.taskMessage(claimed), claimed)
        guard let encryption = claimed.job?.spec["pipeline"]?["encryption"], encryption["type"]?.stringValue == "age_x25519",
            let name = encryption["key_name"]?.stringValue, case .object(var root) = message, case .object(var task)? = root["task"],
            let box = try? SecretBox.open(in: database.dataDirectory),
            let key = try? await database.backupIdentity(name: name, box: box, create: claimed.run.kind == .backup)
        else { return message }
        var keys: [String: JSONValue] = ["name": .string(name), "recipient": .string(key.recipient)]
        if claimed.run.kind != .backup { keys["identity"] = .string(key.identity) }
        task["keys"] = .object(keys)
        root["task"] = .object(task)
        return .object(root)
    }

    /// `task` with the credentials of the target the run writes or reads (docs/agents.md, "Keys"), for that task only:
    /// `target_secret: {kind, name, value}`. A restore or verify reads the target its backup recorded.
    func withTargetSecret(_ message: JSONValue, _ claimed: ClaimedRun) async -> JSONValue {
        let recorded = RunLocation(json: claimed.run.operation?["source_target"])?.target
        guard let target = recorded ?? (try? JobSpec.parse(claimed.job?.spec ?? .null))?.target, let name = target.secretName,
            case .object(var root) = message, case .object(var task)? = root["task"],
            let secret = try? await HubTargetSecrets(database: database).secret(kind: target.type, name: name)
        else { return message }
        // A WebDAV secret goes only to the origin it was saved for (docs/security.md, "Targets and secrets").
        if case .webdav(let webdav) = target, (try? WebDAVStore.checkOrigin(of: secret, named: name, for: webdav.baseURL)) == nil { return message }
        task["target_secret"] = .object(["kind": .string(target.type), "name": .string(name), "value": secret.value])
        root["task"] = .object(task)
        return .object(root)
    }

    /// `task`: the run to execute, with its claim (docs/agents.md, "Runs on agents").
    static func taskMessage(_ claimed: ClaimedRun) -> JSONValue {
        var task: [String: JSONValue] = [
            "run_id": .string(claimed.run.id), "job_id": .string(claimed.run.jobId), "kind": .string(claimed.run.kind.rawValue),
            "started_at": .number(Double(claimed.run.startedAt)), "job_name": .string(claimed.job?.name ?? ""),
            "spec": claimed.job?.spec ?? .null,
        ]
        if let operation = claimed.run.operation { task["operation"] = operation }
        return .object([
            "v": 1, "type": "task", "task_id": .string(claimed.run.id), "claim_token": .string(claimed.claimToken), "task": .object(task),
        ])
    }

    static func cancelMessage(_ runId: String) -> String {
        JSONValue.object(["v": 1, "type": "cancel_run_task", "run_id": .string(runId)]).jsonString()
    }

    /// Hands the agent its next queued run when it is connected and holds none (one run at a time per agent; the claim
    /// checks that in its own transaction).
    func dispatch(_ agentId: String, logger: Logger) async {
        guard let connection = connections[agentId] else { return }
        do {
            guard let claimed = try await database.claimAgentRun(agentId: agentId) else { return }
            logger.info("Run handed to agent", metadata: ["agent.id": "\(agentId)", "run.id": "\(claimed.run.id)"])
            try await connection.outbound.write(.text(await taskMessage(claimed).jsonString()))
        } catch {
            logger.warning(
                "Dispatch to agent failed (the task is sent again on reconnect)",
                metadata: ["agent.id": "\(agentId)", "error": "\(error)"]
            )
        }
    }

    /// Every connected agent looks for work (a `wake runs` reached the API).
    func dispatchAll(logger: Logger) async {
        for agentId in connections.keys { await dispatch(agentId, logger: logger) }
    }

    /// Tells the agent holding `runId` to cancel it, when it is connected (it is told again on its pings and on
    /// reconnect while the cancel is pending).
    func cancel(runIds: [String]) async {
        for runId in runIds {
            guard let agentId = try? await database.run(id: runId)?.nodeId, agentId != AppDatabase.hubNode, let connection = connections[agentId]
            else { continue }
            try? await connection.outbound.write(.text(Self.cancelMessage(runId)))
        }
    }

    /// `run_event {run_id, claim_token, aseq, level, kind, message, fields?}`: appended once, then `event_ack` up to
    /// what is stored. Another agent's run, or a stale claim, is refused and logged.
    nonisolated func receiveEvent(_ message: JSONValue, agent: Agent, outbound: WebSocketOutboundWriter, logger: Logger) async {
        guard let runId = message["run_id"]?.stringValue, let token = message["claim_token"]?.stringValue,
            let aseq = message["aseq"]?.int64Value, let kind = message["kind"]?.stringValue,
            let text = message["message"]?.stringValue
        else { return }
        let level = message["level"]?.stringValue.flatMap(RunEvent.Level.init(rawValue:)) ?? .info
        let fields = message["fields"].flatMap { $0 == .null ? nil : $0 }
        do {
            guard
                let stored = try await database.appendAgentEvents(
                    agentId: agent.id,
                    runId: runId,
                    claimToken: token,
                    [(aseq, NewRunEvent(level, kind: kind, message: text, fields: fields))]
                )
            else {
                logger.warning("Agent event refused: not this agent's running run", metadata: ["run.id": "\(runId)"])
                try? await outbound.write(.text(JSONValue.object(["v": 1, "type": "task_revoked", "run_id": .string(runId)]).jsonString()))
                return
            }
            let ack = JSONValue.object(["v": 1, "type": "event_ack", "run_id": .string(runId), "aseq": .number(Double(stored))])
            try await outbound.write(.text(ack.jsonString()))
        } catch {
            logger.warning("Agent event not stored (the agent sends it again)", metadata: ["run.id": "\(runId)", "error": "\(error)"])
        }
    }

    /// `task_result {task_id, run_id, claim_token, status, summary?, error_code?, error?}`: the fenced terminal write,
    /// then `result_ack`; a resent result is acknowledged again and changes nothing.
    nonisolated func receiveResult(_ message: JSONValue, agent: Agent, outbound: WebSocketOutboundWriter, logger: Logger) async {
        guard let runId = message["run_id"]?.stringValue, let token = message["claim_token"]?.stringValue,
            let status = message["status"]?.stringValue
        else { return }
        let outcome: RunOutcome
        switch status {
        case "success": outcome = .success(summary: message["summary"] ?? .object([:]))
        case "canceled": outcome = .canceled(reason: message["error"]?.stringValue ?? "canceled")
        default:
            outcome = .failed(
                code: message["error_code"]?.stringValue ?? "agent_failed",
                message: message["error"]?.stringValue ?? "the agent reported a failure",
                summary: message["summary"].flatMap { $0 == .null ? nil : $0 }
            )
        }
        do {
            guard let final = try await database.completeAgentRun(agentId: agent.id, runId: runId, claimToken: token, outcome: outcome) else {
                logger.warning("Agent result refused: not this agent's task", metadata: ["run.id": "\(runId)"])
                try? await outbound.write(.text(JSONValue.object(["v": 1, "type": "task_revoked", "run_id": .string(runId)]).jsonString()))
                return
            }
            logger.info("Agent run finished", metadata: ["run.id": "\(runId)", "status": "\(final.rawValue)"])
            try await outbound.write(.text(JSONValue.object(["v": 1, "type": "result_ack", "run_id": .string(runId)]).jsonString()))
            await dispatch(agent.id, logger: logger)
        } catch {
            logger.warning("Agent result not stored (the agent sends it again)", metadata: ["run.id": "\(runId)", "error": "\(error)"])
        }
    }
}

/// When a connection last heard from its agent, and how long it may stay silent.
final class LinkClock: Sendable {
    private let state: Mutex<(lastHeard: ContinuousClock.Instant, idleTimeout: Duration)>

    init(idleTimeout: Duration) {
        state = Mutex((.now, idleTimeout))
    }

    func heard() { state.withLock { $0.lastHeard = .now } }

    func setIdleTimeout(_ timeout: Duration) { state.withLock { $0.idleTimeout = timeout } }

    /// How long it has been silent, and how long it may be.
    var quiet: (Duration, Duration) { state.withLock { (ContinuousClock.now - $0.lastHeard, $0.idleTimeout) } }
}
