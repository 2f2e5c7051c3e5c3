import ArgumentParser
import Bus
import Core
import Foundation
import Logging
import Store

/// Appends events to a run the way a worker does (its database and after-COMMIT publisher over the bus), for the
/// browser benchmark (`Tests/Browser/ui_bench.py`): first `--backlog` events in batches of 256, then `--rate` events
/// per second for `--seconds`, printing `seq wall-clock-ms` of each live event's COMMIT on stdout.
struct EventFeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "feed", abstract: "Append a run's events as a worker does (browser benchmark).")

    @Option(help: "Data directory of the running bastion-api.") var dataDir: String
    @Option(help: "Run to append to.") var run: String
    @Option(help: "Events appended at once before the live part.") var backlog = 0
    @Option(help: "Live events per second.") var rate = 100
    @Option(help: "Seconds of live events.") var seconds = 5.0
    @Option(help: "Seconds to wait before the live part.") var delay = 0.0

    func run() async throws {
        var logger = Logger(label: "feed")
        logger.logLevel = .critical
        let directory = DataDirectory(path: dataDir)
        let bus = BusClient(socketPath: directory.socketPath, peer: BusPeer(role: .worker, id: "bench-feed"), logger: logger)
        let database = try AppDatabase.open(in: directory, publisher: BusClientPublisher(client: bus, relayed: []))
        bus.start()
        while !bus.isConnected { try await Task.sleep(for: .milliseconds(20)) }
        var remaining = backlog
        while remaining > 0 {
            let batch = min(256, remaining)
            try await database.appendEvents(runId: run, (0..<batch).map { NewRunEvent(kind: "log", message: "backlog line \(remaining - $0)") })
            remaining -= batch
        }
        Self.emit("backlog done")
        if delay > 0 { try await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
        let total = Int(Double(rate) * seconds)
        let interval = 1_000_000_000 / UInt64(rate)
        var next = monotonicNanos()
        for index in 0..<total {
            let appended = try await database.appendEvents(runId: run, [NewRunEvent(kind: "log", message: "live line \(index)")])
            let wall = Date().timeIntervalSince1970 * 1000
            Self.emit("\(appended[0].seq) \(String(format: "%.3f", wall))")
            next += interval
            let now = monotonicNanos()
            if next > now { try await Task.sleep(for: .nanoseconds(Int64(next - now))) }
        }
        await bus.shutdown()
    }

    /// One line on stdout, unbuffered (the reader waits for it).
    static func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
