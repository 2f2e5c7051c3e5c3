import Foundation

/// A job's snapshot retention (`spec.retention`, docs/architecture.md, "Backups"): keep the pinned, the newest
/// `keep_last`, and those younger than `keep_days`; delete the rest, at most `max_delete_per_tick` per pass and
/// `max_delete_per_day` per UTC day.
public struct RetentionPolicy: Sendable, Equatable {
    public var enabled = false
    public var keepLast: Int?
    public var keepDays: Int?
    public var maxDeletePerTick = 50
    public var maxDeletePerDay = 200

    public init(enabled: Bool = false, keepLast: Int? = nil, keepDays: Int? = nil, maxDeletePerTick: Int = 50, maxDeletePerDay: Int = 200) {
        self.enabled = enabled
        self.keepLast = keepLast
        self.keepDays = keepDays
        self.maxDeletePerTick = maxDeletePerTick
        self.maxDeletePerDay = maxDeletePerDay
    }

    /// Parses and validates `spec.retention` with the original's limits; problems are `invalid_spec`.
    /// The keys a retention object takes (`JobSpec.unknownFields` and the API refuse any other).
    public static let keys: Set<String> = ["enabled", "keep_last", "keep_days", "max_delete_per_tick", "max_delete_per_day"]

    public static func parse(_ value: JSONValue) throws -> RetentionPolicy {
        guard case .object(let object) = value else { throw ValidationError.spec("retention", "not_object", "retention must be an object") }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            switch object[key] {
            case nil, .null?: return nil
            case let value? where value.intValue.map(range.contains) == true: return value.intValue
            default:
                throw ValidationError.spec(
                    "retention.\(key)",
                    "out_of_range",
                    "retention.\(key) must be an integer in \(range.lowerBound)...\(range.upperBound)"
                )
            }
        }
        var policy = RetentionPolicy()
        switch object["enabled"] {
        case nil, .null?: break
        case .bool(let flag)?: policy.enabled = flag
        default: throw ValidationError.spec("retention.enabled", "invalid", "retention.enabled must be true or false")
        }
        policy.keepLast = try integer("keep_last", 0...10_000)
        policy.keepDays = try integer("keep_days", 0...3650)
        policy.maxDeletePerTick = try integer("max_delete_per_tick", 1...10_000) ?? 50
        policy.maxDeletePerDay = try integer("max_delete_per_day", 1...100_000) ?? 200
        if policy.enabled, (policy.keepLast ?? 0) == 0, (policy.keepDays ?? 0) == 0 {
            throw ValidationError.spec("retention", "nothing_kept", "an enabled retention needs keep_last or keep_days > 0")
        }
        return policy
    }

    /// One snapshot as retention sees it.
    public struct Snapshot: Sendable, Equatable {
        public var runId: String
        public var endedAt: Int64
        public var pinned: Bool
        /// Breaks ties between snapshots that ended in the same second (the order they were recorded in).
        public var sequence: Int64
        /// The snapshot an incremental one is built on (docs/formats.md, "Incremental snapshots").
        public var baseRunId: String?

        public init(runId: String, endedAt: Int64, pinned: Bool, sequence: Int64 = 0, baseRunId: String? = nil) {
            self.runId = runId
            self.endedAt = endedAt
            self.pinned = pinned
            self.sequence = sequence
            self.baseRunId = baseRunId
        }
    }

    /// A decision with its reasons (`pinned`, `keep_last`, `keep_days`, `retention_disabled`, `chain_base`: a kept
    /// incremental snapshot builds on it; none = delete).
    public struct Decision: Sendable, Equatable {
        public var snapshot: Snapshot
        public var reasons: [String]
        public var keep: Bool { !reasons.isEmpty }
    }

    /// Decisions for `snapshots`, newest first.
    public func decide(_ snapshots: [Snapshot], now: Int64) -> [Decision] {
        let ordered = snapshots.sorted { ($0.endedAt, $0.sequence, $0.runId) > ($1.endedAt, $1.sequence, $1.runId) }
        // A base is older than what builds on it: newest first, each kept snapshot keeps its base, which keeps its own.
        var neededBases = Set<String>()
        return ordered.enumerated().map { index, snapshot in
            var reasons: [String] = []
            if !enabled { reasons.append("retention_disabled") }
            if snapshot.pinned { reasons.append("pinned") }
            if let keepLast, keepLast > 0, index < keepLast { reasons.append("keep_last") }
            if let keepDays, keepDays > 0, snapshot.endedAt >= now - Int64(keepDays) * 86_400 { reasons.append("keep_days") }
            if neededBases.contains(snapshot.runId) { reasons.append("chain_base") }
            let decision = Decision(snapshot: snapshot, reasons: reasons)
            if decision.keep, let base = snapshot.baseRunId { neededBases.insert(base) }
            return decision
        }
    }
}
