import Core
import Foundation
import TestClients
import Testing

/// The run-events WebSocket against the real API: resume by seq, the subscribe-first race, lag, API restarts.
@Suite(.serialized) struct RunEventsStreamTests {
    /// A queued run (no worker) whose log the test writes as a worker would: commit, then publish over the bus.
    func queuedRun(_ fixture: RunsFixture) async throws -> String {
        let source = try fixture.makeSourceDatabase(pages: 1)
        let job = try await fixture.createJob(source: source)
        return try await fixture.enqueue(job).id
    }

    @Test func resumeFromSeqThenLiveThenReconnect() async throws {
        let fixture = try await RunsFixture()
        let run = try await queuedRun(fixture)  // seq 1: queued
        let (database, client) = try #require(fixture.writer())
        #expect(await eventually { client.isConnected })
        try await appendEvents(database, runId: run, count: 9)  // seq 2...10

        let ws = try await fixture.webSocket(fixture.wsPath(run, after: 4))
        #expect(try await ws.collectSeqs(until: 10) == Array(5...10))
        try await appendEvents(database, runId: run, count: 10)  // 11...20, live
        #expect(try await ws.collectSeqs(until: 20) == Array(11...20))
        ws.shutdown()

        try await appendEvents(database, runId: run, count: 10)  // 21...30 while disconnected
        let again = try await fixture.webSocket(fixture.wsPath(run, after: 20))
        #expect(try await again.collectSeqs(until: 30) == Array(21...30))
        try await appendEvents(database, runId: run, count: 5, batch: 5)  // 31...35 in one transaction
        #expect(try await again.collectSeqs(until: 35) == Array(31...35))
        // `after` is the original's alias; no parameter means from the start.
        let alias = try await fixture.webSocket("/api/runs/\(run)/events/ws?after=33")
        #expect(try await alias.collectSeqs(until: 35) == [34, 35])
        let all = try await fixture.webSocket(fixture.wsPath(run))
        #expect(try await all.collectSeqs(until: 35) == Array(1...35))
        await client.shutdown()
    }

    @Test func clientsJoiningDuringAppendsSeeEveryEventOnce() async throws {
        let fixture = try await RunsFixture()
        let run = try await queuedRun(fixture)
        let (database, client) = try #require(fixture.writer())
        #expect(await eventually { client.isConnected })
        let total = 1 + 800
        // Appends run while clients subscribe and catch up: an event committed between a client's catch-up read
        // and its live stream must arrive exactly once.
        let appender = Task {
            for _ in 0..<800 {
                try await database.appendEvents(runId: run, [NewRunEvent(kind: "log", message: "x")])
                try await Task.sleep(for: .microseconds(500))
            }
        }
        var clients: [RawWebSocket] = []
        for _ in 0..<6 {
            clients.append(try await fixture.webSocket(fixture.wsPath(run, after: 0)))
            try await Task.sleep(for: .milliseconds(60))
        }
        try await appender.value
        for ws in clients {
            #expect(try await ws.collectSeqs(until: total, timeout: 20) == Array(1...total))
        }
        await client.shutdown()
    }

    @Test func slowReaderGetsAGapFreeStreamAndMemoryStaysBounded() async throws {
        let fixture = try await RunsFixture()
        let run = try await queuedRun(fixture)
        let (database, client) = try #require(fixture.writer())
        #expect(await eventually { client.isConnected })
        let ws = try await fixture.webSocket(fixture.wsPath(run, after: 0))
        #expect(try await ws.collectSeqs(until: 1) == [1])
        let rssBefore = residentKiB(fixture.api.pid)

        // The client reads nothing while 20,000 events (far more than the 1024 buffer) are committed.
        let started = ContinuousClock.now
        try await appendEvents(database, runId: run, count: 20_000, batch: 250)
        let writeTime = ContinuousClock.now - started
        try await Task.sleep(for: .milliseconds(500))
        let rssDuring = residentKiB(fixture.api.pid)

        let seqs = try await ws.collectSeqs(until: 20_001, timeout: 60)
        #expect(seqs.count == 20_000)
        #expect(seqs == Array(2...20_001), "gap or duplicate")
        // The same connection keeps streaming live events.
        try await appendEvents(database, runId: run, count: 1)
        #expect(try await ws.collectSeqs(until: 20_002) == [20_002])
        if let before = rssBefore, let during = rssDuring {
            #expect(during - before < 64 * 1024, "API RSS grew by \(during - before) KiB while a reader stalled")
        }
        print("slow reader: 20000 events written in \(writeTime); api RSS \(rssBefore ?? -1) → \(rssDuring ?? -1) KiB")
        await client.shutdown()
    }

    @Test func reconnectAfterAPIRestartMissesNothing() async throws {
        let fixture = try await RunsFixture()
        let run = try await queuedRun(fixture)
        let (database, client) = try #require(fixture.writer())
        #expect(await eventually { client.isConnected })
        let appender = Task {
            for _ in 0..<300 {
                try? await database.appendEvents(runId: run, [NewRunEvent(kind: "log", message: "x")])
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        var seen: [Int] = []
        var restarted = false
        let deadline = ContinuousClock.now + .seconds(40)
        while seen.last != 301, ContinuousClock.now < deadline {
            guard let ws = try? await fixture.webSocket(fixture.wsPath(run, after: seen.last ?? 0)) else {
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            while true {
                guard let event = try? await ws.nextEvent(timeout: 3) else { break }
                seen.append(event["seq"] as? Int ?? -1)
                if seen.count == 100, !restarted {
                    restarted = true
                    fixture.api.kill9()
                    try fixture.startAPI()
                }
                if seen.last == 301 { break }
            }
        }
        await appender.value
        #expect(restarted)
        #expect(seen == Array(1...301))
        await client.shutdown()
    }

    @Test func closesAfterTheRunIsTerminalAndDelivered() async throws {
        let fixture = try await RunsFixture(apiArgs: ["--ws-close-delay-seconds", "1"])
        let run = try await queuedRun(fixture)
        let canceled = try await HTTP.send("POST", fixture.base + "/api/runs/\(run)/cancel")
        #expect(canceled.json?["status"] as? String == "canceled")
        let ws = try await fixture.webSocket(fixture.wsPath(run))
        let started = ContinuousClock.now
        #expect(try await ws.collectSeqs(until: 2) == [1, 2])
        #expect(try await ws.next(timeout: 10) == .close(1000))
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(900) && waited < .seconds(15), "closed after \(waited)")
    }

    @Test func apiShutsDownPromptlyWithStreamsOpen() async throws {
        let fixture = try await RunsFixture()
        let run = try await queuedRun(fixture)
        var sockets: [RawWebSocket] = []
        for _ in 0..<3 {
            let ws = try await fixture.webSocket(fixture.wsPath(run))
            #expect(try await ws.collectSeqs(until: 1) == [1])
            sockets.append(ws)
        }
        fixture.api.signal(SIGTERM)
        let status = await fixture.api.waitForExit(timeout: .seconds(5))
        #expect(status == 0, "api did not exit cleanly within 5 s with open streams:\n\(fixture.api.log)")
        // Clients see the stream end (a close frame or the connection going away), never a hang.
        for ws in sockets {
            let end = try? await ws.next(timeout: 3)
            #expect(end == nil || end == .close(1001) || end == .close(1000), "\(String(describing: end))")
        }
        #expect(access(fixture.scratch.socketPath, F_OK) != 0)
    }

    @Test func refusedUpgradesAndPlainRequestsExplainThemselves() async throws {
        let fixture = try await RunsFixture()
        let run = try await queuedRun(fixture)
        for (path, status, code) in [
            ("/api/runs/nope/events/ws", 404, "run_not_found"),
            (fixture.wsPath(run) + "?after_seq=-1", 400, "invalid_query"),
            ("/api/runs/\(run)/events/ws?after_seq=abc", 400, "invalid_query"),
            (fixture.wsPath(run), 426, "websocket_required"),
        ] {
            // A refused upgrade answers with the real status and JSON reason (the upgrade gate), never a 101.
            if status != 426 {
                do {
                    _ = try await fixture.webSocket(path)
                    Issue.record("upgrade of \(path) should be refused")
                } catch let refused as RawWebSocket.Refused {
                    #expect(refused.status == status && refused.body.contains("\"error\":\"\(code)\""), "\(path): \(refused.status) \(refused.body)")
                }
            }
            // The same URL over plain HTTP says why, as JSON.
            let plain = try await HTTP.get(fixture.base + path, headers: ["Origin": fixture.base])
            #expect(plain.status == status, "\(path)")
            #expect(plain.json?["error"] as? String == code, "\(path)")
        }
    }
}

/// Resident set size of a process, KiB.
func residentKiB(_ pid: pid_t) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }
    return nil
}
