/// The actions of `POST /api/jobs/bulk`.
public enum JobBulkAction: String, Sendable, CaseIterable {
    case run, archive, unarchive
}

/// The body of `POST /api/jobs/bulk {action, ids}` (docs/ui.md, "Jobs at scale"), checked whole before anything is
/// done: a known action and 1...`maxIds` distinct non-empty ids of at most `maxIdLength` characters. Read here, without
/// the database, so the API and the fuzz target (docs/security.md, "Fuzzing") read a body alike.
public struct JobBulkRequest: Sendable, Equatable {
    /// The keys the body may have (docs/security.md, "Unknown fields").
    public static let knownKeys: Set<String> = ["action", "ids"]
    /// At most this many ids per request: the UI's "every job the filter shows" of a large install is sent in chunks
    /// of this size, and one request stays one short write transaction.
    public static let maxIds = 500
    /// Job ids are UUIDs; anything longer than this is no id this API issued.
    public static let maxIdLength = 128

    public var action: JobBulkAction
    /// In the order given, each once.
    public var ids: [String]

    public init(action: JobBulkAction, ids: [String]) {
        self.action = action
        self.ids = ids
    }

    /// Reads a request's body; the first problem is a `ValidationError` with the code the API answers (`unknown_field`,
    /// `invalid_action`, `invalid_ids`, `too_many_ids`, `duplicate_id`) and the field it concerns (`ids[3]`).
    public init(body: [String: JSONValue]) throws {
        try ValidationError.refuseUnknownKeys(body, known: Self.knownKeys, at: "")
        guard case .string(let name)? = body["action"], let action = JobBulkAction(rawValue: name) else {
            throw ValidationError(
                code: "invalid_action",
                field: "action",
                reason: "unknown",
                message: "action must be one of \(JobBulkAction.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard case .array(let items)? = body["ids"] else {
            throw ValidationError(code: "invalid_ids", field: "ids", reason: "not_an_array", message: "ids must be an array of job ids")
        }
        guard !items.isEmpty else {
            throw ValidationError(code: "invalid_ids", field: "ids", reason: "required", message: "ids must name at least one job")
        }
        guard items.count <= Self.maxIds else {
            throw ValidationError(
                code: "too_many_ids",
                field: "ids",
                reason: "max_items",
                message: "at most \(Self.maxIds) ids per request (got \(items.count))"
            )
        }
        var seen = Set<String>()
        var ids: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let id) = item, !id.isEmpty, id.count <= Self.maxIdLength else {
                throw ValidationError(
                    code: "invalid_ids",
                    field: "ids[\(index)]",
                    reason: "invalid",
                    message: "ids[\(index)] must be a job id: a non-empty string of at most \(Self.maxIdLength) characters"
                )
            }
            guard seen.insert(id).inserted else {
                throw ValidationError(
                    code: "duplicate_id",
                    field: "ids[\(index)]",
                    reason: "duplicate",
                    message: "ids[\(index)] repeats \(id): name each job once"
                )
            }
            ids.append(id)
        }
        self.init(action: action, ids: ids)
    }

    /// The body this request was read from (what the UI sends).
    public var json: JSONValue { .object(["action": .string(action.rawValue), "ids": .array(ids.map(JSONValue.string))]) }
}
