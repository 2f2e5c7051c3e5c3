/// Where an incremental snapshot sits in its chain (docs/formats.md, "Incremental snapshots"): its level (0 for the
/// full snapshot that starts the chain) and the snapshots before it, oldest first. Extracted in that order and then
/// this one, they reproduce the tree with GNU tar's `-G`.
public struct SnapshotChain: Sendable, Equatable {
    public var level: Int
    public var before: [String]

    public init(level: Int, before: [String]) {
        self.level = level
        self.before = before
    }

    /// The snapshot this one is built on; nil for a full one.
    public var baseRunId: String? { before.last }

    /// `{level, base_run_id, chain}` with `chain` ending at `runId`.
    public func json(runId: String) -> JSONValue {
        .object([
            "level": .number(Double(level)), "base_run_id": baseRunId.map(JSONValue.string) ?? .null,
            "chain": .array((before + [runId]).map(JSONValue.string)),
        ])
    }

    /// Reads `json(runId:)`; nil unless the chain ends at `runId`, its length matches the level, and every entry is a
    /// run id (letters, digits and `-`: a manifest on a target cannot point a read outside the job's directory).
    public init?(json: JSONValue?, runId: String) {
        guard let json, case .array(let order)? = json["chain"], let level = json["level"]?.intValue else { return nil }
        let runs = order.compactMap(\.stringValue)
        guard runs.count == order.count, runs.last == runId, level == runs.count - 1, runs.allSatisfy(Self.isRunId) else { return nil }
        self.init(level: level, before: Array(runs.dropLast()))
    }

    /// A run id as Bastion makes them (a UUID), or anything of the same alphabet.
    public static func isRunId(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.utf8.allSatisfy { $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
    }
}

/// What the claim decided for a backup of a job with `pipeline.incremental` (`runs.operation_json.incremental`,
/// docs/formats.md): build on `base` (its chain and where it is), or a full snapshot, and why.
public struct IncrementalPlan: Sendable, Equatable {
    public var chain: SnapshotChain
    /// Where the base snapshot is; nil for a full one.
    public var base: RunLocation?
    public var rehash: Bool
    /// `first`, `full_every`, `base_unavailable` (a full one), or `incremental`.
    public var reason: String

    public init(chain: SnapshotChain, base: RunLocation?, rehash: Bool, reason: String) {
        self.chain = chain
        self.base = base
        self.rehash = rehash
        self.reason = reason
    }

    public var json: JSONValue {
        .object([
            "level": .number(Double(chain.level)), "chain": .array(chain.before.map(JSONValue.string)),
            "base_target": base?.json ?? .null, "rehash": .bool(rehash), "reason": .string(reason),
        ])
    }

    public init?(json: JSONValue?) {
        guard let json, case .array(let order)? = json["chain"], let level = json["level"]?.intValue, level == order.count else { return nil }
        let runs = order.compactMap(\.stringValue)
        guard runs.count == order.count else { return nil }
        base = RunLocation(json: json["base_target"])
        guard (base == nil) == runs.isEmpty, base.map({ $0.runId == runs.last }) ?? true else { return nil }
        chain = SnapshotChain(level: level, before: runs)
        rehash = json["rehash"] == .bool(true)
        reason = json["reason"]?.stringValue ?? ""
    }
}
