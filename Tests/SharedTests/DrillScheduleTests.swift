import Foundation
import GRDB
import TestClients
import Testing

@testable import Core
@testable import Scheduling
@testable import Store

/// Restore drills' spec and schedule (docs/architecture.md, "Restore drills") against a real database with a manual
/// clock.
@Suite struct DrillScheduleTests {
    static let t0: Int64 = 1_800_000_000 - 1_800_000_000 % 3600

    static func spec(drills: JSONValue) -> JSONValue {
        [
            "v": 1, "type": "sqlite", "source": ["path": "/tmp/x.db"], "target": ["type": "local_dir", "base_dir": "/tmp/t"],
            "drills": drills,
        ]
    }

    static func save(_ spec: JSONValue) throws -> JobInput {
        try JobInput(name: "j", schedule: "* * * * *", scheduleTimezone: "UTC", overlapPolicy: nil, spec: spec, defaultTimezone: "UTC")
    }

    @Test func theSpecIsTypeCheckedAndUnknownKeysAreNamed() throws {
        let parsed = try JobSpec.parse(Self.spec(drills: ["enabled": true, "schedule": "0 4 * * 0", "pick": "random", "test_restore": true]))
        #expect(parsed.drills == JobDrills(enabled: true, schedule: "0 4 * * 0", pick: .random, testRestore: true))
        #expect(try JobSpec.parse(parsed.storedJSON).drills == parsed.drills)
        #expect(JobSpec.unknownFields(Self.spec(drills: ["enabled": true, "shedule": "* * * * *"])) == ["drills.shedule"])
        let invalid: [(JSONValue, String)] = [
            ("weekly", "drills"), (["enabled": "yes"], "drills.enabled"), (["pick": "oldest"], "drills.pick"),
            (["schedule": "61 * * * *"], "drills.schedule"), (["schedule": "0 0 31 2 *"], "drills.schedule"),
            (["test_restore": 1], "drills.test_restore"),
        ]
        for (drills, field) in invalid {
            #expect(throws: ValidationError.self, "\(drills)") { try JobSpec.parse(Self.spec(drills: drills)) }
            do {
                _ = try JobSpec.parse(Self.spec(drills: drills))
            } catch let error as ValidationError {
                #expect(error.code == "invalid_spec" && error.field == field, "\(drills): \(error)")
            }
        }
    }

    /// Three schedulers, a backup and a drill every minute of the same job: each trigger is enqueued once per kind. With
    /// no snapshot yet, each drill is recorded failed (`no_snapshot`).
    @Test func drillsAndBackupsOfTheSameMinuteEachFireOnce() async throws {
        let dir = TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let job = try await database.createJob(
            try Self.save(Self.spec(drills: ["enabled": true, "schedule": "* * * * *"])),
            now: Self.t0
        )
        let time = SchedulerClock.ManualTime(Self.t0 + 5)
        let schedulers = (0..<3).map { _ in Scheduler(database: database, clock: SchedulerClock(manual: time), misfireGrace: 3600, logger: testLogger)
        }
        for scheduler in schedulers { try await scheduler.reload() }
        for minute in 1...3 {
            time.now = Self.t0 + Int64(minute * 60)
            var inserted = 0
            for scheduler in schedulers { inserted += await scheduler.fireDue() }
            #expect(inserted == 2, "minute \(minute)")
        }
        let runs = try await database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT kind, scheduled_for, status, error FROM runs WHERE job_id = ? ORDER BY scheduled_for, kind",
                arguments: [job.id]
            )
            .map { "\($0[0] as String) \($0[1] as Int64 - Self.t0) \($0[2] as String) \(($0[3] as String?) ?? "-")" }
        }
        #expect(
            runs == [
                "backup 60 queued -", "verify 60 failed no_snapshot", "backup 120 queued -", "verify 120 failed no_snapshot",
                "backup 180 queued -", "verify 180 failed no_snapshot",
            ]
        )
        // Drills switched off: the scheduler stops firing them.
        _ = try await database.updateJob(
            id: job.id,
            try Self.save(Self.spec(drills: ["enabled": false, "schedule": "* * * * *"])),
            now: Self.t0 + 200
        )
        for scheduler in schedulers { try await scheduler.reload() }
        time.now = Self.t0 + 240
        var inserted = 0
        for scheduler in schedulers { inserted += await scheduler.fireDue() }
        #expect(inserted == 1)
    }
}
