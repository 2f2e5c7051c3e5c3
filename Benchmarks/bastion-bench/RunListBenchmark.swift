import ArgumentParser
import Core
import Foundation
import GRDB
import Store

/// `GET /api/runs`'s query at depth, on a database seeded with many finished runs: numbered pages (a total count and
/// `OFFSET`, the original's paging) next to keyset pages (`(started_at, id) < cursor`) at the same positions.
struct RunListBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "Run list paging: OFFSET + count vs keyset cursor.")

    @Option(help: "Runs to seed.") var runs = 200_000
    @Option(help: "Jobs the runs are spread over.") var jobs = 8
    @Option(help: "Repetitions per measurement (the median is printed).") var repeats = 15
    @Flag(inversion: .prefixedNo, help: "Also time GET /api/runs over HTTP through a real bastion-api (release, next to this binary).")
    var http = true

    func run() async throws {
        let dir = try BenchDirectory("runlist")
        defer { dir.remove() }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let jobIds = try seed(dir.dataDirectory.databasePath)
        print("Run list over \(runs) runs in \(jobs) jobs, 20 per page, median of \(repeats) (ms)")
        print("query                              page 1   page 1000")
        let filters: [(name: String, query: RunListQuery, parameters: String)] = [
            ("all runs", RunListQuery(), ""), ("status = failed", RunListQuery(status: .failed), "&status=failed"),
            ("one job", RunListQuery(jobId: jobIds[3]), "&job_id=\(jobIds[3])"), ("kind = verify", RunListQuery(kind: .verify), "&kind=verify"),
        ]
        var deepCursors: [String: ListCursor] = [:]
        for (name, base, _) in filters {
            // The cursor that starts page 1000 is the key of the 19,980th row of this filter.
            var deep = base
            deep.pageSize = 19_980
            let rows = try await database.listRuns(deep).items
            let cursor = rows.count == 19_980 ? rows.last.map { ListCursor(time: $0.run.startedAt, id: $0.run.id) } : nil
            deepCursors[name] = cursor
            func timed(_ position: RunListQuery.Position) async throws -> String {
                var query = base
                query.position = position
                var samples: [UInt64] = []
                for _ in 0..<repeats {
                    let start = monotonicNanos()
                    _ = try await database.listRuns(query)
                    samples.append(monotonicNanos() - start)
                }
                return String(format: "%8.2f", Double(samples.sorted()[samples.count / 2]) / 1e6)
            }
            let offsetFirst = try await timed(.page(1))
            let offsetDeep = try await timed(.page(1000))
            let keysetFirst = try await timed(.after(nil))
            let keysetDeep = cursor == nil ? "       -" : try await timed(.after(cursor))
            print("\(("OFFSET+count " + name).padding(toLength: 32, withPad: " ", startingAt: 0)) \(offsetFirst)   \(offsetDeep)")
            print("\(("keyset cursor " + name).padding(toLength: 32, withPad: " ", startingAt: 0)) \(keysetFirst)   \(keysetDeep)")
        }
        guard http else { return }
        try await timeOverHTTP(
            database: database,
            directory: dir.dataDirectory.path,
            filters: filters.map { ($0.name, $0.parameters, deepCursors[$0.name]) }
        )
    }

    /// The same pages as a browser asks for them: `GET /api/runs` through bastion-api.
    private func timeOverHTTP(database: AppDatabase, directory: String, filters: [(name: String, parameters: String, deep: ListCursor?)]) async throws
    {
        let api = try await TimedAPI(data: DataDirectory(path: directory), database: database)
        func timed(_ path: String) throws -> String { String(format: "%8.2f", try api.timed(path, repeats: repeats).p50) }
        print("")
        print("GET /api/runs over HTTP (bastion-api, release), 20 per page, median of \(repeats) (ms)")
        print("request                            page 1   page 1000")
        for filter in filters {
            let offsetFirst = try timed("/api/runs?page_size=20&page=1" + filter.parameters)
            let offsetDeep = try timed("/api/runs?page_size=20&page=1000" + filter.parameters)
            let keysetFirst = try timed("/api/runs?page_size=20" + filter.parameters)
            let keysetDeep = try filter.deep.map { try timed("/api/runs?page_size=20&cursor=\($0.token)" + filter.parameters) } ?? "       -"
            print("\(("?page=N " + filter.name).padding(toLength: 32, withPad: " ", startingAt: 0)) \(offsetFirst)   \(offsetDeep)")
            print("\(("?cursor= " + filter.name).padding(toLength: 32, withPad: " ", startingAt: 0)) \(keysetFirst)   \(keysetDeep)")
        }
    }

    /// Finished runs, one every 30 s, round-robin over the jobs, mostly backups (1 in 10 a verify), 1 in 7 failed.
    private func seed(_ path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path, configuration: AppDatabase.makeConfiguration())
        let ids = (0..<jobs).map { "job-\($0)" }
        try queue.write { db in
            for id in ids {
                try db.execute(
                    sql: "INSERT INTO jobs (id, name, overlap_policy, spec_json, created_at, updated_at) VALUES (?, ?, 'queue', '{}', 0, 0)",
                    arguments: [id, "Job \(id)"]
                )
            }
            let insert = try db.makeStatement(
                sql: """
                    INSERT INTO runs (id, job_id, status, started_at, ended_at, kind, summary_json, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            let summary = #"{"artifact_format":"archive_v1","target":{"type":"local_dir","run_dir":"/backups/x"},"warnings":0}"#
            for index in 0..<runs {
                let failed = index % 7 == 0
                let started = Int64(1_700_000_000 + index * 30)
                try insert.execute(arguments: [
                    UUID().uuidString.lowercased(), ids[index % jobs], failed ? "failed" : "success", started, started + 20,
                    index % 10 == 0 ? "verify" : "backup", failed ? nil : summary, failed ? "run_failed" : nil,
                ])
            }
        }
        try queue.close()
        return ids
    }
}
