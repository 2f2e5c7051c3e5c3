import Foundation
import TestClients
import Testing

@testable import Archive
@testable import Core
@testable import Store

@Suite struct RetentionPolicyTests {
    @Test func keepsPinnedNewestAndRecentDeletesTheRest() {
        let day: Int64 = 86_400
        let now: Int64 = 100 * day
        let snapshots = (0..<10).map { RetentionPolicy.Snapshot(runId: "r\($0)", endedAt: now - Int64($0) * day, pinned: $0 == 9) }
        let decisions = RetentionPolicy(enabled: true, keepLast: 2, keepDays: 4).decide(snapshots, now: now, timeZone: .gmt)
        #expect(decisions.map(\.snapshot.runId) == (0..<10).map { "r\($0)" }, "newest first")
        #expect(decisions.filter(\.keep).map(\.snapshot.runId) == ["r0", "r1", "r2", "r3", "r4", "r9"])
        #expect(decisions[0].reasons == ["keep_last", "keep_days"] && decisions[4].reasons == ["keep_days"] && decisions[9].reasons == ["pinned"])
        #expect(RetentionPolicy().decide(snapshots, now: now, timeZone: .gmt).allSatisfy { $0.reasons.contains("retention_disabled") })
    }

    @Test func validatesTheRulesAndTheirLimits() throws {
        #expect(try RetentionPolicy.parse(.object([:])) == RetentionPolicy())
        #expect(try RetentionPolicy.parse(.object(["enabled": true, "keep_last": 3])).keepLast == 3)
        let full = try RetentionPolicy.parse(
            .object([
                "enabled": true, "keep_last": 100_000, "keep_hourly": -1, "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12,
                "keep_yearly": 0, "keep_within": "1y2m3d4h", "keep_days": 30,
            ])
        )
        #expect(full.keepLast == 100_000 && full.keepHourly == -1 && full.keepDaily == 7 && full.keepYearly == 0)
        #expect(full.keepWithin == RetentionPolicy.Duration(years: 1, months: 2, days: 3, hours: 4))
        #expect(try RetentionPolicy.parse(.object(["enabled": true, "keep_within": "36h"])).keepWithin?.description == "36h")
        #expect(try RetentionPolicy.parse(.object(["enabled": true, "keep_daily": -1])).keepDaily == -1)
        for bad: JSONValue in [
            .object(["enabled": true]), .object(["enabled": true, "keep_last": 0, "keep_days": 0]), .object(["keep_last": 100_001]),
            .object(["keep_days": 3651]), .object(["max_delete_per_tick": 0]), .object(["max_delete_per_day": 100_001]),
            .object(["enabled": "yes"]), .object(["keep_last": .number(1.5)]), .array([]), .object(["keep_daily": -2]),
            .object(["keep_weekly": "4"]), .object(["keep_within": "1w"]), .object(["keep_within": ""]), .object(["keep_within": "1y1y"]),
            .object(["keep_within": "-1d"]), .object(["keep_within": "12"]), .object(["keep_within": "d"]), .object(["keep_within": "100001d"]),
            .object(["keep_within": "1d 2h"]), .object(["keep_within": 5]), .object(["enabled": true, "keep_within": "0d"]),
            .object(["keep_within": "99999999999999999999d"]), .object(["keep_within": "\u{0661}d"]),
        ] {
            #expect(throws: ValidationError.self, "\(bad)") { try RetentionPolicy.parse(bad) }
        }
    }

    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    /// Seconds since 1970 of an RFC 3339 time with its offset (the offset says which reading of a repeated hour).
    static func at(_ text: String) -> Int64 {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return Int64(formatter.date(from: text)!.timeIntervalSince1970)
    }

    static func snapshots(_ times: [String]) -> [RetentionPolicy.Snapshot] {
        times.map { RetentionPolicy.Snapshot(runId: $0, endedAt: at($0), pinned: false) }
    }

    static func kept(_ decisions: [RetentionPolicy.Decision]) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: decisions.filter(\.keep).map { ($0.snapshot.runId, $0.reasons) })
    }

    /// Periods are read on the job zone's wall clock: a snapshot at 23:30 in Berlin on New Year's Eve is that day's and
    /// that year's, not the next (as it would be in UTC, 22:30); 30 December 2024 is in ISO week 2025-W01.
    @Test func periodsAreTheJobZonesWallClock() {
        let list = Self.snapshots(["2025-01-01T10:00:00+01:00", "2025-01-01T00:30:00+01:00", "2024-12-31T23:30:00+01:00"])
        let policy = RetentionPolicy(enabled: true, keepDaily: 2, keepWeekly: 1, keepYearly: 2)
        let decisions = policy.decide(list, now: Self.at("2026-01-01T00:00:00Z"), timeZone: Self.berlin)
        #expect(
            Self.kept(decisions) == [
                "2025-01-01T10:00:00+01:00": ["keep_daily", "keep_weekly", "keep_yearly"],
                "2024-12-31T23:30:00+01:00": ["keep_daily", "keep_yearly"],
            ]
        )
        #expect(decisions[0].buckets == ["keep_daily": "2025-01-01", "keep_weekly": "2025-W01", "keep_yearly": "2025"])
        #expect(decisions[2].buckets == ["keep_daily": "2024-12-31", "keep_yearly": "2024"])
        // In UTC the two older ones are both 31 December: the newer of them is that day's.
        let utc = policy.decide(list, now: Self.at("2026-01-01T00:00:00Z"), timeZone: .gmt)
        #expect(Set(Self.kept(utc).keys) == ["2025-01-01T10:00:00+01:00", "2025-01-01T00:30:00+01:00"])
        let calendar = RetentionCalendar(timeZone: .gmt)
        #expect(
            calendar.weekLabel(Self.at("2021-01-03T12:00:00Z")) == "2020-W53" && calendar.weekLabel(Self.at("2024-12-30T00:00:00Z")) == "2025-W01"
        )
        #expect(
            calendar.hourLabel(Self.at("2024-02-29T07:59:59Z")) == "2024-02-29T07"
                && calendar.monthLabel(Self.at("1969-12-31T23:00:00Z")) == "1969-12"
        )
    }

    /// DST: the hour repeated in autumn is one hour on the wall clock (one period, as restic's), the hour skipped in spring
    /// is none; `-1` counts without limit, and the oldest snapshot is kept while a rule has counts left (restic 0.18).
    @Test func hoursAcrossDaylightSavingChanges() {
        let autumn = Self.snapshots([
            "2024-10-27T03:15:00+01:00", "2024-10-27T02:45:00+01:00", "2024-10-27T02:15:00+01:00", "2024-10-27T02:45:00+02:00",
            "2024-10-27T02:15:00+02:00", "2024-10-27T01:50:00+02:00",
        ])
        let decisions = RetentionPolicy(enabled: true, keepHourly: -1).decide(autumn, now: Self.at("2026-01-01T00:00:00Z"), timeZone: Self.berlin)
        #expect(
            decisions.filter(\.keep).map(\.snapshot.runId) == ["2024-10-27T03:15:00+01:00", "2024-10-27T02:45:00+01:00", "2024-10-27T01:50:00+02:00"]
        )
        #expect(decisions.filter(\.keep).map { $0.buckets["keep_hourly"] ?? "" } == ["2024-10-27T03", "2024-10-27T02", "2024-10-27T01"])
        // Three hours to keep and two hours seen: the oldest is kept too (a count left), though its hour has a newer snapshot.
        let two = RetentionPolicy(enabled: true, keepHourly: 3).decide(
            Array(autumn.prefix(5)),
            now: Self.at("2026-01-01T00:00:00Z"),
            timeZone: Self.berlin
        )
        #expect(two.map(\.keep) == [true, true, false, false, true])
        #expect(two[4].buckets == ["keep_hourly": "2024-10-27T02"])
        let spring = Self.snapshots(["2025-03-30T03:30:00+02:00", "2025-03-30T03:10:00+02:00", "2025-03-30T01:30:00+01:00"])
        let springDecisions = RetentionPolicy(enabled: true, keepHourly: 2).decide(
            spring,
            now: Self.at("2026-01-01T00:00:00Z"),
            timeZone: Self.berlin
        )
        #expect(springDecisions.map(\.keep) == [true, false, true])
        #expect(springDecisions.map { $0.buckets["keep_hourly"] } == ["2025-03-30T03", nil, "2025-03-30T01"])
        let last = RetentionPolicy(enabled: true, keepLast: -1).decide(spring, now: 0, timeZone: Self.berlin)
        #expect(last.map { $0.buckets["keep_last"] } == ["1", "2", "3"])
    }

    /// `keep_within` counts back from the newest snapshot that is not in the future (not from now), on the wall clock:
    /// 23 days before 12 November 10:00 (CET) is 20 October 10:00 (CEST), 23 × 24 + 1 real hours.
    @Test func keepWithinCountsFromTheNewestSnapshotOnTheWallClock() {
        let list = Self.snapshots([
            "2030-01-01T00:00:00+01:00", "2025-11-12T10:00:00+01:00", "2025-10-20T10:30:00+02:00", "2025-10-20T09:30:00+02:00",
        ])
        let policy = RetentionPolicy(enabled: true, keepWithin: .init(days: 23))
        let decisions = policy.decide(list, now: Self.at("2026-06-01T00:00:00Z"), timeZone: Self.berlin)
        #expect(decisions.map(\.reasons) == [["keep_within"], ["keep_within"], ["keep_within"], []])
        // Hours are real hours: 23d1h reaches 09:00 CEST on the 20th.
        let hour = RetentionPolicy(enabled: true, keepWithin: .init(days: 23, hours: 1)).decide(
            list,
            now: Self.at("2026-06-01T00:00:00Z"),
            timeZone: Self.berlin
        )
        #expect(hour.map(\.keep) == [true, true, true, true])
        // Go's AddDate: 31 March minus one month is "31 February", 3 March; minus a year from 29 February 2024 is 1 March 2023.
        let calendar = RetentionCalendar(timeZone: Self.berlin)
        #expect(
            calendar.subtracting(years: 0, months: 1, days: 0, hours: 0, from: Self.at("2025-03-31T12:00:00+02:00"))
                == Self.at("2025-03-03T12:00:00+01:00")
        )
        #expect(
            calendar.subtracting(years: 1, months: 0, days: 0, hours: 0, from: Self.at("2024-02-29T08:00:00+01:00"))
                == Self.at("2023-03-01T08:00:00+01:00")
        )
        // A reading in the skipped hour lands after it, as Go's time.Date puts it.
        #expect(
            calendar.subtracting(years: 0, months: 0, days: 1, hours: 0, from: Self.at("2025-03-31T02:30:00+02:00"))
                == Self.at("2025-03-30T03:30:00+02:00")
        )
    }

    /// Pins and chain bases are kept besides the rules and take no period from them (restic's `--keep-tag` does the
    /// same); `keep_days` still counts from now.
    @Test func pinsAndChainBasesTakeNoPeriod() {
        let day: Int64 = 86_400
        let now: Int64 = 1_000 * day
        let list = [
            RetentionPolicy.Snapshot(runId: "new", endedAt: now - day, pinned: false, baseRunId: "base"),
            RetentionPolicy.Snapshot(runId: "pinned", endedAt: now - 2 * day, pinned: true),
            RetentionPolicy.Snapshot(runId: "older", endedAt: now - 3 * day, pinned: false),
            RetentionPolicy.Snapshot(runId: "base", endedAt: now - 30 * day, pinned: false),
            RetentionPolicy.Snapshot(runId: "oldest", endedAt: now - 40 * day, pinned: false),
        ]
        let decisions = RetentionPolicy(enabled: true, keepDaily: 2, keepDays: 1).decide(list, now: now, timeZone: .gmt)
        #expect(decisions.map(\.reasons) == [["keep_daily", "keep_days"], ["pinned", "keep_daily"], [], ["chain_base"], []])
    }

    /// The janitor and `apply` read the periods in the job's `schedule_timezone`: 01:00 UTC and 14:00 UTC are one day
    /// in UTC but 16:00 UTC is the next day in Tokyo (UTC+9).
    @Test func queuedDeletesUseTheJobsZone() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let spec: JSONValue = .object([
            "v": 1, "type": "filesystem", "source": .object(["paths": .array(["/a"])]), "target": .object(["type": "local_dir", "base_dir": "/b"]),
        ])
        let policy = RetentionPolicy(enabled: true, keepDaily: 2)
        var queued: [String: [String]] = [:]
        for zone in ["Asia/Tokyo", "UTC"] {
            let job = try await database.createJob(
                try JobInput(name: zone, schedule: nil, scheduleTimezone: zone, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
            )
            for (run, ended) in [("a", "2025-01-01T01:00:00Z"), ("b", "2025-01-01T14:00:00Z"), ("c", "2025-01-01T16:00:00Z")] {
                try await IncrementalLogicTests.record(database, job: job.id, "\(zone)-\(run)", level: 0, base: nil, ended: Self.at(ended))
            }
            queued[zone] = try await database.queueRetentionDeletes(jobId: job.id, policy: policy, now: Self.at("2026-01-01T00:00:00Z"))
        }
        // Tokyo: c (2 January) and b (1 January) are their days' newest. UTC: c is 1 January's, a the oldest (a count left).
        #expect(queued == ["Asia/Tokyo": ["Asia/Tokyo-a"], "UTC": ["UTC-b"]])
    }
}
