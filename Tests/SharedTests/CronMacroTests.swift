import Foundation
import Testing

@testable import Core

/// Schedule macros (`@daily`, …; docs/architecture.md, "Jobs and specs"): each is its five fields, fires at local
/// times in the job's zone across DST like them, and every other `@` string is refused.
@Suite struct CronMacroTests {
    typealias T = CronNextTriggerTests

    @Test(arguments: [
        ("@hourly", "0 * * * *"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"), ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@DAILY", "0 0 * * *"),
        ("  @Weekly\t", "0 0 * * 0"),
    ])
    func aMacroIsItsFields(_ macro: String, _ fields: String) throws {
        #expect(try CronExpression(parsing: macro) == CronExpression(parsing: fields))
    }

    @Test(arguments: [
        // macro, zone, after, expected next (UTC)
        ("@daily", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
        // New York springs forward on 2026-03-08 at 02:00: midnight is 05:00Z before it and 04:00Z after it.
        ("@daily", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"),
        ("@daily", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"),
        // Santiago springs forward at midnight (2026-09-06 00:00 -04 → 01:00 -03): the day's trigger is the jump.
        ("@daily", "America/Santiago", "2026-09-05T04:00:00Z", "2026-09-06T04:00:00Z"),
        ("@daily", "America/Santiago", "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z"),
        // The hour that does not exist (02:00 in New York) fires once, at the jump; the next is 04:00 EDT.
        ("@hourly", "America/New_York", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z"),
        ("@hourly", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"),
        // 01:00 happens twice on 2026-11-01 in New York: once, at the first; then 02:00 EST.
        ("@hourly", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z"),
        ("@hourly", "America/New_York", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z"),
        // Sunday midnight in Berlin, in winter (+01:00) and summer (+02:00).
        ("@weekly", "Europe/Berlin", "2026-03-23T00:00:00Z", "2026-03-28T23:00:00Z"),
        ("@weekly", "Europe/Berlin", "2026-03-28T23:00:00Z", "2026-04-04T22:00:00Z"),
        ("@monthly", "Asia/Shanghai", "2026-01-31T16:00:00Z", "2026-02-28T16:00:00Z"),
        ("@yearly", "Europe/Berlin", "2026-06-15T00:00:00Z", "2026-12-31T23:00:00Z"),
        ("@annually", "UTC", "2026-06-15T00:00:00Z", "2027-01-01T00:00:00Z"),
    ])
    func nextTrigger(_ macro: String, _ zone: String, _ after: String, _ expected: String) throws {
        let cron = try CronExpression(parsing: macro)
        let next = cron.nextTrigger(after: T.instant(after), in: try #require(TimeZone(identifier: zone)))
        #expect(T.text(next) == expected, "\(macro) in \(zone) after \(after)")
    }

    @Test(arguments: [
        "@", "@every 5m", "@every", "@reboot", "@daily 5", "@daily@hourly", "@ daily", "@dailyx", "@hourly\n", "0 @daily * * *",
        "@daily * * * *", "@\u{0}daily", "@ｄａｉｌｙ", String(repeating: "@", count: 10_000),
    ])
    func otherAtWordsAreRefused(_ text: String) {
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(parsing: text) }
    }

    @Test func theRefusalNamesTheMacrosAndStaysShort() throws {
        let error = try #require(throws: CronExpression.ParseError.self) { try CronExpression(parsing: "@" + String(repeating: "x", count: 5000)) }
        #expect(error.message.contains("@daily") && error.message.count < 200, "\(error.message)")
    }

    /// A job stores the macro as typed and validates it like any schedule.
    @Test func aJobKeepsItsMacro() throws {
        let input = try JobInput(
            name: "n",
            schedule: " @weekly ",
            scheduleTimezone: "UTC",
            overlapPolicy: nil,
            spec: ["v": 1, "type": "sqlite", "source": ["path": "/a.db"], "target": ["type": "local_dir", "base_dir": "/x"]],
            defaultTimezone: "UTC"
        )
        #expect(input.schedule == "@weekly")
        #expect(throws: ValidationError.self) {
            try JobInput(
                name: "n",
                schedule: "@every 1h",
                scheduleTimezone: "UTC",
                overlapPolicy: nil,
                spec: ["v": 1, "type": "sqlite", "source": ["path": "/a.db"], "target": ["type": "local_dir", "base_dir": "/x"]],
                defaultTimezone: "UTC"
            )
        }
    }
}
