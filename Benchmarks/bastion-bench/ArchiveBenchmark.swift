import Archive
import ArgumentParser
import Core
import Foundation
import Store
import TestClients

/// Backup and restore throughput of `archive_v1` on a generated corpus, next to `tar | zstd -3 -T0` and
/// `restic backup` in the same run, plus the real worker's peak RSS.
struct ArchiveBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "archive", abstract: "Backup/restore throughput vs tar|zstd and restic.")

    @Option(name: .customLong("corpus-mib"), help: "Corpus size in MiB (at least 1024 for the issue's figures).") var corpusMiB = 1100
    @Option(name: .customLong("part-mib"), help: "Part size in MiB.") var partMiB = 256
    @Option(name: .customLong("rounds"), help: "Rounds of every measurement, interleaved; medians are reported.") var rounds = 3
    @Option(name: .customLong("corpus"), help: "Use this existing directory as the corpus instead of generating one.") var existingCorpus: String?
    @Flag(name: .customLong("build-only"), help: "Only time the in-process build and verify, for profiling (no baselines).") var buildOnly = false
    @Flag(name: .customLong("one-file-only"), help: "Only the one-file read figure (bytes read for a 1 MiB file).") var oneFileOnly = false
    @Option(name: .customLong("small-files"), help: "Generate N files of about 250 bytes instead (the per-file cost).") var smallFiles: Int?

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

    /// CPU seconds (user + system) of this process, or of its waited-for children.
    static func cpuSeconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// CPU seconds (user + system) a running process has used so far, from /proc.
    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields 14 and 15 of stat(5) (utime, stime), counted after the ")" that ends field 2.
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Wall and CPU seconds of each round of one contender.
    struct Samples {
        var wall: [Double] = []
        var cpu: [Double] = []
        var median: Double { wall.sorted()[wall.count / 2] }
        var medianCPU: Double { cpu.sorted()[cpu.count / 2] }
    }

    /// `count` files of 200–300 bytes (text), 400 to a directory: what dominates is the cost per file.
    static func makeSmallFiles(_ root: String, count: Int) throws -> Int64 {
        var total: Int64 = 0
        var generator = SystemRandomNumberGenerator()
        for index in 0..<count {
            let dir = "\(root)/d\(index / 400)"
            if index % 400 == 0 { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            let size = Int.random(in: 200...300, using: &generator)
            let line = "entry \(index) user=u\(index % 97) status=ok bytes=\(index * 7 % 10007)\n"
            let text = String(String(repeating: line, count: size / line.utf8.count + 1).utf8.prefix(size))!
            let descriptor = open("\(dir)/f\(index).txt", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            _ = text.withCString { write(descriptor, $0, strlen($0)) }
            close(descriptor)
            total += Int64(size)
        }
        return total
    }

    /// A one-file read (docs/formats.md, "Frames"): a 1 MiB file behind 400 MiB of incompressible bytes, so it sits in
    /// the second of `partBytes` parts, read by frame with per-frame hashes (only its frames' stored bytes) and, as a
    /// snapshot without them reads, with its parts checked whole; stored bytes read and wall time of each.
    static func oneFileRead(_ root: String, partBytes: Int64) throws {
        let source = root + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try Shell.run("head -c 200M /dev/urandom > '\(source)/a.bin' && head -c 200M /dev/urandom > '\(source)/b.bin'")
        _ = try Shell.run("head -c 1M /dev/urandom > '\(source)/c-one.bin'")
        let run = root + "/run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let progress = BuildProgress()
        let builder = ArchiveBuilder(settings: .init(jobId: "job", runId: "one", runDirectory: run, partSize: partBytes), progress: progress) {
            false
        }
        _ = try builder.build(try ArchiveBuilder.roots(paths: [source], root: nil, progress: progress))
        let snapshot = try Snapshot(directory: run)
        var wanted: Snapshot.Wanted?
        let reader = try EntriesIndexReader(path: run + "/" + Manifest.entriesIndexName)
        while let entry = try reader.next() {
            if let path = entry["path"]?.stringValue, path.hasSuffix("/c-one.bin"), let offset = entry["offset"]?.int64Value {
                wanted = Snapshot.Wanted(offset: offset, path: Array(path.utf8))
            }
        }
        guard let wanted, let frames = try snapshot.frameTable() else { throw ArchiveError.corrupt("no c-one.bin or no frame table") }
        final class Discard: TarReaderDelegate {
            var bytes = 0
            func begin(_ entry: TarEntry) throws {}
            func content(_ bytes: UnsafeRawBufferPointer) throws { self.bytes += bytes.count }
            func hole(_ count: Int64) throws {}
            func end(_ entry: TarEntry) throws {}
        }
        var withoutHashes = frames
        withoutHashes.hashes = nil
        let frameMiB = Double(frames.frameBytes) / 1_048_576
        print(
            "one-file read: a 1 MiB file at \(wanted.offset >> 20) MiB of a \(snapshot.payloadBytes >> 20) MiB payload in \(snapshot.parts.count) parts of \(partBytes >> 20) MiB, frames of \(Int(frameMiB)) MiB"
        )
        for (name, table) in [("by frame, per-frame hashes", frames), ("parts checked whole (no hashes)", withoutHashes)] {
            let progress = BuildProgress()
            let sink = Discard()
            let wall = try timed { try snapshot.readMembers([wanted], frames: table, identity: nil, into: sink, progress: progress) }
            let read = Double(progress.snapshot(kind: "restore", previous: nil).0.done.bytes ?? 0) / 1_048_576
            print(
                String(
                    format: "  %@: %.2f MiB read (%.2f frames' bytes), %.3f s, %d bytes delivered",
                    name.padding(toLength: 32, withPad: " ", startingAt: 0),
                    read,
                    read / frameMiB,
                    wall,
                    sink.bytes
                )
            )
        }
    }

    func run() async throws {
        let dir = try BenchDirectory("archive")
        defer { dir.remove() }
        if oneFileOnly { return try Self.oneFileRead(dir.path + "/one-file", partBytes: Int64(partMiB) * 1_048_576) }
        let corpus: String
        let bytes: Int64
        if let existingCorpus {
            corpus = URL(fileURLWithPath: existingCorpus).standardizedFileURL.path
            bytes = Int64(try Shell.run("du -sb --apparent-size '\(corpus)' | cut -f1").trimmed) ?? 0
        } else if let smallFiles {
            corpus = dir.path + "/corpus"
            print("generating \(smallFiles) small files…")
            bytes = try Self.makeSmallFiles(corpus, count: smallFiles)
        } else {
            corpus = dir.path + "/corpus"
            print("generating a \(corpusMiB) MiB corpus…")
            bytes = try Self.makeCorpus(corpus, mib: corpusMiB)
        }
        let files = try Shell.run("find '\(corpus)' -type f | wc -l").trimmed
        _ = try Shell.run("tar -cf - '\(corpus)' > /dev/null")  // warm the page cache for everyone
        let mb = Double(bytes) / 1_048_576
        let partBytes = Int64(partMiB) * 1_048_576
        print(
            "corpus: \(files) files, \(String(format: "%.0f", mb)) MiB, \(ProcessInfo.processInfo.activeProcessorCount) cores; \(rounds) rounds, interleaved"
        )

        if buildOnly {
            for round in 1...rounds {
                let runDir = dir.path + "/target/job/run"
                try? FileManager.default.removeItem(atPath: runDir)
                try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
                let progress = BuildProgress()
                let builder = ArchiveBuilder(
                    settings: .init(jobId: "job", runId: "run", runDirectory: runDir, partSize: partBytes),
                    progress: progress
                ) {
                    false
                }
                let roots = try ArchiveBuilder.roots(paths: [corpus], root: nil, progress: progress)
                let cpu = Self.cpuSeconds(RUSAGE_SELF.rawValue)
                let wall = try Self.timed { _ = try builder.build(roots) }
                print(String(format: "build %d: %.2f s wall, %.2f s CPU", round, wall, Self.cpuSeconds(RUSAGE_SELF.rawValue) - cpu))
                let verifyCPU = Self.cpuSeconds(RUSAGE_SELF.rawValue)
                let verifyWall = try Self.timed {
                    let verifier = try SnapshotVerifier(entriesIndex: runDir + "/entries.jsonl.zst")
                    try Snapshot(directory: runDir).readMembers(into: verifier, identity: nil)
                    try verifier.finish()
                }
                print(String(format: "verify %d: %.2f s wall, %.2f s CPU", round, verifyWall, Self.cpuSeconds(RUSAGE_SELF.rawValue) - verifyCPU))
            }
            return
        }

        // The real worker, started once, on a real job.
        let data = dir.dataDirectory
        let database = try AppDatabase.open(in: data)
        let spec: JSONValue = .object([
            "v": 1, "type": "filesystem", "source": .object(["paths": .array([.string(corpus)])]),
            "target": .object(["type": "local_dir", "base_dir": .string(dir.path + "/worker-target"), "part_size_bytes": .number(Double(partBytes))]),
        ])
        let job = try await database.createJob(
            JobInput(name: "bench", schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
        )
        func startWorker() async throws -> Process { try await startBenchWorker(data) }
        /// Enqueues through `enqueue`, waits for the run to end; its wall time and status, and the worker's CPU seconds.
        func timedRun(on worker: Process, _ enqueue: () async throws -> Run) async throws -> (Double, Double, Run) {
            let run = try await enqueue()
            let workerCPU = Self.cpuSeconds(pid: worker.processIdentifier)
            let started = ContinuousClock.now
            while true {
                try await Task.sleep(for: .milliseconds(10))
                if let current = try await database.run(id: run.id), current.status != .queued, current.status != .running {
                    let elapsed = ContinuousClock.now - started
                    let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    return (wall, Self.cpuSeconds(pid: worker.processIdentifier) - workerCPU, current)
                }
            }
        }
        let worker = try await startWorker()
        defer { worker.terminate() }
        let hasRestic = try Shell.run("command -v restic").status == 0

        var tarZstd = Samples()
        var build = Samples()
        var sequential = Samples()
        var onePass = Samples()
        var workerJob = Samples()
        var restic = Samples()
        var zstdTar = Samples()
        var posixTar = Samples()
        var restore = Samples()
        var statuses = Set<String>()
        var lastBackup: Run?
        var identical = true
        let runDir = dir.path + "/target/job/run"
        func measure(_ samples: inout Samples, children: Bool = false, _ body: () throws -> Void) rethrows {
            let who = children ? RUSAGE_CHILDREN : RUSAGE_SELF
            let cpu = Self.cpuSeconds(who.rawValue)
            samples.wall.append(try Self.timed(body))
            samples.cpu.append(Self.cpuSeconds(who.rawValue) - cpu)
        }
        for round in 1...rounds {
            print("round \(round)…")
            try measure(&tarZstd, children: true) {
                _ = try Shell.run("tar -cf - -C / '\(corpus.dropFirst())' | zstd -3 -T0 -q -f -o '\(dir.path)/baseline.tar.zst'")
            }
            // GNU tar keeping what Bastion keeps: ns times (pax), xattrs and ACLs.
            try measure(&posixTar, children: true) {
                _ = try Shell.run(
                    "tar --format=posix --xattrs --acls -cf - -C / '\(corpus.dropFirst())' | zstd -3 -T0 -q -f -o '\(dir.path)/posix.tar.zst'"
                )
            }

            // The pipeline in-process (no worker): the same code a backup runs.
            try? FileManager.default.removeItem(atPath: runDir)
            try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
            let progress = BuildProgress()
            let builder = ArchiveBuilder(settings: .init(jobId: "job", runId: "run", runDirectory: runDir, partSize: partBytes), progress: progress) {
                false
            }
            let roots = try ArchiveBuilder.roots(paths: [corpus], root: nil, progress: progress)
            try measure(&build) { _ = try builder.build(roots) }

            // What a backup does besides the archive, in process (docs/architecture.md, "One pass"): before, the scan,
            // the build, then the catalog from the index, one after the other; now the catalog written during the
            // build and the scan beside it. Into directories of their own: `runDir` stays for the restore below.
            for (name, samples) in [("sequential", 0), ("one-pass", 1)] {
                let other = dir.path + "/target/job/" + name
                let catalog = dir.path + "/catalog-\(name).sqlite"
                try? FileManager.default.removeItem(atPath: other)
                unlink(catalog)
                try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
                var settings = ArchiveBuilder.Settings(jobId: "job", runId: name, runDirectory: other, partSize: partBytes)
                let progress = BuildProgress()
                if samples == 0 {
                    try measure(&sequential) {
                        let builder = ArchiveBuilder(settings: settings, progress: progress) { false }
                        _ = builder.scan(roots)
                        _ = try builder.build(roots)
                        try SnapshotCatalog.build(entriesIndex: other + "/" + Manifest.entriesIndexName, into: catalog)
                    }
                } else {
                    try measure(&onePass) {
                        let live = SnapshotCatalog.LiveBuild(path: catalog)
                        settings.indexObserver = live
                        let scan = ArchiveBuilder.scanBeside(roots, settings: settings, progress: progress, stage: "packaging") { false }
                        defer { scan.stop() }
                        _ = try ArchiveBuilder(settings: settings, progress: progress) { false }.build(roots)
                        _ = try live.finish()
                    }
                }
                try? FileManager.default.removeItem(atPath: other)
                unlink(catalog)
            }

            // The worker: from the enqueue to the terminal status. The last round's snapshot stays for the verify.
            let (wall, cpu, finished) = try await timedRun(on: worker) { try await database.enqueueRun(jobId: job.id, source: "bench")! }
            workerJob.wall.append(wall)
            workerJob.cpu.append(cpu)
            statuses.insert(finished.status.rawValue)
            if round < rounds {
                try? FileManager.default.removeItem(atPath: dir.path + "/worker-target")
            } else {
                lastBackup = finished
            }

            // restic, a fresh local repository each round (a first backup).
            if hasRestic {
                let repo = dir.path + "/restic-repo"
                try? FileManager.default.removeItem(atPath: repo)
                _ = try Shell.run("RESTIC_PASSWORD=bench restic -q -r '\(repo)' init")
                try measure(&restic, children: true) { _ = try Shell.run("RESTIC_PASSWORD=bench restic -q -r '\(repo)' backup '\(corpus)'") }
                try? FileManager.default.removeItem(atPath: repo)
            }

            // Restore: the baseline, then archive_v1 from the in-process build.
            let untar = dir.path + "/untar"
            try? FileManager.default.removeItem(atPath: untar)
            try measure(&zstdTar, children: true) {
                _ = try Shell.run("mkdir -p '\(untar)' && zstd -d -q -c '\(dir.path)/baseline.tar.zst' | tar -x -C '\(untar)'")
            }
            let restoreDir = dir.path + "/restore"
            try? FileManager.default.removeItem(atPath: restoreDir)
            try FileManager.default.createDirectory(atPath: restoreDir, withIntermediateDirectories: true)
            try measure(&restore) {
                let snapshot = try Snapshot(directory: runDir)
                let writer = RestoreWriter(destination: restoreDir, policy: .overwrite, selection: nil)
                try snapshot.readMembers(into: writer, identity: nil)
                writer.finish()
            }
            let same = try Shell.run("diff -rq '\(corpus)' '\(restoreDir)\(corpus)' && echo identical").output
            if !same.contains("identical") {
                identical = false
                print("restored tree DIFFERS: \(same.prefix(300))")
            }
            // Both trees go only now: creating files right after deleting as many is slower on ext4 (its
            // recently-deleted inode scan), which would charge one contender for the other's cleanup.
            try? FileManager.default.removeItem(atPath: untar)
            try? FileManager.default.removeItem(atPath: restoreDir)
        }
        let rss = Self.peakRSSKiB(worker.processIdentifier) ?? 0
        worker.terminate()
        worker.waitUntilExit()

        // Verify of the last worker backup by a fresh worker (its own peak RSS): parts, stream, every file's hash.
        let verifier = try await startWorker()
        defer { verifier.terminate() }
        let (verifyWall, verifyCPU, verified) = try await timedRun(on: verifier) {
            try await database.enqueueOperation(kind: .verify, source: lastBackup!, parameters: .object([:]))
        }
        let verifyRSS = Self.peakRSSKiB(verifier.processIdentifier) ?? 0

        print("median of \(rounds) rounds                        seconds    MiB/s   ratio   CPU s   (wall min–max)")
        func row(_ name: String, _ samples: Samples, _ baseline: Samples?, isBaseline: Bool = true) {
            let ratio = baseline.map { String(format: "%.2f", $0.median / samples.median) } ?? (isBaseline ? "1.00" : "  — ")
            let range = String(format: "%.2f–%.2f", samples.wall.min() ?? 0, samples.wall.max() ?? 0)
            print(
                name.padding(toLength: 44, withPad: " ", startingAt: 0),
                String(format: "%8.2f %8.1f   %@  %6.2f   (%@)", samples.median, mb / samples.median, ratio, samples.medianCPU, range)
            )
        }
        row("tar -cf - | zstd -3 -T0 (baseline)", tarZstd, nil)
        row("tar --format=posix --xattrs --acls | zstd", posixTar, tarZstd)
        row("archive_v1 build (tar→zstd→parts+BLAKE3)", build, tarZstd)
        row("  + scan before, catalog after (old worker)", sequential, tarZstd)
        row("  + catalog during, scan beside (one pass)", onePass, tarZstd)
        row("bastion-worker filesystem job (\(statuses.sorted().joined(separator: ",")))", workerJob, tarZstd)
        let catalogEvent = try await database.events(runId: lastBackup!.id, afterSeq: 0, limit: 1000).last { $0.kind == "catalog" }
        print(
            String(
                format: "  worker job ÷ in-process build: %.2f× the time; the last job's catalog: %@",
                workerJob.median / build.median,
                catalogEvent?.message ?? "no catalog event"
            )
        )
        print(
            String(
                format: "  vs GNU tar with the same fidelity (posix, xattrs, acls): build %.2fx, worker job %.2fx (median wall)",
                posixTar.median / build.median,
                posixTar.median / workerJob.median
            )
        )
        if hasRestic {
            row("restic backup (local repo, first run)", restic, tarZstd)
            print(
                String(
                    format: "  vs restic: archive_v1 build %.2fx, worker job %.2fx faster (median wall)",
                    restic.median / build.median,
                    restic.median / workerJob.median
                )
            )
        } else {
            print("restic not installed (make bench installs it)")
        }
        row("zstd -d | tar -x (baseline)", zstdTar, nil)
        row("archive_v1 restore (parts checked→zstd→tar)", restore, zstdTar)
        row("bastion-worker verify, one run (\(verified.status.rawValue))", Samples(wall: [verifyWall], cpu: [verifyCPU]), nil, isBaseline: false)
        print("restored tree: \(identical ? "identical to the corpus every round" : "DIFFERS")")
        print(
            "bastion-worker peak RSS over \(rounds) backups: \(rss / 1024) MiB; a fresh worker's during the verify: \(verifyRSS / 1024) MiB (VmHWM)"
        )

        try Self.oneFileRead(dir.path + "/one-file", partBytes: partBytes)

        // Where the time goes: BLAKE3 (one core) next to b3sum (one thread) on 256 MiB.
        var buffer = [UInt8](repeating: 0, count: 256 << 20)
        for index in stride(from: 0, to: buffer.count, by: 4096) { buffer[index] = UInt8(truncatingIfNeeded: index / 4096) }
        let hashSeconds = Self.timed {
            var hasher = BLAKE3()
            hasher.update(buffer)
            _ = hasher.finalizeHex()
        }
        try Data(buffer).write(to: URL(fileURLWithPath: dir.path + "/hash.bin"))
        let b3 = try Self.timed { _ = try Shell.run("b3sum --num-threads 1 '\(dir.path)/hash.bin'") }
        print(
            String(
                format: "BLAKE3 one core: this implementation (%@ kernel) %.0f MiB/s, b3sum --num-threads 1 %.0f MiB/s",
                BLAKE3.kernel,
                256 / hashSeconds,
                256 / b3
            )
        )
    }
}
