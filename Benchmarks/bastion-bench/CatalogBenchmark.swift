import Archive
import ArgumentParser
import Core
import Foundation
import Store

/// The snapshot catalog on a million-file snapshot (docs/formats.md, "The snapshot catalog"): its build from the
/// entries index, one directory's first page at several depths, a deep page of a 100,000-file directory, a name
/// search, and the diff of two such snapshots, with the peak memory of each step. The entries indexes are generated in
/// the format a backup writes (`entries.jsonl.zst`); `--http` repeats the listing through a real bastion-api.
struct CatalogBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "catalog", abstract: "Snapshot catalog: build, listing, search, diff.")

    @Option(help: "Files in the snapshot (90% in 90×100 directories of 100 files, 10% in one flat directory).") var files = 1_000_000
    @Option(help: "Repetitions per listing (p50 and p99 are printed).") var repeats = 100
    @Flag(inversion: .prefixedNo, help: "Also time the listing through a real bastion-api (release, next to this binary).") var http = true

    func run() async throws {
        let dir = try BenchDirectory("catalog")
        defer { dir.remove() }
        let oldIndex = dir.path + "/old.jsonl.zst"
        let newIndex = dir.path + "/new.jsonl.zst"
        var started = monotonicNanos()
        let oldCount = try Self.generate(oldIndex, files: files, changed: false)
        let newCount = try Self.generate(newIndex, files: files, changed: true)
        print("Generated two entries indexes of \(oldCount) and \(newCount) entries in \(Self.seconds(since: started))")
        let indexSize = (try? FileManager.default.attributesOfItem(atPath: oldIndex)[.size] as? Int) ?? 0
        print("  entries.jsonl.zst: \(indexSize / 1_048_576) MiB")

        // The old snapshot is a run of a job in a real data directory, so the API can serve it too.
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let runId = try await Self.seedSnapshot(database, entriesIndex: oldIndex, runDirectory: dir.path + "/snapshot")
        Self.resetPeakMemory()
        started = monotonicNanos()
        let old = try SnapshotCatalog.build(entriesIndex: oldIndex, into: SnapshotCatalog.path(in: dir.dataDirectory, runId: runId))
        let buildTime = Self.seconds(since: started)
        let catalogSize = (try? FileManager.default.attributesOfItem(atPath: old.path)[.size] as? Int) ?? 0
        print("Catalog build: \(buildTime), peak RSS \(Self.peakMemoryMiB()) MiB, file \(catalogSize / 1_048_576) MiB")
        let new = try SnapshotCatalog.build(entriesIndex: newIndex, into: dir.path + "/catalog/new.sqlite")

        print("")
        print("First page of 200, catalog opened per request as the API does, \(repeats) times (ms)")
        print("directory                           entries     p50      p99")
        let flat = Array("data/flat".utf8)
        for (label, directory) in [
            ("top", [UInt8]()), ("data", Array("data".utf8)), ("data/d42/s17 (3 levels)", Array("data/d42/s17".utf8)), ("data/flat", flat),
        ] {
            let count = try old.list(directory: directory, after: nil, limit: 1_000_000)?.items.count ?? 0
            let (p50, p99) = try Self.timed(repeats) {
                _ = try SnapshotCatalog.open(path: old.path)?.list(directory: directory, after: nil, limit: 200)
            }
            print("\(label.padding(toLength: 34, withPad: " ", startingAt: 0)) \(String(format: "%8d %8.2f %8.2f", count, p50, p99))")
        }
        // Page 400 of the flat directory: the cursor of the 79,800th entry.
        var cursor: SnapshotCatalog.Cursor?
        if let page = try old.list(directory: flat, after: nil, limit: 79_800) { cursor = page.nextCursor }
        let (deep50, deep99) = try Self.timed(repeats) {
            _ = try SnapshotCatalog.open(path: old.path)?.list(directory: flat, after: cursor, limit: 200)
        }
        print("\("data/flat, page 400".padding(toLength: 34, withPad: " ", startingAt: 0))          \(String(format: "%8.2f %8.2f", deep50, deep99))")
        let (search50, search99) = try Self.timed(max(5, repeats / 10)) {
            _ = try SnapshotCatalog.open(path: old.path)?.search(under: [], query: "file0042", after: nil, limit: 200)
        }
        print(
            "\("search \"file0042\" from the top".padding(toLength: 34, withPad: " ", startingAt: 0))          \(String(format: "%8.2f %8.2f", search50, search99))"
        )

        if http {
            let api = try await TimedAPI(data: dir.dataDirectory, database: database)
            print("")
            print("The same through GET /api/runs/{id}/entries (bastion-api, release; curl, one kept-alive connection) (ms)")
            print("request                                      p50      p99")
            for (label, query) in [
                ("top", ""), ("data/d42/s17 (3 levels)", "prefix=data/d42/s17"), ("data/flat", "prefix=data/flat"),
                ("data/flat, page 400", "prefix=data/flat&cursor=\(cursor?.token ?? "")"), ("search \"file0042\"", "q=file0042"),
            ] {
                let (p50, p99) = try api.timed(
                    "/api/runs/\(runId)/entries?limit=200&\(query)",
                    repeats: label.hasPrefix("search") ? max(5, repeats / 10) : repeats
                )
                print("\(label.padding(toLength: 42, withPad: " ", startingAt: 0)) \(String(format: "%8.2f %8.2f", p50, p99))")
            }
        }

        print("")
        Self.resetPeakMemory()
        started = monotonicNanos()
        let diff = try SnapshotDiff.build(from: old, to: new, into: dir.path + "/catalog/diff/old_new.sqlite")
        let diffTime = Self.seconds(since: started)
        let totals = try diff.totals()
        print(
            "Diff of the two: \(diffTime), peak RSS \(Self.peakMemoryMiB()) MiB; added \(totals.added), removed \(totals.removed), changed \(totals.changed)"
        )
        let (page50, page99) = try Self.timed(repeats) {
            _ = try SnapshotDiff.open(path: dir.path + "/catalog/diff/old_new.sqlite")?.page(after: nil, limit: 200)
        }
        print("  a page of 200 changes from the cached diff: p50 \(String(format: "%.2f", page50)) ms, p99 \(String(format: "%.2f", page99)) ms")
    }

    /// Writes an entries index: `data/dNN/sNN/fileNNNN.bin` and `data/flat/fileNNNNNN.bin`. The changed variant edits
    /// every 100th file's content, removes every 1000th and adds 1000.
    static func generate(_ path: String, files: Int, changed: Bool) throws -> Int {
        let sink = try FileSink(path: path)
        let zstd = try ZstdCompressor(level: 3, next: sink)
        var buffer: [UInt8] = []
        var count = 0
        func line(_ path: String, kind: String, size: Int = 0, hash: Int? = nil) throws {
            var text = #"{"path":"\#(path)","kind":"\#(kind)","size":\#(size),"#
            if let hash {
                text +=
                    #""hash_alg":"blake3","hash":""# + String(format: "%016llx", UInt64(bitPattern: Int64(hash)) &* 0x9E37_79B9_7F4A_7C15)
                    + String(repeating: "0", count: 48) + "\","
            } else {
                text += #""hash_alg":null,"hash":null,"#
            }
            text += #""mtime":1700000000,"mtime_nsec":0,"mode":\#(kind == "dir" ? 493 : 420),"uid":1000,"gid":1000}"# + "\n"
            buffer.append(contentsOf: text.utf8)
            count += 1
            if buffer.count > 1 << 20 {
                try zstd.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try line("data", kind: "dir")
        let flatFiles = files / 10
        let perDirectory = 100
        let directories = (files - flatFiles) / (perDirectory * 100)
        var index = 0
        func file(_ path: String) throws {
            defer { index += 1 }
            if changed && index % 1000 == 999 { return }
            let edited = changed && index % 100 == 7
            try line(path, kind: "file", size: 1000 + index % 5000, hash: edited ? index + 1 : index)
        }
        for d in 0..<directories {
            let top = String(format: "data/d%02d", d)
            try line(top, kind: "dir")
            for s in 0..<100 {
                let sub = top + String(format: "/s%02d", s)
                try line(sub, kind: "dir")
                for f in 0..<perDirectory { try file(sub + String(format: "/file%04d.bin", f)) }
                if changed && d == 0 && s < 10 {
                    for f in 0..<100 { try line(sub + String(format: "/added%04d.bin", f), kind: "file", size: 10, hash: -f - 1) }
                }
            }
        }
        try line("data/flat", kind: "dir")
        for f in 0..<flatFiles { try file(String(format: "data/flat/file%06d.bin", f)) }
        try zstd.write(buffer)
        try zstd.finish()
        return count
    }

    /// A job and a successful backup whose snapshot directory holds `entriesIndex`, as a worker leaves them.
    static func seedSnapshot(_ database: AppDatabase, entriesIndex: String, runDirectory: String) async throws -> String {
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: entriesIndex, toPath: runDirectory + "/" + Manifest.entriesIndexName)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: runDirectory + "/complete.json"))
        let runId = UUID().uuidString.lowercased()
        let summary = #"{"artifact_format":"archive_v1","target":{"type":"local_dir","run_dir":"\#(runDirectory)"},"warnings":0}"#
        try await database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO jobs (id, name, overlap_policy, spec_json, created_at, updated_at) VALUES ('bench', 'bench', 'queue', '{}', 0, 0)"
            )
            try db.execute(
                sql:
                    "INSERT INTO runs (id, job_id, status, started_at, ended_at, kind, summary_json) VALUES (?, 'bench', 'success', 1, 2, 'backup', ?)",
                arguments: [runId, summary]
            )
        }
        return runId
    }

    static func timed(_ repeats: Int, _ body: () throws -> Void) throws -> (p50: Double, p99: Double) {
        var samples: [Double] = []
        for _ in 0..<repeats {
            let start = monotonicNanos()
            try body()
            samples.append(Double(monotonicNanos() - start) / 1e6)
        }
        samples.sort()
        return (samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)])
    }

    static func seconds(since start: UInt64) -> String { String(format: "%.2f s", Double(monotonicNanos() - start) / 1e9) }

    /// Resets the kernel's peak-RSS mark of this process (`/proc/self/clear_refs`, 5).
    static func resetPeakMemory() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }

    static func peakMemoryMiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return -1 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }
}
