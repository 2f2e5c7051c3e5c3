import Core
import Foundation

/// `CronExpression(parsing:)` (a job's schedule, from `POST /api/jobs`): what it accepts stays in each field's range,
/// and the next trigger, when there is one, is later than the instant asked about and matches the expression.
enum FuzzCron {
    static let utc = TimeZone(identifier: "UTC")!
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let cron = try? CronExpression(parsing: String(decoding: bytes, as: UTF8.self)) else { return }
        check(cron.minutes.allSatisfy { (0...59).contains($0) } && !cron.minutes.isEmpty, "minutes \(cron.minutes)")
        check(cron.hours.allSatisfy { (0...23).contains($0) } && !cron.hours.isEmpty, "hours \(cron.hours)")
        check(cron.daysOfMonth.allSatisfy { (1...31).contains($0) } && !cron.daysOfMonth.isEmpty, "days of month \(cron.daysOfMonth)")
        check(cron.months.allSatisfy { (1...12).contains($0) } && !cron.months.isEmpty, "months \(cron.months)")
        check(cron.daysOfWeek.allSatisfy { (0...6).contains($0) } && !cron.daysOfWeek.isEmpty, "days of week \(cron.daysOfWeek)")
        // 2023-11-14 22:13:20 UTC; a DST change is at most months away in Berlin.
        let instant: Int64 = 1_700_000_000
        if let next = cron.nextTrigger(after: instant, in: utc) {
            check(next > instant, "the next trigger \(next) is not after \(instant)")
            let time = next % 86_400
            check(time % 60 == 0, "a trigger at second \(time % 60)")
            check(cron.minutes.contains(Int(time / 60 % 60)) && cron.hours.contains(Int(time / 3600)), "a trigger at \(next) outside the expression")
        } else {
            check(!cron.canFire, "no trigger within 40 years for an expression that can fire")
        }
        if let next = cron.nextTrigger(after: instant, in: berlin) { check(next > instant, "the next Berlin trigger is not after \(instant)") }
    }
}
