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
        /// A frame that is not a known message within its limits (docs/agents.md, "Protocol errors").
        case protocolError = 4400
    }

    struct Connection {
        var generation: UUID
        var outbound: WebSocketOutboundWriter
        var connectedAt: Int64
    }

    let database: AppDatabase
    let policy: NetworkPolicy
    let limits: AgentLimits
    private var connections: [String: Connection] = [:]
    /// Rotations waiting for the agent's `rotate_key_ack`.
    private var rotations: [String: CheckedContinuation<Bool, Never>] = [:]
    /// Agents with a rotation under way (from its first step to the link's close).
    private var rotating: Set<String> = []

    init(database: AppDatabase, policy: NetworkPolicy, limits: AgentLimits = AgentLimits()) {
        self.database = database
        self.policy = policy
        self.limits = limits
    }

    /// The heartbeat an agent announces when it says nothing (seconds); `AgentMessage.Limits` bounds what it may announce.
    static let defaultHeartbeat: Int64 = 15

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

    /// The upgrade's check for `/agent/ws`, at the gate and again in the router's `shouldUpgrade`: the canonical path,
    /// the edge rule, then the key.
    nonisolated func refusal(uri: String, headers: HTTPFields, peer: String?) async -> (status: HTTPResponse.Status, body: String)? {
        await gateRefusal(uri: uri, headers: headers, peer: peer, policy: policy) { path in
            guard path == "/agent/ws" else { throw APIError(status: .notFound, code: "not_found", message: "no such WebSocket") }
            _ = try await self.authenticate(headers)
        }
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

    /// Rotates the agent's key over its live link (docs/agents.md, "Rotating a key"). The new key's hash is stored as
    /// pending before it is sent, and both keys authenticate until the agent connects with the new one, which then
    /// replaces the old (`AppDatabase.agent(keyHash:)`): no lost message can leave the agent holding a key the hub does
    /// not take. After the agent's `rotate_key_ack`, or `timeout` without one, the link is closed (4410) so the agent
    /// reconnects at once with whichever key it holds.
    func rotate(_ agentId: String, timeout: Duration = .seconds(10), logger: Logger) async throws -> RotationOutcome {
        guard let connection = connections[agentId], rotations[agentId] == nil, !rotating.contains(agentId) else { return .offline }
        // Reserved before the first await: a second rotate meanwhile is refused instead of replacing this one's waiter.
        rotating.insert(agentId)
        defer { rotating.remove(agentId) }
        let (key, hash) = AgentCredential.generate()
        guard let agent = try await database.setPendingAgentKey(id: agentId, keyHash: hash) else { return .offline }
        try await connection.outbound.write(.text(AgentMessage.rotateKey(agentKey: key).text))
        let acknowledged = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            rotations[agentId] = continuation
            Task {
                try? await Task.sleep(for: timeout)
                self.rotationAcknowledged(agentId, ok: false)
            }
        }
        logger.warning("Agent key rotation sent", metadata: ["agent.id": "\(agentId)", "acknowledged": "\(acknowledged)"])
        await disconnect(agentId, code: .rotated, reason: "key rotated")
        return acknowledged ? .rotated(agent) : .timedOut
    }

    private func rotationAcknowledged(_ agentId: String, ok: Bool = true) {
        rotations.removeValue(forKey: agentId)?.resume(returning: ok)
    }

    /// Whether the connection of `generation` is still the agent's registered one.
    func isCurrent(_ agentId: String, generation: UUID) -> Bool { connections[agentId]?.generation == generation }

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
        // A revoke that ran between the upgrade's check and the registration found no socket to close: close it here.
        guard await stillAllowed(agent.id, outbound: outbound, logger: logger) else {
            await unregister(agent.id, generation: generation)
            return
        }
        try? await database.agentSeen(id: agent.id)
        let clock = LinkClock(idleTimeout: .seconds(3 * Self.defaultHeartbeat))
        let limits = self.limits
        await withTaskGroup(of: Void.self) { group in
            // The reader decodes and queues frames; the processor acts on them in order, a run's queued event frames
            // together (docs/agents.md, "Frames in one transaction"). Whichever stops first stops the other.
            group.addTask {
                let queue = AgentFrameQueue()
                await withTaskGroup(of: Bool.self) { link in
                    link.addTask {
                        defer { queue.finish() }
                        var budget = AgentBudget(limits: limits)
                        do {
                            for try await frame in inbound.messages(maxSize: AgentMessage.Limits.agentFrameBytes) {
                                clock.heard()
                                guard case .text(let text) = frame else { continue }
                                let message: AgentMessage
                                do {
                                    message = try AgentMessage.decode(text)
                                } catch {
                                    // Nothing after a frame this hub does not understand is read: the link closes.
                                    _ = await queue.push(.invalid("\(error)"))
                                    return true
                                }
                                guard await queue.push(.message(message), bytes: text.utf8.count) else { return true }
                                // Over its budget, this agent's next frame waits: its socket backs up, nothing is dropped.
                                let wait = budget.spend(events: message.eventCount, bytes: text.utf8.count)
                                if wait > .zero {
                                    // Its frames wait unread: the agent is not idle, the hub is pacing it, so the watchdog
                                    // counts its silence from the end of the pause, not from before it.
                                    clock.heard(after: wait)
                                    try await Task.sleep(for: wait)
                                }
                            }
                        } catch {
                            logger.debug("Agent connection read failed", metadata: ["error": "\(error)"])
                        }
                        return true
                    }
                    link.addTask {
                        defer { queue.close() }
                        while let items = await queue.take() {
                            for step in AgentFrameQueue.coalesce(items) {
                                // Revoked, rotated or replaced meanwhile: this connection speaks for the agent no longer,
                                // and nothing it still sends is acted on (docs/security.md, "Agents").
                                guard await self.isCurrent(agent.id, generation: generation) else { return false }
                                switch step {
                                case .invalid(let error):
                                    // Drop and close: a frame this hub does not understand is a broken or hostile agent.
                                    logger.warning("Agent protocol error: closing the link", metadata: ["error": "\(error)"])
                                    try? await outbound.close(.unknown(CloseCode.protocolError.rawValue), reason: String(error.prefix(100)))
                                    return false
                                case .message(let message):
                                    guard await self.receive(message, agent: agent, outbound: outbound, clock: clock, logger: logger) else {
                                        return false
                                    }
                                }
                            }
                        }
                        return false
                    }
                    for await isReader in link where !isReader { link.cancelAll() }
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

    /// Whether the agent is still enrolled and not revoked; if not, closes the link with 4401 (revocation is checked
    /// at the upgrade, after registering, at `hello`, at every `ping` and in the claim).
    private nonisolated func stillAllowed(_ agentId: String, outbound: WebSocketOutboundWriter, logger: Logger) async -> Bool {
        let current = try? await database.agent(id: agentId)
        guard let current, current.revokedAt == nil else {
            logger.warning("Revoked agent on a live link: closing it")
            try? await outbound.close(.unknown(CloseCode.revoked.rawValue), reason: "revoked")
            return false
        }
        return true
    }

    /// One decoded frame from an agent; false when the link was closed (revoked, or a message only the hub sends).
    private nonisolated func receive(
        _ message: AgentMessage,
        agent: Agent,
        outbound: WebSocketOutboundWriter,
        clock: LinkClock,
        logger: Logger
    ) async -> Bool {
        switch message {
        case .hello(let hello):
            guard await stillAllowed(agent.id, outbound: outbound, logger: logger) else { return false }
            let heartbeat = hello.heartbeatSeconds ?? Self.defaultHeartbeat
            clock.setIdleTimeout(.seconds(3 * heartbeat))
            var info: [String: JSONValue] = ["heartbeat_seconds": .number(Double(heartbeat))]
            if !hello.info.isEmpty { info["info"] = .object(hello.info.mapValues { .string($0) }) }
            if let capabilities = hello.capabilities { info["capabilities"] = capabilities }
            if let name = hello.name { info["name"] = .string(name) }
            try? await database.agentSeen(id: agent.id, info: .object(info))
            try? await outbound.write(.text(AgentMessage.helloAck(agentId: agent.id, idleTimeoutSeconds: 3 * heartbeat).text))
            logger.info("Agent said hello", metadata: ["heartbeat_seconds": "\(heartbeat)", "version": "\(hello.info["version"] ?? "?")"])
            // Tasks it holds (or was sent and may not have stored) go again: it acks and ignores what it has.
            do {
                for (task, claimed) in try await database.openAgentTasks(agentId: agent.id) {
                    try await outbound.write(.text(await taskMessage(claimed).text))
                    if claimed.run.cancelRequestedAt != nil { try await outbound.write(.text(Self.cancelMessage(task.runId))) }
                    logger.info("Open task sent again", metadata: ["run.id": "\(task.runId)"])
                }
            } catch {
                logger.warning("Open tasks not sent again", metadata: ["error": "\(error)"])
            }
            await dispatch(agent.id, logger: logger)
        case .ping:
            guard await stillAllowed(agent.id, outbound: outbound, logger: logger) else { return false }
            try? await outbound.write(.text(AgentMessage.pong.text))
            // The ping marks the agent seen and keeps the leases of its runs, in one transaction; a cancel requested
            // meanwhile is told again (idempotent).
            for runId in (try? await database.agentHeartbeat(agentId: agent.id, seen: true)) ?? [] {
                try? await outbound.write(.text(Self.cancelMessage(runId)))
            }
        case .rotateKeyAck:
            await rotationAcknowledged(agent.id)
        case .ack(let runId):
            try? await database.ackAgentTask(agentId: agent.id, runId: runId)
        case .runEvent(let runId, let token, let event):
            await receiveEvents([event], runId: runId, claimToken: token, agent: agent, outbound: outbound, logger: logger)
        case .runEvents(let runId, let token, let events):
            await receiveEvents(events, runId: runId, claimToken: token, agent: agent, outbound: outbound, logger: logger)
        case .progress(let runId, let token, let value):
            guard (try? await database.agentHoldsRun(agentId: agent.id, runId: runId, claimToken: token)) == true else {
                logger.warning("Agent progress refused: not this agent's running run", metadata: ["run.id": "\(runId)"])
                return true
            }
            _ = try? await database.updateProgress(runId: runId, claimToken: token, progress: value)
        case .taskResult(let result):
            await receiveResult(result, agent: agent, outbound: outbound, logger: logger)
        case .helloAck, .pong, .task, .eventAck, .resultAck, .cancelRunTask, .taskRevoked, .rotateKey:
            logger.warning("Agent protocol error: closing the link", metadata: ["error": "\(message.type) is sent by the hub, not an agent"])
            try? await outbound.close(.unknown(CloseCode.protocolError.rawValue), reason: "\(message.type) is not an agent's message")
            return false
        }
        return true
    }
}

extension AgentGateway {
    /// `task` with the age key the run needs, if any (docs/agents.md, "Keys"): a backup gets the recipient only; a
    /// restore or verify gets the identity too, for that task only.
    func taskMessage(_ claimed: ClaimedRun) async -> AgentMessage {
        var task = await withSourceSecret(await withTargetSecret(Self.taskBody(claimed), claimed), claimed)
        // A copy moves the snapshot's files as they are (docs/agents.md, "Copies"): it needs no key.
        if claimed.run.kind != .copy, let encryption = claimed.job?.spec["pipeline"]?["encryption"], encryption["type"]?.stringValue == "age_x25519",
            let name = encryption["key_name"]?.stringValue, let box = try? SecretBox.open(in: database.dataDirectory),
            let key = try? await database.backupIdentity(name: name, box: box, create: claimed.run.kind == .backup)
        {
            var keys: [String: JSONValue] = ["name": .string(name), "recipient": .string(key.recipient)]
            if claimed.run.kind != .backup { keys["identity"] = .string(key.identity) }
            task["keys"] = .object(keys)
        }
        return .task(taskId: claimed.run.id, claimToken: claimed.claimToken, task: .object(task))
    }

    /// The task with the credentials of the target the run writes or reads (docs/agents.md, "Keys"), for that task
    /// only: `target_secret: {kind, name, value}`. A restore or verify reads the location the hub recorded at its
    /// backup's claim (`operation.source_target`), never one an agent reported.
    /// A copy's task carries the copy target's secret only: the snapshot it reads is on the agent's own disk.
    func withTargetSecret(_ task: [String: JSONValue], _ claimed: ClaimedRun) async -> [String: JSONValue] {
        let recorded = RunLocation(json: claimed.run.operation?["source_target"])?.target
        let copyTarget = claimed.run.operation?["target"]?["type"]?.stringValue.flatMap { type in
            try? JobSpec.parseTarget(type: type, claimed.run.operation?["target"], field: "target")
        }
        if claimed.run.kind == .copy, copyTarget == nil { return task }
        guard let target = claimed.run.kind == .copy ? copyTarget : recorded ?? (try? JobSpec.parse(claimed.job?.spec ?? .null))?.target,
            let name = target.secretName,
            let secret = try? await HubTargetSecrets(database: database).secret(kind: target.type, name: name)
        else { return task }
        // A WebDAV secret goes only to the origin it was saved for (docs/security.md, "Targets and secrets").
        if case .webdav(let webdav) = target, (try? WebDAVStore.checkOrigin(of: secret, named: name, for: webdav.baseURL)) == nil { return task }
        var task = task
        task["target_secret"] = .object(["kind": .string(target.type), "name": .string(name), "value": secret.value])
        return task
    }

    /// The task with a database job's password (docs/databases.md), for that task only: `source_secret: {kind, name,
    /// value}`: the source's secret for a backup or verify, the destination's for a restore into a database.
    func withSourceSecret(_ task: [String: JSONValue], _ claimed: ClaimedRun) async -> [String: JSONValue] {
        guard let type = claimed.job?.spec["type"]?.stringValue, AppDatabase.databaseSecretKinds.contains(type) else { return task }
        let name: String?
        if claimed.run.kind == .restore {
            guard claimed.run.operation?["destination"]?["type"]?.stringValue == "database" else { return task }
            name = claimed.run.operation?["destination"]?["secret_name"]?.stringValue ?? claimed.job?.spec["source"]?["secret_name"]?.stringValue
        } else {
            name = claimed.job?.spec["source"]?["secret_name"]?.stringValue
        }
        guard let name, let secret = try? await HubTargetSecrets(database: database).secret(kind: type, name: name) else { return task }
        var task = task
        task["source_secret"] = .object(["kind": .string(type), "name": .string(name), "value": secret.value])
        return task
    }

    /// The `task` body: the run to execute (docs/agents.md, "Runs on agents").
    static func taskBody(_ claimed: ClaimedRun) -> [String: JSONValue] {
        var task: [String: JSONValue] = [
            "run_id": .string(claimed.run.id), "job_id": .string(claimed.run.jobId), "kind": .string(claimed.run.kind.rawValue),
            "started_at": .number(Double(claimed.run.startedAt)), "job_name": .string(claimed.job?.name ?? ""),
            "spec": claimed.job?.spec ?? .null,
        ]
        if let operation = claimed.run.operation { task["operation"] = operation }
        return task
    }

    static func cancelMessage(_ runId: String) -> String { AgentMessage.cancelRunTask(runId: runId).text }

    /// Hands the agent its next queued run when it is connected and holds none (one run at a time per agent; the claim
    /// checks that in its own transaction).
    func dispatch(_ agentId: String, logger: Logger) async {
        guard let connection = connections[agentId] else { return }
        do {
            guard let claimed = try await database.claimAgentRun(agentId: agentId) else { return }
            logger.info("Run handed to agent", metadata: ["agent.id": "\(agentId)", "run.id": "\(claimed.run.id)"])
            try await connection.outbound.write(.text(await taskMessage(claimed).text))
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

    /// `run_event` / `run_events`: the frame's events appended in one transaction (each once, in order), then
    /// `event_ack` up to what is stored. Another agent's run, or a stale claim, is refused and logged.
    nonisolated func receiveEvents(
        _ events: [AgentMessage.AgentEvent],
        runId: String,
        claimToken: String,
        agent: Agent,
        outbound: WebSocketOutboundWriter,
        logger: Logger
    ) async {
        do {
            guard
                let stored = try await database.appendAgentEvents(
                    agentId: agent.id,
                    runId: runId,
                    claimToken: claimToken,
                    events.map { ($0.aseq, $0.event) },
                    maxPerRun: limits.eventsPerRun
                )
            else {
                logger.warning("Agent event refused: not this agent's running run", metadata: ["run.id": "\(runId)"])
                try? await outbound.write(.text(AgentMessage.taskRevoked(runId: runId).text))
                return
            }
            try await outbound.write(.text(AgentMessage.eventAck(runId: runId, aseq: stored).text))
        } catch {
            logger.warning("Agent event not stored (the agent sends it again)", metadata: ["run.id": "\(runId)", "error": "\(error)"])
        }
    }

    /// `task_result`: the fenced terminal write, then `result_ack`; a resent result is acknowledged again and changes
    /// nothing. A backup's result whose location or chain is not what the hub recorded at the claim fails the run
    /// (`agent_location_mismatch`, logged).
    nonisolated func receiveResult(_ result: AgentMessage.TaskResult, agent: Agent, outbound: WebSocketOutboundWriter, logger: Logger) async {
        let runId = result.runId
        let outcome: RunOutcome
        switch result.status {
        case .success: outcome = .success(summary: result.summary ?? .object([:]))
        case .canceled: outcome = .canceled(reason: result.error ?? "canceled")
        case .failed:
            outcome = .failed(
                code: result.errorCode ?? "agent_failed",
                message: result.error ?? "the agent reported a failure",
                summary: result.summary
            )
        }
        do {
            guard let final = try await database.completeAgentRun(agentId: agent.id, runId: runId, claimToken: result.claimToken, outcome: outcome)
            else {
                logger.warning("Agent result refused: not this agent's task", metadata: ["run.id": "\(runId)"])
                try? await outbound.write(.text(AgentMessage.taskRevoked(runId: runId).text))
                return
            }
            if result.status == .success, final == .failed, (try? await database.run(id: runId))?.error == AppDatabase.locationMismatchCode {
                logger.warning(
                    "Agent result refused: its snapshot location is not the one the hub recorded (the run failed)",
                    metadata: ["run.id": "\(runId)", "error_code": "\(AppDatabase.locationMismatchCode)"]
                )
            }
            logger.info("Agent run finished", metadata: ["run.id": "\(runId)", "status": "\(final.rawValue)"])
            try await outbound.write(.text(AgentMessage.resultAck(runId: runId).text))
            if final == .success { await writeJobFilesAfterAgentCopy(runId: runId, logger: logger) }
            await dispatch(agent.id, logger: logger)
        } catch {
            logger.warning("Agent result not stored (the agent sends it again)", metadata: ["run.id": "\(runId)", "error": "\(error)"])
        }
    }
}

extension AgentGateway {
    /// After an agent's successful copy to a remote target (WebDAV, rclone), the hub writes the job's recovery files
    /// there when absent (docs/recovery.md), as its worker does after its own copies; a `local_dir` copy is on the
    /// agent's disk, where the hub does not write. A failure is logged: the next copy tries again.
    nonisolated func writeJobFilesAfterAgentCopy(runId: String, logger: Logger) async {
        guard let run = try? await database.run(id: runId), run.kind == .copy, let job = try? await database.job(id: run.jobId),
            JobFiles.keyName(spec: job.spec) != nil, case .string(let type)? = run.operation?["target"]?["type"],
            let target = try? JobSpec.parseTarget(type: type, run.operation?["target"], field: "target")
        else { return }
        if case .localDir = target { return }
        do {
            let written = try await database.ensureJobFiles(
                jobId: job.id,
                target: target,
                secrets: HubTargetSecrets(database: database),
                logger: logger
            )
            if !written.isEmpty { logger.info("Job files written beside the agent's copy", metadata: ["run.id": "\(runId)", "files": "\(written)"]) }
        } catch {
            logger.warning("Job files not written to the agent's copy target", metadata: ["run.id": "\(runId)", "error": "\(error)"])
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

    /// Heard, as of `delay` from now (the hub holds the link's frames unread until then).
    func heard(after delay: Duration) { state.withLock { $0.lastHeard = .now + delay } }

    func setIdleTimeout(_ timeout: Duration) { state.withLock { $0.idleTimeout = timeout } }

    /// How long it has been silent, and how long it may be.
    var quiet: (Duration, Duration) { state.withLock { (ContinuousClock.now - $0.lastHeard, $0.idleTimeout) } }
}
