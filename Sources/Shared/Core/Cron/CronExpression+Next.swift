import Foundation

/// Trigger computation in a job's IANA time zone, with the DST rules of the scheduling issue:
/// - a trigger whose local time falls in a spring-forward gap fires once, right after the gap;
/// - a trigger whose local time occurs twice (fall-back fold) fires once, at the first occurrence.
extension CronExpression {
    /// Days of each month in a leap year: the most a month can have.
    private static let maxDaysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    /// False for expressions no date can satisfy, such as `0 0 31 2 *` or `0 0 30 2 *`.
    public var canFire: Bool {
        // A restricted weekday matches on its own (cron's "either day field" rule), so only a restricted day of
        // month with an unrestricted weekday can be impossible.
        guard dayOfWeekIsWildcard, !dayOfMonthIsWildcard else { return true }
        return months.contains { month in daysOfMonth.contains { $0 <= Self.maxDaysInMonth[month - 1] } }
    }

    /// The first trigger strictly after `instant` (unix seconds), or nil if none within 40 years.
    public func nextTrigger(after instant: Int64, in zone: TimeZone) -> Int64? {
        guard canFire else { return nil }
        let localAfter = instant + Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
        let firstDay = Self.floorDiv(localAfter, 86_400)
        let firstMinute = Int((localAfter - firstDay * 86_400) / 60)
        let sortedHours = hours.sorted()
        let sortedMinutes = minutes.sorted()
        for offset in 0..<(366 * 40) {
            let day = firstDay + Int64(offset)
            let (_, month, dayOfMonth) = Self.civil(fromDays: day)
            guard months.contains(month), dayMatches(dayOfMonth: dayOfMonth, weekday: Self.weekday(fromDays: day)) else { continue }
            for hour in sortedHours {
                for minute in sortedMinutes {
                    if offset == 0, hour * 60 + minute < firstMinute { continue }
                    let local = day * 86_400 + Int64(hour * 3600 + minute * 60)
                    let trigger = Self.resolve(local: local, in: zone)
                    if trigger > instant { return trigger }
                }
            }
        }
        return nil
    }

    /// The next `count` triggers after `instant`.
    public func nextTriggers(after instant: Int64, count: Int, in zone: TimeZone) -> [Int64] {
        var result: [Int64] = []
        var cursor = instant
        while result.count < count, let next = nextTrigger(after: cursor, in: zone) {
            result.append(next)
            cursor = next
        }
        return result
    }

    private func dayMatches(dayOfMonth: Int, weekday: Int) -> Bool {
        let domMatch = daysOfMonth.contains(dayOfMonth)
        let dowMatch = daysOfWeek.contains(weekday)
        switch (dayOfMonthIsWildcard, dayOfWeekIsWildcard) {
        case (true, true): return true
        case (true, false): return dowMatch
        case (false, true): return domMatch
        case (false, false): return domMatch || dowMatch
        }
    }

    /// The instant of a local wall time: the earlier one in a fold, the end of the gap in a gap.
    static func resolve(local: Int64, in zone: TimeZone) -> Int64 {
        func offset(_ t: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))) }
        let before = offset(local - 86_400)
        let after = offset(local + 86_400)
        // `local - o` is a real occurrence when the zone's offset at that instant is indeed `o`.
        let candidates = Set([before, after]).compactMap { o -> Int64? in offset(local - o) == o ? local - o : nil }
        if let first = candidates.min() { return first }
        // A gap: the local time does not exist. Fire at the transition, the first instant after the gap.
        var low = local - max(before, after)
        var high = local - min(before, after)
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if offset(mid) == offset(low) { low = mid } else { high = mid }
        }
        return high
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// 0 = Sunday; 1970-01-01 was a Thursday.
    static func weekday(fromDays days: Int64) -> Int {
        Int(((days % 7) + 7 + 4) % 7)
    }

    /// Proleptic Gregorian date of a day number (days since 1970-01-01), after H. Hinnant's `civil_from_days`.
    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}
