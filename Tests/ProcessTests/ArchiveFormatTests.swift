import Foundation
import Testing

/// `archive_v1` snapshots written by a real worker, read back with GNU tar, zstd and b3sum.
@Suite(.serialized) struct ArchiveFormatTests {
    /// Runs a shell command; returns its exit status and output.
    @discardableResult
    static func shell(_ command: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A tree with nested and empty directories, empty and large files, unicode names, symlinks, modes and mtimes.
    static func makeTree(_ root: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/a/b/c", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/skip-me", withIntermediateDirectories: true)
        try "hello\n".write(toFile: root + "/a/hello.txt", atomically: true, encoding: .utf8)
        try Data().write(to: URL(fileURLWithPath: root + "/a/b/zero"))
        try "ünïcødé ✓".write(toFile: root + "/a/b/c/日本語-ファイル.txt", atomically: true, encoding: .utf8)
        var generator = SystemRandomNumberGenerator()
        let big = (0..<(2_621_440)).map { _ in UInt8.random(in: 0...255, using: &generator) }  // 2.5 MiB, incompressible
        try Data(big).write(to: URL(fileURLWithPath: root + "/a/big.bin"))
        try String(repeating: "compressible line\n", count: 50_000).write(toFile: root + "/a/b/text.log", atomically: true, encoding: .utf8)
        try "tmp".write(toFile: root + "/a/scratch.tmp", atomically: true, encoding: .utf8)
        try "x".write(toFile: root + "/skip-me/inner", atomically: true, encoding: .utf8)
        let long = String(repeating: "long-directory-name-", count: 6)
        try fm.createDirectory(atPath: root + "/\(long)/\(long)", withIntermediateDirectories: true)
        try "deep".write(toFile: root + "/\(long)/\(long)/file-with-a-long-path.txt", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/a/link-to-hello", withDestinationPath: "hello.txt")
        try fm.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: "/nonexistent/target")
        chmod(root + "/a/hello.txt", 0o640)
        chmod(root + "/a/b/c", 0o750)
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, root + "/a/hello.txt", &times, 0)
    }

    func createFilesystemJob(_ fixture: RunsFixture, paths: [String], exclude: [String] = [], partSize: Int = 1_048_576) async throws -> String {
        let result = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: [
                "name": "files",
                "spec": [
                    "v": 1, "type": "filesystem", "source": ["paths": paths, "exclude": exclude],
                    "target": ["type": "local_dir", "base_dir": fixture.targetDir, "part_size_bytes": partSize],
                ],
            ]
        )
        guard result.status == 201, let id = result.json?["id"] as? String else {
            throw FixtureError("create job: \(result.status) \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    @Test func aSnapshotExtractsWithTarAndZstdAndItsPartsMatchB3sum() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        try Self.makeTree(source)
        try await fixture.startWorker("w0")
        let job = try await createFilesystemJob(fixture, paths: [source], exclude: ["*.tmp", "*/skip-me"])
        let run = try await fixture.enqueue(job).id
        let finished = await eventually(timeout: .seconds(60)) { await fixture.status(run) == "success" }
        let log = try await fixture.events(run)
        #expect(finished, "\(log)")
        let runDir = "\(fixture.targetDir)/\(job)/\(run)"
        let names = try FileManager.default.contentsOfDirectory(atPath: runDir).sorted()
        #expect(names.contains("complete.json") && names.contains("manifest.json") && names.contains("entries.jsonl.zst"))
        #expect(!names.contains { $0.hasSuffix(".partial") })
        let parts = names.filter { $0.hasPrefix("payload.part") }
        #expect(parts.count >= 2 && parts.first == "payload.part000001", "a 2.5 MiB incompressible file spans 1 MiB parts: \(parts)")

        // Every part's b3sum equals the manifest.
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: runDir + "/manifest.json"))) as? [String: Any]
        )
        let artifacts = try #require(manifest["artifacts"] as? [[String: Any]])
        for part in parts {
            let hash = try Self.shell("b3sum --no-names '\(runDir)/\(part)'").output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(artifacts.first { $0["name"] as? String == part }?["hash"] as? String == hash, "\(part)")
        }
        #expect((manifest["pipeline"] as? [String: Any])?["format"] as? String == "archive_v1")

        // GNU tar + zstd reproduce the tree.
        let out = fixture.scratch.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let extract = try Self.shell("cat '\(runDir)'/payload.part* | zstd -d | tar -x -C '\(out)'")
        #expect(extract.status == 0, "\(extract.output)")
        let restored = out + source
        let diff = try Self.shell("diff -r --no-dereference '\(source)' '\(restored)'")
        #expect(diff.output.contains("Only in \(source): skip-me") && diff.output.contains("Only in \(source)/a: scratch.tmp"), "\(diff.output)")
        #expect(diff.output.split(separator: "\n").count == 2, "only the excluded paths differ:\n\(diff.output)")
        var original = stat()
        var copy = stat()
        stat(source + "/a/hello.txt", &original)
        stat(restored + "/a/hello.txt", &copy)
        #expect(copy.st_mode & 0o7777 == 0o640 && copy.st_mtim.tv_sec == 1_600_000_000)
        stat(restored + "/a/b/c", &copy)
        #expect(copy.st_mode & 0o7777 == 0o750)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: restored + "/a/link-to-hello") == "hello.txt")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: restored + "/dangling") == "/nonexistent/target")
        #expect(FileManager.default.fileExists(atPath: restored + "/empty"))

        // The entries index: one line per entry, each file's hash is its content's BLAKE3.
        let index = try Self.shell("zstd -dc '\(runDir)/entries.jsonl.zst'").output.split(separator: "\n")
        #expect(index.count == (manifest["entry_index"] as? [String: Any])?["count"] as? Int)
        let lines = index.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let big = try #require(lines.first { ($0["path"] as? String)?.hasSuffix("a/big.bin") == true })
        let bigHash = try Self.shell("b3sum --no-names '\(source)/a/big.bin'").output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(big["hash"] as? String == bigHash && big["size"] as? Int == 2_621_440 && big["kind"] as? String == "file")
        #expect(lines.contains { $0["kind"] as? String == "symlink" && $0["symlink_target"] as? String == "hello.txt" })

        let summary = try #require(try await fixture.run(run)["summary"] as? [String: Any])
        #expect(summary["artifact_format"] as? String == "archive_v1" && summary["parts"] as? Int == parts.count)
        let kinds = try await fixture.events(run).compactMap { $0["kind"] as? String }
        #expect(kinds.contains("packaging") && kinds.contains("upload") && kinds.last == "complete", "\(kinds)")
    }
}
