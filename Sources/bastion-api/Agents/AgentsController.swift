import Core
import Foundation
import Hummingbird
import Secrets
import Store

/// Enrolment and the agents' admin routes (docs/agents.md): `POST /api/agents/enrollment-tokens` and the agent list
/// and revoke behind a session; `POST /agent/enroll` and `GET /agent/status` for agents (a token or a key, no session).
struct AgentsController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.post("agents/enrollment-tokens", use: createToken)
        group.get("agents", use: list)
        group.post("agents/:id/revoke", use: revoke)
        group.post("agents/:id/rotate-key", use: rotate)
    }

    func addAgentRoutes(to group: RecordingRouterGroup) {
        group.post("enroll", use: enroll)
        group.get("status", use: status)
        // Reached when the upgrade did not happen: say why (the key's refusal first), as JSON.
        group.get("ws") { request, _ -> Response in
            _ = try await services.agents.authenticate(request.headers)
            throw APIError(status: .upgradeRequired, code: "websocket_required", message: "this endpoint speaks WebSocket only")
        }
    }

    struct TokenDTO: ResponseEncodable {
        var token: String
        var expiresAt: Int64
        var remainingUses: Int
    }

    /// `{ttl_seconds?: 60…30 days (default 1 hour), remaining_uses?: 1…1000 (default 1)}`: single-use unless the admin
    /// asks for more, never unlimited. The token is shown once, only its hash is kept.
    @Sendable func createToken(_ request: Request, context: AppRequestContext) async throws -> TokenDTO {
        let body = try await RequestInput.object(request, allowEmpty: true, known: ["ttl_seconds", "remaining_uses"])
        func integer(_ key: String, _ range: ClosedRange<Int64>) throws -> Int64? {
            switch body[key] {
            case nil, .null?: return nil
            case .number(let value)? where value.rounded() == value && range.contains(Int64(exactly: value) ?? -1): return Int64(value)
            default:
                throw APIError(
                    status: .badRequest,
                    code: "invalid_\(key)",
                    message: "\(key) must be an integer in \(range.lowerBound)...\(range.upperBound)",
                    details: ["field": key]
                )
            }
        }
        let ttl = try integer("ttl_seconds", 60...(30 * 86_400)) ?? 3600
        let uses = Int(try integer("remaining_uses", 1...1000) ?? 1)
        let (token, hash) = AgentCredential.generate()
        let expiresAt = unixNow() + ttl
        try await services.database.createEnrollmentToken(hash: hash, expiresAt: expiresAt, remainingUses: uses)
        context.logger.info("Enrollment token created", metadata: ["ttl_seconds": "\(ttl)", "remaining_uses": "\(uses)"])
        return TokenDTO(token: token, expiresAt: expiresAt, remainingUses: uses)
    }

    struct AgentDTO: ResponseEncodable {
        var id: String
        var name: String
        var createdAt: Int64
        var revokedAt: Int64?
        var lastSeenAt: Int64?
        var connected: Bool
        var version: String?
        var heartbeatSeconds: Int64?
        var runningRuns: Int

        init(_ agent: Agent, connected: Bool, runningRuns: Int = 0) {
            id = agent.id
            name = agent.name
            createdAt = agent.createdAt
            revokedAt = agent.revokedAt
            lastSeenAt = agent.lastSeenAt
            self.connected = connected
            version = agent.info?["info"]?["version"]?.stringValue
            heartbeatSeconds = agent.info?["heartbeat_seconds"]?.int64Value
            self.runningRuns = runningRuns
        }
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> [AgentDTO] {
        let connected = await services.agents.connectedAgents
        let running = try await services.database.runningRunsByAgent()
        return try await services.database.agents().map { AgentDTO($0, connected: connected.contains($0.id), runningRuns: running[$0.id] ?? 0) }
    }

    /// Revokes the agent: its key stops working and its live connection is closed (4401).
    @Sendable func revoke(_ request: Request, context: AppRequestContext) async throws -> AgentDTO {
        let id = try context.parameters.require("id")
        guard let agent = try await services.database.revokeAgent(id: id) else {
            throw APIError(status: .notFound, code: "agent_not_found", message: "agent not found")
        }
        await services.agents.disconnect(id, code: .revoked, reason: "revoked")
        context.logger.warning("Agent revoked", metadata: ["agent.id": "\(id)"])
        return AgentDTO(agent, connected: false)
    }

    /// Gives the agent a new key over its live link; the old key stops working once the agent stored the new one.
    /// `409 agent_offline` when it is not connected, `504 rotate_timeout` when it did not confirm (nothing changed).
    @Sendable func rotate(_ request: Request, context: AppRequestContext) async throws -> AgentDTO {
        let id = try context.parameters.require("id")
        guard let agent = try await services.database.agent(id: id), agent.revokedAt == nil else {
            throw APIError(status: .notFound, code: "agent_not_found", message: "agent not found")
        }
        switch try await services.agents.rotate(id, logger: context.logger) {
        case .rotated(let rotated): return AgentDTO(rotated, connected: false)
        case .offline:
            throw APIError(status: .conflict, code: "agent_offline", message: "the agent is not connected: its new key could not be delivered")
        case .timedOut:
            throw APIError(status: .gatewayTimeout, code: "rotate_timeout", message: "the agent did not confirm its new key; the old one still works")
        }
    }

    struct Enrolled: ResponseEncodable {
        var agentId: String
        var agentKey: String
    }

    /// `POST /agent/enroll {token, name}` → `{agent_id, agent_key}`: `401 invalid_token` (malformed, unknown or used
    /// up: `details.reason`), `401 expired_token`.
    @Sendable func enroll(_ request: Request, context: AppRequestContext) async throws -> Enrolled {
        let body = try await RequestInput.object(request, known: ["token", "name"])
        func refused(_ code: String, _ reason: String, _ message: String) -> APIError {
            APIError(status: .unauthorized, code: code, message: message, details: ["field": "token", "reason": reason])
        }
        guard let token = try RequestInput.string(body, "token", code: "invalid_token") else {
            throw refused("invalid_token", "required", "token is required")
        }
        guard let tokenHash = AgentCredential.hash(token) else {
            throw refused("invalid_token", "invalid_format", "the token is not one Bastion issues")
        }
        let name = (try RequestInput.string(body, "name", code: "invalid_name") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 100 else {
            throw APIError(status: .badRequest, code: "invalid_name", message: "name must be 1 to 100 characters", details: ["field": "name"])
        }
        let (key, keyHash) = AgentCredential.generate()
        switch try await services.database.enroll(tokenHash: tokenHash, name: name, keyHash: keyHash) {
        case .enrolled(let agent):
            context.logger.info("Agent enrolled", metadata: ["agent.id": "\(agent.id)", "agent.name": "\(name)"])
            return Enrolled(agentId: agent.id, agentKey: key)
        case .notFound: throw refused("invalid_token", "not_found", "no such token (or it was used up)")
        case .expired: throw refused("expired_token", "expired", "the token expired")
        case .exhausted: throw refused("invalid_token", "exhausted", "the token has no uses left")
        }
    }

    struct Status: ResponseEncodable {
        var agentId: String
        var name: String
    }

    /// `GET /agent/status` with the agent's key: who the hub takes it for, or why not (`401 unauthorized|revoked`). An
    /// agent asks when its WebSocket upgrade was refused, to tell a revoked key from a network fault.
    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Status {
        let agent = try await services.agents.authenticate(request.headers)
        return Status(agentId: agent.id, name: agent.name)
    }
}
