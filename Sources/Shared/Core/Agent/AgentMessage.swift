import Foundation

/// Every message of the agent link, both directions (docs/agents.md, "Messages"): the hub and the agent read and
/// write frames only through this type. `decode(_:)` is the one decoder of a frame: a pure function of the text that
/// checks every field's type and bounds and refuses an unknown `type`, an unknown key and a `v` other than 1 with an
/// `AgentProtocolError` naming what was wrong (docs/security.md, "Agents").
public enum AgentMessage: Sendable, Equatable {
    // Agent → hub.
    case hello(Hello)
    case ping
    /// The agent stored the task durably.
    case ack(taskId: String)
    /// One event (kept for agents that send one per frame); `run_events` carries several.
    case runEvent(runId: String, claimToken: String, AgentEvent)
    /// Up to `maxEventsPerFrame` events of one run, committed in one transaction.
    case runEvents(runId: String, claimToken: String, [AgentEvent])
    case progress(runId: String, claimToken: String, RunProgress)
    case taskResult(TaskResult)
    case rotateKeyAck

    // Hub → agent.
    case helloAck(agentId: String, idleTimeoutSeconds: Int64)
    case pong
    case task(taskId: String, claimToken: String, task: JSONValue)
    case eventAck(runId: String, aseq: Int64)
    case resultAck(runId: String)
    case cancelRunTask(runId: String)
    case taskRevoked(runId: String)
    case rotateKey(agentKey: String)

    /// What an agent says of itself when it connects.
    public struct Hello: Sendable, Equatable {
        public var agentId: String?
        public var name: String?
        public var heartbeatSeconds: Int64?
        /// `{version, os, arch}`, each a short string.
        public var info: [String: String]
        /// What it can run, e.g. `{backup: ["filesystem", "sqlite"]}`.
        public var capabilities: JSONValue?

        public init(
            agentId: String? = nil,
            name: String? = nil,
            heartbeatSeconds: Int64? = nil,
            info: [String: String] = [:],
            capabilities: JSONValue? = nil
        ) {
            self.agentId = agentId
            self.name = name
            self.heartbeatSeconds = heartbeatSeconds
            self.info = info
            self.capabilities = capabilities
        }
    }

    /// One run event as an agent numbers it (`aseq` from 1 per run).
    public struct AgentEvent: Sendable, Equatable {
        public var aseq: Int64
        public var level: RunEvent.Level
        public var kind: String
        public var message: String
        public var fields: JSONValue?

        public init(aseq: Int64, level: RunEvent.Level, kind: String, message: String, fields: JSONValue?) {
            self.aseq = aseq
            self.level = level
            self.kind = kind
            self.message = message
            self.fields = fields
        }

        public var event: NewRunEvent { NewRunEvent(level, kind: kind, message: message, fields: fields) }

        /// The bytes this event costs the hub (message and fields), for the per-agent budget.
        public var size: Int { message.utf8.count + (fields?.jsonString().utf8.count ?? 0) }

        /// The bytes this event takes in a `run_events` frame, escapes included (a control character is six bytes
        /// there): what a sender counts to keep its frames under `Limits.agentFrameBytes`.
        public var encodedSize: Int { JSONValue.object(AgentMessage.eventJSON(self)).jsonString().utf8.count + 1 }
    }

    /// A run's outcome as the agent reports it.
    public struct TaskResult: Sendable, Equatable {
        public enum Status: String, Sendable { case success, canceled, failed }
        public var taskId: String
        public var runId: String
        public var claimToken: String
        public var status: Status
        public var summary: JSONValue?
        public var errorCode: String?
        public var error: String?

        public init(
            taskId: String,
            runId: String,
            claimToken: String,
            status: Status,
            summary: JSONValue? = nil,
            errorCode: String? = nil,
            error: String? = nil
        ) {
            self.taskId = taskId
            self.runId = runId
            self.claimToken = claimToken
            self.status = status
            self.summary = summary
            self.errorCode = errorCode
            self.error = error
        }
    }

    // MARK: - Limits

    /// The bounds `decode` enforces (docs/agents.md, "Limits").
    public enum Limits {
        public static let idLength = 64
        public static let nameLength = 100
        public static let heartbeatSeconds: ClosedRange<Int64> = 1...300
        public static let idleTimeoutSeconds: ClosedRange<Int64> = 3...900
        /// `aseq` is a positive integer a JSON number holds exactly.
        public static let aseq: ClosedRange<Int64> = 1...(1 << 53)
        public static let kindLength = 64
        public static let messageBytes = 16 * 1024
        public static let fieldsBytes = 64 * 1024
        public static let maxEventsPerFrame = 200
        public static let progressBytes = 64 * 1024
        public static let summaryBytes = 512 * 1024
        public static let errorBytes = 16 * 1024
        public static let infoBytes = 4 * 1024
        /// A frame from an agent (a full `run_events` fits); a `task` from the hub may be larger (a job spec).
        public static let agentFrameBytes = 1 << 20
        public static let hubFrameBytes = 4 << 20
    }

    /// The wire name of the message's type.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .ping: "ping"
        case .ack: "ack"
        case .runEvent: "run_event"
        case .runEvents: "run_events"
        case .progress: "progress"
        case .taskResult: "task_result"
        case .rotateKeyAck: "rotate_key_ack"
        case .helloAck: "hello_ack"
        case .pong: "pong"
        case .task: "task"
        case .eventAck: "event_ack"
        case .resultAck: "result_ack"
        case .cancelRunTask: "cancel_run_task"
        case .taskRevoked: "task_revoked"
        case .rotateKey: "rotate_key"
        }
    }

    // MARK: - Encoding

    /// The frame's JSON.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["v": 1, "type": .string(type)]
        switch self {
        case .hello(let hello):
            if let agentId = hello.agentId { object["agent_id"] = .string(agentId) }
            if let name = hello.name { object["name"] = .string(name) }
            if let heartbeat = hello.heartbeatSeconds { object["heartbeat_seconds"] = .number(Double(heartbeat)) }
            if !hello.info.isEmpty { object["info"] = .object(hello.info.mapValues { .string($0) }) }
            if let capabilities = hello.capabilities { object["capabilities"] = capabilities }
        case .ping, .pong, .rotateKeyAck: break
        case .ack(let taskId): object["task_id"] = .string(taskId)
        case .runEvent(let runId, let claimToken, let event):
            object["run_id"] = .string(runId)
            object["claim_token"] = .string(claimToken)
            for (key, value) in Self.eventJSON(event) { object[key] = value }
        case .runEvents(let runId, let claimToken, let events):
            object["run_id"] = .string(runId)
            object["claim_token"] = .string(claimToken)
            object["events"] = .array(events.map { .object(Self.eventJSON($0)) })
        case .progress(let runId, let claimToken, let progress):
            object["run_id"] = .string(runId)
            object["claim_token"] = .string(claimToken)
            object["progress"] = progress.json
        case .taskResult(let result):
            object["task_id"] = .string(result.taskId)
            object["run_id"] = .string(result.runId)
            object["claim_token"] = .string(result.claimToken)
            object["status"] = .string(result.status.rawValue)
            if let summary = result.summary { object["summary"] = summary }
            if let code = result.errorCode { object["error_code"] = .string(code) }
            if let error = result.error { object["error"] = .string(error) }
        case .helloAck(let agentId, let idle):
            object["agent_id"] = .string(agentId)
            object["idle_timeout_seconds"] = .number(Double(idle))
        case .task(let taskId, let claimToken, let task):
            object["task_id"] = .string(taskId)
            object["claim_token"] = .string(claimToken)
            object["task"] = task
        case .eventAck(let runId, let aseq):
            object["run_id"] = .string(runId)
            object["aseq"] = .number(Double(aseq))
        case .resultAck(let runId), .cancelRunTask(let runId), .taskRevoked(let runId): object["run_id"] = .string(runId)
        case .rotateKey(let key): object["agent_key"] = .string(key)
        }
        return .object(object)
    }

    /// The frame's text.
    public var text: String { json.jsonString() }

    static func eventJSON(_ event: AgentEvent) -> [String: JSONValue] {
        [
            "aseq": .number(Double(event.aseq)), "level": .string(event.level.rawValue), "kind": .string(event.kind),
            "message": .string(event.message), "fields": event.fields ?? .null,
        ]
    }

    // MARK: - Decoding

    /// Decodes one text frame; throws `AgentProtocolError` for anything that is not exactly a known message within
    /// its limits. Pure: no state, no I/O (a fuzz target calls it directly).
    public static func decode(_ text: String) throws(AgentProtocolError) -> AgentMessage {
        guard text.utf8.count <= Limits.hubFrameBytes else { throw AgentProtocolError("frame over \(Limits.hubFrameBytes) bytes") }
        let json: JSONValue
        do {
            json = try JSONValue.parse(text)
        } catch {
            throw AgentProtocolError("not JSON: \(error)")
        }
        guard case .object(let object) = json else { throw AgentProtocolError("not a JSON object") }
        var reader = FieldReader(object: object, context: "message")
        guard reader.take("v") == .number(1) else { throw AgentProtocolError("v is not 1") }
        let type = try reader.string("type", max: 32)
        reader.context = type
        let message: AgentMessage
        switch type {
        case "hello":
            var hello = Hello()
            hello.agentId = try reader.optionalID("agent_id")
            hello.name = try reader.optionalString("name", max: Limits.nameLength)
            hello.heartbeatSeconds = try reader.optionalInt("heartbeat_seconds", in: Limits.heartbeatSeconds)
            if let info = reader.take("info") {
                guard case .object(let fields) = info, fields.count <= 16 else {
                    throw AgentProtocolError("hello: info is not an object of 16 keys at most")
                }
                for (key, value) in fields {
                    guard key.utf8.count <= 32, let string = value.stringValue, string.utf8.count <= 100 else {
                        throw AgentProtocolError("hello: info.\(key.prefix(32)) is not a string of 100 bytes at most")
                    }
                    hello.info[key] = string
                }
            }
            hello.capabilities = try reader.optionalJSON("capabilities", maxBytes: Limits.infoBytes)
            message = .hello(hello)
        case "ping": message = .ping
        case "pong": message = .pong
        case "rotate_key_ack": message = .rotateKeyAck
        case "ack": message = .ack(taskId: try reader.id("task_id"))
        case "run_event":
            let runId = try reader.id("run_id")
            let token = try reader.id("claim_token")
            message = .runEvent(runId: runId, claimToken: token, try Self.event(&reader))
        case "run_events":
            let runId = try reader.id("run_id")
            let token = try reader.id("claim_token")
            guard case .array(let items)? = reader.take("events"), (1...Limits.maxEventsPerFrame).contains(items.count) else {
                throw AgentProtocolError("run_events: events is not an array of 1 to \(Limits.maxEventsPerFrame) events")
            }
            var events: [AgentEvent] = []
            for (index, item) in items.enumerated() {
                guard case .object(let fields) = item else { throw AgentProtocolError("run_events: events[\(index)] is not an object") }
                var eventReader = FieldReader(object: fields, context: "run_events.events[\(index)]")
                events.append(try Self.event(&eventReader))
                try eventReader.finish()
            }
            message = .runEvents(runId: runId, claimToken: token, events)
        case "progress":
            let runId = try reader.id("run_id")
            let token = try reader.id("claim_token")
            guard let value = try reader.optionalJSON("progress", maxBytes: Limits.progressBytes), let progress = RunProgress(json: value) else {
                throw AgentProtocolError("progress: progress is not a progress sample")
            }
            message = .progress(runId: runId, claimToken: token, progress)
        case "task_result":
            let taskId = try reader.id("task_id")
            let runId = try reader.id("run_id")
            let token = try reader.id("claim_token")
            guard let status = TaskResult.Status(rawValue: try reader.string("status", max: 16)) else {
                throw AgentProtocolError("task_result: status is not success, canceled or failed")
            }
            var result = TaskResult(taskId: taskId, runId: runId, claimToken: token, status: status)
            result.summary = try reader.optionalJSON("summary", maxBytes: Limits.summaryBytes)
            result.errorCode = try reader.optionalCode("error_code")
            result.error = try reader.optionalString("error", max: Limits.errorBytes)
            message = .taskResult(result)
        case "hello_ack":
            let agentId = try reader.id("agent_id")
            guard let idle = try reader.optionalInt("idle_timeout_seconds", in: Limits.idleTimeoutSeconds) else {
                throw AgentProtocolError("hello_ack: idle_timeout_seconds is missing")
            }
            message = .helloAck(agentId: agentId, idleTimeoutSeconds: idle)
        case "task":
            let taskId = try reader.id("task_id")
            let token = try reader.id("claim_token")
            guard case .object? = reader.peek("task"), let task = reader.take("task") else { throw AgentProtocolError("task: task is not an object") }
            message = .task(taskId: taskId, claimToken: token, task: task)
        case "event_ack":
            let runId = try reader.id("run_id")
            guard let aseq = try reader.optionalInt("aseq", in: 0...Limits.aseq.upperBound) else {
                throw AgentProtocolError("event_ack: aseq is missing")
            }
            message = .eventAck(runId: runId, aseq: aseq)
        case "result_ack": message = .resultAck(runId: try reader.id("run_id"))
        case "cancel_run_task": message = .cancelRunTask(runId: try reader.id("run_id"))
        case "task_revoked": message = .taskRevoked(runId: try reader.id("run_id"))
        case "rotate_key":
            let key = try reader.string("agent_key", max: 64)
            guard key.utf8.allSatisfy(FieldReader.isBase64URL) else { throw AgentProtocolError("rotate_key: agent_key is not base64url") }
            message = .rotateKey(agentKey: key)
        default:
            throw AgentProtocolError("unknown type \"\(type.prefix(32))\"")
        }
        try reader.finish()
        return message
    }

    private static func event(_ reader: inout FieldReader) throws(AgentProtocolError) -> AgentEvent {
        guard let aseq = try reader.optionalInt("aseq", in: Limits.aseq) else { throw AgentProtocolError("\(reader.context): aseq is missing") }
        let levelText = try reader.optionalString("level", max: 8) ?? RunEvent.Level.info.rawValue
        guard let level = RunEvent.Level(rawValue: levelText) else { throw AgentProtocolError("\(reader.context): level is not info, warn or error") }
        let kind = try reader.string("kind", max: Limits.kindLength)
        guard !kind.isEmpty, kind.utf8.allSatisfy(FieldReader.isCodeByte) else {
            throw AgentProtocolError("\(reader.context): kind is not a lower-case word")
        }
        let message = try reader.string("message", max: Limits.messageBytes)
        let fields = try reader.optionalJSON("fields", maxBytes: Limits.fieldsBytes)
        return AgentEvent(aseq: aseq, level: level, kind: kind, message: message, fields: fields)
    }
}

/// A frame of the agent link that is not a known message within its limits (docs/agents.md, "Protocol errors").
public struct AgentProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// Takes a message's fields one by one, so `finish()` can refuse the keys nobody took.
private struct FieldReader {
    var object: [String: JSONValue]
    var context: String

    static func isBase64URL(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    /// Lower-case letters, digits, `_` and `.`: event kinds and error codes.
    static func isCodeByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
    }

    mutating func take(_ key: String) -> JSONValue? { object.removeValue(forKey: key) }

    func peek(_ key: String) -> JSONValue? { object[key] }

    /// A key that is absent or `null` is nil.
    private mutating func present(_ key: String) -> JSONValue? {
        guard let value = take(key), value != .null else { return nil }
        return value
    }

    mutating func optionalString(_ key: String, max: Int) throws(AgentProtocolError) -> String? {
        guard let value = present(key) else { return nil }
        guard let string = value.stringValue, string.utf8.count <= max else {
            throw AgentProtocolError("\(context): \(key) is not a string of \(max) bytes at most")
        }
        return string
    }

    mutating func string(_ key: String, max: Int) throws(AgentProtocolError) -> String {
        guard let string = try optionalString(key, max: max) else { throw AgentProtocolError("\(context): \(key) is missing") }
        return string
    }

    /// A run, task, agent id or claim token: 1 to 64 of `[A-Za-z0-9_-]`.
    mutating func optionalID(_ key: String) throws(AgentProtocolError) -> String? {
        guard let string = try optionalString(key, max: AgentMessage.Limits.idLength) else { return nil }
        guard !string.isEmpty, string.utf8.allSatisfy(Self.isBase64URL) else { throw AgentProtocolError("\(context): \(key) is not an id") }
        return string
    }

    mutating func id(_ key: String) throws(AgentProtocolError) -> String {
        guard let string = try optionalID(key) else { throw AgentProtocolError("\(context): \(key) is missing") }
        return string
    }

    mutating func optionalCode(_ key: String) throws(AgentProtocolError) -> String? {
        guard let string = try optionalString(key, max: AgentMessage.Limits.kindLength) else { return nil }
        guard !string.isEmpty, string.utf8.allSatisfy(Self.isCodeByte) else { throw AgentProtocolError("\(context): \(key) is not a code") }
        return string
    }

    /// An integer in `range`, through `JSONValue.int64Value` (the one checked conversion).
    mutating func optionalInt(_ key: String, in range: ClosedRange<Int64>) throws(AgentProtocolError) -> Int64? {
        guard let value = present(key) else { return nil }
        guard let number = value.int64Value, range.contains(number) else {
            throw AgentProtocolError("\(context): \(key) is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// Any JSON value whose text is at most `maxBytes`.
    mutating func optionalJSON(_ key: String, maxBytes: Int) throws(AgentProtocolError) -> JSONValue? {
        guard let value = present(key) else { return nil }
        guard value.jsonString().utf8.count <= maxBytes else { throw AgentProtocolError("\(context): \(key) is over \(maxBytes) bytes") }
        return value
    }

    /// Refuses the keys no reader took.
    func finish() throws(AgentProtocolError) {
        if let key = object.keys.sorted().first { throw AgentProtocolError("\(context): unknown field \"\(key.prefix(64))\"") }
    }
}

extension AgentMessage {
    /// Lower-case letters, digits, `_` and `.`: what an event's `kind` and an `error_code` may hold.
    public static func isCodeByte(_ byte: UInt8) -> Bool { FieldReader.isCodeByte(byte) }

    /// How many events the frame carries, for the per-agent budget (frames without events count as one).
    public var eventCount: Int {
        switch self {
        case .runEvents(_, _, let events): events.count
        default: 1
        }
    }
}
