/// One entry of a run's log: `seq` is dense per run and starts at 1 (docs/architecture.md, "Database").
///
/// `json` is the event's WebSocket frame, `{fields, kind, level, message, run_id, seq, ts}` (keys sorted), encoded
/// once where the event is born: its `fields` text is the very `fields_json` the database stored, the bus carries the
/// frame as it is, and the API sends the same bytes to every subscriber (docs/architecture.md, "After COMMIT").
public struct RunEvent: Sendable, Hashable {
    public enum Level: String, Sendable, Codable { case info, warn, error }

    public let runId: String
    public let seq: Int64
    /// Unix seconds.
    public let ts: Int64
    public let level: Level
    public let kind: String
    public let message: String
    public let fields: JSONValue?
    /// The frame text (see above).
    public let json: String

    /// An event whose `fields` are encoded here.
    public init(runId: String, seq: Int64, ts: Int64, level: Level, kind: String, message: String, fields: JSONValue? = nil) {
        self.init(runId: runId, seq: seq, ts: ts, level: level, kind: kind, message: message, fields: fields, fieldsJSON: fields?.jsonString())
    }

    /// An event whose `fields` already have their text (as stored in `run_events.fields_json`).
    public init(runId: String, seq: Int64, ts: Int64, level: Level, kind: String, message: String, fields: JSONValue?, fieldsJSON: String?) {
        self.runId = runId
        self.seq = seq
        self.ts = ts
        self.level = level
        self.kind = kind
        self.message = message
        self.fields = fields
        var json: [UInt8] = []
        json.reserveCapacity(96 + message.utf8.count + (fieldsJSON?.utf8.count ?? 4))
        json.append(contentsOf: #"{"fields":"#.utf8)
        json.append(contentsOf: (fieldsJSON ?? "null").utf8)
        json.append(contentsOf: #","kind":"#.utf8)
        JSONValue.writeString(kind, to: &json)
        json.append(contentsOf: #","level":""#.utf8)
        json.append(contentsOf: level.rawValue.utf8)
        json.append(contentsOf: #"","message":"#.utf8)
        JSONValue.writeString(message, to: &json)
        json.append(contentsOf: #","run_id":"#.utf8)
        JSONValue.writeString(runId, to: &json)
        json.append(contentsOf: #","seq":"#.utf8)
        JSONValue.writeInteger(seq, to: &json)
        json.append(contentsOf: #","ts":"#.utf8)
        JSONValue.writeInteger(ts, to: &json)
        json.append(UInt8(ascii: "}"))
        self.json = String(decoding: json, as: UTF8.self)
    }

    /// An event received as its frame text (`value` is that text parsed); nil when it is not an event.
    public init?(parsed value: JSONValue, json: String) {
        guard case .string(let runId)? = value["run_id"], let seq = value["seq"]?.int64Value, let ts = value["ts"]?.int64Value,
            case .string(let levelText)? = value["level"], let level = Level(rawValue: levelText),
            case .string(let kind)? = value["kind"], case .string(let message)? = value["message"],
            seq >= 1
        else { return nil }
        let fields = value["fields"]
        self.runId = runId
        self.seq = seq
        self.ts = ts
        self.level = level
        self.kind = kind
        self.message = message
        self.fields = fields == .null ? nil : fields
        self.json = json
    }
}

/// The kinds of run events the system itself writes (executors add their own, e.g. `scan`, `upload`).
public enum RunEventKind {
    public static let queued = "queued"
    public static let rejected = "rejected"
    public static let start = "start"
    public static let complete = "complete"
    public static let failed = "failed"
    public static let canceled = "canceled"
    public static let cancelRequested = "cancel_requested"
    /// A running run handed back to the queue (graceful worker shutdown).
    public static let requeued = "requeued"
    /// The process executing the run died (a crash, SIGKILL, power loss): noted when its worker restarts, with the
    /// attempt's number (docs/architecture.md, "Poison runs").
    public static let crashed = "crashed"
    /// The kinds that end a run's log.
    public static let terminal: Set<String> = [complete, failed, canceled, rejected]
}
