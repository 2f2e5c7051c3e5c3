import Foundation
import GRDB
import TestClients
import Testing

/// Notifications delivered by real workers to a real HTTP receiver, with the retry schedule on a scaled clock.
@Suite(.serialized) struct NotificationDeliveryTests {
    static func scaledClock(_ scale: Int) -> [String: String] {
        ["BASTION_TEST_TIME_SCALE": "\(scale)", "BASTION_TEST_TIME_ANCHOR": String(Date().timeIntervalSince1970)]
    }

    func addDestination(_ fixture: RunsFixture, url: String, secret: String? = nil) async throws {
        var body: [String: Any] = ["url": url]
        if let secret { body["secret"] = secret }
        let result = try await HTTP.send("PUT", fixture.base + "/api/notifications/destinations/webhook/ops", json: body)
        guard result.status == 200 else { throw FixtureError("destination: \(result.status) \(String(decoding: result.body, as: UTF8.self))") }
    }

    func notifications(_ fixture: RunsFixture) async throws -> [[String: Any]] {
        try await HTTP.get(fixture.base + "/api/notifications/queue").json?["items"] as? [[String: Any]] ?? []
    }

    func notificationEvents(_ fixture: RunsFixture, run: String) async throws -> [[String: Any]] {
        try await fixture.events(run).filter { ($0["kind"] as? String)?.hasPrefix("notify_") == true }
    }

    /// HMAC-SHA256 hex computed by Python's standard library: an implementation independent of the product's.
    func pythonHMAC(key: String, message: Data) throws -> String {
        let script = "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())"
        return try Shell.run("python3 -c '\(script)' '\(key)'", input: message, stderr: false).trimmed
    }

    @Test func aFinishedRunIsDeliveredOnceWithAValidSignature() async throws {
        let fixture = try await RunsFixture()
        let receiver = WebhookReceiver(port: freePort()) { _ in .status(200) }
        try await receiver.start()
        defer { receiver.stop() }
        try await addDestination(fixture, url: receiver.url, secret: "topsecret")
        try await fixture.startWorker("w0")
        let job = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 4))
        let run = try await fixture.enqueue(job).id

        #expect(try await eventually { try await notifications(fixture).first?["status"] as? String == "sent" })
        try await Task.sleep(for: .milliseconds(500))
        let requests = receiver.requests
        try #require(requests.count == 1, "delivered \(requests.count) times")
        let request = requests[0]
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        let runObject = try #require(body["run"] as? [String: Any])
        #expect(body["type"] as? String == "run.finished" && runObject["id"] as? String == run && runObject["status"] as? String == "success")
        #expect(runObject["job_name"] as? String == "db")
        let timestamp = try #require(request.headers["x-bastion-timestamp"])
        let expected = try pythonHMAC(key: "topsecret", message: Data("\(timestamp).".utf8) + request.body)
        #expect(request.headers["x-bastion-signature"] == "sha256=" + expected)
        let queue = try await notifications(fixture)
        #expect(request.headers["x-bastion-notification-id"] == queue.first?["id"] as? String)
        #expect(queue.first?["attempts"] as? Int == 1 && queue.first?["run_id"] as? String == run)
        let events = try await notificationEvents(fixture, run: run)
        #expect(events.map { $0["kind"] as? String } == ["notify_sent"])

        // The address and signing key are stored encrypted.
        let stored = try await fixture.readDatabase { db in try Data.fetchOne(db, sql: "SELECT ciphertext FROM secrets WHERE kind = 'webhook'") }
        let ciphertext = try #require(stored)
        #expect(!ciphertext.isEmpty && ciphertext.range(of: Data("127.0.0.1".utf8)) == nil && ciphertext.range(of: Data("topsecret".utf8)) == nil)
    }

    @Test func wecomBotGetsTheMarkdownMessageAndTheTestEndpointWorks() async throws {
        let fixture = try await RunsFixture()
        let receiver = WebhookReceiver(port: freePort()) { _ in .status(200) }
        try await receiver.start()
        defer { receiver.stop() }
        let saved = try await HTTP.send(
            "PUT",
            fixture.base + "/api/notifications/destinations/wecom_bot/team",
            json: ["webhook_url": receiver.wecomURL]
        )
        #expect(saved.status == 200)
        let test = try await HTTP.send("POST", fixture.base + "/api/notifications/destinations/wecom_bot/team/test")
        #expect(test.status == 200 && test.json?["ok"] as? Bool == true, "\(String(decoding: test.body, as: UTF8.self))")
        try await fixture.startWorker("w0")
        let source = try fixture.makeSourceDatabase(pages: 1)
        let run = try await fixture.enqueue(try await fixture.createJob(source: source, name: "nightly-db")).id
        #expect(try await eventually { try await notifications(fixture).first?["status"] as? String == "sent" })
        let messages = receiver.requests.compactMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] }
        try #require(messages.count == 2)
        let content = (messages[1]["markdown"] as? [String: Any])?["content"] as? String ?? ""
        #expect(messages[1]["msgtype"] as? String == "markdown")
        #expect(
            content.contains("**Bastion backup succeeded**") && content.contains("> Job: nightly-db") && content.contains("> Run: \(run)"),
            "\(content)"
        )
        #expect(content.contains("> Target: local_dir \(fixture.targetDir)/"), "\(content)")
    }

    @Test func aFailingReceiverIsRetriedOnTheScheduleThenGivenUpAfterTenAttempts() async throws {
        let fixture = try await RunsFixture()
        let receiver = WebhookReceiver(port: freePort()) { _ in .status(500) }
        try await receiver.start()
        defer { receiver.stop() }
        try await addDestination(fixture, url: receiver.url)
        let scale = 2000.0
        try await fixture.startWorker("w0", environment: Self.scaledClock(Int(scale)))
        let run = try await fixture.enqueue(try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 1))).id

        #expect(try await eventually(timeout: .seconds(40)) { try await notifications(fixture).first?["status"] as? String == "failed" })
        let queue = try await notifications(fixture)
        #expect(queue.first?["attempts"] as? Int == 10 && queue.first?["last_error"] as? String == "HTTP 500: {\"ok\":true}")
        let events = try await notificationEvents(fixture, run: run)
        let delays = events.compactMap { ($0["fields"] as? [String: Any])?["retry_in_seconds"] as? Int }
        #expect(delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
        #expect(events.count == 10 && (events.last?["fields"] as? [String: Any])?["gave_up"] as? Bool == true)
        try await Task.sleep(for: .milliseconds(300))
        let arrivals = receiver.requests.map(\.arrival)
        #expect(arrivals.count == 10, "\(arrivals.count) attempts reached the receiver")
        // No attempt came early: each gap is at least the scheduled delay (less a second of rounding), in test time.
        for (index, gap) in zip(arrivals, arrivals.dropFirst()).map({ ($1 - $0) * scale }).enumerated() where index < delays.count {
            #expect(gap >= Double(delays[index] - 1), "attempt \(index + 2) came \(gap) s after the previous one, scheduled \(delays[index]) s")
        }
    }

    @Test func aReceiverThatWasDownGetsTheNotificationOnceItIsUp() async throws {
        let fixture = try await RunsFixture()
        let receiver = WebhookReceiver(port: freePort()) { _ in .status(200) }
        try await addDestination(fixture, url: receiver.url)
        try await fixture.startWorker("w0", environment: Self.scaledClock(100))
        let run = try await fixture.enqueue(try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 1))).id
        #expect(try await eventually { try await notificationEvents(fixture, run: run).first?["kind"] as? String == "notify_failed" })
        try await receiver.start()
        defer { receiver.stop() }
        #expect(try await eventually { try await notifications(fixture).first?["status"] as? String == "sent" })
        #expect(receiver.requests.count == 1)
        #expect(try await notifications(fixture).first?["attempts"] as? Int == 2)
    }

    @Test func aWorkerKilledWhileSendingLeavesItToBeDeliveredLaterOnce() async throws {
        let fixture = try await RunsFixture()
        let receiver = WebhookReceiver(port: freePort()) { index in index == 1 ? .hang : .status(200) }
        try await receiver.start()
        defer { receiver.stop() }
        try await addDestination(fixture, url: receiver.url)
        let janitor = try Child.bastion(
            "bastion-janitor",
            dataDir: fixture.dataDir,
            logDir: fixture.scratch.path,
            ["--lease-seconds", "2", "--safety-poll-seconds", "1"]
        )
        fixture.children.append(janitor)
        let first = try await fixture.startWorker("w0")
        let run = try await fixture.enqueue(try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 1))).id
        #expect(await eventually { receiver.requests.count == 1 })
        #expect(try await notifications(fixture).first?["status"] as? String == "sending")
        first.kill9()
        try await fixture.startWorker("w1")
        #expect(try await eventually(timeout: .seconds(20)) { try await notifications(fixture).first?["status"] as? String == "sent" })
        try await Task.sleep(for: .milliseconds(500))
        #expect(receiver.requests.compactMap(\.answered) == [200], "exactly one delivery was answered")
        let kinds = try await notificationEvents(fixture, run: run).map { $0["kind"] as? String }
        #expect(kinds == ["notify_failed", "notify_sent"], "\(kinds)")
        #expect(janitor.log.contains("Re-queued notifications of lost workers"))
    }

    @Test func endpointsRefuseBadInputAndChangeNothing() async throws {
        let fixture = try await RunsFixture()
        let base = fixture.base + "/api/notifications"
        let cases: [(String, String, Any?, Int, String)] = [
            ("PUT", "/destinations/sms/ops", ["url": "http://x"], 400, "invalid_channel"),
            ("PUT", "/destinations/webhook/ops", ["url": "ftp://x/y"], 400, "invalid_url"),
            ("PUT", "/destinations/webhook/ops", ["url": "not a url"], 400, "invalid_url"),
            ("PUT", "/destinations/webhook/ops", ["url": "http://x", "secret": 5], 400, "invalid_secret"),
            ("PUT", "/destinations/webhook/ops", ["url": "http://x", "enabled": "yes"], 400, "invalid_enabled"),
            ("PUT", "/destinations/wecom_bot/ops", ["url": "http://x"], 400, "unknown_field"),
            ("PUT", "/destinations/wecom_bot/ops", ["webhook_url": "ftp://x"], 400, "invalid_url"),
            ("PUT", "/destinations/webhook/ops", ["url": "http://x", "secrt": "s"], 400, "unknown_field"),
            ("PUT", "/destinations/webhook/%20", ["url": "http://x"], 400, "invalid_name"),
            ("POST", "/destinations/webhook/missing/enabled", ["enabled": true], 404, "destination_not_found"),
            ("POST", "/destinations/webhook/missing/test", nil, 404, "destination_not_found"),
            ("DELETE", "/destinations/webhook/missing", nil, 404, "destination_not_found"),
            ("PUT", "/settings", ["enabled": "no"], 400, "invalid_settings"),
            ("PUT", "/settings", ["channels": ["sms": ["enabled": true]]], 400, "invalid_settings"),
            ("PUT", "/settings", ["templates": ["wecom_markdown": ""]], 400, "invalid_settings"),
            ("GET", "/queue?status=lost", nil, 400, "invalid_query"),
            ("GET", "/queue?cursor=%%%", nil, 400, "invalid_cursor"),
            ("POST", "/queue/nope/retry-now", nil, 404, "notification_not_found"),
            ("POST", "/queue/nope/cancel", nil, 404, "notification_not_found"),
        ]
        for (method, path, body, status, code) in cases {
            let result = try await HTTP.send(method, base + path, json: body)
            #expect(
                result.status == status && result.json?["error"] as? String == code,
                "\(method) \(path): \(result.status) \(String(decoding: result.body, as: UTF8.self))"
            )
        }
        let destinations = try await HTTP.get(base + "/destinations")
        #expect(String(decoding: destinations.body, as: UTF8.self) == "[]")
        let settings = try await HTTP.get(base + "/settings").json
        #expect(settings?["enabled"] as? Bool == true)

        // A good destination round-trips without exposing its address; the switch and the test endpoint work.
        let saved = try await HTTP.send("PUT", base + "/destinations/wecom_bot/team", json: ["webhook_url": "http://127.0.0.1:9/wecom"])
        #expect(saved.status == 200 && saved.json?["enabled"] as? Bool == true && saved.json?["webhook_url"] == nil)
        let off = try await HTTP.send("POST", base + "/destinations/wecom_bot/team/enabled", json: ["enabled": false])
        #expect(off.json?["enabled"] as? Bool == false)
        let test = try await HTTP.send("POST", base + "/destinations/wecom_bot/team/test")
        #expect(test.status == 502 && test.json?["error"] as? String == "notification_test_failed")
        #expect(try await HTTP.send("DELETE", base + "/destinations/wecom_bot/team").status == 204)
    }
}
