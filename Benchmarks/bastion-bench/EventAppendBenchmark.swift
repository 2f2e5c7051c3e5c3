import ArgumentParser
import Core
import Foundation
import GRDB
import Store

/// Event append throughput through `AppDatabase.appendEvents` (async pool, seq allocation, publish hook), single
/// and in batches of 256, next to plain synchronous SQLite inserts with the same statements and pragmas.
struct EventAppendBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Event append throughput vs plain SQLite inserts.")

    @Option(help: "Events per measurement.") var count = 20_000

    func run() async throws {
        print("Run event appends, \(count) events per measurement")
        for batch in [1, 256] {
            let bastion = try await viaAppDatabase(batch: batch)
            let plain = try plainInserts(batch: batch)
            print(
                String(
                    format: "batch %3d: bastion appendEvents %@ events/s, plain SQLite %@ events/s, ratio %.2f",
                    batch,
                    formatRate(bastion),
                    formatRate(plain),
                    bastion / plain
                )
            )
        }
    }

    private func freshRun(_ name: String) async throws -> (BenchDirectory, AppDatabase, String) {
        let dir = try BenchDirectory(name)
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let job = try await seedQueuedRuns(database, count: 1)
        let run = try await database.listRuns(status: .queued, jobId: job, page: 1, pageSize: 1).items[0].id
        return (dir, database, run)
    }

    private func viaAppDatabase(batch: Int) async throws -> Double {
        let (dir, database, run) = try await freshRun("ev\(batch)")
        defer { dir.remove() }
        let events = (0..<batch).map { _ in NewRunEvent(kind: "log", message: "line of output from a backup step") }
        let start = monotonicNanos()
        for _ in 0..<(count / batch) { try await database.appendEvents(runId: run, events) }
        return Double(count / batch * batch) / (Double(monotonicNanos() - start) / 1e9)
    }

    private func plainInserts(batch: Int) throws -> Double {
        let dir = try BenchDirectory("plainev\(batch)")
        defer { dir.remove() }
        _ = try AppDatabase.open(in: dir.dataDirectory)
        let queue = try DatabaseQueue(path: dir.dataDirectory.databasePath, configuration: AppDatabase.makeConfiguration())
        try queue.write { db in
            try db.execute(
                sql: "INSERT INTO jobs (id, name, overlap_policy, spec_json, created_at, updated_at) VALUES ('j', 'j', 'queue', '{}', 0, 0)"
            )
            try db.execute(sql: "INSERT INTO runs (id, job_id, status, started_at) VALUES ('r', 'j', 'queued', 0)")
        }
        let start = monotonicNanos()
        for _ in 0..<(count / batch) {
            try queue.inTransaction(.immediate) { db in
                var seq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM run_events WHERE run_id = 'r'") ?? 0
                let statement = try db.cachedStatement(
                    sql: "INSERT INTO run_events (run_id, seq, ts, level, kind, message, fields_json) VALUES ('r', ?, 0, 'info', 'log', ?, NULL)"
                )
                for _ in 0..<batch {
                    seq += 1
                    try statement.execute(arguments: [seq, "line of output from a backup step"])
                }
                return .commit
            }
        }
        return Double(count / batch * batch) / (Double(monotonicNanos() - start) / 1e9)
    }
}
