import ArgumentParser
import Core
import Foundation
import Store
import Synchronization
import TestClients

/// An agent's events through the hub (docs/agents.md, "Runs on agents"): a client speaking the agent protocol sends
/// `run_event` frames for its run to a release bastion-api, and a browser-like WebSocket client of that run receives
/// them. Prints the agent send → browser receipt latency at a steady rate, and how many events per second go through
/// when the agent sends as fast as it can (frames queued on the link share one transaction and one cumulative `event_ack`).
struct AgentEventsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agents", abstract: "Agent run_event → hub → browser: latency and throughput.")

    @Option(help: "Events per second for the latency row.") var rate = 100
    @Option(help: "Seconds at that rate.") var seconds = 10.0
    @Option(help: "Events sent as fast as possible for the throughput row.") var burst = 20_000

    func run() async throws {
        let dir = try BenchDirectory("agents")
        defer { dir.remove() }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        // The per-agent budget off (docs/agents.md, "Limits"): this measures the hub's path, not its pacing.
        let api = try await TimedAPI(data: dir.dataDirectory, database: database, arguments: ["--agent-events-per-second", "100000"])
        // An agent enrolled directly in the database, a job on it, its run taken.
        let agent = try await BenchAgent.connect("bench", database: database, port: api.port)
        let link = agent.link
        let run = (id: agent.runId, claimToken: agent.claimToken)
        // The hub's acks are read (and dropped) on their own thread, so the link never backs up.
        let acked = Mutex<Int64>(0)
        let ackReader = Thread {
            while let text = try? link.nextTextBlocking(timeout: 30) {
                if let message = try? JSONValue.parse(text), message["type"]?.stringValue == "event_ack", let aseq = message["aseq"]?.int64Value {
                    acked.withLock { $0 = max($0, aseq) }
                }
            }
        }
        ackReader.start()
        let browser = try await RawWebSocket.connect(
            port: api.port,
            path: "/api/runs/\(run.id)/events/ws?after_seq=0",
            headers: ["Cookie": "bastion_session=\(api.token)", "Origin": api.base]
        )
        var aseq: Int64 = 0
        func frame(_ number: Int64) -> String {
            #"{"v":1,"type":"run_event","run_id":"\#(run.id)","claim_token":"\#(run.claimToken)","aseq":\#(number),"level":"info","kind":"log","message":"e\#(number)","fields":null}"#
        }

        // 1. Latency at a steady rate: agent send → browser receipt, per event (matched by its message).
        let sent = Mutex<[Int64: UInt64]>([:])
        let received = Mutex<[Int64: UInt64]>([:])
        let reader = Thread {
            while let text = try? browser.nextTextBlocking(timeout: 30) {
                let now = monotonicNanos()
                guard let range = text.range(of: #""message":"e"#) else { continue }
                let number = Int64(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
                received.withLock { $0[number] = now }
            }
        }
        reader.start()
        let total = Int(Double(rate) * seconds)
        let interval = 1_000_000_000 / UInt64(rate)
        var next = monotonicNanos()
        for _ in 0..<total {
            aseq += 1
            let number = aseq
            sent.withLock { $0[number] = monotonicNanos() }
            try await link.send(frame(number))
            next += interval
            let now = monotonicNanos()
            if next > now { try await Task.sleep(for: .nanoseconds(Int64(next - now))) }
        }
        try await waitFor(seconds: 15) { received.withLock { $0[aseq] != nil } }
        let latencies = sent.withLock { sent in
            received.withLock { received in sent.compactMap { key, value in received[key].map { Double($0 &- value) / 1e6 } } }
        }
        .sorted()
        print("Agent run_event → hub (release) → browser WebSocket, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print(
            String(
                format: "at %d ev/s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d of %d events)",
                rate,
                latencies[latencies.count / 2],
                latencies[latencies.count * 99 / 100],
                latencies.last ?? 0,
                latencies.count,
                total
            )
        )

        // 2. Throughput: as fast as the agent can send; done when the browser has the last event.
        let first = aseq + 1
        let started = monotonicNanos()
        for _ in 0..<burst {
            aseq += 1
            try await link.send(frame(aseq))
        }
        let last = aseq
        try await waitFor(seconds: 120) { received.withLock { $0[last] != nil } }
        let elapsed = Double(monotonicNanos() - started) / 1e9
        let missing = (first...last).filter { number in received.withLock { $0[number] == nil } }.count
        print(
            String(
                format: "burst of %d: %.0f events/s agent → browser (%.2f s, hub acked up to %d, %d never shown)",
                burst,
                Double(burst) / elapsed,
                elapsed,
                acked.withLock { $0 },
                missing
            )
        )
        link.shutdown()
        browser.shutdown()
    }

    private func waitFor(seconds: Double, _ done: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !done(), Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }
}
