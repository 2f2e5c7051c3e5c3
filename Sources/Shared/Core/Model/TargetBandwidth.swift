import Foundation

/// A target's bandwidth limit (`target.bandwidth`, docs/targets.md, "Bandwidth"): bytes per second for uploads and
/// for downloads (each direction separately), with an optional weekly schedule of limits by hour in `timezone`.
/// The first schedule entry whose days and hours hold the current local time wins, else `limitBps`; nil is unlimited.
public struct TargetBandwidth: Sendable, Equatable {
    /// The smallest limit accepted: 64 KiB/s.
    public static let minimumBps: Int64 = 65536
    static let keys: Set<String> = ["limit_bps", "timezone", "schedule"]
    static let entryKeys: Set<String> = ["days", "start_hour", "end_hour", "limit_bps"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public struct Entry: Sendable, Equatable {
        /// Weekdays as `Calendar`'s numbers: 1 = Sunday … 7 = Saturday.
        public var days: Set<Int>
        /// Local hours `start_hour <= hour < end_hour` (0...23, 1...24; `end_hour` after `start_hour`).
        public var startHour: Int
        public var endHour: Int
        /// nil: unlimited during these hours.
        public var limitBps: Int64?

        public init(days: Set<Int>, startHour: Int, endHour: Int, limitBps: Int64?) {
            self.days = days
            self.startHour = startHour
            self.endHour = endHour
            self.limitBps = limitBps
        }
    }

    public var limitBps: Int64?
    /// An IANA zone name; nil: the host's zone.
    public var timezone: String?
    public var schedule: [Entry]

    public init(limitBps: Int64?, timezone: String? = nil, schedule: [Entry] = []) {
        self.limitBps = limitBps
        self.timezone = timezone
        self.schedule = schedule
    }

    /// The limit in force at `date`: the first entry holding the local weekday and hour, else `limitBps`.
    public func limit(at date: Date) -> Int64? {
        guard !schedule.isEmpty else { return limitBps }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timezone.flatMap { TimeZone(identifier: $0) } ?? .current
        let parts = calendar.dateComponents([.weekday, .hour], from: date)
        guard let weekday = parts.weekday, let hour = parts.hour else { return limitBps }
        for entry in schedule where entry.days.contains(weekday) && entry.startHour <= hour && hour < entry.endHour {
            return entry.limitBps
        }
        return limitBps
    }

    /// The spec's JSON form.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["limit_bps": limitBps.map { .number(Double($0)) } ?? .null]
        if let timezone { object["timezone"] = .string(timezone) }
        if !schedule.isEmpty {
            object["schedule"] = .array(
                schedule.map { entry in
                    .object([
                        "days": .array(entry.days.sorted().map { .string(Self.dayNames[$0 - 1]) }),
                        "start_hour": .number(Double(entry.startHour)), "end_hour": .number(Double(entry.endHour)),
                        "limit_bps": entry.limitBps.map { .number(Double($0)) } ?? .null,
                    ])
                }
            )
        }
        return .object(object)
    }

    /// `target.bandwidth` (nil when absent or null). Every problem names its field (`target.bandwidth.schedule.0.days`).
    public static func parse(_ value: JSONValue?, field: String) throws -> TargetBandwidth? {
        switch value {
        case nil, .null?: return nil
        case .object(let object)?:
            let limit = try parseLimit(object["limit_bps"], field: "\(field).limit_bps")
            var zone: String?
            switch object["timezone"] {
            case nil, .null?: break
            case .string(let name)?:
                guard name.count <= 64, TimeZone(identifier: name) != nil else {
                    throw ValidationError.spec("\(field).timezone", "invalid", "timezone must be an IANA zone name such as Europe/Berlin")
                }
                zone = name
            default: throw ValidationError.spec("\(field).timezone", "invalid", "timezone must be a string")
            }
            var entries: [Entry] = []
            switch object["schedule"] {
            case nil, .null?: break
            case .array(let items)?:
                guard items.count <= 64 else { throw ValidationError.spec("\(field).schedule", "too_many", "at most 64 schedule entries") }
                for (index, item) in items.enumerated() {
                    entries.append(try parseEntry(item, field: "\(field).schedule.\(index)"))
                }
            default: throw ValidationError.spec("\(field).schedule", "invalid", "schedule must be a list")
            }
            return TargetBandwidth(limitBps: limit, timezone: zone, schedule: entries)
        default: throw ValidationError.spec(field, "not_object", "bandwidth must be an object")
        }
    }

    static func parseLimit(_ value: JSONValue?, field: String) throws -> Int64? {
        switch value {
        case nil, .null?: return nil
        case .number(let number)?:
            guard number.rounded() == number, number >= Double(minimumBps), number <= 1e15 else {
                throw ValidationError.spec(field, "invalid", "limit_bps must be a whole number of bytes per second, at least 65536, or null")
            }
            return Int64(number)
        default: throw ValidationError.spec(field, "invalid", "limit_bps must be a number of bytes per second or null")
        }
    }

    static func parseEntry(_ value: JSONValue, field: String) throws -> Entry {
        guard case .object(let object) = value else { throw ValidationError.spec(field, "not_object", "a schedule entry must be an object") }
        guard case .array(let names)? = object["days"], !names.isEmpty else {
            throw ValidationError.spec("\(field).days", "required", "days must list weekdays (mon, tue, …)")
        }
        var days = Set<Int>()
        for name in names {
            guard case .string(let day) = name, let index = dayNames.firstIndex(of: day.lowercased()) else {
                throw ValidationError.spec("\(field).days", "invalid", "days are mon, tue, wed, thu, fri, sat, sun")
            }
            days.insert(index + 1)
        }
        func hour(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let number = object[key]?.intValue, range.contains(number), object[key]?.doubleValue == Double(number) else {
                throw ValidationError.spec(
                    "\(field).\(key)",
                    "invalid",
                    "\(key) must be a whole hour from \(range.lowerBound) to \(range.upperBound)"
                )
            }
            return number
        }
        let start = try hour("start_hour", 0...23)
        let end = try hour("end_hour", 1...24)
        guard end > start else { throw ValidationError.spec("\(field).end_hour", "invalid", "end_hour must be after start_hour") }
        guard object.keys.contains("limit_bps") else {
            throw ValidationError.spec("\(field).limit_bps", "required", "limit_bps is required (null: unlimited in these hours)")
        }
        return Entry(days: days, startHour: start, endHour: end, limitBps: try parseLimit(object["limit_bps"], field: "\(field).limit_bps"))
    }

    /// Keys of `target.bandwidth` (at `path`) that it does not define, as dotted paths.
    static func unknownFields(_ value: JSONValue?, path: String) -> [String] {
        guard case .object(let object)? = value else { return [] }
        var unknown = object.keys.filter { !keys.contains($0) }.map { "\(path).\($0)" }
        if case .array(let items)? = object["schedule"] {
            for (index, item) in items.enumerated() {
                guard case .object(let entry) = item else { continue }
                unknown += entry.keys.filter { !entryKeys.contains($0) }.map { "\(path).schedule.\(index).\($0)" }
            }
        }
        return unknown
    }
}
