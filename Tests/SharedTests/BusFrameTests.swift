import Foundation
import Testing

@testable import Bus
@testable import Core

@Suite struct BusFrameTests {
    static let samples: [BusMessage] = [
        .hello(BusPeer(role: .worker, id: "w1", pid: 42)),
        .wake(.runs), .wake(.jobs), .wake(.notifications),
        .events([
            RunEvent(
                runId: "r1",
                seq: 7,
                ts: 1_700_000_000,
                level: .warn,
                kind: "fs_issues",
                message: "two files",
                fields: .object(["count": .number(2), "paths": .array([.string("a"), .string("ü/b")])])
            ),
            RunEvent(runId: "r1", seq: 8, ts: 1_700_000_001, level: .info, kind: "log", message: "quote \" backslash \\ tab \t"),
        ]),
        .cancel(runId: "r2"),
        .progress(
            RunProgress.Update(
                runId: "r3",
                progress: RunProgress(
                    kind: "backup",
                    stage: "build",
                    ts: 5,
                    done: .init(files: 3, bytes: 10),
                    total: .init(files: 9),
                    rateBps: 7,
                    etaSeconds: 2
                )
            )
        ),
    ]

    @Test(arguments: samples) func roundTrip(_ message: BusMessage) throws {
        let frame = try BusFrame.encode(message)
        var decoder = BusFrameDecoder()
        frame.withUnsafeBytes { decoder.append($0) }
        let payload = try #require(try decoder.nextPayload())
        #expect(try BusFrame.decodePayload(payload) == message)
        #expect(try decoder.nextPayload() == nil)
    }

    @Test func reassemblesFramesSplitAtEveryByte() throws {
        let frames = try Self.samples.map(BusFrame.encode)
        let stream = frames.flatMap { $0 }
        var decoder = BusFrameDecoder()
        var decoded: [BusMessage] = []
        for byte in stream {
            [byte].withUnsafeBytes { decoder.append($0) }
            while let payload = try decoder.nextPayload() {
                decoded.append(try BusFrame.decodePayload(payload))
            }
        }
        #expect(decoded == Self.samples)
        #expect(decoder.bufferedCount == 0)
    }

    @Test func rejectsOversizedLengthBeforeBuffering() {
        var decoder = BusFrameDecoder(maxPayloadBytes: 1024)
        ([0x00, 0x00, 0x04, 0x01] as [UInt8]).withUnsafeBytes { decoder.append($0) }
        #expect(throws: BusFrameError.oversized(1025)) { try decoder.nextPayload() }
    }

    @Test func rejectsMalformedPayloads() {
        for bad in ["not json", "{}", #"{"type":"explode"}"#, #"{"type":"wake","topic":"cats"}"#, #"{"type":"hello","role":"worker"}"#] {
            #expect(throws: BusFrameError.self) { try BusFrame.decodePayload(Array(bad.utf8)) }
        }
    }

    @Test func refusesToEncodeOversizedMessages() {
        let huge = RunEvent(runId: "r", seq: 1, ts: 0, level: .info, kind: "k", message: String(repeating: "x", count: BusFrame.maxPayloadBytes))
        #expect(throws: BusFrameError.self) { try BusFrame.encode(.events([huge])) }
    }
}

@Suite struct ReconnectBackoffTests {
    @Test func ceilingDoublesToCapAndJitterStaysBelowIt() {
        var backoff = ReconnectBackoff(base: .milliseconds(50), cap: .seconds(5), healthyAfter: .seconds(5))
        var ceilings: [Duration] = []
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10 {
            let ceiling = backoff.ceiling
            ceilings.append(ceiling)
            let delay = backoff.nextDelay(using: &generator)
            #expect(delay >= .zero && delay <= ceiling)
        }
        #expect(ceilings.prefix(4) == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400)])
        #expect(ceilings.last == .seconds(5))
    }

    @Test func fullJitterSpreadsDelays() {
        var generator = SystemRandomNumberGenerator()
        var delays = Set<Duration>()
        for _ in 0..<20 {
            var backoff = ReconnectBackoff(base: .seconds(1), cap: .seconds(1))
            delays.insert(backoff.nextDelay(using: &generator))
        }
        #expect(delays.count > 10)
    }

    @Test func resetsOnlyAfterAHealthyConnection() {
        var backoff = ReconnectBackoff(base: .milliseconds(50), cap: .seconds(5), healthyAfter: .seconds(5))
        for _ in 0..<5 { _ = backoff.nextDelay() }
        backoff.connectionEnded(after: .milliseconds(100))
        #expect(backoff.attempt == 5)
        backoff.connectionEnded(after: .seconds(6))
        #expect(backoff.attempt == 0)
        #expect(backoff.ceiling == .milliseconds(50))
    }
}

@Suite struct WakeSignalTests {
    @Test func signalBeforeWaitIsRemembered() async {
        let signal = WakeSignal()
        signal.signal()
        #expect(await signal.wait(timeout: .seconds(10)) == .signaled)
    }

    @Test func timesOutWithoutSignal() async {
        let signal = WakeSignal()
        #expect(await signal.wait(timeout: .milliseconds(20)) == .timeout)
    }

    @Test func signalWakesAWaiter() async {
        let signal = WakeSignal()
        async let reason = signal.wait(timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(20))
        signal.signal()
        #expect(await reason == .signaled)
    }

    @Test func cancellationEndsTheWait() async {
        let signal = WakeSignal()
        let task = Task { await signal.wait(timeout: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        #expect(await task.value == .cancelled)
    }
}
