import Archive
import Core
import Foundation
import Store
import TestClients
import Testing

/// The catalog built in the same pass as the archive (`SnapshotCatalog.LiveBuild`, docs/architecture.md, "One pass").
struct LiveCatalogTests {
    func listing(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    func every(_ catalog: SnapshotCatalog) throws -> [SnapshotCatalog.Entry] {
        var entries: [SnapshotCatalog.Entry] = []
        try catalog.walk { entries.append($0) }
        return entries
    }

    @Test func aCatalogBuiltWhileArchivingHoldsWhatOneBuiltFromTheIndexHolds() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        for name in ["a/inner.txt", "a/deeper/readme.md", "b.txt", "c d/x"] {
            try FileManager.default.createDirectory(
                atPath: (source + "/" + name as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data(name.utf8).write(to: URL(fileURLWithPath: source + "/" + name))
        }
        let odd: [UInt8] = Array((source + "/latin1-").utf8) + [0xE9, 0xFF, 0x0A]
        let created = open(odd.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY, 0o644)
        close(created)
        link(source + "/b.txt", source + "/a/hard")
        symlink("b.txt", source + "/link")
        // Enough entries for several batches to cross to the catalog's thread.
        try FileManager.default.createDirectory(atPath: source + "/many", withIntermediateDirectories: true)
        for index in 0..<2500 { try Data().write(to: URL(fileURLWithPath: source + "/many/f\(index)")) }

        let runDir = dir.path + "/run"
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        var settings = ArchiveBuilder.Settings(jobId: "job", runId: "run", runDirectory: runDir, partSize: 1 << 20)
        settings.hardlinkPolicy = "keep"
        let live = SnapshotCatalog.LiveBuild(path: dir.path + "/catalog/live.sqlite")
        settings.indexObserver = live
        let progress = BuildProgress()
        let result = try ArchiveBuilder(settings: settings, progress: progress) { false }
            .build(try ArchiveBuilder.roots(paths: [source], root: nil, progress: progress))
        #expect(try live.finish() == result.entriesCount)
        live.abandon()  // after finish: nothing happens

        let built = try #require(try SnapshotCatalog.open(path: dir.path + "/catalog/live.sqlite"))
        let fromIndex = try SnapshotCatalog.build(entriesIndex: runDir + "/entries.jsonl.zst", into: dir.path + "/catalog/index.sqlite")
        #expect(try built.entriesCount() == fromIndex.entriesCount())
        let (a, b) = (try every(built), try every(fromIndex))
        #expect(a.count > 2500 && a == b)
        #expect(a.contains { $0.kind == "hardlink" } && a.contains { $0.name == [UInt8](Array("latin1-".utf8) + [0xE9, 0xFF, 0x0A]) })
        #expect(listing(dir.path + "/catalog") == ["index.sqlite", "live.sqlite"], "no temporary file is left")
    }

    @Test func anAbandonedCatalogLeavesNothingBehind() async throws {
        let dir = TemporaryDirectory()
        let live = SnapshotCatalog.LiveBuild(path: dir.path + "/catalog/run.sqlite")
        live.indexed([
            IndexedEntry(path: Array("a/b".utf8), kind: "file", size: 1, mtime: 0, mtimeNsec: 0, mode: 0o644, uid: 0, gid: 0, hash: nil, link: nil)
        ])
        // The rows are being written to a temporary file beside the catalog's path, never at it.
        #expect(await eventually { listing(dir.path + "/catalog").count == 1 })
        #expect(listing(dir.path + "/catalog").allSatisfy { $0.hasPrefix("run.sqlite.") && $0.hasSuffix(".tmp") })
        live.abandon()
        #expect(await eventually { listing(dir.path + "/catalog").isEmpty }, "\(listing(dir.path + "/catalog"))")
    }

    @Test func theSweepRemovesOnlyTemporaryFilesOfProcessesThatAreGone() throws {
        let dir = TemporaryDirectory()
        let data = DataDirectory(path: dir.path)
        try FileManager.default.createDirectory(atPath: data.catalogPath + "/diff", withIntermediateDirectories: true)
        // A pid no process has (beyond the kernel's limit), this process's, and a finished catalog.
        let names = ["r1.sqlite.99999999.123.tmp", "r1.sqlite.99999999.123.tmp-journal", "r2.sqlite.\(getpid()).5.tmp", "r3.sqlite"]
        for name in names { FileManager.default.createFile(atPath: data.catalogPath + "/" + name, contents: Data()) }
        FileManager.default.createFile(atPath: data.catalogPath + "/diff/a_b.sqlite.99999999.7.tmp", contents: Data())
        SnapshotCatalog.sweepTemporaries(in: data)
        #expect(listing(data.catalogPath) == ["diff", "r2.sqlite.\(getpid()).5.tmp", "r3.sqlite"])
        #expect(listing(data.catalogPath + "/diff").isEmpty)
    }
}
