import ArgumentParser
import Core
import Foundation
import Store
import TestClients

/// Runs `command` with `/bin/sh -c` and waits: its status and output. A `Child` (output to a file), not Foundation's
/// `Process`, whose wait can hang once servers and the worker run beside it (a started server keeps pipes open).
func benchShell(_ command: String, logDir: String) async throws -> (status: Int32, output: String, trimmed: String) {
    let result = try await Child.shell(command, logDir: logDir, timeout: .seconds(7200))
    return (result.status, result.output, result.output.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// Dump-and-archive throughput of a `postgres` and a `mariadb` job through the real worker (from the enqueue to the
/// terminal status: the dump tool's output streamed into an `archive_v1` snapshot) next to the dump tool alone to
/// /dev/null (`pg_dump -Fc`, `mariadb-dump --single-transaction --routines --events --triggers`), interleaved in the
/// same run, on a generated database of about `--mib` MiB per engine.
struct DatabaseBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "databases",
        abstract: "PostgreSQL/MariaDB job throughput vs pg_dump -Fc and mariadb-dump to /dev/null."
    )

    @Option(name: .customLong("mib"), help: "Size of each generated database's table data in MiB (1024 for the issue's figures).")
    var mib = 1024
    @Option(name: .customLong("rounds"), help: "Rounds of every measurement, interleaved; medians are reported.") var rounds = 3
    @Option(name: .customLong("engine"), help: "postgres, mariadb or both.") var engine = "both"

    /// Wall seconds of each round of one contender.
    struct Samples {
        var wall: [Double] = []
        var median: Double { wall.sorted()[wall.count / 2] }
        var range: String { String(format: "%.2f–%.2f", wall.min() ?? 0, wall.max() ?? 0) }
    }

    /// One engine's measurement: the dump tool alone, then the worker's job, `rounds` times interleaved.
    struct Contest {
        var name: String
        var bytes: Int64
        var dumpBytes: Int64 = 0
        var archiveBytes: Int64 = 0
        var tool = Samples()
        var job = Samples()
        var statuses = Set<String>()
    }

    func run() async throws {
        guard ["postgres", "mariadb", "both"].contains(engine) else { throw ValidationError("--engine: postgres, mariadb or both") }
        let dir = try BenchDirectory("databases")
        defer { dir.remove() }
        // The postgres user (the server's owner) must reach the directories under it.
        chmod(dir.path, 0o755)
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let worker = try await startBenchWorker(dir.dataDirectory)
        defer { worker.terminate() }
        print("\(ProcessInfo.processInfo.activeProcessorCount) cores; \(rounds) rounds, interleaved; ~\(mib) MiB of table data per engine")

        var contests: [Contest] = []
        if engine != "mariadb" { contests.append(try await postgres(dir: dir, database: database, worker: worker)) }
        if engine != "postgres" { contests.append(try await mariadb(dir: dir, database: database, worker: worker)) }

        print("median of \(rounds) rounds                                   seconds    MiB/s   ratio   (wall min–max)")
        for contest in contests {
            let mb = Double(contest.bytes) / 1_048_576
            func row(_ name: String, _ samples: Samples, ratio: String) {
                print(
                    name.padding(toLength: 56, withPad: " ", startingAt: 0),
                    String(format: "%8.2f %8.1f   %@   (%@)", samples.median, mb / samples.median, ratio, samples.range)
                )
            }
            print(
                "\(contest.name): \(String(format: "%.0f", mb)) MiB of table data, dump \(contest.dumpBytes / 1_048_576) MiB, "
                    + "snapshot \(contest.archiveBytes / 1_048_576) MiB"
            )
            row("  \(contest.name == "postgres" ? "pg_dump -Fc > /dev/null" : "mariadb-dump > /dev/null") (baseline)", contest.tool, ratio: "1.00")
            row(
                "  bastion-worker \(contest.name) job (\(contest.statuses.sorted().joined(separator: ",")))",
                contest.job,
                ratio: String(format: "%.2f", contest.tool.median / contest.job.median)
            )
        }
    }

    /// Enqueues a run of `jobId` and waits for its end: wall seconds from the enqueue and the run.
    func timedRun(_ database: AppDatabase, jobId: String) async throws -> (Double, Run) {
        let run = try await database.enqueueRun(jobId: jobId, source: "bench")!
        let started = ContinuousClock.now
        while true {
            try await Task.sleep(for: .milliseconds(10))
            if let current = try await database.run(id: run.id), current.status != .queued, current.status != .running {
                return (seconds(since: started), current)
            }
        }
    }

    /// Runs the dump tool alone and the job `rounds` times, interleaved.
    func contest(_ contest: inout Contest, database: AppDatabase, jobId: String, target: String, tool: String, logDir: String) async throws {
        contest.dumpBytes = Int64(try await benchShell(tool + " | wc -c", logDir: logDir).trimmed) ?? 0
        for round in 1...rounds {
            print("\(contest.name) round \(round)…")
            let start = ContinuousClock.now
            let result = try await benchShell(tool + " > /dev/null", logDir: logDir)
            contest.tool.wall.append(seconds(since: start))
            guard result.status == 0 else { throw ValidationError("\(tool) failed: \(result.output)") }
            try? FileManager.default.removeItem(atPath: target)
            let (wall, finished) = try await timedRun(database, jobId: jobId)
            contest.job.wall.append(wall)
            contest.statuses.insert(finished.status.rawValue)
            if finished.status != .success { print("  run \(finished.id): \(finished.status.rawValue) \(finished.error ?? "")") }
            contest.archiveBytes = Int64(try await benchShell("du -sb '\(target)' | cut -f1", logDir: logDir).trimmed) ?? 0
        }
        try? FileManager.default.removeItem(atPath: target)
    }

    func createJob(_ database: AppDatabase, name: String, type: String, source: JSONValue, target: String) async throws -> String {
        let spec: JSONValue = .object([
            "v": 1, "type": .string(type), "source": source,
            "target": .object(["type": "local_dir", "base_dir": .string(target), "part_size_bytes": .number(Double(256 << 20))]),
        ])
        return try await database.createJob(
            JobInput(name: name, schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
        ).id
    }

    // MARK: MariaDB

    func mariadb(dir: BenchDirectory, database: AppDatabase, worker: Process) async throws -> Contest {
        print("mariadb: starting a server and generating the database…")
        let server = try await MariaDBServer(directory: dir.path + "/mariadb", bufferPoolMiB: 512)
        defer { server.stop() }
        let bytes = try await Self.generateMariaDB(server, mib: mib)
        var contest = Contest(name: "mariadb", bytes: bytes)
        // root over the server's socket (unix_socket authentication: the worker runs as root), like a local job.
        let target = dir.path + "/mariadb-target"
        let jobId = try await createJob(
            database,
            name: "mariadb",
            type: "mariadb",
            source: .object(["host": .string(server.socket), "user": "root", "databases": .array(["bench"]), "globals": true]),
            target: target
        )
        let tool =
            "mariadb-dump --no-defaults --socket='\(server.socket)' --user=root --single-transaction --routines --events --triggers bench"
        try await self.contest(&contest, database: database, jobId: jobId, target: target, tool: tool, logDir: dir.path)
        return contest
    }

    /// One InnoDB table of text, numbers, a date and random bytes, grown with INSERT … SELECT from the SEQUENCE
    /// engine until its data is about `mib` MiB; returns its data length.
    static func generateMariaDB(_ server: MariaDBServer, mib: Int) async throws -> Int64 {
        // About 300 bytes a row on disk.
        let rows = mib * 1_048_576 / 300
        try await server.sql(
            """
            CREATE DATABASE bench CHARACTER SET utf8mb4;
            USE bench;
            CREATE TABLE bench.items (
              id BIGINT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL, created DATETIME NOT NULL,
              label VARCHAR(200) NOT NULL, payload VARBINARY(64) NOT NULL
            ) ENGINE=InnoDB;
            SET SESSION unique_checks = 0;
            INSERT INTO bench.items (n, created, label, payload)
              SELECT seq % 1000, '2026-01-01' + INTERVAL seq SECOND,
                     CONCAT('item ', seq, ' ', REPEAT(MD5(seq % 5000), 3), ' café'), RANDOM_BYTES(48)
              FROM seq_1_to_\(rows);
            ANALYZE TABLE bench.items;
            """
        )
        let length = try await server.sql(
            "SELECT data_length + index_length FROM information_schema.tables WHERE table_schema = 'bench' AND table_name = 'items'"
        )
        return Int64(length.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    // MARK: PostgreSQL

    func postgres(dir: BenchDirectory, database: AppDatabase, worker: Process) async throws -> Contest {
        print("postgres: starting a server and generating the database…")
        let server = try await BenchPostgres(directory: dir.path + "/postgres")
        do {
            let contest = try await postgresContest(server, dir: dir, database: database)
            await server.stop()
            return contest
        } catch {
            await server.stop()
            throw error
        }
    }

    func postgresContest(_ server: BenchPostgres, dir: BenchDirectory, database: AppDatabase) async throws -> Contest {
        let bytes = try await server.generate(mib: mib)
        var contest = Contest(name: "postgres", bytes: bytes)
        let target = dir.path + "/postgres-target"
        let jobId = try await createJob(
            database,
            name: "postgres",
            type: "postgres",
            source: .object([
                "host": .string(server.directory), "port": .number(Double(server.port)), "user": "postgres",
                "databases": .array(["bench"]), "globals": true,
            ]),
            target: target
        )
        let tool = "\(server.bin)/pg_dump -Fc -h '\(server.directory)' -p \(server.port) -U postgres bench"
        try await self.contest(&contest, database: database, jobId: jobId, target: target, tool: tool, logDir: dir.path)
        return contest
    }
}

/// A PostgreSQL server for the benchmark: `initdb` (trust authentication: only the socket, in a directory of its
/// own) and `pg_ctl start` as the `postgres` user, which owns `directory`; listening on no TCP address.
final class BenchPostgres {
    let directory: String
    let port = freePort()
    let bin: String

    init(directory: String) async throws {
        func run(_ command: String) async throws -> (status: Int32, output: String, trimmed: String) {
            try await benchShell(command, logDir: directory)
        }
        self.directory = directory
        guard let found = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted().last else {
            throw ValidationError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin)")
        }
        bin = "/usr/lib/postgresql/\(found)/bin"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = try await run("chown postgres: '\(directory)'")
        let initdb = try await run("runuser -u postgres -- \(bin)/initdb -D '\(directory)/data' --auth=trust -U postgres -E UTF8 --locale=C.UTF-8")
        guard initdb.status == 0 else { throw ValidationError("initdb failed: \(initdb.output)") }
        let start = try await run(
            "runuser -u postgres -- \(bin)/pg_ctl -D '\(directory)/data' -l '\(directory)/server.log' -w "
                + "-o \"-p \(port) -k '\(directory)' -c listen_addresses='' -c shared_buffers=256MB -c max_wal_size=4GB\" start > '\(directory)/pg_ctl.log' 2>&1"
        )
        // Its output goes to a file: the server it starts would hold a pipe open, and the read would never end.
        guard start.status == 0 else {
            throw ValidationError(
                "pg_ctl start failed: \(String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: directory + "/pg_ctl.log"))) ?? Data(), as: UTF8.self))"
            )
        }
    }

    func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let file = directory + "/query.sql"
        try Data(sql.utf8).write(to: URL(fileURLWithPath: file))
        let result = try await benchShell(
            "\(bin)/psql -X -q -t -A -v ON_ERROR_STOP=1 -h '\(directory)' -p \(port) -U postgres -d \(database) < '\(file)'",
            logDir: directory
        )
        guard result.status == 0 else { throw ValidationError("psql failed: \(result.output)") }
        return result.trimmed
    }

    /// The same shape of table as the MariaDB one, in database `bench`; returns its size on disk (table + index).
    func generate(mib: Int) async throws -> Int64 {
        let rows = mib * 1_048_576 / 300
        _ = try await psql("CREATE DATABASE bench")
        _ = try await psql(
            """
            CREATE TABLE items (id BIGSERIAL PRIMARY KEY, n INT NOT NULL, created TIMESTAMP NOT NULL, label TEXT NOT NULL, payload BYTEA NOT NULL);
            INSERT INTO items (n, created, label, payload)
              SELECT g % 1000, '2026-01-01'::timestamp + g * interval '1 second',
                     'item ' || g || ' ' || repeat(md5((g % 5000)::text), 3) || ' café', gen_random_bytes_or_md5(g)
              FROM generate_series(1, \(rows)) g;
            VACUUM ANALYZE items;
            """.replacingOccurrences(
                of: "gen_random_bytes_or_md5(g)",
                with: "decode(md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex')"
            ),
            database: "bench"
        )
        return Int64(try await psql("SELECT pg_total_relation_size('items')", database: "bench")) ?? 0
    }

    func stop() async {
        _ = try? await benchShell("runuser -u postgres -- \(bin)/pg_ctl -D '\(directory)/data' -m fast -w stop", logDir: directory)
    }
}
