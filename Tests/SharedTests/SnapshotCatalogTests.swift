import Archive
import Foundation
import Store
import TestClients
import Testing

/// Snapshot catalogs and diffs built from real archives (docs/formats.md, "The snapshot catalog", "Snapshot diffs").
struct SnapshotCatalogTests {
    /// Backs up `source` (archive paths are its absolute path without the `/`) and builds the catalog.
    static func snapshot(_ source: String, _ dir: TemporaryDirectory, _ name: String) throws -> SnapshotCatalog {
        let runDir = dir.path + "/" + name
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        var settings = ArchiveBuilder.Settings(jobId: "job", runId: name, runDirectory: runDir, partSize: 1 << 20)
        settings.hardlinkPolicy = "keep"
        let progress = BuildProgress()
        _ = try ArchiveBuilder(settings: settings, progress: progress) { false }
            .build(try ArchiveBuilder.roots(paths: [source], root: nil, progress: progress))
        return try SnapshotCatalog.build(entriesIndex: runDir + "/entries.jsonl.zst", into: dir.path + "/catalog/\(name).sqlite")
    }

    static func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func listsOneLevelDirectoriesFirstPagesExactlyAndSearches() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        for name in ["b.txt", "a.b", "README.TXT", "Zed", "a/inner.txt", "a/deeper/readme.md", "c/x"] {
            try Self.write(source + "/" + name, name)
        }
        // A name that is not UTF-8.
        let latin1: [UInt8] = Array("latin1-".utf8) + [0xE9, 0xFF]
        var cPath = (Array((source + "/").utf8) + latin1).map { CChar(bitPattern: $0) } + [0]
        let created = open(&cPath, O_CREAT | O_WRONLY, 0o644)
        #expect(created >= 0)
        close(created)
        symlink("b.txt", source + "/link")

        let catalog = try Self.snapshot(source, dir, "one")
        let top = Self.bytes(String(source.dropFirst()))

        // From the very top, the directories above the backed-up path are there (implied), so the tree can be walked.
        let root = try #require(try catalog.list(directory: [], after: nil, limit: 100))
        #expect(root.items.count == 1 && root.items[0].kind == "dir" && root.items[0].implied)

        let listing = try #require(try catalog.list(directory: top, after: nil, limit: 100))
        let names = listing.items.map { String(decoding: $0.name, as: UTF8.self) }
        // Directories first (bytewise), then everything else (bytewise: uppercase before lowercase, `a.b` before `b.txt`).
        #expect(names == ["a", "c", "README.TXT", "Zed", "a.b", "b.txt", "latin1-\u{FFFD}\u{FFFD}", "link"], "\(names)")
        #expect(listing.nextCursor == nil)
        let latin = try #require(listing.items.first { $0.name == latin1 })
        #expect(latin.kind == "file" && latin.size == 0 && latin.hash?.count == 32)
        let link = try #require(listing.items.first { $0.name == Self.bytes("link") })
        #expect(link.kind == "symlink" && link.link == Self.bytes("b.txt"))
        #expect(listing.items.first { $0.name == Self.bytes("b.txt") }?.size == 5)

        // Pages of one: every entry exactly once, in the same order, across the directories/files boundary.
        var paged: [[UInt8]] = []
        var cursor: SnapshotCatalog.Cursor?
        repeat {
            let page = try #require(try catalog.list(directory: top, after: cursor.flatMap { SnapshotCatalog.Cursor(token: $0.token) }, limit: 1))
            paged += page.items.map(\.name)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(paged == listing.items.map(\.name))

        #expect(try catalog.list(directory: top, after: nil, limit: 100, kind: "dir")?.items.map(\.name) == [Self.bytes("a"), Self.bytes("c")])
        #expect(try catalog.list(directory: top + Self.bytes("/nope"), after: nil, limit: 10) == nil)

        // Search: case-insensitive on names, at any depth under the prefix, in path order.
        let found = try #require(try catalog.search(under: top, query: "readme", after: nil, limit: 10))
        #expect(found.items.map { String(decoding: $0.path, as: UTF8.self) } == ["\(top.string)/README.TXT", "\(top.string)/a/deeper/readme.md"])
        let below = try #require(try catalog.search(under: top + Self.bytes("/a"), query: "README", after: nil, limit: 1))
        #expect(below.items.map(\.path) == [top + Self.bytes("/a/deeper/readme.md")] && below.nextCursor == nil)
        let first = try #require(try catalog.search(under: top, query: "e", after: nil, limit: 2))
        let rest = try #require(try catalog.search(under: top, query: "e", after: first.nextCursor, limit: 100))
        let all = try #require(try catalog.search(under: top, query: "e", after: nil, limit: 100))
        #expect(first.items.count == 2 && (first.items + rest.items).map(\.path) == all.items.map(\.path))

        #expect(try catalog.lookup(top + Self.bytes("/a/inner.txt"))?.size == 11)
        #expect(try catalog.lookup(top + [UInt8(ascii: "/")] + latin1)?.name == latin1)
        #expect(try catalog.lookup(top + Self.bytes("/missing")) == nil)

        var walked: [[UInt8]] = []
        try catalog.walk { walked.append($0.path) }
        #expect(Set(walked).count == walked.count)
        #expect(walked.contains(top + Self.bytes("/a/deeper/readme.md")))
        #expect(SnapshotCatalog.Cursor(token: "!!not base64") == nil && SnapshotCatalog.Cursor(token: "") == nil)
    }

    @Test func aDiffListsExactlyWhatWasAddedRemovedAndChanged() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        for name in ["keep.txt", "edit.txt", "gone.txt", "grow.txt", "sub/keep", "sub/gone-too", "chmod.sh", "swap"] {
            try Self.write(source + "/" + name, name)
        }
        let old = try Self.snapshot(source, dir, "old")
        // Same size, other bytes; longer; removed; added; mode; a file replaced by a directory.
        try Self.write(source + "/edit.txt", "EDIT.TXT")
        try Self.write(source + "/grow.txt", "grow.txt and more")
        unlink(source + "/gone.txt")
        unlink(source + "/sub/gone-too")
        try Self.write(source + "/new/file.txt", "new")
        chmod(source + "/chmod.sh", 0o755)
        unlink(source + "/swap")
        try Self.write(source + "/swap/inside", "x")
        let new = try Self.snapshot(source, dir, "new")

        let diff = try SnapshotDiff.build(from: old, to: new, into: dir.path + "/catalog/diff/old_new.sqlite")
        let prefix = String(source.dropFirst()) + "/"
        var changes: [String: (SnapshotDiff.Kind, [String])] = [:]
        var next: Int64?
        repeat {
            let page = try diff.page(after: next, limit: 3)
            for change in page.items {
                changes[String(decoding: change.path, as: UTF8.self).replacingOccurrences(of: prefix, with: "")] = (change.kind, change.fields)
            }
            next = page.next
        } while next != nil
        let summary = changes.mapValues { "\($0.0.rawValue) \($0.1.joined(separator: ","))" }
        #expect(
            summary == [
                "edit.txt": "changed content,mtime", "grow.txt": "changed content,size,mtime", "gone.txt": "removed ",
                "sub/gone-too": "removed ", "new": "added ", "new/file.txt": "added ", "chmod.sh": "changed mode", "swap": "changed kind",
                "swap/inside": "added ",
            ],
            "\(summary)"
        )
        let totals = try diff.totals()
        #expect(totals.added == 3 && totals.removed == 2 && totals.changed == 4)
        #expect(try diff.page(after: nil, limit: 100, kind: .removed).items.count == 2)
        #expect(try diff.page(after: nil, limit: 100, query: "GROW").items.map(\.kind) == [.changed])
        let grow = try #require(try diff.page(after: nil, limit: 100, query: "grow").items.first)
        #expect(grow.old?.size == 8 && grow.new?.size == 17 && grow.old?.hash != grow.new?.hash)
        // The same snapshot against itself: nothing.
        let same = try SnapshotDiff.build(from: new, to: new, into: dir.path + "/catalog/diff/new_new.sqlite")
        #expect(try same.totals().added + same.totals().removed + same.totals().changed == 0)
    }

    @Test func aBrokenEntriesIndexBuildsNothing() throws {
        let dir = TemporaryDirectory()
        try Data([0x28, 0xB5, 0x2F, 0xFD, 1, 2, 3]).write(to: URL(fileURLWithPath: dir.path + "/entries.jsonl.zst"))
        #expect(throws: (any Error).self) { try SnapshotCatalog.build(entriesIndex: dir.path + "/entries.jsonl.zst", into: dir.path + "/c.sqlite") }
        #expect(throws: (any Error).self) { try SnapshotCatalog.build(entriesIndex: dir.path + "/missing.zst", into: dir.path + "/c.sqlite") }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/c.sqlite"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["entries.jsonl.zst"], "no temporary file is left")
    }

    /// An index from a target is bounded (docs/security.md, "Targets and secrets"): 64 MiB without a newline compress
    /// to a few KiB, and stop at the line limit instead of filling memory; an index with more entries than the manifest
    /// says stops at the count.
    @Test func aHostileEntriesIndexIsBounded() throws {
        let dir = TemporaryDirectory()
        let bomb = dir.path + "/bomb.zst"
        _ = try Shell.run("head -c 67108864 /dev/zero | tr '\\0' a | zstd -q -19 -o '\(bomb)'")
        #expect((try FileManager.default.attributesOfItem(atPath: bomb)[.size] as? Int ?? 0) < 1 << 20)
        #expect {
            try SnapshotCatalog.build(entriesIndex: bomb, into: dir.path + "/bomb.sqlite")
        } throws: { "\($0)".contains("longer than") }
        let many = dir.path + "/many.zst"
        _ = try Shell.run("for n in 1 2 3 4 5; do echo '{\"path\":\"f'$n'\",\"kind\":\"file\"}'; done | zstd -q -o '\(many)'")
        #expect(try SnapshotCatalog.build(entriesIndex: many, into: dir.path + "/five.sqlite", maxEntries: 5).entriesCount() == 5)
        #expect {
            try SnapshotCatalog.build(entriesIndex: many, into: dir.path + "/four.sqlite", maxEntries: 4)
        } throws: { "\($0)".contains("more entries than") }
    }

    /// A manifest or a frame table from a target is not read whole into memory past its bound.
    @Test func aHugeManifestOrFrameTableIsNotReadWhole() throws {
        let dir = TemporaryDirectory()
        try Self.write(dir.path + "/huge/complete.json", "{}")
        _ = try Shell.run("truncate -s 300M '\(dir.path)/huge/manifest.json'")
        #expect {
            try Snapshot(directory: dir.path + "/huge")
        } throws: { "\($0)".contains("larger than") }
        let manifest = """
            {"pipeline": {"format": "archive_v1", "frame_bytes": 4194304, "split_bytes": 1048576},
             "artifacts": [{"name": "frames.json", "size": 314572800, "hash": "00"}], "entry_index": {"count": 0}}
            """
        try Self.write(dir.path + "/frames/complete.json", "{}")
        try Self.write(dir.path + "/frames/manifest.json", manifest)
        _ = try Shell.run("truncate -s 300M '\(dir.path)/frames/frames.json'")
        #expect {
            try Snapshot(directory: dir.path + "/frames").frameTable()
        } throws: { "\($0)".contains("larger than") }
    }
}

extension Array where Element == UInt8 {
    fileprivate var string: String { String(decoding: self, as: UTF8.self) }
}
