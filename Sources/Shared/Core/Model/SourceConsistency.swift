/// Files that changed while a backup read them (docs/architecture.md, "Consistency of live files"): counted by reason,
/// the first 50 named. The policy (`warn`, `fail`, `ignore`) and threshold are the job's (`source.consistency_policy`,
/// `source.consistency_fail_threshold`); the run's summary carries this as `consistency`.
public struct SourceConsistency: Sendable, Equatable {
    /// Why a file counts as changed; a file counts once, under the first reason that holds in this order.
    public enum Reason: String, Sendable, CaseIterable {
        /// The name no longer exists after the read.
        case deleted
        /// The name points to another inode than the one stat'ed before the read (or the one read).
        case replaced
        /// The size differs between the stat before and the fstat after the read (or the file shrank mid-read).
        case size
        /// The modification time differs (to the nanosecond).
        case mtime
        /// The change time differs (metadata or content changed).
        case ctime
    }

    public struct Sample: Sendable, Equatable {
        public var path: String
        public var reason: Reason

        public init(path: String, reason: Reason) {
            self.path = path
            self.reason = reason
        }
    }

    public static let policies = ["warn", "fail", "ignore"]
    public static let sampleLimit = 50

    public var policy: String
    public var failThreshold: Int
    public private(set) var counts: [Reason: Int] = [:]
    public private(set) var samples: [Sample] = []

    public init(policy: String = "warn", failThreshold: Int = 0) {
        self.policy = policy
        self.failThreshold = failThreshold
    }

    public var changedTotal: Int { counts.values.reduce(0, +) }

    /// `fail` and more files changed than the threshold allows.
    public var exceedsThreshold: Bool { policy == "fail" && changedTotal > failThreshold }

    public mutating func record(_ path: String, _ reason: Reason) {
        counts[reason, default: 0] += 1
        if samples.count < Self.sampleLimit { samples.append(Sample(path: path, reason: reason)) }
    }

    /// `{policy, fail_threshold, changed_total, deleted_total, replaced_total, size_total, mtime_total, ctime_total,
    /// sample_truncated, sample: [{path, reason}]}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "policy": .string(policy), "fail_threshold": .number(Double(failThreshold)), "changed_total": .number(Double(changedTotal)),
            "sample_truncated": .bool(changedTotal > samples.count),
            "sample": .array(samples.map { .object(["path": .string($0.path), "reason": .string($0.reason.rawValue)]) }),
        ]
        for reason in Reason.allCases { object["\(reason.rawValue)_total"] = .number(Double(counts[reason] ?? 0)) }
        return .object(object)
    }

    /// Reads the stored form; nil when `json` is not one.
    public init?(json: JSONValue?) {
        guard let json, let policy = json["policy"]?.stringValue, Self.policies.contains(policy) else { return nil }
        self.init(policy: policy, failThreshold: Int(clamping: json["fail_threshold"]?.int64Value ?? 0))
        for reason in Reason.allCases {
            let count = Int(clamping: json["\(reason.rawValue)_total"]?.int64Value ?? 0)
            if count > 0 { counts[reason] = count }
        }
        if case .array(let items)? = json["sample"] {
            for item in items.prefix(Self.sampleLimit) {
                guard let path = item["path"]?.stringValue, let reason = item["reason"]?.stringValue.flatMap(Reason.init(rawValue:)) else {
                    continue
                }
                samples.append(Sample(path: path, reason: reason))
            }
        }
    }
}
