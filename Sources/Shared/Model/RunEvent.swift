/// One entry of a run's log: `seq` is dense per run and starts at 1 (docs/architecture.md, "Database").
public struct RunEvent: Sendable, Hashable, Codable {
    public enum Level: String, Sendable, Codable { case info, warn, error }

    public var runId: String
    public var seq: Int64
    /// Unix seconds.
    public var ts: Int64
    public var level: Level
    public var kind: String
    public var message: String
    public var fields: JSONValue?

    public init(runId: String, seq: Int64, ts: Int64, level: Level, kind: String, message: String, fields: JSONValue? = nil) {
        self.runId = runId
        self.seq = seq
        self.ts = ts
        self.level = level
        self.kind = kind
        self.message = message
        self.fields = fields
    }

    enum CodingKeys: String, CodingKey {
        case runId = "run_id"
        case seq, ts, level, kind, message, fields
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runId, forKey: .runId)
        try container.encode(seq, forKey: .seq)
        try container.encode(ts, forKey: .ts)
        try container.encode(level, forKey: .level)
        try container.encode(kind, forKey: .kind)
        try container.encode(message, forKey: .message)
        // `fields` is always present on the wire, null when empty (as the original's frames).
        try container.encode(fields ?? .null, forKey: .fields)
    }
}
