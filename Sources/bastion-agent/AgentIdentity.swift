import Core
import Foundation

/// The hub as the agent reaches it: its base URL (ending in `/`) and the WebSocket URL derived from it.
struct HubAddress: Sendable {
    let base: String

    init?(_ raw: String) {
        guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
            return nil
        }
        base = raw.hasSuffix("/") ? raw : raw + "/"
    }

    func url(_ path: String) -> String { base + path }

    /// `ws://…/agent/ws` (or `wss://` for https).
    var webSocketURL: String {
        (base.hasPrefix("https") ? "wss" + base.dropFirst(5) : "ws" + base.dropFirst(4)) + "agent/ws"
    }
}

/// `<data-dir>/agent.json` (docs/agents.md, "Enrolment"): who this agent is to which hub. Mode 0600, written to a
/// temporary file and renamed.
struct AgentIdentity: Sendable, Equatable {
    var hubURL: String
    var agentId: String
    var agentKey: String
    var name: String
    var enrolledAt: Int64

    static func path(in directory: DataDirectory) -> String { directory.path + "/agent.json" }

    static func load(from directory: DataDirectory) throws -> AgentIdentity? {
        let path = path(in: directory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let json = try JSONValue.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
        guard json["v"]?.doubleValue == 1, let hub = json["hub_url"]?.stringValue, let id = json["agent_id"]?.stringValue,
            let key = json["agent_key"]?.stringValue
        else { throw AgentError("\(path) is not an agent identity this agent can read") }
        return AgentIdentity(
            hubURL: hub,
            agentId: id,
            agentKey: key,
            name: json["name"]?.stringValue ?? "",
            enrolledAt: json["enrolled_at"]?.int64Value ?? 0
        )
    }

    func save(in directory: DataDirectory) throws {
        let json: JSONValue = .object([
            "v": 1, "hub_url": .string(hubURL), "agent_id": .string(agentId), "agent_key": .string(agentKey), "name": .string(name),
            "enrolled_at": .number(Double(enrolledAt)),
        ])
        let path = Self.path(in: directory)
        let partial = path + ".partial"
        unlink(partial)
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw AgentError("cannot create \(partial): errno \(errno)") }
        let bytes = Array(json.jsonString().utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0, rename(partial, path) == 0 else { throw AgentError("cannot write \(path): errno \(errno)") }
    }
}

struct AgentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
