import Foundation
import GRDB
import TestClients
import Testing

@testable import Core
@testable import Scheduling
@testable import Store

/// The scheduler against a real database with a manual clock: no test waits for the wall clock.
@Suite struct SchedulerTests {
    static let t0: Int64 = 1_800_000_000 - 1_800_000_000 % 3600  // on an hour boundary

    func setUp(schedule: String = "* * * * *", overlap: String = "queue") async throws -> (AppDatabase, String, TemporaryDirectory) {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let spec: JSONValue = .object([
            "v": .number(1), "type": .string("sqlite"), "source": .object(["path": .string("/tmp/x.db")]),
            "target": .object(["type": .string("local_dir"), "base_dir": .string("/tmp/t")]),
        ])
        let input = try JobInput(name: "j", schedule: schedule, scheduleTimezone: "UTC", overlapPolicy: overlap, spec: spec, defaultTimezone: "UTC")
        let job = try await database.createJob(input, now: Self.t0)
        return (database, job.id, dir)
    }

    func scheduledRuns(_ database: AppDatabase) async throws -> [Int64] {
        try await database.pool.read { db in try Int64.fetchAll(db, sql: "SELECT scheduled_for FROM runs WHERE scheduled_for IS NOT NULL ORDER BY 1")
        }
    }

    @Test func threeSchedulersEnqueueEachTriggerOnce() async throws {
        let (database, _, dir) = try await setUp()
        defer { withExtendedLifetime(dir) {} }
        let time = SchedulerClock.ManualTime(Self.t0 + 5)
        let schedulers = (0..<3).map { _ in Scheduler(database: database, clock: SchedulerClock(manual: time), misfireGrace: 3600, logger: testLogger)
        }
        for scheduler in schedulers { try await scheduler.reload() }
        #expect(schedulers.allSatisfy { $0.earliestNext == Self.t0 + 60 })
        for minute in 1...3 {
            time.now = Self.t0 + Int64(minute * 60)
            var inserted = 0
            for scheduler in schedulers { inserted += await scheduler.fireDue() }
            #expect(inserted == 1, "minute \(minute)")
        }
        #expect(try await scheduledRuns(database) == [Self.t0 + 60, Self.t0 + 120, Self.t0 + 180])
        #expect(schedulers.allSatisfy { $0.earliestNext == Self.t0 + 240 })
    }

    @Test func catchUpRunsTheLatestMissWithinGraceOnce() async throws {
        let (database, job, dir) = try await setUp(schedule: "0 * * * *")
        defer { withExtendedLifetime(dir) {} }
        // No worker ran at t0+1h and t0+2h; one starts at t0+2h+10min.
        let time = SchedulerClock.ManualTime(Self.t0 + 7800)
        let first = Scheduler(database: database, clock: SchedulerClock(manual: time), misfireGrace: 3600, logger: testLogger)
        let second = Scheduler(database: database, clock: SchedulerClock(manual: time), misfireGrace: 3600, logger: testLogger)
        try await first.reload()
        try await second.reload()
        #expect(await first.catchUp() == 1)
        #expect(await second.catchUp() == 0)
        #expect(try await scheduledRuns(database) == [Self.t0 + 7200])
        let events = try await database.events(
            runId: try #require(try await database.listRuns(status: .queued, jobId: job, page: 1, pageSize: 1).items.first?.id),
            afterSeq: 0,
            limit: 10
        )
        #expect(events.first?.fields?["catch_up"] == .bool(true))
        #expect(events.first?.fields?["source"] == .string("schedule"))
    }

    @Test func missesOlderThanTheGraceAreSkipped() async throws {
        let (database, _, dir) = try await setUp(schedule: "0 * * * *")
        defer { withExtendedLifetime(dir) {} }
        let time = SchedulerClock.ManualTime(Self.t0 + 3600 + 1800)  // the 1h trigger was missed 30 min ago
        let scheduler = Scheduler(database: database, clock: SchedulerClock(manual: time), misfireGrace: 600, logger: testLogger)
        try await scheduler.reload()
        #expect(await scheduler.catchUp() == 0)
        #expect(try await scheduledRuns(database).isEmpty)
    }

    @Test func triggersBeforeTheJobExistedAreNotCaughtUp() async throws {
        let (database, _, dir) = try await setUp(schedule: "0 * * * *")
        defer { withExtendedLifetime(dir) {} }
        // The job was created at t0 (exactly on a trigger); a worker starting right after must not run it.
        let time = SchedulerClock.ManualTime(Self.t0 + 60)
        let scheduler = Scheduler(database: database, clock: SchedulerClock(manual: time), misfireGrace: 3600, logger: testLogger)
        try await scheduler.reload()
        #expect(await scheduler.catchUp() == 0)
    }

    @Test func archivedAndDeletedJobsStopFiring() async throws {
        let (database, job, dir) = try await setUp()
        defer { withExtendedLifetime(dir) {} }
        let time = SchedulerClock.ManualTime(Self.t0 + 5)
        let scheduler = Scheduler(database: database, clock: SchedulerClock(manual: time), misfireGrace: 3600, logger: testLogger)
        try await scheduler.reload()
        try await database.pool.write { db in try db.execute(sql: "UPDATE jobs SET archived_at = 1 WHERE id = ?", arguments: [job]) }
        time.now = Self.t0 + 60
        // Even before a reload, the enqueue refuses an archived job.
        #expect(await scheduler.fireDue() == 0)
        try await scheduler.reload()
        #expect(scheduler.earliestNext == nil)
        _ = try await database.deleteJob(id: job)
        try await scheduler.reload()
        #expect(scheduler.earliestNext == nil)
    }
}
