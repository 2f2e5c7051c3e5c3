import Core
import Foundation
import GRDB
import TestClients
import Testing

/// An agent link's queued event frames are stored together (docs/agents.md, "Frames in one transaction"): frames that
/// reach the hub at once commit in one transaction with one cumulative `event_ack`, in order and each once; a frame
/// with one bad event stores nothing of itself or after it and closes the link (4400); an agent killed mid-frame
/// leaves none of that frame behind. Fake agents speak raw WebSocket to the real bastion-api.
@Suite(.serialized) struct AgentBatchTests {
    let trust = AgentTrustTests()

    /// A `run_events` frame with events `aseqs`, message `e<aseq>`.
    func frame(_ run: String, _ token: String, _ aseqs: ClosedRange<Int>, bad: Int? = nil) -> String {
        let events = aseqs.map { aseq in
            // A bad event: an aseq no agent can have (the whole frame is refused).
            #"{"aseq":\#(aseq == bad ? "1e300" : "\(aseq)"),"level":"info","kind":"log","message":"e\#(aseq)"}"#
        }
        return #"{"v":1,"type":"run_events","run_id":"\#(run)","claim_token":"\#(token)","events":[\#(events.joined(separator: ","))]}"#
    }

    /// A fake agent linked, with a job on it whose run it took: the socket, the run and its claim token.
    func agentWithRun(_ fixture: RunsFixture, _ name: String) async throws -> (RawWebSocket, AgentTrustTests.Enrolled, String, String) {
        let agent = try await trust.enrol(fixture, name)
        let socket = try await trust.link(fixture, agent.key)
        #expect(await trust.next(socket, "hello_ack") != nil)
        let job = try await trust.createJob(fixture, agent: agent.id, base: fixture.scratch.path + "/t")
        let run = try await fixture.enqueue(job).id
        let token = try await trust.takeTask(socket, run: run)
        return (socket, agent, run, token)
    }

    /// The run's agent log lines in seq order, and whether their seqs follow each other.
    func logLines(_ fixture: RunsFixture, _ run: String) async throws -> (messages: [String], contiguous: Bool) {
        let rows = try await fixture.readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT seq, message FROM run_events WHERE run_id = ? AND kind = 'log' ORDER BY seq", arguments: [run])
                .map { (seq: $0["seq"] as Int64, message: $0["message"] as String) }
        }
        return (rows.map(\.message), zip(rows, rows.dropFirst()).allSatisfy { $1.seq == $0.seq + 1 })
    }

    /// `event_ack`s until one acknowledges `aseq` (or none comes in time): their aseqs in order.
    func acks(_ socket: RawWebSocket, until aseq: Int) async -> [Int] {
        var acks: [Int] = []
        while acks.last != aseq, let ack = await trust.next(socket, "event_ack", timeout: 15) { acks.append(ack["aseq"] as? Int ?? -1) }
        return acks
    }

    /// 60 frames of 5 events sent in one write: one transaction for what was queued, not one per frame (before, the
    /// hub answered 60 `event_ack`s); every event stored once, in order, with consecutive seqs.
    @Test func framesThatArriveTogetherCommitTogetherInOrder() async throws {
        let fixture = try await RunsFixture()
        let (socket, _, run, token) = try await agentWithRun(fixture, "batched")
        try await socket.sendTogether((0..<60).map { frame(run, token, ($0 * 5 + 1)...($0 * 5 + 5)) })
        let acks = await acks(socket, until: 300)
        #expect(acks.last == 300, "\(acks)\n\(fixture.api.log.suffix(2000))")
        #expect(acks.count < 60, "one cumulative event_ack per transaction: \(acks)")
        #expect(acks == acks.sorted())
        let lines = try await logLines(fixture, run)
        #expect(lines.messages == (1...300).map { "e\($0)" })
        #expect(lines.contiguous)
        // The commits are counted for the fleet budget (docs/agents.md, "The hub at fleet size").
        let metrics = String(decoding: try await HTTP.get(fixture.base + "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("bastion_db_commits_total"))
        socket.shutdown()
    }

    /// Good frames, a frame with one bad event among good ones, and good frames after it, all in one write: the
    /// frames before it are stored, nothing of it or after it is, the link closes with 4400; the agent reconnects and
    /// sends from where the hub acknowledged.
    @Test func aFrameWithOneBadEventChangesNothingAndClosesTheLink() async throws {
        let fixture = try await RunsFixture()
        let (socket, agent, run, token) = try await agentWithRun(fixture, "one-bad-event")
        try await socket.sendTogether([frame(run, token, 1...3), frame(run, token, 4...6, bad: 5), frame(run, token, 7...9)])
        #expect(await trust.closeCode(socket) == 4400, "\(fixture.api.log.suffix(2000))")
        #expect(try await logLines(fixture, run).messages == ["e1", "e2", "e3"])
        socket.shutdown()
        let again = try await trust.link(fixture, agent.key)
        #expect(try await trust.takeTask(again, run: run) == token, "the open task is sent again on hello")
        try await again.sendTogether([frame(run, token, 1...9)])
        #expect(await acks(again, until: 9).last == 9)
        let lines = try await logLines(fixture, run)
        #expect(lines.messages == (1...9).map { "e\($0)" }, "each once, in order")
        #expect(lines.contiguous)
        again.shutdown()
    }

    /// Frames, then half of one more, and the agent is gone: the whole frames are stored and nothing of the half one;
    /// after reconnecting, the agent's resend stores the rest once.
    @Test func anAgentKilledMidFrameLeavesNoHalfFrame() async throws {
        let fixture = try await RunsFixture()
        let (socket, agent, run, token) = try await agentWithRun(fixture, "killed-mid-frame")
        let half = frame(run, token, 11...20)
        try await socket.sendTogether([frame(run, token, 1...5), frame(run, token, 6...10)], partial: half, partialBytes: half.utf8.count / 2)
        socket.shutdown()
        let deadline = Date().addingTimeInterval(15)
        while try await logLines(fixture, run).messages.count < 10, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await logLines(fixture, run).messages == (1...10).map { "e\($0)" }, "\(fixture.api.log.suffix(2000))")
        let again = try await trust.link(fixture, agent.key)
        #expect(try await trust.takeTask(again, run: run) == token)
        try await again.sendTogether([frame(run, token, 1...20)])
        #expect(await acks(again, until: 20).last == 20)
        let lines = try await logLines(fixture, run)
        #expect(lines.messages == (1...20).map { "e\($0)" })
        #expect(lines.contiguous)
        again.shutdown()
    }
}
