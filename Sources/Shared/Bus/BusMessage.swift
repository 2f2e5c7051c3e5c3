import Foundation

/// Who is on the other end of a bus connection.
public enum BusRole: String, Sendable, Codable {
    case api, worker, janitor
}

/// What a `wake` is about. Every wake is only a hint to re-read the database.
public enum WakeTopic: String, Sendable, Codable {
    case runs, jobs, notifications
}

/// Identity a client announces with `hello`.
public struct BusPeer: Sendable, Codable, Hashable {
    public var role: BusRole
    public var id: String
    public var pid: Int32

    public init(role: BusRole, id: String, pid: Int32 = getpid()) {
        self.role = role
        self.id = id
        self.pid = pid
    }
}

/// One bus frame's payload (docs/architecture.md, "The bus"). On the wire: `{"type": "...", ...}`.
public enum BusMessage: Sendable, Hashable {
    case hello(BusPeer)
    case wake(WakeTopic)
    case event(RunEvent)
    case cancel(runId: String)
    case progress(runId: String, progress: JSONValue)

    /// Messages the API forwards to every connected worker.
    public var isRelayedToWorkers: Bool {
        switch self {
        case .wake, .cancel: return true
        case .hello, .event, .progress: return false
        }
    }
}

extension BusMessage: Codable {
    enum CodingKeys: String, CodingKey {
        case type, role, id, pid, topic, event
        case runId = "run_id"
        case progress
    }

    enum Kind: String, Codable {
        case hello, wake, event, cancel, progress
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Kind.self, forKey: .type) {
        case .hello:
            self = .hello(
                BusPeer(
                    role: try container.decode(BusRole.self, forKey: .role),
                    id: try container.decode(String.self, forKey: .id),
                    pid: try container.decode(Int32.self, forKey: .pid)
                )
            )
        case .wake:
            self = .wake(try container.decode(WakeTopic.self, forKey: .topic))
        case .event:
            self = .event(try container.decode(RunEvent.self, forKey: .event))
        case .cancel:
            self = .cancel(runId: try container.decode(String.self, forKey: .runId))
        case .progress:
            self = .progress(
                runId: try container.decode(String.self, forKey: .runId),
                progress: try container.decode(JSONValue.self, forKey: .progress)
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .hello(let peer):
            try container.encode(Kind.hello, forKey: .type)
            try container.encode(peer.role, forKey: .role)
            try container.encode(peer.id, forKey: .id)
            try container.encode(peer.pid, forKey: .pid)
        case .wake(let topic):
            try container.encode(Kind.wake, forKey: .type)
            try container.encode(topic, forKey: .topic)
        case .event(let event):
            try container.encode(Kind.event, forKey: .type)
            try container.encode(event, forKey: .event)
        case .cancel(let runId):
            try container.encode(Kind.cancel, forKey: .type)
            try container.encode(runId, forKey: .runId)
        case .progress(let runId, let progress):
            try container.encode(Kind.progress, forKey: .type)
            try container.encode(runId, forKey: .runId)
            try container.encode(progress, forKey: .progress)
        }
    }
}
