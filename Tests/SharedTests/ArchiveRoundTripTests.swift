import Foundation
import TestClients
import Testing

@testable import Archive

@Suite struct ArchiveRoundTripTests {
    static func tree(_ root: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/d/e/f", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        try "one".write(toFile: root + "/d/one.txt", atomically: true, encoding: .utf8)
        try Data().write(to: URL(fileURLWithPath: root + "/d/e/zero"))
        try "ö ✓".write(toFile: root + "/d/e/f/ünï 名前.txt", atomically: true, encoding: .utf8)
        var generator = SystemRandomNumberGenerator()
        try Data((0..<3_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: URL(fileURLWithPath: root + "/big.bin"))
        try fm.createSymbolicLink(atPath: root + "/d/link", withDestinationPath: "one.txt")
        chmod(root + "/d/one.txt", 0o600)
        var times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 0), timespec(tv_sec: 1_500_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, root + "/d/one.txt", &times, 0)
        utimensat(AT_FDCWD, root + "/d/e", &times, 0)
    }

    func build(_ source: String, into runDir: String, partSize: Int64 = 1_048_576) throws -> ArchiveBuilder.Result {
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        let progress = BuildProgress()
        let builder = ArchiveBuilder(
            settings: .init(jobId: "job", runId: "run", runDirectory: runDir, partSize: partSize),
            progress: progress,
            isCanceled: { false }
        )
        return try builder.build(try ArchiveBuilder.roots(paths: [source], root: source, progress: progress))
    }

    func restore(
        _ runDir: String,
        to destination: String,
        policy: RestoreWriter.ConflictPolicy = .overwrite,
        selection: RestoreWriter.Selection? = nil
    ) throws {
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let snapshot = try Snapshot(directory: runDir)
        try snapshot.checkParts()
        let writer = RestoreWriter(destination: destination, policy: policy, selection: selection)
        defer { writer.abandon() }
        try snapshot.readMembers(into: writer, identity: nil)
        writer.finish()
    }

    /// A second attempt of a run (after a worker restart) keeps the parts the first one finished when their bytes are
    /// the same, rewrites the ones that differ, and removes parts a longer attempt left behind.
    @Test func aSecondAttemptKeepsIdenticalPartsOnly() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        try Self.tree(source)
        _ = try Shell.run("head -c 2500000 /dev/urandom > '\(source)/zz.bin'")
        let runDir = dir.path + "/run"
        func inode(_ name: String) -> ino_t {
            var info = stat()
            stat(runDir + "/" + name, &info)
            return info.st_ino
        }
        let first = try build(source, into: runDir)
        #expect(first.parts.count == 6 && first.keptParts == 0)
        let inodes = first.parts.map { inode($0.name) }

        // Interrupted before complete.json, with a half-written part: everything finished is kept as it is.
        unlink(runDir + "/complete.json")
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: runDir + "/payload.part000006.partial"))
        let second = try build(source, into: runDir)
        #expect(second.keptParts == 6 && second.parts == first.parts)
        #expect(second.parts.map { inode($0.name) } == inodes)
        #expect(!FileManager.default.fileExists(atPath: runDir + "/payload.part000006.partial"))

        // The source changed between attempts (same mtime, so the tar header stays the same): parts before the change
        // are kept, the rest rewritten, and the parts a longer attempt left are gone. Every part on disk matches the
        // new manifest.
        var before = stat()
        stat(source + "/big.bin", &before)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: source + "/big.bin"))
        try handle.seek(toOffset: 2_500_000)
        try handle.write(contentsOf: Data("changed".utf8))
        try handle.close()
        var times = [before.st_atim, before.st_mtim]
        utimensat(AT_FDCWD, source + "/big.bin", &times, 0)
        unlink(source + "/zz.bin")
        // The frame holding the change and every one after it are new bytes (a frame, a quarter of a part here, is
        // compressed whole).
        let third = try build(source, into: runDir)
        #expect(third.parts.count == 3 && third.keptParts == 2, "\(third.parts)")
        #expect(third.parts.prefix(2).map { inode($0.name) } == Array(inodes.prefix(2)))
        #expect(third.parts[2].hash != first.parts[2].hash)
        for part in third.parts {
            #expect(try Shell.run("b3sum --no-names '\(runDir)/\(part.name)'").trimmed == part.hash, "\(part.name)")
        }
        #expect(!FileManager.default.fileExists(atPath: runDir + "/payload.part000004"))
        try restore(runDir, to: dir.path + "/out")
        let diff = try Shell.run("diff -r --no-dereference '\(source)' '\(dir.path)/out'")
        #expect(diff.status == 0, "\(diff.output)")
    }

    @Test func backupRestoreRoundTripIsIdentical() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        try Self.tree(source)
        let result = try build(source, into: dir.path + "/run")
        #expect(result.parts.count >= 3)
        try restore(dir.path + "/run", to: dir.path + "/out")
        let diff = try Shell.run("diff -r --no-dereference '\(source)' '\(dir.path)/out'")
        #expect(diff.status == 0, "\(diff.output)")
        var info = stat()
        stat(dir.path + "/out/d/one.txt", &info)
        #expect(info.st_mode & 0o7777 == 0o600 && info.st_mtim.tv_sec == 1_500_000_000)
        stat(dir.path + "/out/d/e", &info)
        #expect(info.st_mtim.tv_sec == 1_500_000_000, "directory mtimes are restored after their content")

        // Selection and conflict policies.
        let selected = try #require(RestoreWriter.Selection(files: ["d/one.txt"], dirs: ["/d/e/"]))
        try restore(dir.path + "/run", to: dir.path + "/some", selection: selected)
        #expect(
            try Shell.run("cd '\(dir.path)/some' && find . | sort").output == ".\n./d\n./d/e\n./d/e/f\n./d/e/f/ünï 名前.txt\n./d/e/zero\n./d/one.txt\n"
        )
        try "changed".write(toFile: dir.path + "/some/d/one.txt", atomically: true, encoding: .utf8)
        try restore(dir.path + "/run", to: dir.path + "/some", policy: .skip, selection: selected)
        #expect(try String(contentsOfFile: dir.path + "/some/d/one.txt", encoding: .utf8) == "changed")
        #expect(throws: RestoreConflict.self) { try self.restore(dir.path + "/run", to: dir.path + "/some", policy: .fail, selection: selected) }
        try restore(dir.path + "/run", to: dir.path + "/some", policy: .overwrite, selection: selected)
        #expect(try String(contentsOfFile: dir.path + "/some/d/one.txt", encoding: .utf8) == "one")
        #expect(RestoreWriter.Selection(files: ["../x"], dirs: []) == nil && RestoreWriter.Selection(files: ["", "/", "./"], dirs: []) == nil)
        #expect(RestoreWriter.Selection(files: [" "], dirs: [])?.files == [Array(" ".utf8)], "a space is a name like any other")
    }

    @Test func symlinkPolicies() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        try Self.tree(source)
        try FileManager.default.createSymbolicLink(atPath: source + "/dirlink", withDestinationPath: "d/e")
        for policy in ["keep", "follow", "skip"] {
            let runDir = dir.path + "/run-\(policy)"
            try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
            var settings = ArchiveBuilder.Settings(jobId: "job", runId: "run", runDirectory: runDir, partSize: 1 << 20)
            settings.symlinkPolicy = policy
            settings.errorPolicy = "fail_fast"
            let progress = BuildProgress()
            _ = try ArchiveBuilder(settings: settings, progress: progress) { false }
                .build(try ArchiveBuilder.roots(paths: [source], root: source, progress: progress))
            let out = dir.path + "/out-\(policy)"
            try restore(runDir, to: out)
            var info = stat()
            let link = lstat(out + "/d/link", &info) == 0 ? info.st_mode & S_IFMT : 0
            let dirLink = lstat(out + "/dirlink", &info) == 0 ? info.st_mode & S_IFMT : 0
            switch policy {
            case "keep":
                #expect(link == S_IFLNK && dirLink == S_IFLNK)
            case "follow":
                let content = try String(contentsOfFile: out + "/d/link", encoding: .utf8)
                #expect(link == S_IFREG && content == "one", "a followed file symlink is archived as its content")
                // dirlink points at d/e, already archived under d: reached twice, archived once, with a warning.
                #expect(dirLink == 0 && progress.issues.warnings == 1, "\(progress.issues.warningSamples)")
            default:
                #expect(link == 0 && dirLink == 0)
            }
        }
    }

    @Test func aFlippedByteOrAMissingPartIsRefusedBeforeAnythingIsWritten() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        try Self.tree(source)
        _ = try build(source, into: dir.path + "/run")
        let part2 = dir.path + "/run/payload.part000002"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: part2))
        bytes[1000] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: part2))
        #expect(throws: ArchiveError.self) { try self.restore(dir.path + "/run", to: dir.path + "/out") }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/out"))?.isEmpty == true, "nothing restored")
        bytes[1000] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: part2))
        try FileManager.default.removeItem(atPath: dir.path + "/run/payload.part000001")
        #expect(throws: ArchiveError.self) { try Snapshot(directory: dir.path + "/run").checkParts() }
        try FileManager.default.removeItem(atPath: dir.path + "/run/complete.json")
        #expect(throws: Snapshot.OpenError.self) { try Snapshot(directory: dir.path + "/run") }
    }

    func verify(_ runDir: String) throws -> SnapshotVerifier {
        let snapshot = try Snapshot(directory: runDir)
        let verifier = try SnapshotVerifier(entriesIndex: runDir + "/entries.jsonl.zst")
        try snapshot.readMembers(into: verifier, identity: nil)
        try verifier.finish()
        return verifier
    }

    /// Rewrites the entries index through a shell filter on its JSON lines.
    func rewriteIndex(_ runDir: String, _ filter: String) throws {
        let index = runDir + "/entries.jsonl.zst"
        let result = try Shell.run("zstd -dcq '\(index)' | \(filter) | zstd -q -f -o '\(index).new' && mv '\(index).new' '\(index)'")
        #expect(result.status == 0, "\(result.output)")
    }

    /// Verify reads the index alongside the payload: nothing waits when both are in order; a shuffled index still
    /// verifies (entries wait for their members); an altered hash, a file the payload lacks, and a missing line are
    /// each reported.
    @Test func verifyStreamsTheIndexAlongsideThePayload() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        try Self.tree(source)
        for index in 0..<200 { try "file \(index)".write(toFile: "\(source)/d/many-\(index).txt", atomically: false, encoding: .utf8) }
        let runDir = dir.path + "/run"
        _ = try build(source, into: runDir)
        let files = Int(try Shell.run("find '\(source)' -type f | wc -l").trimmed)!

        let ordered = try verify(runDir)
        #expect(ordered.filesTotal == files && ordered.filesOK == files && ordered.samples.isEmpty)
        #expect(ordered.mostPending == 0)
        #expect(ordered.entriesCount == (try Snapshot(directory: runDir)).entriesCount)

        try rewriteIndex(runDir, "shuf")
        let shuffled = try verify(runDir)
        #expect(shuffled.filesTotal == files && shuffled.filesOK == files && shuffled.mostPending > 0)

        try rewriteIndex(
            runDir,
            #"sed -e '/many-7\.txt"/s/"hash":"[0-9a-f]*"/"hash":"00"/' -e '$a {"path":"d/ghost.txt","kind":"file","size":1,"hash_alg":"blake3","hash":"00"}' | grep -v 'many-9\.txt"'"#
        )
        let damaged = try verify(runDir)
        #expect(damaged.filesTotal == files && damaged.filesOK == files - 2, "\(damaged.samples)")
        #expect(
            Set(damaged.samples)
                == [
                    "d/many-7.txt: content differ", "d/ghost.txt: in the index, not in the payload", "d/many-9.txt: in the payload, not in the index",
                ]
        )
        #expect(damaged.entriesCount == ordered.entriesCount)
    }

    /// Archive paths are split into components on `/` only: a backslash, spaces, a newline or a leading dash are bytes
    /// of a name; `.` and empty components go; `..` and NUL are refused.
    @Test func pathComponentsAreBytesSplitOnSlashOnly() {
        func split(_ path: String) -> [String]? { RestoreWriter.components(Array(path.utf8))?.map { String(decoding: $0, as: UTF8.self) } }
        #expect(split("a/b/c.txt") == ["a", "b", "c.txt"])
        #expect(split("back\\slash") == ["back\\slash"])
        #expect(split(" a /b\nc/-d") == [" a ", "b\nc", "-d"])
        #expect(split("./a//b/./") == ["a", "b"])
        #expect(split("/abs") == ["abs"])
        #expect(split("a/../b") == nil && split("..") == nil && split("a\u{0}b") == nil)
        #expect(split("...") == ["..."] && split("..a") == ["..a"])
        #expect(RestoreWriter.normalize("/d/e/") == "d/e" && RestoreWriter.normalize("../x") == nil)
    }

    /// pax times as GNU tar writes them: exact decimals, trailing zeros dropped, negative values below 1970.
    @Test func paxTimesAreExactDecimals() {
        let cases: [(FileTime, String)] = [
            (FileTime(seconds: 0), "0"), (FileTime(seconds: 1_700_000_000, nanoseconds: 123_456_789), "1700000000.123456789"),
            (FileTime(seconds: -2, nanoseconds: 250_000_000), "-1.75"), (FileTime(seconds: -1), "-1"),
            (FileTime(seconds: 5, nanoseconds: 500_000_000), "5.5"), (FileTime(seconds: 7_258_118_400, nanoseconds: 1), "7258118400.000000001"),
            (FileTime(seconds: -31_536_001, nanoseconds: 999_999_999), "-31536000.000000001"),
        ]
        for (time, text) in cases {
            #expect(time.paxValue == text)
            #expect(FileTime(pax: text) == time, "\(text)")
        }
        #expect(FileTime(pax: "1.1234567899") == FileTime(seconds: 1, nanoseconds: 123_456_789))
        #expect(FileTime(pax: "x") == nil && FileTime(pax: "1.2.3") == nil && FileTime(pax: "") == nil && FileTime(pax: "-") == nil)
    }

    /// A hostile archive: `../` paths, absolute paths, a file written through a symlink it created, and a directory
    /// replaced by a symlink between two of its files (the remembered parent must not be trusted after that).
    @Test(arguments: [
        ["../escaped"], ["/tmp/absolute-escape"], ["link -> OUTSIDE", "link/written-through-symlink"],
        ["link/first", "link -> OUTSIDE", "link/second-through-symlink"],
    ])
    func noEntryCanWriteOutsideTheDestination(_ members: [String]) throws {
        let dir = TemporaryDirectory()
        let outside = dir.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let sink = MemorySink()
        let tar = TarWriter(next: sink)
        for member in members {
            if member.contains(" -> ") {
                try tar.begin(TarEntry(path: "link", kind: .symlink, mode: 0o777, mtime: 0, linkTarget: outside))
            } else {
                try tar.begin(TarEntry(path: member, kind: .file, mode: 0o644, mtime: 0, size: 4))
                try tar.write(Array("evil".utf8).withUnsafeBytes { UnsafeRawBufferPointer($0) })
                try tar.end()
            }
        }
        try tar.finish()
        let destination = dir.path + "/dest/inner"
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let writer = RestoreWriter(destination: destination, policy: .overwrite, selection: nil)
        // Refused entries are reported one by one; the rest of the archive goes on.
        try sink.bytes.withUnsafeBytes { try TarReader(delegate: writer).write($0) }
        writer.finish()
        #expect(writer.failed >= 1, "\(writer.failures)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        #expect(
            !FileManager.default.fileExists(atPath: dir.path + "/dest/escaped") && !FileManager.default.fileExists(atPath: "/tmp/absolute-escape")
        )
    }
}
