import Foundation

/// Wall-clock arithmetic for retention (docs/retention.md): the periods a snapshot falls in, read in a time zone,
/// and "this duration before" the way restic computes it (Go's `time.AddDate` and `time.Date`), so that the kept set
/// matches `restic forget` across DST changes.
public struct RetentionCalendar: Sendable {
    public var timeZone: TimeZone

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    /// A wall-clock reading in `timeZone`.
    public struct Wall: Sendable, Equatable {
        public var year: Int
        public var month: Int
        public var day: Int
        public var hour: Int
        /// Seconds into the hour (minutes and seconds).
        public var secondsIntoHour: Int
    }

    public func wall(_ unix: Int64) -> Wall {
        let local = unix + Int64(offset(unix))
        let days = Self.floorDivide(local, 86_400)
        let seconds = Int(local - days * 86_400)
        let (year, month, day) = Self.civil(days)
        return Wall(year: year, month: month, day: day, hour: seconds / 3600, secondsIntoHour: seconds % 3600)
    }

    /// The period of `unix` for each rule: `2026-12-05T14` (hour), `2026-12-05` (day), `2026-W49` (ISO 8601 week and
    /// its year, as Go's `ISOWeek`), `2026-12` (month), `2026` (year).
    public func hourLabel(_ unix: Int64) -> String {
        let w = wall(unix)
        return "\(Self.pad(w.year, 4))-\(Self.pad(w.month, 2))-\(Self.pad(w.day, 2))T\(Self.pad(w.hour, 2))"
    }

    public func dayLabel(_ unix: Int64) -> String {
        let w = wall(unix)
        return "\(Self.pad(w.year, 4))-\(Self.pad(w.month, 2))-\(Self.pad(w.day, 2))"
    }

    public func weekLabel(_ unix: Int64) -> String {
        let w = wall(unix)
        let (year, week) = Self.isoWeek(year: w.year, month: w.month, day: w.day)
        return "\(Self.pad(year, 4))-W\(Self.pad(week, 2))"
    }

    public func monthLabel(_ unix: Int64) -> String {
        let w = wall(unix)
        return "\(Self.pad(w.year, 4))-\(Self.pad(w.month, 2))"
    }

    public func yearLabel(_ unix: Int64) -> String { Self.pad(wall(unix).year, 4) }

    /// `unix` minus `years`, `months` and `days` on the wall clock (an overflowing day carries into the next month, as
    /// Go's `AddDate`: 31 March minus one month is 3 March in a common year), then minus `hours` real hours.
    public func subtracting(years: Int, months: Int, days: Int, hours: Int, from unix: Int64) -> Int64 {
        let w = wall(unix)
        var year = w.year - years
        var month0 = w.month - 1 - months
        year += Self.floorDivide(month0, 12)
        month0 -= Self.floorDivide(month0, 12) * 12
        let dayNumber = Self.daysFromCivil(year: year, month: month0 + 1, day: 1) + Int64(w.day - 1 - days)
        let wallSeconds = dayNumber * 86_400 + Int64(w.hour * 3600 + w.secondsIntoHour)
        return fromWall(wallSeconds) - Int64(hours) * 3600
    }

    /// The instant a wall-clock reading (seconds since 1970-01-01T00:00 on the wall) stands for; in a gap or an overlap
    /// the one Go's `time.Date` picks (the offset in force at the reading taken as UTC, corrected once).
    func fromWall(_ wallSeconds: Int64) -> Int64 {
        let first = offset(wallSeconds)
        let utc = wallSeconds - Int64(first)
        let second = offset(utc)
        return second == first ? utc : wallSeconds - Int64(second)
    }

    func offset(_ unix: Int64) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(unix)))
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(abs(value))
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
    static func floorDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day number (inverse of `daysFromCivil`).
    static func civil(_ days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    /// ISO 8601 week-numbering year and week (weeks start on Monday; week 1 holds the year's first Thursday).
    static func isoWeek(year: Int, month: Int, day: Int) -> (year: Int, week: Int) {
        let days = daysFromCivil(year: year, month: month, day: day)
        // 1970-01-01 was a Thursday: Monday = 0 ... Sunday = 6.
        let weekday = Int(days + 3 - floorDivide(days + 3, 7) * 7)
        let thursday = days - Int64(weekday) + 3
        let isoYear = civil(thursday).year
        let week = Int((thursday - daysFromCivil(year: isoYear, month: 1, day: 1)) / 7) + 1
        return (isoYear, week)
    }
}
