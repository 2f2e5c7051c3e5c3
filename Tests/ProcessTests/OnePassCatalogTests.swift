import Archive
import Foundation
import Glibc
import Store
import TestClients
import Testing

/// The catalog built in the same pass as the archive (docs/architecture.md, "One pass") through the real API and
/// worker: the same catalog as one built from the snapshot's entries index afterwards, no scan stage before packaging,
/// and nothing at the catalog's path when the worker is killed half-way.
@Suite(.serialized) struct OnePassCatalogTests {
    @discardableResult
    func sh(_ fixture: RunsFixture, _ command: String) async throws -> (status: Int32, output: String) {
        let result = try await Child.shell(command, logDir: fixture.scratch.path)
        if result.status != 0 { Issue.record("\(command): \(result.output)") }
        return result
    }

    func createJob(_ fixture: RunsFixture, source: [String: Any], pipeline: [String: Any] = [:]) async throws -> String {
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": source,
            "target": ["type": "local_dir", "base_dir": fixture.targetDir, "part_size_bytes": 1_048_576], "pipeline": pipeline,
        ]
        let result = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "fs-\(UUID().uuidString.prefix(6))", "spec": spec])
        guard result.status == 201, let id = result.json?["id"] as? String else {
            throw FixtureError("create job: \(result.status) \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    func finish(_ fixture: RunsFixture, _ run: String) async throws -> [String: Any] {
        _ = await eventually(timeout: .seconds(90)) { ["success", "failed", "canceled"].contains(await fixture.status(run) ?? "") }
        return try await fixture.run(run)
    }

    func listing(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Creates a file whose name is any bytes (the parent exists).
    func file(_ directory: String, _ name: [UInt8], _ text: String) throws {
        let path = Array(directory.utf8) + [UInt8(ascii: "/")] + name
        let descriptor = open(path.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw FixtureError("create \(String(decoding: path, as: UTF8.self)): errno \(errno)") }
        _ = text.withCString { write(descriptor, $0, strlen($0)) }
        close(descriptor)
    }

    /// Every table's rows, in key order, as `sqlite3 .dump` prints them: two catalogs with the same dump hold the same.
    func dump(_ fixture: RunsFixture, _ catalog: String) async throws -> String {
        try await sh(fixture, "sqlite3 '\(catalog)' .dump").output
    }

    @Test func theWorkersCatalogIsBuiltWhilePackagingAndIsTheOneItsIndexGivesForAFullAndAnIncrementalSnapshot() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let source = fixture.scratch.path + "/odd src"
        for directory in ["dir one/sub", "empty", "-dash", "deep/a/b/c/d"] {
            try FileManager.default.createDirectory(atPath: source + "/" + directory, withIntermediateDirectories: true)
        }
        try file(source + "/dir one", Array("a.txt".utf8), "alpha")
        try file(source, Array("back\\slash".utf8), "bb")
        try file(source, Array("new\nline".utf8), "nl")
        try file(source, Array("latin1-".utf8) + [0xE9, 0xFF], "not utf-8")
        try file(source, Array("caf\u{E9}".utf8), "nfc")
        try file(source, Array("cafe\u{301}".utf8), "nfd")
        try file(source + "/-dash", Array(" leading space".utf8), "space")
        try file(source + "/deep/a/b/c/d", Array("leaf".utf8), "leaf")
        link(source + "/dir one/a.txt", source + "/dir one/sub/hard-a")
        link(source + "/dir one/a.txt", source + "/hard-b")
        symlink("../a.txt", source + "/dir one/sub/sym")
        mkfifo(source + "/fifo", 0o644)
        let job = try await createJob(
            fixture,
            source: ["paths": [source], "hardlink_policy": "keep"],
            pipeline: ["incremental": ["full_every": 5]]
        )

        var runs: [String] = []
        for round in 0..<2 {
            if round == 1 {
                // The incremental: one file changed, one added, one removed, a directory gone.
                try file(source, Array("back\\slash".utf8), "changed")
                try file(source + "/dir one", Array("added".utf8), "new")
                unlink(source + "/new\nline")
                try FileManager.default.removeItem(atPath: source + "/deep/a/b/c")
            }
            let run = try await fixture.enqueue(job).id
            let finished = try await finish(fixture, run)
            #expect(finished["status"] as? String == "success", "\(finished)")
            runs.append(run)

            let catalog = fixture.dataDir + "/catalog/\(run).sqlite"
            #expect(FileManager.default.fileExists(atPath: catalog), "\(listing(fixture.dataDir + "/catalog"))")
            // No scan before packaging: its totals came beside it.
            let stored = try #require(finished["progress"] as? [String: Any], "\(finished)")
            let stages = (stored["stages"] as? [[String: Any]] ?? []).compactMap { $0["stage"] as? String }
            #expect(stages == ["packaging", "upload", "index"], "\(stored)")
            let events = try await fixture.events(run)
            let catalogEvent = try #require(events.first { $0["kind"] as? String == "catalog" }, "\(events)")
            let fields = catalogEvent["fields"] as? [String: Any] ?? [:]
            #expect(catalogEvent["level"] as? String == "info" && fields["after_archive_seconds"] is Double, "\(catalogEvent)")

            // The same catalog as one built from the snapshot's index afterwards, row for row.
            let fromIndex = fixture.scratch.path + "/from-index-\(round).sqlite"
            let runDir = fixture.targetDir + "/\(job)/\(run)"
            let built = try SnapshotCatalog.build(entriesIndex: runDir + "/" + Manifest.entriesIndexName, into: fromIndex)
            #expect(try built.entriesCount() == Int64(fields["entries"] as? Int ?? -1), "\(fields)")
            let live = try await dump(fixture, catalog)
            let reference = try await dump(fixture, fromIndex)
            #expect(live == reference, "\(live)\n---\n\(reference)")
            // What the catalog holds is the odd tree: not empty, the hard links as hard links, the name that is not
            // UTF-8 as its bytes.
            #expect(live.contains("'hardlink'") && live.contains("'symlink'") && live.contains("'fifo'"), "\(live)")
            #expect(live.lowercased().contains("x'6c6174696e312de9ff'"), "latin1-\\xE9\\xFF as bytes: \(live)")
        }
        let second = try await fixture.run(runs[1])
        let chain = (second["summary"] as? [String: Any])?["incremental"] as? [String: Any]
        #expect(chain?["level"] as? Int == 1, "\(second)")
    }

    @Test func aWorkerKilledWhilePackagingLeavesNoCatalogAndTheNextWorkerRemovesWhatItWasBuilding() async throws {
        let fixture = try await RunsFixture()
        let pauses = fixture.scratch.path + "/pauses"
        let source = fixture.scratch.path + "/src"
        try await sh(
            fixture,
            "set -e; mkdir -p '\(pauses)' '\(source)/a'; mkfifo '\(pauses)/big.bin.pause'; echo one > '\(source)/a/one.txt'; "
                + "head -c 3145728 /dev/urandom > '\(source)/big.bin'"
        )
        let worker = try await fixture.startWorker("w0", ["--lease-seconds", "600"], environment: ["BASTION_TEST_PAUSE_DIR": pauses])
        let job = try await createJob(fixture, source: ["paths": [source]])
        let run = try await fixture.enqueue(job).id
        var hold: Int32 = -1
        _ = await eventually(timeout: .seconds(60)) {
            hold = open(pauses + "/big.bin.pause", O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            return hold >= 0
        }
        #expect(hold >= 0, "the worker never reached big.bin")
        let catalogs = fixture.dataDir + "/catalog"
        // Mid-archive: the catalog is being written (a temporary file), and nothing is at its path.
        let building = await eventually(timeout: .seconds(30)) {
            self.listing(catalogs).contains { $0.hasPrefix(run + ".sqlite.") && $0.hasSuffix(".tmp") }
        }
        #expect(building, "\(listing(catalogs))")
        #expect(!listing(catalogs).contains(run + ".sqlite"))
        worker.kill9()
        close(hold)
        #expect(!listing(catalogs).contains(run + ".sqlite"), "\(listing(catalogs))")
        #expect(!FileManager.default.fileExists(atPath: fixture.targetDir + "/\(job)/\(run)/complete.json"))
        // The next worker on this data directory removes the dead one's temporary file when it starts.
        try await sh(fixture, "rm '\(pauses)/big.bin.pause'")
        try await fixture.startWorker("w1", ["--lease-seconds", "600"])
        #expect(listing(catalogs).filter { $0.hasPrefix(run) }.isEmpty, "\(listing(catalogs))")
    }
}
