import ArgumentParser
import Bus
import Core
import Foundation
import Logging
import Secrets
import Store
import Synchronization
import TestClients

/// Latency from a worker's COMMIT to receipt by WebSocket clients, through the real path: this process commits
/// run events as a worker does (the publisher sends them over the libuv bus after COMMIT), a real release
/// `bastion-api` relays them to its WebSocket subscribers, and N raw WebSocket clients (one thread each) read them.
struct EndToEndLatencyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "e2e", abstract: "COMMIT → WebSocket client latency through bastion-api.")

    @Option(help: "Event rates (events/s) to measure.") var rates = "100,1000"
    @Option(help: "Client counts to measure.") var clients = "1,100"
    @Option(help: "Seconds per measurement.") var seconds = 3.0

    func run() async throws {
        let dir = try BenchDirectory("e2e")
        defer { dir.remove() }
        let port = freePort()
        let apiPath = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path + "/bastion-api"
        let api = Process()
        api.executableURL = URL(fileURLWithPath: apiPath)
        api.arguments = ["--data-dir", dir.dataDirectory.path, "--port", "\(port)", "--log-level", "warning"]
        try api.run()
        defer { api.terminate() }

        let commits = CommitTimes()
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let bus = BusClient(socketPath: dir.dataDirectory.socketPath, peer: BusPeer(role: .worker, id: "bench-writer"), logger: logger)
        // The worker's own publisher, with the commit instant noted first.
        let database = try AppDatabase.open(
            in: dir.dataDirectory,
            publisher: TimedPublisher(commits: commits, inner: BusClientPublisher(client: bus, relayed: [.runs]))
        )
        bus.start()
        let job = try await seedQueuedRuns(database, count: 1)
        let run = try await database.listRuns(status: .queued, jobId: job, page: 1, pageSize: 1).items[0].id
        while !bus.isConnected { try await Task.sleep(for: .milliseconds(20)) }
        // The WebSocket needs a session and a matching Origin: sign a user in directly in the database.
        let token = SessionToken.generate()
        _ = try await database.createFirstUser(username: "bench", passwordHash: "unused")
        let userId = try await database.user(username: "bench")!.id
        try await database.createSession(userId: userId, tokenHash: SessionToken.hash(token), csrfToken: "unused", ttl: 3600)
        let headers = ["Cookie": "bastion_session=\(token)", "Origin": "http://127.0.0.1:\(port)"]

        print("COMMIT → WebSocket receipt through bastion-api (release), \(seconds) s per row, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("rate (ev/s)  clients    p50 (ms)   p99 (ms)   max (ms)   samples")
        for clientCount in clients.split(separator: ",").compactMap({ Int($0) }) {
            for rate in rates.split(separator: ",").compactMap({ Int($0) }) {
                let last = try await database.events(runId: run, afterSeq: 0, limit: 1_000_000).last?.seq ?? 0
                var sockets: [RawWebSocket] = []
                for _ in 0..<clientCount {
                    sockets.append(try await RawWebSocket.connect(port: port, path: "/api/runs/\(run)/events/ws?after_seq=\(last)", headers: headers))
                }
                let total = Int(Double(rate) * seconds)
                let target = last + Int64(total)
                let samples = Samples()
                let readers = sockets.map { socket in
                    Thread {
                        var local: [UInt64] = []
                        local.reserveCapacity(total)
                        defer { samples.add(local) }
                        while true {
                            guard let text = try? socket.nextTextBlocking(timeout: 10) else { return }
                            let received = monotonicNanos()
                            guard let seq = Self.seq(in: text) else { continue }
                            if let committed = commits.time(seq) { local.append(received &- committed) }
                            if seq >= target { return }
                        }
                    }
                }
                for reader in readers { reader.start() }
                let interval = 1_000_000_000 / UInt64(rate)
                var next = monotonicNanos()
                for _ in 0..<total {
                    try await database.appendEvents(runId: run, [NewRunEvent(kind: "log", message: "benchmark line")])
                    next += interval
                    let now = monotonicNanos()
                    if next > now { try await Task.sleep(for: .nanoseconds(Int64(next - now))) }
                }
                let deadline = monotonicNanos() + 15_000_000_000
                while readers.contains(where: { !$0.isFinished }), monotonicNanos() < deadline { try await Task.sleep(for: .milliseconds(20)) }
                for socket in sockets { socket.shutdown() }
                let summary = samples.summary()
                print(
                    String(
                        format: "%10d %8d %11.3f %10.3f %10.3f %9d%@",
                        rate,
                        clientCount,
                        summary.p50 / 1e6,
                        summary.p99 / 1e6,
                        summary.max / 1e6,
                        summary.count,
                        summary.count < total * clientCount ? "  (missing \(total * clientCount - summary.count))" : ""
                    )
                )
            }
        }
        await bus.shutdown()
    }

    static func seq(in text: String) -> Int64? {
        guard let range = text.range(of: "\"seq\":") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        return Int64(digits)
    }
}

/// Notes each event's commit instant, then hands the batch to the real publisher.
struct TimedPublisher: AfterCommitPublisher {
    let commits: CommitTimes
    let inner: BusClientPublisher

    func publish(_ work: AfterCommit) {
        let now = monotonicNanos()
        for event in work.events { commits.record(event.seq, now) }
        inner.publish(work)
    }
}

/// Commit instants by seq, written by the publisher and read by the client threads.
final class CommitTimes: Sendable {
    private let times = Mutex<[Int64: UInt64]>([:])
    func record(_ seq: Int64, _ time: UInt64) { times.withLock { $0[seq] = time } }
    func time(_ seq: Int64) -> UInt64? { times.withLock { $0[seq] } }
}

/// Latency samples from many threads.
final class Samples: Sendable {
    private let values = Mutex<[UInt64]>([])
    func add(_ batch: [UInt64]) { values.withLock { $0 += batch } }
    var count: Int { values.withLock { $0.count } }

    func summary(from start: Int = 0) -> (p50: Double, p99: Double, max: Double, count: Int) {
        let sorted = values.withLock { $0.dropFirst(start) }.sorted()
        guard !sorted.isEmpty else { return (0, 0, 0, 0) }
        return (Double(sorted[sorted.count / 2]), Double(sorted[min(sorted.count - 1, sorted.count * 99 / 100)]), Double(sorted.last!), sorted.count)
    }
}
