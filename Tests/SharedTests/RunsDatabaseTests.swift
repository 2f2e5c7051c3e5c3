import Foundation
import GRDB
import Synchronization
import TestClients
import Testing

@testable import Core
@testable import Runs
@testable import Store

@Suite struct RunsDatabaseTests {
    final class Published: Sendable {
        let events = Mutex<[RunEvent]>([])
        var all: [RunEvent] { events.withLock { $0 } }
    }

    func setUp(overlap: String = "queue") async throws -> (AppDatabase, Published, String, TemporaryDirectory) {
        let dir = TemporaryDirectory()
        let published = Published()
        let database = try AppDatabase.open(
            in: dir.dataDirectory,
            publisher: CallbackPublisher { work in published.events.withLock { $0 += work.events } }
        )
        let spec: JSONValue = .object([
            "v": .number(1), "type": .string("sqlite"), "source": .object(["path": .string("/tmp/x.db")]),
            "target": .object(["type": .string("local_dir"), "base_dir": .string("/tmp/t")]),
        ])
        let input = try JobInput(name: "j", schedule: nil, scheduleTimezone: nil, overlapPolicy: overlap, spec: spec, defaultTimezone: "UTC")
        let job = try await database.createJob(input)
        return (database, published, job.id, dir)
    }

    @Test func rejectPolicyRejectsWhileAnotherRunIsActive() async throws {
        let (database, published, job, dir) = try await setUp(overlap: "reject")
        defer { withExtendedLifetime(dir) {} }
        let first = try #require(try await database.enqueueRun(jobId: job, source: "manual", now: 100))
        let second = try #require(try await database.enqueueRun(jobId: job, source: "schedule", now: 101))
        #expect(first.status == .queued)
        #expect(second.status == .rejected && second.error == "overlap_rejected" && second.endedAt == 101)
        #expect(published.all.map(\.kind) == ["queued", "rejected"])
        #expect(published.all[1].fields?["source"] == .string("schedule"))
        #expect(try await database.enqueueRun(jobId: "missing", source: "manual") == nil)
        #expect(published.all.count == 2, "nothing published for a job that does not exist")
    }

    @Test func claimsOldestFirstAndNeverTheSameRunTwice() async throws {
        let (database, _, job, dir) = try await setUp()
        defer { withExtendedLifetime(dir) {} }
        var ids: [String] = []
        for t in 0..<20 { ids.append(try #require(try await database.enqueueRun(jobId: job, source: "manual", now: Int64(100 + t))).id) }
        final class Claimed: Sendable { let ids = Mutex<[String]>([]) }
        let box = Claimed()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    while let run = try? await database.claimNextRun(workerId: "w\(worker)") {
                        box.ids.withLock { $0.append(run.run.id) }
                    }
                }
            }
        }
        let all = box.ids.withLock { $0 }
        #expect(all.count == 20)
        #expect(Set(all) == Set(ids))
        let first = try await database.claimNextRun(workerId: "late")
        #expect(first == nil)
    }

    @Test func writesAreFencedByTheClaimToken() async throws {
        let (database, published, job, dir) = try await setUp()
        defer { withExtendedLifetime(dir) {} }
        let run = try #require(try await database.enqueueRun(jobId: job, source: "manual", now: 100))
        let claim = try #require(try await database.claimNextRun(workerId: "w1", now: 100))
        #expect(claim.run.id == run.id && claim.run.status == .running)
        #expect(try await database.heartbeat(runId: run.id, claimToken: "forged") == .lost)
        #expect(try await database.completeRun(runId: run.id, claimToken: "forged", outcome: .success(summary: .null)) == nil)
        #expect(try await database.heartbeat(runId: run.id, claimToken: claim.claimToken, now: 105) == .alive(cancelRequested: false))

        // The worker goes silent past its lease: recovery fails the run and the old token is dead.
        #expect(try await database.recoverLostRuns(leaseSeconds: 60, now: 200) == [run.id])
        let recovered = try #require(try await database.run(id: run.id))
        #expect(recovered.status == .failed && recovered.error == "worker_lost")
        #expect(try await database.heartbeat(runId: run.id, claimToken: claim.claimToken) == .lost)
        #expect(try await database.completeRun(runId: run.id, claimToken: claim.claimToken, outcome: .success(summary: .null)) == nil)
        #expect(try await database.run(id: run.id)?.status == .failed)
        #expect(published.all.map(\.kind) == ["queued", "start", "failed"])
        #expect(published.all.map(\.seq) == [1, 2, 3])
    }

    @Test func aCancelRequestTurnsAnyOutcomeIntoCanceled() async throws {
        let (database, _, job, dir) = try await setUp()
        defer { withExtendedLifetime(dir) {} }
        _ = try await database.enqueueRun(jobId: job, source: "manual")
        let claim = try #require(try await database.claimNextRun(workerId: "w1"))
        let cancel = try #require(try await database.cancelRun(id: claim.run.id, userId: 7, reason: nil))
        #expect(cancel.notifyWorker && cancel.run.status == .running && cancel.run.cancelReason == "manual")
        #expect(try await database.heartbeat(runId: claim.run.id, claimToken: claim.claimToken) == .alive(cancelRequested: true))
        let status = try await database.completeRun(runId: claim.run.id, claimToken: claim.claimToken, outcome: .success(summary: .object([:])))
        #expect(status == .canceled)
        let run = try #require(try await database.run(id: claim.run.id))
        #expect(run.summary == nil && run.error == "canceled" && run.cancelRequestedByUserId == 7)
        // Terminal: a second cancel changes nothing.
        let again = try #require(try await database.cancelRun(id: run.id, userId: 8, reason: "again"))
        #expect(!again.notifyWorker && again.run == run)
    }

    @Test func releaseOnShutdownRequeues() async throws {
        let (database, _, job, dir) = try await setUp()
        defer { withExtendedLifetime(dir) {} }
        _ = try await database.enqueueRun(jobId: job, source: "manual")
        let claim = try #require(try await database.claimNextRun(workerId: "w1"))
        #expect(try await database.releaseRun(runId: claim.run.id, claimToken: claim.claimToken, reason: "worker_shutdown") == .queued)
        let again = try #require(try await database.claimNextRun(workerId: "w2"))
        #expect(again.run.id == claim.run.id && again.claimToken != claim.claimToken)
        #expect(try await database.heartbeat(runId: claim.run.id, claimToken: claim.claimToken) == .lost)
    }

    @Test func completingClaimsTheNextRunInTheSameTransaction() async throws {
        let (database, published, job, dir) = try await setUp()
        defer { withExtendedLifetime(dir) {} }
        let first = try #require(try await database.enqueueRun(jobId: job, source: "manual", now: 100))
        let second = try #require(try await database.enqueueRun(jobId: job, source: "manual", now: 101))
        let claim = try #require(try await database.claimNextRun(workerId: "w1", now: 102))
        #expect(claim.run.id == first.id)
        let (status, next) = try await database.completeRunAndClaimNext(
            runId: first.id,
            claimToken: claim.claimToken,
            outcome: .success(summary: .object([:])),
            workerId: "w1",
            now: 103
        )
        #expect(status == .success)
        #expect(next?.run.id == second.id && next?.run.status == .running && next?.claimToken != claim.claimToken)
        // A forged or stale token completes nothing, and the queue is empty now.
        let (lost, none) = try await database.completeRunAndClaimNext(
            runId: first.id,
            claimToken: claim.claimToken,
            outcome: .failed(code: "x", message: "x", summary: nil),
            workerId: "w1"
        )
        #expect(lost == nil && none == nil)
        #expect(try await database.run(id: first.id)?.status == .success)
        #expect(published.all.filter { $0.runId == second.id }.map(\.kind) == ["queued", "start"])
    }

    @Test func eventSinkFlushesAfterIdlingAndOnFinish() async throws {
        let (database, _, job, dir) = try await setUp()
        defer { withExtendedLifetime(dir) {} }
        let run = try #require(try await database.enqueueRun(jobId: job, source: "manual"))
        let sink = RunEventSink(database: database, runId: run.id)
        let loop = Task { await sink.run() }
        // The loop sleeps while nothing is buffered; the first event wakes it.
        try await Task.sleep(for: .milliseconds(100))
        sink.emit(kind: "log", message: "one")
        #expect(await eventually { (try? await database.events(runId: run.id, afterSeq: 0, limit: 10).count) == 2 })
        for index in 0..<600 { sink.emit(kind: "log", message: "\(index)") }
        sink.stop()
        await loop.value
        let events = try await database.events(runId: run.id, afterSeq: 0, limit: 1000)
        #expect(events.map(\.seq) == Array(1...602))
        #expect(events.last?.message == "599")
    }

    @Test func batchAppendNumbersDenselyAndReadsPageBySeq() async throws {
        let (database, _, job, dir) = try await setUp()
        defer { withExtendedLifetime(dir) {} }
        let run = try #require(try await database.enqueueRun(jobId: job, source: "manual"))
        let appended = try await database.appendEvents(runId: run.id, (0..<300).map { NewRunEvent(kind: "log", message: "\($0)") })
        #expect(appended.map(\.seq) == Array(2...301))
        let page = try await database.events(runId: run.id, afterSeq: 100, limit: 200)
        #expect(page.map(\.seq) == Array(101...300))
        let plan = try await database.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + AppDatabase.eventsAfterSQL, arguments: [run.id, 0, 200]).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("PRIMARY KEY") } && !plan.contains { $0.contains("TEMP B-TREE") }, "\(plan)")
    }
}

@Suite struct CronExpressionTests {
    @Test(arguments: [
        ("*/15 * * * *", [0, 15, 30, 45]),
        ("0 0 * * *", [0]),
        ("5,10-12 * * * *", [5, 10, 11, 12]),
        ("0 10-40/10 * * * *", [10, 20, 30, 40]),
        ("50/5 * * * *", [50, 55]),
    ])
    func minutes(_ text: String, _ expected: [Int]) throws {
        #expect(try CronExpression(parsing: text).minutes == Set(expected))
    }

    @Test func namesAndBothSundays() throws {
        let cron = try CronExpression(parsing: "0 3 * JAN-MAR SUN,sat")
        #expect(cron.months == [1, 2, 3])
        #expect(cron.daysOfWeek == [0, 6])
        #expect(try CronExpression(parsing: "0 3 * * 7").daysOfWeek == [0])
        #expect(try CronExpression(parsing: "0 3 * * 0").daysOfWeek == [0])
        #expect(try CronExpression(parsing: "0 0 3 * * 1-5").daysOfWeek == [1, 2, 3, 4, 5])
    }

    @Test(arguments: [
        "", "* * * *", "* * * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
        "5-1 * * * *", "*/0 * * * *", "1 * * * * *", "a * * * *", "1,,2 * * * *", "* * * * MOON",
    ])
    func rejects(_ text: String) {
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(parsing: text) }
    }
}

@Suite struct JobSpecTests {
    @Test func v1AndV2ParseToTheSameSpec() throws {
        let v1 = try JSONValue.parse(
            #"{"v":1,"type":"sqlite","source":{"path":"/db","integrity_check":true},"target":{"type":"local_dir","base_dir":"/b"}}"#
        )
        let v2 = try JSONValue.parse(
            #"{"v":2,"source":{"type":"sqlite","version":1,"config":{"path":"/db","integrity_check":true}},"target":{"type":"local_dir","version":1,"config":{"base_dir":"/b"},"auth_refs":{}}}"#
        )
        let a = try JobSpec.parse(v1)
        let b = try JobSpec.parse(v2)
        #expect(a == b)
        #expect(a.storedJSON == b.storedJSON)
        #expect(try JobSpec.parse(a.storedJSON) == a, "the stored form parses back to itself")
        guard case .localDir(let target) = a.target else {
            Issue.record("target")
            return
        }
        #expect(target.partSizeBytes == 268_435_456)
    }

    @Test(arguments: [
        (#"{"v":1,"type":"filesystem","source":{"paths":["  "]},"target":{"type":"local_dir","base_dir":"/b"}}"#, "source.paths"),
        (
            #"{"v":1,"type":"filesystem","source":{"paths":["/a"],"symlink_policy":"maybe"},"target":{"type":"local_dir","base_dir":"/b"}}"#,
            "source.symlink_policy"
        ),
        (#"{"v":1,"type":"sqlite","source":{"path":"/a"},"target":{"type":"local_dir","base_dir":"b"}}"#, "target.base_dir"),
        (#"{"v":1,"type":"sqlite","source":{"path":"/a"},"target":{"type":"s3","base_url":"http://x"}}"#, "target.type"),
        (#"{"v":1,"type":"sqlite","source":{"path":"/a"},"target":{"type":"webdav","base_url":"http://x"}}"#, "target.secret_name"),
        (
            #"{"v":1,"type":"sqlite","source":{"path":"/a"},"target":{"type":"webdav","base_url":"http://u:p@x/","secret_name":"s"}}"#,
            "target.base_url"
        ),
        (#"{"v":1,"type":"sqlite","source":{"path":"/a"},"target":{"type":"rclone","remote":"no-colon","secret_name":"s"}}"#, "target.remote"),
        (#"{"v":1,"type":"sqlite","source":{"path":"/a"},"target":{"type":"rclone","remote":"r:a/../b","secret_name":"s"}}"#, "target.remote"),
        (
            #"{"v":1,"type":"sqlite","source":{"path":"/a"},"target":{"type":"local_dir","base_dir":"/b","part_size_bytes":1048575}}"#,
            "target.part_size_bytes"
        ),
        (
            #"{"v":2,"source":{"type":"sqlite","version":2,"config":{"path":"/a"}},"target":{"type":"local_dir","config":{"base_dir":"/b"}}}"#,
            "source.version"
        ),
        (
            #"{"v":2,"source":{"type":"sqlite","config":{"path":"/a"}},"target":{"type":"local_dir","config":{"base_dir":"/b"},"auth_refs":{"x":{}}}}"#,
            "target.auth_refs"
        ),
        (
            #"{"v":1,"type":"sqlite","source":{"path":"/a"},"target":{"type":"local_dir","base_dir":"/b"},"pipeline":{"encryption":{"type":"age_x25519"}}}"#,
            "pipeline.encryption.key_name"
        ),
        (#"{"type":"sqlite","source":{"path":"/a"},"target":{"type":"local_dir","base_dir":"/b"}}"#, "v"),
        (
            #"{"v":1,"type":"filesystem","source":{"paths":["/a"]},"target":{"type":"local_dir","base_dir":"/b"},"pipeline":{"incremental":{"full_every":0}}}"#,
            "pipeline.incremental.full_every"
        ),
        (
            #"{"v":1,"type":"filesystem","source":{"paths":["/a"]},"target":{"type":"local_dir","base_dir":"/b"},"pipeline":{"incremental":{"full_every":"7"}}}"#,
            "pipeline.incremental.full_every"
        ),
        (
            #"{"v":1,"type":"filesystem","source":{"paths":["/a"]},"target":{"type":"local_dir","base_dir":"/b"},"pipeline":{"incremental":{"full_every":2.5}}}"#,
            "pipeline.incremental.full_every"
        ),
        (
            #"{"v":1,"type":"filesystem","source":{"paths":["/a"]},"target":{"type":"local_dir","base_dir":"/b"},"pipeline":{"incremental":{"full_every":3,"rehash":1}}}"#,
            "pipeline.incremental.rehash"
        ),
        (
            #"{"v":1,"type":"filesystem","source":{"paths":["/a"]},"target":{"type":"local_dir","base_dir":"/b"},"pipeline":{"incremental":true}}"#,
            "pipeline.incremental"
        ),
    ])
    func invalidSpecsNameTheirField(_ json: String, _ field: String) throws {
        do {
            _ = try JobSpec.parse(try JSONValue.parse(json))
            Issue.record("accepted \(json)")
        } catch let error as ValidationError {
            #expect(error.code == "invalid_spec")
            #expect(error.field == field, "\(error)")
        }
    }
}
