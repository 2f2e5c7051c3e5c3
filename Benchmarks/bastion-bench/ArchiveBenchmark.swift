import ArgumentParser
import Foundation
import Shared
import TestClients

/// Backup and restore throughput of `archive_v1` on a generated corpus, next to `tar | zstd -3 -T0` and
/// `restic backup` in the same run, plus the real worker's peak RSS.
struct ArchiveBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "archive", abstract: "Backup/restore throughput vs tar|zstd and restic.")

    @Option(name: .customLong("corpus-mib"), help: "Corpus size in MiB (at least 1024 for the issue's figures).") var corpusMiB = 1100
    @Option(name: .customLong("part-mib"), help: "Part size in MiB.") var partMiB = 256

    static func timed(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Many small files (half text, half random) plus a few large ones (compressible and incompressible).
    static func makeCorpus(_ root: String, mib: Int) throws -> Int64 {
        let fm = FileManager.default
        var total: Int64 = 0
        var generator = SystemRandomNumberGenerator()
        let smallBytes = mib / 7 * 1_048_576
        var index = 0
        while total < Int64(smallBytes) {
            let dir = "\(root)/small/\(index / 500)"
            if index % 500 == 0 { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            let size = Int.random(in: 1024...32768, using: &generator)
            let data: Data
            if index % 2 == 0 {
                data = Data(String(repeating: "log line \(index) status=ok latency=12ms\n", count: size / 40 + 1).utf8.prefix(size))
            } else {
                data = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            try data.write(to: URL(fileURLWithPath: "\(dir)/file-\(index).dat"))
            total += Int64(data.count)
            index += 1
        }
        try fm.createDirectory(atPath: root + "/large", withIntermediateDirectories: true)
        let largeEach = (mib * 1_048_576 - Int(total)) / 4
        for large in 0..<4 {
            let path = "\(root)/large/large-\(large).bin"
            if large % 2 == 0 {
                _ = try Shell.run("head -c \(largeEach) /dev/urandom > '\(path)'")
            } else {
                // Compressible: repeated records with varying numbers.
                _ = try Shell.run(
                    "seq 1 100000000 | awk '{print \"record\", $1, $1 % 97, \"payload-payload-payload\"}' | head -c \(largeEach) > '\(path)'"
                )
            }
            total += Int64(largeEach)
        }
        return total
    }

    static func peakRSSKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "")
        }
        return nil
    }

    func run() async throws {
        let dir = try BenchDirectory("archive")
        defer { dir.remove() }
        let corpus = dir.path + "/corpus"
        print("generating a \(corpusMiB) MiB corpus…")
        let bytes = try Self.makeCorpus(corpus, mib: corpusMiB)
        let files = try Shell.run("find '\(corpus)' -type f | wc -l").trimmed
        _ = try Shell.run("tar -cf - '\(corpus)' > /dev/null")  // warm the page cache for everyone
        let mb = Double(bytes) / 1_048_576
        print("corpus: \(files) files, \(String(format: "%.0f", mb)) MiB, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("what                                          seconds    MiB/s   ratio")
        func row(_ name: String, _ seconds: Double, _ baseline: Double?) {
            let ratio = baseline.map { String(format: "%.2f", $0 / seconds) } ?? "1.00"
            print(name.padding(toLength: 44, withPad: " ", startingAt: 0), String(format: "%8.2f %8.1f   %@", seconds, mb / seconds, ratio))
        }

        let tarZstd = try Self.timed {
            _ = try Shell.run("tar -cf - -C / '\(corpus.dropFirst())' | zstd -3 -T0 -q -o '\(dir.path)/baseline.tar.zst'")
        }
        row("tar -cf - | zstd -3 -T0 (baseline)", tarZstd, nil)

        // The pipeline in-process (no worker): the same code a backup runs.
        let runDir = dir.path + "/target/job/run"
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        let progress = BuildProgress()
        let partBytes = Int64(partMiB) * 1_048_576
        let builder = ArchiveBuilder(settings: .init(jobId: "job", runId: "run", runDirectory: runDir, partSize: partBytes), progress: progress) {
            false
        }
        let roots = try ArchiveBuilder.roots(paths: [corpus], root: nil, progress: progress)
        let ours = try Self.timed { _ = try builder.build(roots) }
        row("archive_v1 build (tar→zstd→parts+BLAKE3)", ours, tarZstd)

        // The real worker on a real job, and its peak RSS.
        let data = dir.dataDirectory
        let database = try AppDatabase.open(in: data)
        let spec: JSONValue = .object([
            "v": 1, "type": "filesystem", "source": .object(["paths": .array([.string(corpus)])]),
            "target": .object(["type": "local_dir", "base_dir": .string(dir.path + "/worker-target"), "part_size_bytes": .number(Double(partBytes))]),
        ])
        let job = try await database.createJob(
            JobInput(name: "bench", schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
        )
        let binDir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: binDir + "/bastion-worker")
        worker.arguments = ["--data-dir", data.path, "--safety-poll-seconds", "0.05", "--log-level", "warning"]
        try worker.run()
        defer { worker.terminate() }
        try await Task.sleep(for: .milliseconds(500))
        let run = try await database.enqueueRun(jobId: job.id, source: "bench")!
        let started = ContinuousClock.now
        var finished: Run?
        while finished == nil {
            try await Task.sleep(for: .milliseconds(20))
            if let current = try await database.run(id: run.id), current.status != .queued, current.status != .running { finished = current }
        }
        let workerSeconds = ContinuousClock.now - started
        let workerTime = Double(workerSeconds.components.seconds) + Double(workerSeconds.components.attoseconds) / 1e18
        row("bastion-worker filesystem job (\(finished!.status.rawValue))", workerTime, tarZstd)
        let rss = Self.peakRSSKiB(worker.processIdentifier) ?? 0

        // restic, local repository.
        if try Shell.run("command -v restic").status == 0 {
            let repo = dir.path + "/restic-repo"
            _ = try Shell.run("RESTIC_PASSWORD=bench restic -q -r '\(repo)' init")
            let restic = try Self.timed { _ = try Shell.run("RESTIC_PASSWORD=bench restic -q -r '\(repo)' backup '\(corpus)'") }
            row("restic backup (local repo, first run)", restic, tarZstd)
            print(String(format: "  archive_v1 build vs restic: %.2fx faster", restic / ours))
        } else {
            print("restic not installed (make bench installs it)")
        }

        // Restore.
        let zstdTar = try Self.timed {
            _ = try Shell.run("mkdir -p '\(dir.path)/untar' && zstd -d -q -c '\(dir.path)/baseline.tar.zst' | tar -x -C '\(dir.path)/untar'")
        }
        row("zstd -d | tar -x (baseline)", zstdTar, nil)
        let restoreDir = dir.path + "/restore"
        try FileManager.default.createDirectory(atPath: restoreDir, withIntermediateDirectories: true)
        let restore = try Self.timed {
            let snapshot = try Snapshot(directory: runDir)
            let writer = RestoreWriter(destination: restoreDir, policy: .overwrite, selection: nil)
            try snapshot.streamPayload(into: try ZstdDecompressor(next: TarReader(delegate: writer)))
            writer.finishDirectories()
        }
        row("archive_v1 restore (parts checked→zstd→tar)", restore, zstdTar)
        let same = try Shell.run("diff -rq '\(corpus)' '\(restoreDir)\(corpus)' && echo identical").output
        print("restored tree: \(same.contains("identical") ? "identical to the corpus" : "DIFFERS: \(same.prefix(300))")")
        print("bastion-worker peak RSS during the backup: \(rss / 1024) MiB (VmHWM)")

        // Where the time goes: BLAKE3 (portable Swift, one core) next to b3sum (SIMD, one thread) on 256 MiB.
        var buffer = [UInt8](repeating: 0, count: 256 << 20)
        for index in stride(from: 0, to: buffer.count, by: 4096) { buffer[index] = UInt8(truncatingIfNeeded: index / 4096) }
        let hashSeconds = Self.timed {
            var hasher = BLAKE3()
            hasher.update(buffer)
            _ = hasher.finalizeHex()
        }
        try Data(buffer).write(to: URL(fileURLWithPath: dir.path + "/hash.bin"))
        let b3 = try Self.timed { _ = try Shell.run("b3sum --num-threads 1 '\(dir.path)/hash.bin'") }
        print(String(format: "BLAKE3 one core: this implementation %.0f MiB/s, b3sum --num-threads 1 %.0f MiB/s", 256 / hashSeconds, 256 / b3))
    }
}
