import Core
import Foundation
import TestClients
import Testing

/// The after-COMMIT path of docs/architecture.md, "After COMMIT", through the real processes: wakes the API's own
/// commits send, live progress frames, and a transaction's events crossing the bus as one frame.
@Suite(.serialized) struct AfterCommitTests {
    /// The value of `name{label…}` in the API's scrape, 0 when absent.
    func metric(_ fixture: RunsFixture, _ name: String, _ label: String) async throws -> Double {
        let text = String(decoding: try await HTTP.get(fixture.base + "/metrics", anonymous: true).body, as: UTF8.self)
        return sample(text, name, [label]) ?? 0
    }

    @Test func aRejectedManualRunsNotificationIsDeliveredWithinASecond() async throws {
        let fixture = try await RunsFixture()
        let delivered = Delivered()
        let receiver = WebhookReceiver(port: freePort()) { _ in
            delivered.mark()
            return .status(200)
        }
        try await receiver.start()
        defer { receiver.stop() }
        let put = try await HTTP.send("PUT", fixture.base + "/api/notifications/destinations/webhook/ops", json: ["url": receiver.url])
        try #require(put.status == 200)
        // A safety poll far beyond the test: only a wake can make the worker deliver in time.
        try await fixture.startWorker("w0", ["--safety-poll-seconds", "600", "--sqlite-step-pause-ms", "200"])
        let job = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 3000), overlap: "reject")
        let first = try await fixture.enqueue(job).id
        try #require(await eventually { await fixture.status(first) == "running" })

        let posted = Date()
        let second = try await fixture.enqueue(job)
        #expect(second.status == "rejected")
        #expect(await eventually(timeout: .seconds(5)) { delivered.at != nil })
        let latency = try #require(delivered.at).timeIntervalSince(posted)
        #expect(latency < 1.0, "delivered \(latency) s after the rejected enqueue")
        let body = try #require(receiver.requests.first.flatMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] })
        #expect((body["run"] as? [String: Any])?["id"] as? String == second.id)
        _ = try await HTTP.send("POST", fixture.base + "/api/runs/\(first)/cancel")
    }

    @Test func aWebSocketSeesProgressFramesDuringABackup() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0", ["--sqlite-step-pause-ms", "100"])
        // ~2000 pages at 100 pages per step and 100 ms per pause: about two seconds of copying.
        let job = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 2000))
        let run = try await fixture.enqueue(job).id
        let socket = try await fixture.webSocket(fixture.wsPath(run))
        defer { socket.shutdown() }
        var progress: [[String: Any]] = []
        var kinds: [String] = []
        let deadline = Date().addingTimeInterval(60)
        reading: while Date() < deadline {
            switch try await socket.next(timeout: 30) {
            case .text(let text):
                let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                if object["type"] as? String == "progress" {
                    #expect(object["run_id"] as? String == run && object["seq"] == nil, "\(text)")
                    progress.append(try #require(object["progress"] as? [String: Any]))
                } else if let kind = object["kind"] as? String {
                    kinds.append(kind)
                    if kind == "complete" || kind == "failed" { break reading }
                }
            case .close: break reading
            case .ping, .pong: continue
            }
        }
        #expect(kinds.last == "complete", "\(kinds)")
        #expect(progress.count >= 2, "\(progress)")
        let pages = progress.compactMap { ($0["done"] as? [String: Any])?["pages"] as? Int }
        #expect(pages.count >= 2 && pages == pages.sorted() && Set(pages).count >= 2, "pages advance: \(pages)")
        #expect(progress.allSatisfy { $0["v"] as? Int == 1 && $0["kind"] as? String == "backup" && $0["stage"] is String })
        // The stored progress of the finished run keeps each stage once, in order, with when it began; packaging the
        // one-file copy takes milliseconds, less than a reporting interval, and is still there. No scan stage: the
        // totals are counted beside packaging (docs/architecture.md, "One pass").
        let stored = try #require(try await fixture.run(run)["progress"] as? [String: Any])
        let marks = try #require(stored["stages"] as? [[String: Any]], "\(stored)")
        #expect(marks.compactMap { $0["stage"] as? String } == ["snapshot", "packaging", "upload", "index"], "\(marks)")
        let starts = marks.compactMap { $0["started_ms"] as? Int }
        #expect(starts.count == 4 && starts == starts.sorted(), "\(starts)")
        #expect(starts[1] - starts[0] >= 1000, "the snapshot stage took its ~2 s of paced copying: \(starts)")
    }

    @Test func aTransactionsEventsCrossTheBusAsOneFrame() async throws {
        let fixture = try await RunsFixture()
        let job = try await fixture.createJob(source: "/nonexistent.db")
        let run = try await fixture.enqueue(job).id
        // This process commits as a worker does: the worker's database and after-COMMIT publisher.
        let (database, client) = try #require(fixture.writer())
        defer { Task { await client.shutdown() } }
        #expect(await eventually { client.isConnected })
        let socket = try await fixture.webSocket(fixture.wsPath(run, after: 1))
        defer { socket.shutdown() }
        let before = try await metric(fixture, "bastion_bus_frames_received_total", "type=\"events\"")

        let batch = (1...256).map { NewRunEvent(kind: "log", message: "line \($0)", fields: .object(["n": .number(Double($0))])) }
        try await database.appendEvents(runId: run, batch)
        let seqs = try await socket.collectSeqs(until: 257, timeout: 20)
        #expect(seqs == Array(2...257))

        let frames = try await metric(fixture, "bastion_bus_frames_received_total", "type=\"events\"") - before
        #expect(frames >= 1 && frames <= 2, "256 events took \(frames) bus frames")
    }
}

/// When the receiver first got a request.
final class Delivered: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Date?

    func mark() {
        lock.lock()
        if first == nil { first = Date() }
        lock.unlock()
    }

    var at: Date? {
        lock.lock()
        defer { lock.unlock() }
        return first
    }
}
