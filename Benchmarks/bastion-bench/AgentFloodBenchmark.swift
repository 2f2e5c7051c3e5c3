import ArgumentParser
import Core
import Foundation
import Store
import Synchronization
import TestClients

/// One agent floods the hub while another agent's run and the UI keep going (docs/agents.md, "Limits"): agent A sends
/// `run_event` frames as fast as its socket takes them; agent B sends a steady rate, and a browser-like WebSocket of
/// B's run times each event from B's send to its receipt; a curl loop times `GET /api/runs` meanwhile. Prints p50/p99
/// of both without the flood, then with it, and how many of A's events the hub stored.
struct AgentFloodBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-flood",
        abstract: "A flooding agent against another agent's live log and the UI: latency with and without the flood."
    )

    @Option(help: "Agent B's events per second.") var rate = 50
    @Option(help: "Seconds per phase (quiet, then flood).") var seconds = 10.0
    @Option(help: "Bytes of each flood event's message.") var floodBytes = 8_000
    @Option(help: "Passed to bastion-api as --agent-events-per-second (a high value turns the pacing off, as before it existed).")
    var agentEventsPerSecond: Int?

    func run() async throws {
        let dir = try BenchDirectory("agent-flood")
        defer { dir.remove() }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let api = try await TimedAPI(
            data: dir.dataDirectory,
            database: database,
            arguments: agentEventsPerSecond.map { ["--agent-events-per-second", "\($0)"] } ?? []
        )
        let flooder = try await BenchAgent.connect("flooder", database: database, port: api.port)
        let steady = try await BenchAgent.connect("steady", database: database, port: api.port)

        // The flooder's acks and B's acks are read and dropped on their own threads, so no link backs up on our side.
        for agent in [flooder, steady] {
            Thread { while (try? agent.link.nextTextBlocking(timeout: 120)) != nil {} }.start()
        }
        let browser = try await RawWebSocket.connect(
            port: api.port,
            path: "/api/runs/\(steady.runId)/events/ws?after_seq=0",
            headers: ["Cookie": "bastion_session=\(api.token)", "Origin": api.base]
        )
        let received = Mutex<[Int64: UInt64]>([:])
        Thread {
            while let text = try? browser.nextTextBlocking(timeout: 120) {
                let now = monotonicNanos()
                guard let range = text.range(of: #""message":"b"#) else { continue }
                let number = Int64(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
                received.withLock { $0[number] = now }
            }
        }
        .start()

        var steadyAseq: Int64 = 0
        print("Agent flood: \(ProcessInfo.processInfo.activeProcessorCount) cores, bastion-api next to this binary")
        print("phase    B event→browser p50/p99 (ms)   GET /api/runs p50/p99 (ms)   A events stored")
        for flood in [false, true] {
            let stop = Atomic<Bool>(false)
            let floodSent = Atomic<Int64>(0)
            if flood {
                let filler = String(repeating: "x", count: floodBytes)
                let link = flooder.link
                let prefix = #"{"v":1,"type":"run_event","run_id":"\#(flooder.runId)","claim_token":"\#(flooder.claimToken)","aseq":"#
                Thread {
                    var aseq: Int64 = 0
                    while !stop.load(ordering: .relaxed) {
                        aseq += 1
                        let frame = prefix + #"\#(aseq),"level":"info","kind":"log","message":"f\#(aseq) \#(filler)","fields":null}"#
                        guard (try? link.sendBlocking(frame)) != nil else { break }
                        floodSent.store(aseq, ordering: .relaxed)
                    }
                }
                .start()
                try await Task.sleep(for: .seconds(1))
            }
            let storedBefore = try await database.events(runId: flooder.runId, afterSeq: 0, limit: 1_000_000).count
            let sent = Mutex<[Int64: UInt64]>([:])
            let (base, session) = (api.base, api.token)
            let uiSamples = Mutex<[Double]>([])
            let uiThread = Thread {
                while !stop.load(ordering: .relaxed) {
                    if let samples = try? TimedAPI.curl(base: base, session: session, [String](repeating: "/api/runs?limit=50", count: 10)) {
                        uiSamples.withLock { $0 += samples }
                    }
                }
            }
            uiThread.start()
            let total = Int(Double(rate) * seconds)
            let interval = 1_000_000_000 / UInt64(rate)
            var next = monotonicNanos()
            let first = steadyAseq + 1
            for _ in 0..<total {
                steadyAseq += 1
                let number = steadyAseq
                sent.withLock { $0[number] = monotonicNanos() }
                try await steady.link.send(
                    #"{"v":1,"type":"run_event","run_id":"\#(steady.runId)","claim_token":"\#(steady.claimToken)","aseq":\#(number),"level":"info","kind":"log","message":"b\#(number)","fields":null}"#
                )
                next += interval
                let now = monotonicNanos()
                if next > now { try await Task.sleep(for: .nanoseconds(Int64(next - now))) }
            }
            let last = steadyAseq
            let deadline = Date().addingTimeInterval(60)
            while received.withLock({ $0[last] == nil }), Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
            stop.store(true, ordering: .relaxed)
            let stored = try await database.events(runId: flooder.runId, afterSeq: 0, limit: 1_000_000).count - storedBefore
            let latencies = sent.withLock { sent in
                received.withLock { received in
                    (first...last).compactMap { number in received[number].map { Double($0 &- sent[number]!) / 1e6 } }
                }
            }
            .sorted()
            let ui = uiSamples.withLock { $0 }.sorted()
            func pct(_ values: [Double], _ p: Int) -> Double { values.isEmpty ? .nan : values[min(values.count - 1, values.count * p / 100)] }
            print(
                String(
                    format: "%@ %10.2f / %8.2f (%d of %d)   %10.2f / %8.2f (%d)   %d stored, %d sent",
                    flood ? "flood " : "quiet ",
                    pct(latencies, 50),
                    pct(latencies, 99),
                    latencies.count,
                    total,
                    pct(ui, 50),
                    pct(ui, 99),
                    ui.count,
                    stored,
                    floodSent.load(ordering: .relaxed)
                )
            )
            try await Task.sleep(for: .seconds(1))
        }
        flooder.link.shutdown()
        steady.link.shutdown()
        browser.shutdown()
    }

}
