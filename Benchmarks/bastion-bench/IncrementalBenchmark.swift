import Archive
import ArgumentParser
import Core
import Foundation
import Store
import TestClients

/// Incremental snapshots against restic on one corpus, in the same run (docs/formats.md, "Incremental snapshots"):
/// the second backup after 1% of the files changed (time and bytes written), a restore of one 1 MiB file from it
/// (time and bytes the worker read), and a whole restore of the fifth snapshot of a chain next to the first's.
struct IncrementalBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incremental",
        abstract: "Incremental chains vs full snapshots vs restic: second-run cost, one-file restore, chain restore."
    )

    @Option(name: .customLong("corpus-mib"), help: "Corpus size in MiB.") var corpusMiB = 1024
    @Option(name: .customLong("part-mib"), help: "Part size in MiB.") var partMiB = 64
    @Option(name: .customLong("rounds"), help: "Rounds of each whole restore, interleaved; medians are reported.") var rounds = 3
    @Option(name: .customLong("small-files"), help: "Also this many files of ~250 bytes (the previous index held in memory).")
    var smallFiles = 0
    @Flag(name: .customLong("backups-only"), help: "Stop after the two backups (a large --small-files tree: the restores take long).")
    var backupsOnly = false

    func run() async throws {
        let dir = try BenchDirectory("incremental")
        defer { dir.remove() }
        let corpus = dir.path + "/corpus"
        print("generating a \(corpusMiB) MiB corpus…")
        let bytes = try ArchiveBenchmark.makeCorpus(corpus, mib: corpusMiB)
        // One 1 MiB file deep in the stream (after the large files), to restore alone.
        try FileManager.default.createDirectory(atPath: corpus + "/middle", withIntermediateDirectories: true)
        _ = try Shell.run("head -c 1048576 /dev/urandom > '\(corpus)/middle/one-mib.bin'")
        if smallFiles > 0 {
            _ = try Shell.run(
                "mkdir -p '\(corpus)/many' && cd '\(corpus)/many' && for d in $(seq 0 \((smallFiles - 1) / 1000)); do mkdir $d; "
                    + "for f in $(seq 0 999); do echo \"small file $d/$f of the incremental benchmark, padded to about two hundred and fifty bytes "
                    + "with words that compress a little but not entirely, like a config file or a note would\" > $d/$f.txt; done; done"
            )
        }
        let files = try Shell.run("find '\(corpus)' -type f | sort").output.split(separator: "\n").map(String.init)
        print(String(format: "corpus: %.0f MiB in %d files, parts of %d MiB", Double(bytes) / 1_048_576, files.count, partMiB))

        let data = dir.dataDirectory
        let database = try AppDatabase.open(in: data)
        let base = dir.path + "/target"
        let job = try await createBenchJob(
            database,
            name: "incremental",
            paths: [corpus],
            target: .object(["type": "local_dir", "base_dir": .string(base), "part_size_bytes": .number(Double(partMiB * 1_048_576))]),
            pipeline: .object(["incremental": .object(["full_every": 10])])
        )
        let worker = try await startBenchWorker(data)
        defer { worker.terminate() }

        let repo = dir.path + "/restic"
        let restic = "RESTIC_PASSWORD=bench restic -q -r '\(repo)'"
        guard try Shell.run("\(restic) init").status == 0 else { throw BenchError("restic init failed") }

        func finished(_ run: Run) async throws -> Run {
            while true {
                try await Task.sleep(for: .milliseconds(10))
                if let current = try await database.run(id: run.id), current.status != .queued, current.status != .running {
                    guard current.status == .success else { throw BenchError("\(current.kind.rawValue): \(current.error ?? "")") }
                    return current
                }
            }
        }
        func duBytes(_ path: String) throws -> Int64 {
            Int64(try Shell.run("du -sb '\(path)' | cut -f1").output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        func readBytes() -> Int64 {
            let io = (try? String(contentsOfFile: "/proc/\(worker.processIdentifier)/io", encoding: .utf8)) ?? ""
            let line = io.split(separator: "\n").first { $0.hasPrefix("rchar:") } ?? ""
            return Int64(line.split(separator: " ").last ?? "") ?? 0
        }
        /// A Bastion backup: wall seconds, the run, bytes its snapshot takes on the target.
        func backup() async throws -> (Double, Run, Int64) {
            let start = ContinuousClock.now
            guard let queued = try await database.enqueueRun(jobId: job, source: "manual") else { throw BenchError("no job") }
            let run = try await finished(queued)
            return (seconds(since: start), run, try duBytes("\(base)/\(job)/\(run.id)"))
        }
        /// A restic backup: wall seconds, bytes the repository grew by.
        func resticBackup() throws -> (Double, Int64) {
            let before = try duBytes(repo)
            let start = ContinuousClock.now
            guard try Shell.run("\(restic) backup '\(corpus)'").status == 0 else { throw BenchError("restic backup failed") }
            return (seconds(since: start), try duBytes(repo) - before)
        }
        /// A restore into `<dir>/restore-<name>`, left in place: removing a large tree right before the next contender
        /// restores would charge it for the file system's cleanup (the caller removes them together, then syncs).
        func restore(_ backup: Run, selection: [String]? = nil, name: String = "one") async throws -> (Double, Int64) {
            let destination = dir.path + "/restore-" + name
            var parameters: [String: JSONValue] = ["destination": .object(["type": "local_fs", "directory": .string(destination)])]
            if let selection { parameters["selection"] = .object(["files": .array(selection.map(JSONValue.string))]) }
            let read = readBytes()
            let start = ContinuousClock.now
            _ = try await finished(try await database.enqueueOperation(kind: .restore, source: backup, parameters: .object(parameters)))
            let wall = seconds(since: start)
            return (wall, readBytes() - read)
        }
        /// Appends to every 100th file (1%).
        func change(_ round: Int) throws {
            for (index, file) in files.enumerated() where (index + round * 37) % 100 == 0 {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data("appended in round \(round)\n".utf8))
                try handle.close()
            }
        }

        let (firstWall, first, firstBytes) = try await backup()
        let (resticFirstWall, resticFirstBytes) = try resticBackup()
        try change(1)
        let (secondWall, second, secondBytes) = try await backup()
        let workerRSS = ArchiveBenchmark.peakRSSKiB(worker.processIdentifier) ?? 0
        let (resticSecondWall, resticSecondBytes) = try resticBackup()
        let mib = 1_048_576.0
        var start = ContinuousClock.now
        print("backups (the first is full for both):")
        print(
            String(
                format: "  first:  Bastion %6.2f s, %8.1f MiB written;  restic %6.2f s, %8.1f MiB",
                firstWall,
                Double(firstBytes) / mib,
                resticFirstWall,
                Double(resticFirstBytes) / mib
            )
        )
        print(
            String(
                format:
                    "  second, 1%% of files changed:  Bastion %5.2f s, %7.2f MiB written;  restic %5.2f s, %7.2f MiB  (time %.2f× restic's, bytes %.2f× restic's)",
                secondWall,
                Double(secondBytes) / mib,
                resticSecondWall,
                Double(resticSecondBytes) / mib,
                secondWall / resticSecondWall,
                Double(secondBytes) / Double(max(1, resticSecondBytes))
            )
        )
        print("  the worker's peak RSS after both backups: \(workerRSS / 1024) MiB")
        if backupsOnly { return }
        // What a read plan, and a backup on a base written before walk order (held by path), spend on the index before
        // touching the tree; a base in walk order is merged as the walk goes instead (`PriorIndex`).
        let index = "\(base)/\(job)/\(second.id)/\(Manifest.entriesIndexName)"
        start = ContinuousClock.now
        let prior = try IncrementalBase.loadPrior(entriesIndex: index, baseRunId: first.id)
        let loadWall = seconds(since: start)
        start = ContinuousClock.now
        _ = try ChainPlan(entriesIndex: index, selection: nil)
        print(
            String(
                format: "  reading the second snapshot's index (%d files): held by path %.3f s, as a read plan %.3f s",
                prior.count,
                loadWall,
                seconds(since: start)
            )
        )

        let one = String(corpus.dropFirst()) + "/middle/one-mib.bin"
        let (oneWall, oneRead) = try await restore(second, selection: [one])
        _ = try Shell.run("rm -rf '\(dir.path)'/restore-* && sync")
        let resticRestore = dir.path + "/restic-restore"
        start = ContinuousClock.now
        _ = try Shell.run("\(restic) restore latest --target '\(resticRestore)' --include '\(corpus)/middle/one-mib.bin'")
        let resticOneWall = seconds(since: start)
        _ = try Shell.run("rm -rf '\(resticRestore)'")
        print(
            String(
                format:
                    "restore of one 1 MiB file from the second snapshot (its bytes in the first):  Bastion %.3f s, %.1f MiB read (%.2f parts);  restic %.3f s",
                oneWall,
                Double(oneRead) / mib,
                Double(oneRead) / Double(partMiB * 1_048_576),
                resticOneWall
            )
        )

        var last = second
        for round in 2...4 {
            try change(round)
            (_, last, _) = try await backup()
            _ = try resticBackup()
        }
        let level = BackupSummary(json: last.summary)?.chain?.level ?? -1
        var chainWalls: [Double] = []
        var fullWalls: [Double] = []
        var resticWalls: [Double] = []
        for round in 0..<rounds {
            // Who goes first alternates; the trees are removed together after each round.
            if round % 2 == 0 {
                chainWalls.append(try await restore(last, name: "chain").0)
                fullWalls.append(try await restore(first, name: "full").0)
            } else {
                fullWalls.append(try await restore(first, name: "full").0)
                chainWalls.append(try await restore(last, name: "chain").0)
            }
            start = ContinuousClock.now
            _ = try Shell.run("\(restic) restore latest --target '\(resticRestore)'")
            resticWalls.append(seconds(since: start))
            _ = try Shell.run("rm -rf '\(resticRestore)' '\(dir.path)'/restore-* && sync")
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let (chainWall, fullWall, resticWhole) = (median(chainWalls), median(fullWalls), median(resticWalls))
        print(
            String(
                format:
                    "whole restore (medians of \(rounds)):  fifth snapshot of the chain (level %d) %.2f s;  the full first %.2f s (%.2f×);  restic latest %.2f s (%.2f×)",
                level,
                chainWall,
                fullWall,
                chainWall / fullWall,
                resticWhole,
                chainWall / resticWhole
            )
        )
    }
}
