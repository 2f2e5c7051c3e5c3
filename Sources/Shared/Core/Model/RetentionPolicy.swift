import Foundation

/// A job's snapshot retention (`spec.retention`, docs/retention.md): restic's rules (`keep_last`, `keep_hourly`,
/// `keep_daily`, `keep_weekly`, `keep_monthly`, `keep_yearly`, `keep_within`) read in the job's time zone, plus
/// Bastion's pins, chain bases and `keep_days`; delete the rest, at most `max_delete_per_tick` per pass and
/// `max_delete_per_day` per UTC day.
public struct RetentionPolicy: Sendable, Equatable {
    public var enabled = false
    /// How many of the newest snapshots to keep; `-1` keeps all (restic's `--keep-last`).
    public var keepLast: Int?
    /// How many of the newest hours, days, weeks, months and years that hold a snapshot keep their newest one;
    /// `-1`: all of them (restic's `--keep-hourly` ... `--keep-yearly`).
    public var keepHourly: Int?
    public var keepDaily: Int?
    public var keepWeekly: Int?
    public var keepMonthly: Int?
    public var keepYearly: Int?
    /// Keep every snapshot younger than this, counted back from the newest snapshot (restic's `--keep-within`).
    public var keepWithin: Duration?
    /// Keep every snapshot younger than this many days, counted back from now (Bastion's own, from before the rules).
    public var keepDays: Int?
    public var maxDeletePerTick = 50
    public var maxDeletePerDay = 200

    public init(
        enabled: Bool = false,
        keepLast: Int? = nil,
        keepHourly: Int? = nil,
        keepDaily: Int? = nil,
        keepWeekly: Int? = nil,
        keepMonthly: Int? = nil,
        keepYearly: Int? = nil,
        keepWithin: Duration? = nil,
        keepDays: Int? = nil,
        maxDeletePerTick: Int = 50,
        maxDeletePerDay: Int = 200
    ) {
        self.enabled = enabled
        self.keepLast = keepLast
        self.keepHourly = keepHourly
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
        self.keepYearly = keepYearly
        self.keepWithin = keepWithin
        self.keepDays = keepDays
        self.maxDeletePerTick = maxDeletePerTick
        self.maxDeletePerDay = maxDeletePerDay
    }

    /// restic's duration (`1y2m3d4h`): years, months and days on the wall clock, then hours.
    public struct Duration: Sendable, Equatable, CustomStringConvertible {
        public var years = 0
        public var months = 0
        public var days = 0
        public var hours = 0

        public init(years: Int = 0, months: Int = 0, days: Int = 0, hours: Int = 0) {
            self.years = years
            self.months = months
            self.days = days
            self.hours = hours
        }

        public var isZero: Bool { years == 0 && months == 0 && days == 0 && hours == 0 }

        public var description: String {
            let text = [(years, "y"), (months, "m"), (days, "d"), (hours, "h")].filter { $0.0 != 0 }.map { "\($0.0)\($0.1)" }.joined()
            return text.isEmpty ? "0h" : text
        }

        /// `\d+[ymdh]` repeated, each unit at most once, each number at most 100000; nil when malformed.
        public static func parse(_ text: String) -> Duration? {
            var duration = Duration()
            var seen = Set<Character>()
            var digits = ""
            guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
            for character in text {
                if character.isASCII, character.isNumber {
                    digits.append(character)
                    continue
                }
                guard !digits.isEmpty, digits.count <= 6, let number = Int(digits), number <= 100_000, !seen.contains(character) else { return nil }
                switch character {
                case "y": duration.years = number
                case "m": duration.months = number
                case "d": duration.days = number
                case "h": duration.hours = number
                default: return nil
                }
                seen.insert(character)
                digits = ""
            }
            return digits.isEmpty ? duration : nil
        }
    }

    /// The keys a retention object takes (`JobSpec.unknownFields` and the API refuse any other).
    public static let keys: Set<String> = [
        "enabled", "keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly", "keep_within", "keep_days",
        "max_delete_per_tick", "max_delete_per_day",
    ]

    /// The count rules in the order they are evaluated and reported.
    public static let countRules = ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"]

    /// Parses and validates `spec.retention`; problems are `invalid_spec`.
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
        /// A count rule: 0...100000, or -1 for all.
        func count(_ key: String) throws -> Int? {
            switch object[key] {
            case nil, .null?: return nil
            case let value? where value.intValue == -1 || value.intValue.map((0...100_000).contains) == true: return value.intValue
            default:
                throw ValidationError.spec("retention.\(key)", "out_of_range", "retention.\(key) must be -1 (all) or an integer in 0...100000")
            }
        }
        var policy = RetentionPolicy()
        switch object["enabled"] {
        case nil, .null?: break
        case .bool(let flag)?: policy.enabled = flag
        default: throw ValidationError.spec("retention.enabled", "invalid", "retention.enabled must be true or false")
        }
        policy.keepLast = try count("keep_last")
        policy.keepHourly = try count("keep_hourly")
        policy.keepDaily = try count("keep_daily")
        policy.keepWeekly = try count("keep_weekly")
        policy.keepMonthly = try count("keep_monthly")
        policy.keepYearly = try count("keep_yearly")
        switch object["keep_within"] {
        case nil, .null?: break
        case .string(let text)? where Duration.parse(text) != nil: policy.keepWithin = Duration.parse(text)
        default:
            throw ValidationError.spec(
                "retention.keep_within",
                "invalid_duration",
                "retention.keep_within must be a duration like 1y2m3d4h (years, months, days, hours; each at most 100000)"
            )
        }
        policy.keepDays = try integer("keep_days", 0...3650)
        policy.maxDeletePerTick = try integer("max_delete_per_tick", 1...10_000) ?? 50
        policy.maxDeletePerDay = try integer("max_delete_per_day", 1...100_000) ?? 200
        if policy.enabled, !policy.keepsSomething {
            throw ValidationError.spec(
                "retention",
                "nothing_kept",
                "an enabled retention needs a keep_* rule (keep_last, keep_hourly ... keep_yearly, keep_within, keep_days) that keeps something"
            )
        }
        return policy
    }

    /// The zone a job's periods are read in: its `schedule_timezone` (validated when the job was saved; UTC if unknown).
    public static func timeZone(_ identifier: String) -> TimeZone {
        TimeZone(identifier: identifier) ?? TimeZone(secondsFromGMT: 0)!
    }

    /// Whether any rule keeps a snapshot (an enabled policy without one would delete everything unpinned).
    public var keepsSomething: Bool {
        [keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly].contains { ($0 ?? 0) != 0 } || (keepWithin.map { !$0.isZero } ?? false)
            || (keepDays ?? 0) > 0
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

    /// A decision with its reasons (`retention_disabled`, `pinned`, `keep_within`, `keep_last`, `keep_hourly`,
    /// `keep_daily`, `keep_weekly`, `keep_monthly`, `keep_yearly`, `keep_days`, `chain_base`: a kept incremental
    /// snapshot builds on it; none = delete), and for each count rule that kept it the period it stands for
    /// (`keep_daily: "2026-12-05"`, `keep_weekly: "2026-W49"`, `keep_last: "1"` for the newest).
    public struct Decision: Sendable, Equatable {
        public var snapshot: Snapshot
        public var reasons: [String]
        public var buckets: [String: String] = [:]
        public var keep: Bool { !reasons.isEmpty }
    }

    /// Decisions for `snapshots`, newest first, with periods read in `timeZone` (the job's `schedule_timezone`).
    /// restic's `forget` semantics (docs/retention.md lists where Bastion differs): each count rule walks the snapshots
    /// newest first and keeps a snapshot whose period (hour, day, ISO week, month, year; for `keep_last` the snapshot
    /// itself) differs from the last one it kept, until it has kept its count (`-1`: no limit); the oldest snapshot is
    /// kept too while a rule has counts left (restic 0.18); `keep_within` keeps what is younger than the duration before
    /// the newest snapshot that is not in the future.
    public func decide(_ snapshots: [Snapshot], now: Int64, timeZone: TimeZone) -> [Decision] {
        let ordered = snapshots.sorted { ($0.endedAt, $0.sequence, $0.runId) > ($1.endedAt, $1.sequence, $1.runId) }
        let calendar = RetentionCalendar(timeZone: timeZone)
        // restic: the newest snapshot not in the future; none there, and `keep_within` keeps everything.
        let withinCutoff: Int64? = keepWithin.flatMap { within in
            guard !within.isZero else { return nil }
            guard let latest = ordered.first(where: { $0.endedAt < now })?.endedAt else { return Int64.min }
            return calendar.subtracting(years: within.years, months: within.months, days: within.days, hours: within.hours, from: latest)
        }
        struct Counter {
            var rule: String
            var remaining: Int
            var period: (Snapshot, Int) -> String
            var last: String? = nil
        }
        var counters = [
            Counter(rule: "keep_last", remaining: keepLast ?? 0) { _, index in String(index + 1) },
            Counter(rule: "keep_hourly", remaining: keepHourly ?? 0) { snapshot, _ in calendar.hourLabel(snapshot.endedAt) },
            Counter(rule: "keep_daily", remaining: keepDaily ?? 0) { snapshot, _ in calendar.dayLabel(snapshot.endedAt) },
            Counter(rule: "keep_weekly", remaining: keepWeekly ?? 0) { snapshot, _ in calendar.weekLabel(snapshot.endedAt) },
            Counter(rule: "keep_monthly", remaining: keepMonthly ?? 0) { snapshot, _ in calendar.monthLabel(snapshot.endedAt) },
            Counter(rule: "keep_yearly", remaining: keepYearly ?? 0) { snapshot, _ in calendar.yearLabel(snapshot.endedAt) },
        ].filter { $0.remaining != 0 }
        // A base is older than what builds on it: newest first, each kept snapshot keeps its base, which keeps its own.
        var neededBases = Set<String>()
        return ordered.enumerated().map { index, snapshot in
            var reasons: [String] = []
            var buckets: [String: String] = [:]
            if !enabled { reasons.append("retention_disabled") }
            if snapshot.pinned { reasons.append("pinned") }
            if let withinCutoff, snapshot.endedAt > withinCutoff { reasons.append("keep_within") }
            let oldest = index == ordered.count - 1
            for position in counters.indices where counters[position].remaining != 0 {
                let period = counters[position].period(snapshot, index)
                guard period != counters[position].last || oldest else { continue }
                counters[position].last = period
                if counters[position].remaining > 0 { counters[position].remaining -= 1 }
                reasons.append(counters[position].rule)
                buckets[counters[position].rule] = period
            }
            if let keepDays, keepDays > 0, snapshot.endedAt >= now - Int64(keepDays) * 86_400 { reasons.append("keep_days") }
            if neededBases.contains(snapshot.runId) { reasons.append("chain_base") }
            let decision = Decision(snapshot: snapshot, reasons: reasons, buckets: buckets)
            if decision.keep, let base = snapshot.baseRunId { neededBases.insert(base) }
            return decision
        }
    }
}
