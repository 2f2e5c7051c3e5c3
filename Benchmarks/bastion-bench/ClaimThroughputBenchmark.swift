import ArgumentParser
import Core
import Foundation
import GRDB
import Logging
import Runs
import Store

/// Claim + complete throughput of no-op runs with 1, 2 and 4 worker processes (the real `RunWorker`: indexed claim
/// with a fresh token and `start` event, heartbeat task, event sink, fenced completion with its event), next to a
/// plain single-threaded SQLite loop running the same statements with the same pragmas in the same run.
struct ClaimThroughputBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "claims", abstract: "Claim+complete throughput vs a plain SQLite loop.")

    @Option(help: "Queued runs per measurement.") var runs = 3000
    @Option(help: "Worker process counts to measure.") var workers = "1,2,4"

    func run() async throws {
        let counts = workers.split(separator: ",").compactMap { Int($0) }
        let plain = try await plainLoop()
        print("Claim+complete of no-op runs, \(runs) runs per measurement, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("plain SQLite loop (same statements prepared once, same pragmas, 1 thread): \(formatRate(plain)) runs/s")
        let direct = try await appDatabaseLoop()
        print(
            String(
                format: "AppDatabase claim+complete loop (no RunWorker):          %@ runs/s   ratio to plain loop %.2f",
                formatRate(direct),
                direct / plain
            )
        )
        for count in counts {
            let rate = try await workerProcesses(count)
            print(
                String(
                    format: "bastion RunWorker × %d process%@:            %@ runs/s   ratio to plain loop %.2f",
                    count,
                    count == 1 ? "  " : "es",
                    formatRate(rate),
                    rate / plain
                )
            )
        }
    }

    private func workerProcesses(_ count: Int) async throws -> Double {
        let dir = try BenchDirectory("claims\(count)")
        defer { dir.remove() }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        _ = try await seedQueuedRuns(database, count: runs)
        try database.pool.close()
        var children: [(pid_t, FileHandle)] = []
        for index in 0..<count {
            children.append(try spawnSelf(["claim-worker", "--data-dir", dir.dataDirectory.path, "--worker-id", "bench-\(index)"]))
        }
        var first = UInt64.max
        var last: UInt64 = 0
        var executed = 0
        for (pid, output) in children {
            let text = String(decoding: output.readDataToEndOfFile(), as: UTF8.self)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let fields = text.split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
            guard fields.count == 3 else { throw ValidationError(code: "bench", field: "", reason: "", message: "worker said: \(text)") }
            executed += Int(fields[0])
            if fields[0] > 0 {
                first = min(first, fields[1])
                last = max(last, fields[2])
            }
        }
        guard executed == runs else { throw ValidationError(code: "bench", field: "", reason: "", message: "executed \(executed) of \(runs)") }
        return Double(runs) / (Double(last - first) / 1e9)
    }

    /// The database layer alone (async pool, JSON, publishing), to separate its cost from the worker machinery.
    private func appDatabaseLoop() async throws -> Double {
        let dir = try BenchDirectory("direct")
        defer { dir.remove() }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        _ = try await seedQueuedRuns(database, count: runs)
        let start = monotonicNanos()
        while let claimed = try await database.claimNextRun(workerId: "direct") {
            _ = try await database.completeRun(runId: claimed.run.id, claimToken: claimed.claimToken, outcome: .success(summary: .object([:])))
        }
        return Double(runs) / (Double(monotonicNanos() - start) / 1e9)
    }

    /// The floor: the same claim and completion statements, prepared once and reused, synchronous, one connection.
    private func plainLoop() async throws -> Double {
        let dir = try BenchDirectory("plain")
        defer { dir.remove() }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        _ = try await seedQueuedRuns(database, count: runs)
        try database.pool.close()
        let queue = try DatabaseQueue(path: dir.dataDirectory.databasePath, configuration: AppDatabase.makeConfiguration())
        let start = monotonicNanos()
        var done = 0
        while true {
            let token = UUID().uuidString
            let now = unixNow()
            var claimed: String?
            try queue.inTransaction(.immediate) { db in
                let claim = try db.cachedStatement(
                    sql:
                        "UPDATE runs SET status = 'running', started_at = ?, worker_id = ?, claim_token = ?, heartbeat_at = ? WHERE id = (\(AppDatabase.nextQueuedRunSQL)) RETURNING id"
                )
                guard let id = try String.fetchOne(claim, arguments: [now, "plain", token, now, AppDatabase.hubNode]) else { return .commit }
                _ = try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM runs WHERE id = ?"), arguments: [id])
                _ = try Row.fetchOne(
                    try db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = (SELECT job_id FROM runs WHERE id = ?)"),
                    arguments: [id]
                )
                try Self.appendEvent(db, runId: id, kind: "start", now: now)
                claimed = id
                return .commit
            }
            guard let id = claimed else { break }
            try queue.inTransaction(.immediate) { db in
                _ = try Row.fetchOne(
                    try db.cachedStatement(
                        sql: "SELECT cancel_requested_at, cancel_reason FROM runs WHERE id = ? AND status = 'running' AND claim_token = ?"
                    ),
                    arguments: [id, token]
                )
                try db.cachedStatement(sql: "UPDATE runs SET status = 'success', ended_at = ?, summary_json = '{}', error = NULL WHERE id = ?")
                    .execute(arguments: [now, id])
                try Self.appendEvent(db, runId: id, kind: "complete", now: now)
                return .commit
            }
            done += 1
        }
        precondition(done == runs)
        return Double(runs) / (Double(monotonicNanos() - start) / 1e9)
    }

    static func appendEvent(_ db: Database, runId: String, kind: String, now: Int64) throws {
        let seq =
            (try Int64.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM run_events WHERE run_id = ?"), arguments: [runId]) ?? 0)
            + 1
        try db.cachedStatement(
            sql: "INSERT INTO run_events (run_id, seq, ts, level, kind, message, fields_json) VALUES (?, ?, ?, 'info', ?, ?, NULL)"
        )
        .execute(arguments: [runId, seq, now, kind, kind])
    }
}

/// Child process of `claims`: drains the queue with the real `RunWorker` and prints `count first_ns last_ns`.
struct ClaimWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "claim-worker", shouldDisplay: false)

    @Option var dataDir: String
    @Option var workerId: String

    func run() async throws {
        var logger = Logger(label: "bench-worker")
        logger.logLevel = .critical
        let database = try AppDatabase.open(in: DataDirectory(path: dataDir))
        let worker = RunWorker(database: database, settings: .init(workerId: workerId), executors: [NoopExecutor()], logger: logger)
        let start = monotonicNanos()
        let executed = await worker.drainQueue()
        let end = monotonicNanos()
        print("\(executed) \(start) \(end)")
    }
}
