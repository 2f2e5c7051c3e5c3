import Foundation
import GRDB
import TestClients
import Testing

@testable import Archive
@testable import Core
@testable import Store

/// The pieces of incremental snapshots that need no processes (docs/formats.md, "Incremental snapshots", "Frames"):
/// the frame table and the frame compressor, the index an incremental build writes, the read plan and what it
/// refuses, the claim's plan, and retention's chain rule.
@Suite struct IncrementalLogicTests {
    @Test func frameTablesRoundTripAndRefuseWhatCannotBe() throws {
        let table = FrameTable(frameBytes: 65536, offsets: [0, 100, 250], ageHeader: Array("age".utf8))
        #expect(FrameTable(json: table.json) == table)
        #expect(table.frame(holding: 65536 * 2 + 5)! == (2, 250, 5))
        #expect(table.frame(holding: 65536 * 3) == nil)
        for bad in [
            #"{"frame_bytes":65536,"offsets":[5,10]}"#, #"{"frame_bytes":65536,"offsets":[0,10,10]}"#, #"{"frame_bytes":65536,"offsets":[0,-1]}"#,
            #"{"frame_bytes":100,"offsets":[0]}"#, #"{"frame_bytes":65536,"offsets":[0,1.5]}"#, #"{"frame_bytes":65536,"offsets":"0"}"#,
            #"{"frame_bytes":65536,"offsets":[0],"age_header_b64":7}"#,
        ] {
            #expect(FrameTable(json: try JSONValue.parse(bad)) == nil, "\(bad)")
        }
    }

    /// The field-by-field reading of index lines agrees with the JSON parser, escapes and names included, and refuses
    /// what is not one JSON object.
    @Test func indexLinesAreReadFieldByField() throws {
        let text =
            #"{"path":"a\"b\\c\u00e9\ud83d\ude00\n","path_b64":null,"size":-12,"xattrs":{"user.x":"e30=","n":[1,{"d":"}"}]},"#
            + #""kind":"file","sparse":true,"offset":9007199254740993,"mode":1.5,"symlink_target":"bad","symlink_target_b64":"/w==","\u006bey":"v"}"#
        let line = try #require(IndexLine(Array(text.utf8)[...]))
        #expect(line.name("path", base64: "path_b64") == Array("a\"b\\cé😀\n".utf8))
        #expect(line.int("size") == -12 && line.int("offset") == 9_007_199_254_740_993 && line.int("mode") == nil)
        #expect(line.bool("sparse") == true && line.string("kind") == Array("file".utf8) && line.string("path_b64") == nil)
        #expect(line.name("symlink_target", base64: "symlink_target_b64") == [0xff], "the _b64 twin wins")
        #expect(line.string("key") == Array("v".utf8), "an escaped key")
        let parsed = try JSONValue.parse(text)
        #expect(IndexJSON.bytes(parsed, "path") == line.name("path", base64: "path_b64"))
        for bad in [#"{"a":1"#, #"{"a":1}x"#, #"["a"]"#, #"{"a":"\x"}"#, #"{"a":tru}"#, #"{"a":"\ud800"}"#, "{\"a\":\"\u{01}\"}", ""] {
            let fields = IndexLine(Array(bad.utf8)[...])
            #expect(fields == nil || fields?.string("a") == nil, "\(bad)")
        }
    }

    /// The frames concatenate to what `zstd -d` reads, and each decodes alone from its recorded offset.
    @Test func framesDecodeTogetherAndAlone() throws {
        final class Collect: ByteSink {
            var bytes: [UInt8] = []
            func write(_ chunk: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: chunk) }
            func finish() throws {}
        }
        var input = [UInt8]()
        for index in 0..<300_000 { input.append(UInt8(truncatingIfNeeded: index * 7 + index / 1000)) }
        let compressed = Collect()
        let compressor = FrameCompressor(level: 3, frameBytes: 65536, workers: 3, next: compressed)
        try input.withUnsafeBytes { raw in
            for start in stride(from: 0, to: raw.count, by: 10_000) {
                try compressor.write(UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + 10_000)]))
            }
        }
        try compressor.finish()
        #expect(compressor.frameOffsets.count == 5 && compressor.frameOffsets.first == 0)
        let whole = Collect()
        let decoder = try ZstdDecompressor(next: whole)
        try compressed.bytes.withUnsafeBytes { try decoder.write($0) }
        try decoder.finish()
        #expect(whole.bytes == input)
        for (index, offset) in compressor.frameOffsets.enumerated() {
            let end = index + 1 < compressor.frameOffsets.count ? Int(compressor.frameOffsets[index + 1]) : compressed.bytes.count
            let alone = Collect()
            let frameDecoder = try ZstdDecompressor(next: alone)
            try compressed.bytes[Int(offset)..<end].withUnsafeBytes { try frameDecoder.write($0) }
            try frameDecoder.finish()
            #expect(alone.bytes[...] == input[(index * 65536)..<min(input.count, (index + 1) * 65536)], "frame \(index)")
        }
    }

    func build(_ source: String, _ runDirectory: String, runId: String, incremental: IncrementalBase) throws -> ArchiveBuilder.Result {
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        var settings = ArchiveBuilder.Settings(jobId: "job", runId: runId, runDirectory: runDirectory, partSize: 1 << 20)
        settings.incremental = incremental
        settings.frameBytes = 64 << 10
        let progress = BuildProgress()
        let builder = ArchiveBuilder(settings: settings, progress: progress) { false }
        return try builder.build(try ArchiveBuilder.roots(paths: [source], root: nil, progress: progress))
    }

    func entries(_ runDirectory: String) throws -> [String: JSONValue] {
        let reader = try EntriesIndexReader(path: runDirectory + "/" + Manifest.entriesIndexName)
        var result: [String: JSONValue] = [:]
        while let entry = try reader.next() { result[String((entry["path"]?.stringValue ?? "").split(separator: "/").last ?? "")] = entry }
        return result
    }

    /// A level-1 build stores the changed file and points to the base for the others; `rehash` tells a same-size,
    /// same-times rewrite only by content; an index that points outside the chain, or past the last frame, is refused.
    @Test func anIncrementalBuildPointsToWhereUnchangedBytesAre() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try Data(repeating: 1, count: 200_000).write(to: URL(fileURLWithPath: source + "/same.bin"))
        try Data("before".utf8).write(to: URL(fileURLWithPath: source + "/edit.txt"))
        let full = try build(source, dir.path + "/r0", runId: "r0", incremental: .full())
        #expect(full.manifest.chain == SnapshotChain(level: 0, before: []))
        let firstIndex = try entries(dir.path + "/r0")
        #expect(
            firstIndex["same.bin"]?["offset"]?.intValue != nil && firstIndex["same.bin"]?["ino"] != nil && firstIndex["same.bin"]?["stored_in"] == nil
        )

        try Data("after!".utf8).write(to: URL(fileURLWithPath: source + "/edit.txt"))
        let prior = try IncrementalBase.loadPrior(entriesIndex: dir.path + "/r0/" + Manifest.entriesIndexName, baseRunId: "r0")
        let next = try build(source, dir.path + "/r1", runId: "r1", incremental: IncrementalBase(level: 1, chain: ["r0"], prior: prior))
        let index = try entries(dir.path + "/r1")
        #expect(index["same.bin"]?["stored_in"] == .string("r0") && index["same.bin"]?["offset"] == firstIndex["same.bin"]?["offset"])
        #expect(index["same.bin"]?["hash"] == firstIndex["same.bin"]?["hash"])
        #expect(index["edit.txt"]?["stored_in"] == nil)
        #expect(next.payloadBytes < full.payloadBytes && next.manifest.chain == SnapshotChain(level: 1, before: ["r0"]))

        // The plan of the level-1 snapshot: one own file (and its directory), one from r0.
        let plan = try ChainPlan(entriesIndex: dir.path + "/r1/" + Manifest.entriesIndexName, selection: nil)
        let runs = try plan.sourceRuns(chain: ["r0"])
        #expect(plan.sources["r0"]?.count == 1 && runs == ["r0"])
        #expect(throws: ArchiveError.self) { try plan.sourceRuns(chain: ["other"]) }
        // A member asked for past the last frame is refused, not read from somewhere else.
        let snapshot = try Snapshot(directory: dir.path + "/r0")
        let frames = try #require(try snapshot.frameTable())
        final class Ignore: TarReaderDelegate {
            func begin(_ entry: TarEntry) throws {}
            func content(_ bytes: UnsafeRawBufferPointer) throws {}
            func hole(_ count: Int64) throws {}
            func end(_ entry: TarEntry) throws {}
        }
        #expect(throws: ArchiveError.self) {
            try snapshot.readMembers([.init(offset: 1 << 40, path: Array("x".utf8))], frames: frames, identity: nil, into: Ignore())
        }
        // An offset that is not a member's start finds no such member.
        #expect(throws: ArchiveError.self) {
            try snapshot.readMembers([.init(offset: 0, path: Array("no/such/file".utf8))], frames: frames, identity: nil, into: Ignore())
        }

        // With rehash the content is read as well: unchanged files are still references, a rewrite with the same size
        // and mtime is stored (the ctime also tells it here; rehash guards against file systems where it does not).
        var edited = stat()
        stat(source + "/edit.txt", &edited)
        try Data("AFTER!".utf8).write(to: URL(fileURLWithPath: source + "/edit.txt"))
        var times = [edited.st_atim, edited.st_mtim]
        utimensat(AT_FDCWD, source + "/edit.txt", &times, 0)
        let rehashed = try build(
            source,
            dir.path + "/r2",
            runId: "r2",
            incremental: IncrementalBase(
                level: 2,
                chain: ["r0", "r1"],
                prior: try IncrementalBase.loadPrior(entriesIndex: dir.path + "/r1/" + Manifest.entriesIndexName, baseRunId: "r1"),
                rehash: true
            )
        )
        let third = try entries(dir.path + "/r2")
        #expect(third["same.bin"]?["stored_in"] == .string("r0") && third["edit.txt"]?["stored_in"] == nil, "\(rehashed.manifest.json)")
        #expect(third["edit.txt"]?["hash"] != index["edit.txt"]?["hash"])
    }

    /// The walk order (docs/formats.md, "Walk order"): a directory, the names in it that are not directories, then
    /// each directory with all it holds, components compared bytewise.
    @Test func walkOrderComparesComponentByComponent() {
        let order: [(String, Bool)] = [
            ("", true), ("a", true), ("a/b-c", false), ("a/b.d", false), ("a/z", false), ("a/\u{e9}", false), ("a/b", true), ("a/b/x", false),
            ("a/b/y", true), ("a/b/y/1", false), ("a/c", true), ("a-b", true), ("a-b/q", false),
        ]
        for (i, left) in order.enumerated() {
            for (j, right) in order.enumerated() {
                let got = WalkOrder.compare(Array(left.0.utf8), left.1, Array(right.0.utf8), right.1)
                #expect(got == (i < j ? -1 : i == j ? 0 : 1), "\(left.0) vs \(right.0)")
            }
        }
        #expect(WalkOrder.isWithin(Array("a/b".utf8), Array("a".utf8)) && !WalkOrder.isWithin(Array("a-b".utf8), Array("a".utf8)))

        // Random trees of names from a small alphabet around `/` (`-` and `.` sort before it, `0` after), walked as the
        // builder walks: the comparison agrees with the walk's positions for every pair.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            var directories: Set<[UInt8]> = [[]]
            var files: Set<[UInt8]> = []
            for _ in 0..<60 {
                var path: [UInt8] = []
                for depth in 0..<Int.random(in: 1...4, using: &generator) {
                    if depth > 0 { path.append(UInt8(ascii: "/")) }
                    for _ in 0..<Int.random(in: 1...2, using: &generator) { path.append(Array("a-.0\u{7f}".utf8).randomElement(using: &generator)!) }
                }
                let parts = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
                // Every component but the last is a directory; the last is a file unless a directory has that path.
                var prefixes: [[UInt8]] = []
                for part in parts.dropLast() { prefixes.append(prefixes.last.map { $0 + [UInt8(ascii: "/")] + part } ?? Array(part)) }
                if prefixes.contains(where: files.contains) || directories.contains(path) || files.contains(path) { continue }
                directories.formUnion(prefixes)
                if Bool.random(using: &generator) { directories.insert(path) } else { files.insert(path) }
            }
            func children(_ parent: [UInt8], _ set: Set<[UInt8]>) -> [[UInt8]] {
                set.filter { path in
                    guard !path.isEmpty else { return false }
                    let slash = path.lastIndex(of: UInt8(ascii: "/"))
                    return slash.map { Array(path[..<$0]) == parent } ?? parent.isEmpty
                }.sorted { $0.lexicographicallyPrecedes($1) }
            }
            var walk: [([UInt8], Bool)] = []
            func visit(_ directory: [UInt8]) {
                walk.append((directory, true))
                for file in children(directory, files) { walk.append((file, false)) }
                for sub in children(directory, directories) { visit(sub) }
            }
            visit([])
            #expect(walk.count == files.count + directories.count)
            for (i, left) in walk.enumerated() {
                for (j, right) in walk.enumerated() {
                    let got = WalkOrder.compare(left.0, left.1, right.0, right.1)
                    #expect(got == (i < j ? -1 : i == j ? 0 : 1), "\(left) vs \(right)")
                }
            }
        }
    }

    /// An incremental build merges its base's index as it walks (`PriorIndex`): on a tree with names that sort apart
    /// bytewise and component-wise, two roots given out of order, a removed directory, and a file and a directory that
    /// swapped kinds, it finds exactly what the base held by path finds, and writes its own index in walk order.
    @Test func anIncrementalMergesItsBaseInWalkOrder() throws {
        let dir = TemporaryDirectory()
        let manager = FileManager.default
        func write(_ path: String, _ text: String) throws {
            try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
        let one = dir.path + "/one"
        let two = dir.path + "/two"
        for name in ["a/b", "a/b/x", "a-b", "a.c/f", "a/z", "gone/deep/f", "x", "y/f", "m/\u{e9}", "m/e\u{301}", "keep/k1", "keep/sub/k2"] {
            try write(one + "/" + name + (name == "a/b" ? "/inner" : ""), "content of \(name)")
        }
        try write(two + "/t", "two")
        func roots() throws -> [ArchiveBuilder.Root] { try ArchiveBuilder.roots(paths: [two, one], root: nil, progress: BuildProgress()) }
        func build(_ name: String, _ incremental: IncrementalBase) throws -> ArchiveBuilder.Result {
            try manager.createDirectory(atPath: dir.path + "/" + name, withIntermediateDirectories: true)
            var settings = ArchiveBuilder.Settings(jobId: "job", runId: name, runDirectory: dir.path + "/" + name, partSize: 1 << 20)
            settings.incremental = incremental
            settings.frameBytes = 64 << 10
            return try ArchiveBuilder(settings: settings, progress: BuildProgress()) { false }.build(try roots())
        }
        func lines(_ name: String) throws -> [(path: [UInt8], directory: Bool, storedIn: JSONValue?)] {
            let reader = try EntriesIndexReader(path: dir.path + "/" + name + "/" + Manifest.entriesIndexName)
            var result: [(path: [UInt8], directory: Bool, storedIn: JSONValue?)] = []
            while let entry = try reader.next() {
                result.append((IndexJSON.bytes(entry, "path") ?? [], entry["kind"] == "dir", entry["stored_in"]))
            }
            return result
        }
        let full = try build("r0", .full())
        #expect(full.manifest.entriesInWalkOrder && full.manifest.json["entry_index"]?["order"] == "walk")
        #expect(try Manifest(json: full.manifest.json).entriesInWalkOrder)
        let base = dir.path + "/r0/" + Manifest.entriesIndexName
        // Within each root, every line comes after the one before it.
        let written = try lines("r0")
        let rootPaths = try roots().map { Array($0.archivePath.utf8) }
        for (before, after) in zip(written, written.dropFirst()) {
            let sameRoot = rootPaths.firstIndex { WalkOrder.isWithin(before.path, $0) } == rootPaths.firstIndex { WalkOrder.isWithin(after.path, $0) }
            #expect(!sameRoot || WalkOrder.compare(before.path, before.directory, after.path, after.directory) < 0)
        }

        try write(one + "/a/z", "changed")
        try manager.removeItem(atPath: one + "/gone")
        try manager.removeItem(atPath: one + "/x")
        try write(one + "/x/now-a-dir", "new")
        try manager.removeItem(atPath: one + "/y")
        try write(one + "/y", "now a file")
        try write(one + "/a-a", "new beside a")
        let streamed = try build("r1", IncrementalBase(level: 1, chain: ["r0"], prior: try PriorIndex(streaming: base, baseRunId: "r0")))
        let byPath = try build(
            "r1d",
            IncrementalBase(level: 1, chain: ["r0"], prior: try IncrementalBase.loadPrior(entriesIndex: base, baseRunId: "r0"))
        )
        #expect(streamed.changes == byPath.changes)
        // 13 files at first (two/t too): 9 unchanged, a/z changed, x/now-a-dir, y and a-a new, gone/deep/f, x and y/f removed.
        #expect(streamed.changes?.unchanged == 9 && streamed.changes?.changed == 1 && streamed.changes?.new == 3 && streamed.changes?.removed == 3)
        let left = try lines("r1")
        let right = try lines("r1d")
        #expect(left.map(\.path) == right.map(\.path) && left.map(\.storedIn) == right.map(\.storedIn))
        #expect(left.filter { $0.storedIn == "r0" }.count == 9)
    }

    /// A successful backup run and its snapshot record, at level `level` of a chain on `base`.
    static func record(
        _ database: AppDatabase,
        job: String,
        _ run: String,
        level: Int,
        base: String?,
        ended: Int64,
        baseDir: String = "/b"
    ) async throws {
        try await database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO runs (id, job_id, status, started_at, ended_at) VALUES (?, ?, 'success', 0, ?)",
                arguments: [run, job, ended]
            )
            try db.execute(
                sql: """
                    INSERT INTO run_artifacts (run_id, job_id, target_type, target_snapshot_json, artifact_format, status,
                      started_at, ended_at, created_at, updated_at, base_run_id, chain_level)
                    VALUES (?, ?, 'local_dir', ?, 'archive_v1', 'present', 0, ?, 0, 0, ?, ?)
                    """,
                arguments: [
                    run, job,
                    RunLocation(
                        target: .localDir(LocalDirTarget(baseDir: baseDir, partSizeBytes: LocalDirTarget.defaultPartSize)),
                        jobId: job,
                        runId: run
                    )
                    .json.jsonString(),
                    ended, base, level,
                ]
            )
        }
    }

    /// Retention within a small budget deletes what builds on a snapshot before it, so a cut never strands a chain.
    @Test func retentionDeletesDependantsBeforeTheirBase() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let spec: JSONValue = .object([
            "v": 1, "type": "filesystem", "source": .object(["paths": .array(["/a"])]), "target": .object(["type": "local_dir", "base_dir": "/b"]),
        ])
        let job = try await database.createJob(
            try JobInput(name: "j", schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
        )
        try await Self.record(database, job: job.id, "old", level: 0, base: nil, ended: 1)
        try await Self.record(database, job: job.id, "f1", level: 0, base: nil, ended: 2)
        try await Self.record(database, job: job.id, "i1", level: 1, base: "f1", ended: 3)
        try await Self.record(database, job: job.id, "i2", level: 2, base: "i1", ended: 4)
        try await Self.record(database, job: job.id, "f2", level: 0, base: nil, ended: 5)
        let policy = RetentionPolicy(enabled: true, keepLast: 1, maxDeletePerTick: 1, maxDeletePerDay: 100)
        var order: [String] = []
        for tick in 0..<5 { order += try await database.queueRetentionDeletes(jobId: job.id, policy: policy, now: 1_000_000 + Int64(tick)) }
        #expect(order == ["old", "i2", "i1", "f1"], "\(order)")
    }

    @Test func theClaimPlansFullOrIncrementalAndSaysWhy() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let target: JSONValue = .object(["type": "local_dir", "base_dir": "/b"])
        let spec: JSONValue = .object([
            "v": 1, "type": "filesystem", "source": .object(["paths": .array(["/a"])]), "target": target,
            "pipeline": .object(["incremental": .object(["full_every": 3])]),
        ])
        let job = try await database.createJob(
            try JobInput(name: "j", schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
        )
        let parsed = try JobSpec.parse(spec)
        func plan() async throws -> IncrementalPlan {
            try await database.pool.read { db in
                try AppDatabase.incrementalPlan(db, job: job, spec: parsed, setting: parsed.incremental!, runId: "next")
            }
        }
        func record(_ run: String, level: Int, base: String?, ended: Int64, baseDir: String = "/b") async throws {
            try await Self.record(database, job: job.id, run, level: level, base: base, ended: ended, baseDir: baseDir)
        }
        #expect(try await plan().reason == "first")
        try await record("a", level: 0, base: nil, ended: 1)
        let second = try await plan()
        #expect(second.reason == "incremental" && second.chain == SnapshotChain(level: 1, before: ["a"]) && second.base?.runId == "a")
        #expect(IncrementalPlan(json: second.json) == second)
        try await record("b", level: 1, base: "a", ended: 2)
        #expect(try await plan().chain == SnapshotChain(level: 2, before: ["a", "b"]))
        try await record("c", level: 2, base: "b", ended: 3)
        #expect(try await plan().reason == "full_every")
        // A chain whose full snapshot is gone is not built on.
        try await database.pool.write { db in try db.execute(sql: "UPDATE run_artifacts SET status = 'deleted' WHERE run_id = 'a'") }
        try await database.pool.write { db in try db.execute(sql: "DELETE FROM run_artifacts WHERE run_id = 'c'") }
        #expect(try await plan().reason == "base_unavailable")
        // Nor one on another target.
        try await record("d", level: 0, base: nil, ended: 4, baseDir: "/elsewhere")
        #expect(try await plan().reason == "target_changed")
        #expect(IncrementalPlan(json: .object(["level": 2, "chain": .array(["x"])])) == nil, "a level that does not match its chain")
        // A manifest's chain names runs, never paths.
        #expect(SnapshotChain(json: .object(["level": 1, "chain": .array(["../../etc", "r"])]), runId: "r") == nil)
        #expect(SnapshotChain(json: .object(["level": 1, "chain": .array(["a/b", "r"])]), runId: "r") == nil)
        #expect(SnapshotChain(json: .object(["level": 1, "chain": .array(["3b86902d-c950-4c82", "r"])]), runId: "r") != nil)
    }

    @Test func retentionKeepsTheChainsOfWhatItKeeps() {
        let snapshots: [RetentionPolicy.Snapshot] = [
            .init(runId: "f1", endedAt: 1, pinned: false), .init(runId: "i1", endedAt: 2, pinned: false, baseRunId: "f1"),
            .init(runId: "i2", endedAt: 3, pinned: false, baseRunId: "i1"), .init(runId: "f2", endedAt: 4, pinned: false),
            .init(runId: "j1", endedAt: 5, pinned: false, baseRunId: "f2"),
        ]
        func kept(_ policy: RetentionPolicy, _ list: [RetentionPolicy.Snapshot] = snapshots) -> [String: [String]] {
            Dictionary(uniqueKeysWithValues: policy.decide(list, now: 10, timeZone: .gmt).map { ($0.snapshot.runId, $0.reasons) })
        }
        let one = kept(RetentionPolicy(enabled: true, keepLast: 1))
        #expect(one["j1"] == ["keep_last"] && one["f2"] == ["chain_base"] && one["i2"] == [] && one["f1"] == [])
        var pinned = snapshots
        pinned[2].pinned = true
        let withPin = kept(RetentionPolicy(enabled: true, keepLast: 1), pinned)
        #expect(withPin["i2"] == ["pinned"] && withPin["i1"] == ["chain_base"] && withPin["f1"] == ["chain_base"])
    }
}
