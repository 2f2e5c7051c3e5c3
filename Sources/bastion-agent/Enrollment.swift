import AsyncHTTPClient
import Core
import Foundation
import NIOCore

/// `POST /agent/enroll {token, name}` → the agent's id and key (docs/agents.md, "Enrolment").
enum Enrollment {
    static func enroll(hub: HubAddress, token: String, name: String) async throws -> AgentIdentity {
        var request = HTTPClientRequest(url: hub.url("agent/enroll"))
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        let body: JSONValue = .object(["token": .string(token), "name": .string(name)])
        request.body = .bytes(ByteBuffer(string: body.jsonString()))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        let json = try? JSONValue.parse(text)
        guard response.status == .ok, let id = json?["agent_id"]?.stringValue, let key = json?["agent_key"]?.stringValue else {
            let code = json?["error"]?.stringValue ?? "\(response.status.code)"
            throw AgentError("enrolment refused: \(code): \(json?["message"]?.stringValue ?? text)")
        }
        return AgentIdentity(hubURL: hub.base, agentId: id, agentKey: key, name: name, enrolledAt: unixNow())
    }

    /// `GET /agent/status` with the key: nil when the hub accepts it, else its refusal code (`revoked`,
    /// `unauthorized`); throws when the hub cannot be reached.
    static func refusal(hub: HubAddress, key: String) async throws -> String? {
        var request = HTTPClientRequest(url: hub.url("agent/status"))
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        if response.status == .ok { return nil }
        guard response.status == .unauthorized else { throw AgentError("the hub answered \(response.status.code)") }
        return (try? JSONValue.parse(text))?["error"]?.stringValue ?? "unauthorized"
    }
}
