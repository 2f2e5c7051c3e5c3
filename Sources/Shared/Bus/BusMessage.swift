import Core
import Foundation

/// Who is on the other end of a bus connection.
public enum BusRole: String, Sendable {
    case api, worker, janitor
}

/// Identity a client announces with `hello`.
public struct BusPeer: Sendable, Hashable {
    public var role: BusRole
    public var id: String
    public var pid: Int32

    public init(role: BusRole, id: String, pid: Int32 = getpid()) {
        self.role = role
        self.id = id
        self.pid = pid
    }
}

/// A connected peer with when it connected and when its last frame arrived (Unix seconds).
public struct BusPeerContact: Sendable, Hashable {
    public var peer: BusPeer
    public var connectedAt: Int64
    public var lastFrameAt: Int64
}

/// One bus frame's payload (docs/architecture.md, "The bus"). On the wire: one JSON object `{"type": "...", ...}`,
/// read and written with the project's own JSON reader and writer.
public enum BusMessage: Sendable, Hashable {
    case hello(BusPeer)
    case wake(WakeTopic)
    /// The events one transaction committed, in order (`{"type":"events","events":[frame, ...]}`): each element is
    /// the event's frame text as it was encoded at commit (`RunEvent.json`), carried and re-sent unchanged.
    case events([RunEvent])
    case cancel(runId: String)
    /// Live progress of a running run (not stored per update; forwarded to WebSocket subscribers).
    case progress(RunProgress.Update)

    /// Every `type` a payload can have.
    public static let typeNames = ["hello", "wake", "events", "cancel", "progress"]

    /// Messages the API forwards to every connected worker.
    public var isRelayedToWorkers: Bool {
        switch self {
        case .wake, .cancel: return true
        case .hello, .events, .progress: return false
        }
    }

    /// The payload's `type`.
    public var typeName: String {
        switch self {
        case .hello: return "hello"
        case .wake: return "wake"
        case .events: return "events"
        case .cancel: return "cancel"
        case .progress: return "progress"
        }
    }

    /// The JSON text of the payload.
    public var jsonText: String {
        switch self {
        case .hello(let peer):
            return JSONValue.object([
                "type": "hello", "role": .string(peer.role.rawValue), "id": .string(peer.id), "pid": .number(Double(peer.pid)),
            ]).jsonString()
        case .wake(let topic):
            return JSONValue.object(["type": "wake", "topic": .string(topic.rawValue)]).jsonString()
        case .events(let events):
            var text = "{\"type\":\"events\",\"events\":["
            for (index, event) in events.enumerated() {
                if index > 0 { text += "," }
                text += event.json
            }
            return text + "]}"
        case .cancel(let runId):
            return JSONValue.object(["type": "cancel", "run_id": .string(runId)]).jsonString()
        case .progress(let update):
            return JSONValue.object(["type": "progress", "run_id": .string(update.runId), "progress": update.progress.json]).jsonString()
        }
    }

    /// Reads a payload; nil when it is valid JSON but not a message this bus knows.
    init?(payload: [UInt8]) throws {
        let (value, ranges) = try JSONValue.parse(bytes: payload, elementRangesOf: "events")
        switch value["type"]?.stringValue {
        case "hello":
            guard let role = value["role"]?.stringValue.flatMap(BusRole.init(rawValue:)), let id = value["id"]?.stringValue,
                let pid = value["pid"]?.doubleValue, let pid32 = Int32(exactly: pid)
            else { return nil }
            self = .hello(BusPeer(role: role, id: id, pid: pid32))
        case "wake":
            guard let topic = value["topic"]?.stringValue.flatMap(WakeTopic.init(rawValue:)) else { return nil }
            self = .wake(topic)
        case "events":
            guard case .array(let items)? = value["events"], items.count == ranges.count else { return nil }
            var events: [RunEvent] = []
            events.reserveCapacity(items.count)
            for (item, range) in zip(items, ranges) {
                guard let event = RunEvent(parsed: item, json: String(decoding: payload[range], as: UTF8.self)) else { return nil }
                events.append(event)
            }
            self = .events(events)
        case "cancel":
            guard let runId = value["run_id"]?.stringValue else { return nil }
            self = .cancel(runId: runId)
        case "progress":
            guard let runId = value["run_id"]?.stringValue, let progress = value["progress"].flatMap(RunProgress.init(json:)) else { return nil }
            self = .progress(RunProgress.Update(runId: runId, progress: progress))
        default:
            return nil
        }
    }

    /// `events` split into as few `.events` messages as fit in a frame of `maxPayloadBytes`. An event too large for
    /// a frame of its own is left out: the bus only hints, and a WebSocket that sees the gap re-reads the database.
    public static func eventBatches(_ events: [RunEvent], maxPayloadBytes: Int = BusFrame.maxPayloadBytes) -> [BusMessage] {
        let overhead = 32
        var batches: [BusMessage] = []
        var batch: [RunEvent] = []
        var size = overhead
        for event in events {
            let length = event.json.utf8.count + 1
            guard length + overhead <= maxPayloadBytes else { continue }
            if size + length > maxPayloadBytes {
                batches.append(.events(batch))
                batch = []
                size = overhead
            }
            batch.append(event)
            size += length
        }
        if !batch.isEmpty { batches.append(.events(batch)) }
        return batches
    }
}
