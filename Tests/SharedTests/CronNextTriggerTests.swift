import Foundation
import Testing

@testable import Core

/// Next-trigger computation against a table of expressions and instants, DST included. No wall clock involved.
@Suite struct CronNextTriggerTests {
    static func instant(_ text: String) -> Int64 {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return Int64(formatter.date(from: text)!.timeIntervalSince1970)
    }

    static func text(_ instant: Int64?) -> String {
        guard let instant else { return "never" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(instant)))
    }

    @Test(arguments: [
        // expression, zone, after, expected next (UTC)
        ("0 0 * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
        ("*/15 * * * *", "UTC", "2026-01-01T10:07:00Z", "2026-01-01T10:15:00Z"),
        ("*/15 * * * *", "UTC", "2026-01-01T10:15:00Z", "2026-01-01T10:30:00Z"),
        ("0 12 * * MON", "UTC", "2024-01-01T12:00:00Z", "2024-01-08T12:00:00Z"),
        ("0 12 * * 1", "UTC", "2023-12-31T00:00:00Z", "2024-01-01T12:00:00Z"),
        ("0 9 * * SUN", "UTC", "2024-01-01T00:00:00Z", "2024-01-07T09:00:00Z"),
        ("0 9 * * 0", "UTC", "2024-01-01T00:00:00Z", "2024-01-07T09:00:00Z"),
        ("0 9 * * 7", "UTC", "2024-01-01T00:00:00Z", "2024-01-07T09:00:00Z"),
        ("0 0 31 * *", "UTC", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"),
        ("0 0 29 2 *", "UTC", "2025-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("0 0 1 JAN *", "UTC", "2026-06-15T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("0 0 13 * FRI", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
        ("0 3 * * *", "Europe/Berlin", "2026-07-01T00:00:00Z", "2026-07-01T01:00:00Z"),
        ("0 3 * * *", "America/New_York", "2026-01-15T00:00:00Z", "2026-01-15T08:00:00Z"),
        // New York, spring forward 2026-03-08 02:00 EST → 03:00 EDT: 02:30 does not exist, fires at the jump.
        ("30 2 * * *", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-08T07:00:00Z"),
        ("30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"),
        // New York, fall back 2026-11-01 02:00 EDT → 01:00 EST: 01:30 happens twice, fires at the first.
        ("30 1 * * *", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-01T05:30:00Z"),
        ("30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"),
        ("*/30 * * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z"),
        // Berlin, spring forward 2026-03-29 02:00 CET → 03:00 CEST; fall back 2026-10-25 03:00 CEST → 02:00 CET.
        ("30 2 * * *", "Europe/Berlin", "2026-03-28T23:00:00Z", "2026-03-29T01:00:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-10-24T23:00:00Z", "2026-10-25T00:30:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"),
    ])
    func nextTrigger(_ expression: String, _ zone: String, _ after: String, _ expected: String) throws {
        let cron = try CronExpression(parsing: expression)
        let next = cron.nextTrigger(after: Self.instant(after), in: try #require(TimeZone(identifier: zone)))
        #expect(Self.text(next) == expected, "\(expression) in \(zone) after \(after)")
    }

    @Test func gapTriggersFireOnceEvenWhenSeveralFallInTheGap() throws {
        let cron = try CronExpression(parsing: "*/15 2 * * *")
        let zone = try #require(TimeZone(identifier: "America/New_York"))
        let triggers = cron.nextTriggers(after: Self.instant("2026-03-08T05:00:00Z"), count: 3, in: zone).map(Self.text)
        #expect(triggers == ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:15:00Z"])
    }

    @Test func impossibleExpressionsNeverFire() throws {
        for text in ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"] {
            let cron = try CronExpression(parsing: text)
            #expect(!cron.canFire, "\(text)")
            #expect(cron.nextTrigger(after: 0, in: TimeZone(identifier: "UTC")!) == nil)
        }
        for text in ["0 0 31 2 MON", "0 0 29 2 *", "0 0 31 1-2 *"] {
            #expect(try CronExpression(parsing: text).canFire, "\(text)")
        }
    }

    @Test func civilDatesMatchFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in stride(from: Int64(-98_000), through: 800_000, by: 997) {  // 1701…4160: Foundation is Julian before 1582
            let date = Date(timeIntervalSince1970: TimeInterval(day * 86_400))
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: date)
            let civil = CronExpression.civil(fromDays: day)
            #expect(civil.year == parts.year && civil.month == parts.month && civil.day == parts.day)
            #expect(CronExpression.weekday(fromDays: day) == parts.weekday! - 1)
        }
    }
}
