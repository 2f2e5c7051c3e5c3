import Foundation
import GRDB
import Synchronization
import TestClients
import Testing

@testable import Core
@testable import Notifications
@testable import Secrets
@testable import Store

@Suite struct NotificationsTests {
    final class Wakes: Sendable {
        let topics = Mutex<[WakeTopic]>([])
        var all: [WakeTopic] { topics.withLock { $0 } }
    }

    struct Fixture {
        let database: AppDatabase
        let wakes: Wakes
        let dir: TemporaryDirectory
        let box: SecretBox

        func job(notifications: JSONValue = .object([:]), overlap: String = "queue") async throws -> String {
            let spec: JSONValue = .object([
                "v": .number(1), "type": .string("sqlite"), "source": .object(["path": .string("/tmp/x.db")]),
                "target": .object(["type": .string("local_dir"), "base_dir": .string("/tmp/t")]), "notifications": notifications,
            ])
            let input = try JobInput(
                name: "nightly",
                schedule: nil,
                scheduleTimezone: nil,
                overlapPolicy: overlap,
                spec: spec,
                defaultTimezone: "UTC"
            )
            return try await database.createJob(input).id
        }

        func destination(_ channel: NotificationChannel, _ name: String, enabled: Bool = true) async throws {
            let config: DestinationConfig =
                channel == .webhook
                ? .webhook(url: "http://127.0.0.1:9/\(name)", signingSecret: "s3cret") : .wecomBot(webhookURL: "http://127.0.0.1:9/wecom")
            let sealed = try box.seal(Data(config.secretJSON.jsonString().utf8), kind: channel.rawValue, name: name)
            _ = try await database.saveNotificationDestination(channel: channel, name: name, sealed: sealed, enabled: enabled)
        }

        /// Enqueues, claims and finishes one run of `job` with `outcome`; returns the run id.
        func finishRun(_ job: String, _ outcome: RunOutcome, now: Int64 = 100) async throws -> String {
            _ = try #require(try await database.enqueueRun(jobId: job, source: "manual", now: now))
            let claim = try #require(try await database.claimNextRun(workerId: "w", now: now))
            _ = try await database.completeRun(runId: claim.run.id, claimToken: claim.claimToken, outcome: outcome, now: now)
            return claim.run.id
        }

        func queued(run: String) async throws -> [String] {
            try await database.pool.read { db in
                try String.fetchAll(db, sql: "SELECT channel || '/' || secret_name FROM notifications WHERE run_id = ? ORDER BY 1", arguments: [run])
            }
        }
    }

    func setUp() throws -> Fixture {
        let dir = TemporaryDirectory()
        let wakes = Wakes()
        let database = try AppDatabase.open(
            in: dir.dataDirectory,
            publisher: CallbackPublisher { work in
                if work.wakes.contains(.notifications) { wakes.topics.withLock { $0.append(.notifications) } }
            }
        )
        return Fixture(database: database, wakes: wakes, dir: dir, box: try SecretBox.open(in: dir.dataDirectory))
    }

    @Test func retryScheduleDoublesFrom30sAndCapsAtAnHour() {
        #expect((1...10).map(NotificationRetry.delay(afterAttempts:)) == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600])
    }

    @Test func hmacMatchesRFC4231() {
        // RFC 4231 test case 2.
        #expect(
            NotificationSender.hmacSHA256Hex(key: Data("Jefe".utf8), message: Data("what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
        #expect(
            NotificationSender.signature(secret: "k", timestamp: 7, body: Data("{}".utf8))
                == "sha256=" + NotificationSender.hmacSHA256Hex(key: Data("k".utf8), message: Data("7.{}".utf8))
        )
    }

    @Test func secretsOpenOnlyUnderTheirOwnNameAndKey() throws {
        let dir = TemporaryDirectory()
        let box = try SecretBox.open(in: dir.dataDirectory)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.dataDirectory.masterKeyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let sealed = try box.seal(Data("hello".utf8), kind: "webhook", name: "ops")
        #expect(try box.open(sealed, kind: "webhook", name: "ops") == Data("hello".utf8))
        #expect(!sealed.ciphertext.contains(Data("hello".utf8)))
        #expect(throws: SecretError.self) { try box.open(sealed, kind: "webhook", name: "other") }
        var tampered = sealed
        tampered.ciphertext[0] ^= 1
        #expect(throws: SecretError.self) { try box.open(tampered, kind: "webhook", name: "ops") }
        // Reopening reads the same key; a second directory has another one.
        #expect(try SecretBox.open(in: dir.dataDirectory).open(sealed, kind: "webhook", name: "ops") == Data("hello".utf8))
        let other = TemporaryDirectory()
        #expect(throws: SecretError.self) { try SecretBox.open(in: other.dataDirectory).open(sealed, kind: "webhook", name: "ops") }
    }

    @Test func concurrentFirstUseCreatesOneMasterKey() async throws {
        let dir = TemporaryDirectory()
        try dir.dataDirectory.create()
        let sealed = try await withThrowingTaskGroup(of: SecretBox.Sealed.self) { group in
            for index in 0..<8 {
                group.addTask { try SecretBox.open(in: dir.dataDirectory).seal(Data("\(index)".utf8), kind: "k", name: "n") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let box = try SecretBox.open(in: dir.dataDirectory)
        for item in sealed { _ = try box.open(item, kind: "k", name: "n") }
    }

    @Test func finishedRunsEnqueueOnePerSelectedEnabledDestination() async throws {
        let fixture = try setUp()
        try await fixture.destination(.webhook, "a")
        try await fixture.destination(.webhook, "b", enabled: false)
        try await fixture.destination(.wecomBot, "c")
        let inherit = try await fixture.job()
        let custom = try await fixture.job(
            notifications: .object(["mode": .string("custom"), "webhook": .array([.string("b")]), "wecom_bot": .array([.string("c")])])
        )

        let succeeded = try await fixture.finishRun(inherit, .success(summary: .null))
        #expect(try await fixture.queued(run: succeeded) == ["webhook/a", "wecom_bot/c"])
        #expect(fixture.wakes.all == [.notifications], "the delivery loop is woken after COMMIT")
        let failed = try await fixture.finishRun(custom, .failed(code: "run_failed", message: "boom", summary: nil))
        #expect(try await fixture.queued(run: failed) == ["wecom_bot/c"], "custom ∩ enabled")

        var settings = NotificationSettings()
        settings.channels[.wecomBot] = false
        try await fixture.database.saveNotificationSettings(settings)
        #expect(try await fixture.queued(run: try await fixture.finishRun(inherit, .success(summary: .null))) == ["webhook/a"])
        settings.enabled = false
        try await fixture.database.saveNotificationSettings(settings)
        #expect(try await fixture.queued(run: try await fixture.finishRun(inherit, .success(summary: .null))).isEmpty)
        settings.enabled = true
        try await fixture.database.saveNotificationSettings(settings)
        #expect(
            try await fixture.queued(run: try await fixture.finishRun(inherit, .canceled(reason: "manual"))).isEmpty,
            "canceled runs notify nobody"
        )

        // A rejected run is terminal at insert and notifies too.
        let rejecting = try await fixture.job(overlap: "reject")
        _ = try await fixture.database.enqueueRun(jobId: rejecting, source: "manual")
        let rejected = try #require(try await fixture.database.enqueueRun(jobId: rejecting, source: "schedule"))
        #expect(rejected.status == .rejected)
        #expect(try await fixture.queued(run: rejected.id) == ["webhook/a"])
    }

    @Test func failedAttemptsFollowTheScheduleThenGiveUpAfterTen() async throws {
        let fixture = try setUp()
        try await fixture.destination(.webhook, "a")
        let run = try await fixture.finishRun(try await fixture.job(), .success(summary: .null), now: 1000)
        var now: Int64 = 1000
        var delays: [Int64] = []
        for attempt in 1...10 {
            #expect(try await fixture.database.claimDueNotification(now: now - 1) == nil || attempt == 1, "nothing is claimable before it is due")
            let delivery = try #require(try await fixture.database.claimDueNotification(now: now))
            #expect(delivery.record.attempts == attempt - 1 && delivery.destinationEnabled == true && delivery.run?.id == run)
            let status = try await fixture.database.finishNotification(delivery, outcome: .failed("HTTP 500"), now: now)
            #expect(status == (attempt < 10 ? .queued : .failed))
            if let next = try await fixture.database.nextNotificationDue() {
                delays.append(next - now)
                now = next
            }
        }
        #expect(delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
        let record = try #require(try await fixture.database.notifications(status: nil, channel: nil, before: nil, limit: 10).first)
        #expect(record.status == .failed && record.attempts == 10 && record.lastError == "HTTP 500")
        let events = try await fixture.database.events(runId: run, afterSeq: 0, limit: 100).filter { $0.kind == "notify_failed" }
        #expect(events.count == 10 && events.last?.fields?["gave_up"] == .bool(true))

        // Retry-now on a failed notification gives it one more attempt; cancel only applies to queued ones.
        guard case .changed(let retried) = try await fixture.database.retryNotificationNow(id: record.id, now: now) else {
            Issue.record("retry refused")
            return
        }
        #expect(retried.status == .queued)
        guard case .changed = try await fixture.database.cancelNotification(id: record.id) else {
            Issue.record("cancel refused")
            return
        }
        guard case .invalidState(.canceled) = try await fixture.database.cancelNotification(id: record.id) else {
            Issue.record("a canceled notification was canceled again")
            return
        }
    }

    @Test func sentIsRecordedOnceAndAStuckSendIsRequeuedAndFenced() async throws {
        let fixture = try setUp()
        try await fixture.destination(.webhook, "a")
        let run = try await fixture.finishRun(try await fixture.job(), .success(summary: .null), now: 1000)
        let first = try #require(try await fixture.database.claimDueNotification(now: 1000))
        #expect(try await fixture.database.claimDueNotification(now: 1000) == nil, "a sending notification is not claimed twice")
        // Its worker dies; the janitor re-queues it after the lease, and the old claim can no longer write.
        #expect(try await fixture.database.requeueStuckNotifications(leaseSeconds: 60, now: 1030).isEmpty)
        #expect(try await fixture.database.requeueStuckNotifications(leaseSeconds: 60, now: 1061) == [first.record.id])
        #expect(try await fixture.database.finishNotification(first, outcome: .sent, now: 1062) == nil)
        let second = try #require(try await fixture.database.claimDueNotification(now: 1062))
        #expect(second.record.attempts == 1)
        #expect(try await fixture.database.finishNotification(second, outcome: .sent, now: 1063) == .sent)
        let kinds = try await fixture.database.events(runId: run, afterSeq: 0, limit: 100).map(\.kind)
        #expect(kinds.filter { $0 == "notify_sent" }.count == 1 && kinds.contains("notify_failed"))
        #expect(try await fixture.database.nextNotificationDue() == nil)
    }

    @Test func deliveryIsCanceledWhenSwitchedOffOrDeleted() async throws {
        let fixture = try setUp()
        try await fixture.destination(.webhook, "a")
        let deliverer = NotificationDeliverer(
            database: fixture.database,
            dataDirectory: fixture.dir.dataDirectory,
            clock: .system,
            logger: testLogger
        )
        _ = try await fixture.finishRun(try await fixture.job(), .success(summary: .null), now: unixNow())
        _ = try await fixture.database.setNotificationDestinationEnabled(channel: .webhook, name: "a", enabled: false)
        #expect(await deliverer.deliverDue() == 1)
        let record = try #require(try await fixture.database.notifications(status: nil, channel: nil, before: nil, limit: 1).first)
        #expect(record.status == .canceled && record.lastError == "destination disabled")

        _ = try await fixture.database.setNotificationDestinationEnabled(channel: .webhook, name: "a", enabled: true)
        _ = try await fixture.finishRun(try await fixture.job(), .success(summary: .null), now: unixNow())
        #expect(try await fixture.database.deleteNotificationDestination(channel: .webhook, name: "a"))
        #expect(await deliverer.deliverDue() == 1)
        let all = try await fixture.database.notifications(status: .canceled, channel: nil, before: nil, limit: 10)
        #expect(Set(all.compactMap(\.lastError)) == ["destination disabled", "destination deleted"])
    }

    @Test func jobNotificationChoiceIsValidated() throws {
        #expect(try JobNotifications.parse(.object([:])) == JobNotifications())
        let custom = try JobNotifications.parse(.object(["mode": .string("custom"), "webhook": .array([.string("ops")])]))
        #expect(custom.includes(channel: "webhook", destination: "ops") && !custom.includes(channel: "webhook", destination: "dev"))
        for bad: JSONValue in [
            .object(["mode": .string("sometimes")]), .object(["mode": .number(1)]),
            .object(["mode": .string("custom"), "webhook": .array([.string(" ")])]), .object(["webhook": .string("ops")]),
            .object(["wecom_bot": .array([.number(3)])]), .array([]),
        ] {
            #expect(throws: ValidationError.self) { try JobNotifications.parse(bad) }
        }
    }
}

@Suite struct WeComTemplateTests {
    @Test func placeholdersAreExpandedOnceEvenWhenAValueLooksLikeOne() {
        var notification = RunNotification(run: nil, runId: "r1", jobName: "{{error}} and {{run_id}}")
        notification.status = "failed"
        notification.error = "disk {{job_name}} full"
        let text = notification.render("{{job_name}} | {{error}} | {{unknown}} | {{run_id}} | {{ | }}")
        #expect(text == "{{error}} and {{run_id}} | disk {{job_name}} full | {{unknown}} | r1 | {{ | }}")
    }
}
