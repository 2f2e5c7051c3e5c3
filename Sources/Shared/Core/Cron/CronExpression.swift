/// A parsed cron expression: 5 fields (minute hour day-of-month month day-of-week), or 6 with a leading seconds
/// field that must be exactly `0` (as the original). Supports `*`, ranges, lists, steps, and month/weekday names,
/// and the macros of robfig/cron and Vixie cron (`@hourly`, `@daily`, …; see `macros`).
///
/// Day-of-week follows the crontab convention: 0–7 with 0 and 7 both Sunday, names `SUN`–`SAT`. (The original's
/// cron crate numbered 1=Sunday, which disagreed with its own UI; see docs/architecture.md.)
public struct CronExpression: Sendable, Equatable {
    public struct ParseError: Error, Sendable, Equatable {
        public var message: String
    }

    public let minutes: Set<Int>
    public let hours: Set<Int>
    public let daysOfMonth: Set<Int>
    public let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    public let daysOfWeek: Set<Int>
    /// True when the day-of-month field was `*` (cron's "either day field matches" rule needs it).
    public let dayOfMonthIsWildcard: Bool
    public let dayOfWeekIsWildcard: Bool

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// The macros a schedule may be instead of its fields (docs/architecture.md, "Jobs and specs"): robfig/cron's set and
    /// the original Bastion's, case-insensitive. `@every <duration>` and `@reboot` are not schedules here: refused.
    public static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    public init(parsing text: String) throws {
        var fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if let first = fields.first, first.hasPrefix("@") {
            // A macro is the whole schedule: `@daily 5` or `@daily@hourly` is no macro.
            guard fields.count == 1, let macro = Self.macros[first.lowercased()] else {
                let known = Self.macros.keys.sorted().joined(separator: ", ")
                throw ParseError(message: "unknown schedule macro \"\(text.prefix(40))\" (known: \(known))")
            }
            fields = macro.split(separator: " ").map(String.init)
        }
        if fields.count == 6 {
            guard fields[0] == "0" else {
                throw ParseError(message: "a 6-field schedule must have 0 in its seconds field")
            }
            fields.removeFirst()
        }
        guard fields.count == 5 else {
            throw ParseError(message: "a schedule needs 5 fields (minute hour day month weekday), got \(fields.count)")
        }
        minutes = try Self.field(fields[0], name: "minute", range: 0...59)
        hours = try Self.field(fields[1], name: "hour", range: 0...23)
        daysOfMonth = try Self.field(fields[2], name: "day of month", range: 1...31)
        months = try Self.field(fields[3], name: "month", range: 1...12, names: Self.monthNames, nameBase: 1)
        let weekdays = try Self.field(fields[4], name: "day of week", range: 0...7, names: Self.dayNames, nameBase: 0)
        daysOfWeek = Set(weekdays.map { $0 == 7 ? 0 : $0 })
        dayOfMonthIsWildcard = fields[2] == "*" || fields[2] == "?"
        dayOfWeekIsWildcard = fields[4] == "*" || fields[4] == "?"
    }

    private static func field(_ text: String, name: String, range: ClosedRange<Int>, names: [String] = [], nameBase: Int = 0) throws -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw ParseError(message: "empty list item in \(name) field \"\(text)\"") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ParseError(message: "bad step in \(name) field \"\(part)\"") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0, parsed <= range.upperBound else {
                    throw ParseError(message: "bad step \"\(pieces[1])\" in \(name) field")
                }
                step = parsed
            }
            let base = String(pieces[0])
            var lower: Int
            var upper: Int
            if base == "*" || base == "?" {
                lower = range.lowerBound
                upper = range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                lower = try value(String(base[..<dash]), name: name, range: range, names: names, nameBase: nameBase)
                upper = try value(String(base[base.index(after: dash)...]), name: name, range: range, names: names, nameBase: nameBase)
                guard lower <= upper else { throw ParseError(message: "range \(base) runs backwards in \(name) field") }
            } else {
                lower = try value(base, name: name, range: range, names: names, nameBase: nameBase)
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            for item in stride(from: lower, through: upper, by: step) { values.insert(item) }
        }
        return values
    }

    private static func value(_ text: String, name: String, range: ClosedRange<Int>, names: [String], nameBase: Int) throws -> Int {
        if let index = names.firstIndex(of: text.uppercased()) { return index + nameBase }
        guard let number = Int(text), range.contains(number) else {
            throw ParseError(message: "\"\(text)\" is not a valid \(name) (\(range.lowerBound)-\(range.upperBound))")
        }
        return number
    }
}
