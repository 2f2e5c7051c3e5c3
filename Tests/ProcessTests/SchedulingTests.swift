import Foundation
import GRDB
import TestClients
import Testing

/// Cron scheduling in real workers, on a scaled test clock (60×: a cron minute every real second) that every
/// process shares through the environment; the product's `--help` does not offer it.
@Suite(.serialized) struct SchedulingTests {
    static func fastClock() -> [String: String] {
        ["BASTION_TEST_TIME_SCALE": "60", "BASTION_TEST_TIME_ANCHOR": String(Date().timeIntervalSince1970)]
    }

    func scheduledRuns(_ fixture: RunsFixture, job: String) async throws -> [(run: String, scheduledFor: Int64)] {
        try await fixture.readDatabase { db in
            try Row.fetchAll(
                db,
                sql: "SELECT id, scheduled_for FROM runs WHERE job_id = ? AND scheduled_for IS NOT NULL ORDER BY scheduled_for",
                arguments: [job]
            )
            .map { ($0["id"], $0["scheduled_for"]) }
        }
    }

    @Test func threeWorkersEnqueueEachTriggerExactlyOnce() async throws {
        let fixture = try await RunsFixture()
        let clock = Self.fastClock()
        for index in 0..<3 { try await fixture.startWorker("w\(index)", environment: clock) }
        let job = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 1), schedule: "* * * * *")
        try await Task.sleep(for: .seconds(5))
        let runs = try await scheduledRuns(fixture, job: job)
        let triggers = runs.map(\.scheduledFor)
        #expect(triggers.count >= 3, "\(triggers)")
        #expect(Set(triggers).count == triggers.count, "a trigger was enqueued twice: \(triggers)")
        #expect(zip(triggers, triggers.dropFirst()).allSatisfy { $1 - $0 == 60 }, "a trigger was skipped: \(triggers)")
        #expect(triggers.allSatisfy { $0 % 60 == 0 })
        // They ran, through the normal claim path.
        #expect(await eventually { await fixture.status(runs[0].run) == "success" })
        let first = try await fixture.events(runs[0].run)
        #expect((first.first?["fields"] as? [String: Any])?["source"] as? String == "schedule")
    }

    @Test(arguments: [(3600, true), (1, false)])
    func aTriggerMissedWhileNoWorkerRanIsCaughtUpWithinTheGrace(_ grace: Int, _ expectCatchUp: Bool) async throws {
        let fixture = try await RunsFixture()
        // Anchored on a multiple of 60: virtual minute boundaries fall on whole real seconds, so a worker started at
        // a half second always starts ~30 virtual seconds after the latest trigger (deterministic grace check).
        let now = Date().timeIntervalSince1970
        let anchor = now.rounded(.down) - now.rounded(.down).truncatingRemainder(dividingBy: 60)
        let clock = ["BASTION_TEST_TIME_SCALE": "60", "BASTION_TEST_TIME_ANCHOR": String(anchor)]
        let job = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 1), schedule: "* * * * *")
        // No worker while a couple of (scaled) minutes pass.
        try await Task.sleep(for: .milliseconds(2000))
        let fraction = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 1)
        try await Task.sleep(for: .milliseconds(Int64(((1.5 - fraction).truncatingRemainder(dividingBy: 1)) * 1000)))
        let worker = try await fixture.startWorker("w0", ["--misfire-grace", "\(grace)"], environment: clock)
        try await Task.sleep(for: .milliseconds(300))
        var catchUps = 0
        for (run, _) in try await scheduledRuns(fixture, job: job) {
            let queued = try await fixture.events(run).first
            if (queued?["fields"] as? [String: Any])?["catch_up"] as? Bool == true { catchUps += 1 }
        }
        #expect(catchUps == (expectCatchUp ? 1 : 0))
        if !expectCatchUp {
            #expect(worker.log.contains("Missed trigger older than the misfire grace skipped"), "\(worker.log)")
        }
    }

    @Test func farFutureSchedulesLeaveTheWorkerSilent() async throws {
        let fixture = try await RunsFixture()
        let worker = try await fixture.startWorker("w0", ["--log-level", "trace", "--safety-poll-seconds", "3600"])
        _ = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 1), schedule: "0 0 1 1 *")
        // The `wake jobs` hint makes the worker reload once; after that it sleeps until next January 1st.
        #expect(await eventually { worker.log.contains("Schedules loaded") && worker.count("sql=") > 0 })
        try await Task.sleep(for: .milliseconds(500))
        let settled = worker.count("sql=")
        try await Task.sleep(for: .seconds(3))
        #expect(worker.count("sql=") == settled, "the worker queried while idle")
    }
}
