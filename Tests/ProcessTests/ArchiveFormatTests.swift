import Foundation
import TestClients
import Testing

/// `archive_v1` snapshots written by a real worker, read back with GNU tar, zstd and b3sum.
@Suite(.serialized) struct ArchiveFormatTests {
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

    func createFilesystemJob(
        _ fixture: RunsFixture,
        paths: [String],
        exclude: [String] = [],
        partSize: Int = 1_048_576,
        encryptionKey: String? = nil
    ) async throws -> String {
        var spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": paths, "exclude": exclude],
            "target": ["type": "local_dir", "base_dir": fixture.targetDir, "part_size_bytes": partSize],
        ]
        if let encryptionKey { spec["pipeline"] = ["encryption": ["type": "age_x25519", "key_name": encryptionKey]] }
        let result = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "files", "spec": spec])
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
            let hash = try Shell.run("b3sum --no-names '\(runDir)/\(part)'").trimmed
            #expect(artifacts.first { $0["name"] as? String == part }?["hash"] as? String == hash, "\(part)")
        }
        #expect((manifest["pipeline"] as? [String: Any])?["format"] as? String == "archive_v1")

        // GNU tar + zstd reproduce the tree.
        let out = fixture.scratch.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let extract = try Shell.run("cat '\(runDir)'/payload.part* | zstd -d | tar -x -C '\(out)'")
        #expect(extract.status == 0, "\(extract.output)")
        let restored = out + source
        let diff = try Shell.run("diff -r --no-dereference '\(source)' '\(restored)'")
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
        let index = try Shell.run("zstd -dc '\(runDir)/entries.jsonl.zst'").output.split(separator: "\n")
        #expect(index.count == (manifest["entry_index"] as? [String: Any])?["count"] as? Int)
        let lines = index.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let big = try #require(lines.first { ($0["path"] as? String)?.hasSuffix("a/big.bin") == true })
        let bigHash = try Shell.run("b3sum --no-names '\(source)/a/big.bin'").trimmed
        #expect(big["hash"] as? String == bigHash && big["size"] as? Int == 2_621_440 && big["kind"] as? String == "file")
        #expect(lines.contains { $0["kind"] as? String == "symlink" && $0["symlink_target"] as? String == "hello.txt" })

        let summary = try #require(try await fixture.run(run)["summary"] as? [String: Any])
        #expect(summary["artifact_format"] as? String == "archive_v1" && summary["parts"] as? Int == parts.count)
        let kinds = try await fixture.events(run).compactMap { $0["kind"] as? String }
        #expect(kinds.contains("packaging") && kinds.contains("upload") && kinds.last == "complete", "\(kinds)")
    }

    func waitFor(_ fixture: RunsFixture, _ run: String, _ status: String, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        _ = await eventually(timeout: timeout) { await fixture.status(run) == status }
        return try await fixture.run(run)
    }

    @Test func restoreAndVerifyThroughTheAPIAndTheyRefuseDamage() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        try Self.makeTree(source)
        try await fixture.startWorker("w0")
        let job = try await createFilesystemJob(fixture, paths: [source])
        let backup = try await fixture.enqueue(job).id
        #expect(try await waitFor(fixture, backup, "success")["status"] as? String == "success")

        // Restore everything into a fresh directory: identical tree.
        let out = fixture.scratch.path + "/restored"
        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(backup)/restore",
            json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String, "\(String(decoding: restore.body, as: UTF8.self))")
        #expect(restore.json?["kind"] as? String == "restore")
        let restored = try await waitFor(fixture, restoreRun, "success")
        #expect(restored["kind"] as? String == "restore" && restored["status"] as? String == "success", "\(restored)")
        let diff = try Shell.run("diff -r --no-dereference '\(source)' '\(out)\(source)'")
        #expect(diff.status == 0, "\(diff.output)")
        let kinds = try await fixture.events(restoreRun).compactMap { $0["kind"] as? String }
        #expect(kinds.contains("manifest") && kinds.contains("restore") && kinds.last == "complete", "\(kinds)")

        // Verify passes on the intact snapshot.
        let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify").json?["run_id"] as? String)
        let verified = try await waitFor(fixture, verify, "success")
        let summary = try #require(verified["summary"] as? [String: Any])
        #expect(summary["ok"] as? Bool == true && (summary["files_total"] as? Int ?? 0) >= 7 && summary["files_failed"] as? Int == 0, "\(summary)")

        // A flipped byte: verify fails, restore refuses and writes nothing.
        let runDir = "\(fixture.targetDir)/\(job)/\(backup)"
        let part = runDir + "/payload.part000002"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: part))
        bytes[4242] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: part))
        let badVerify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify").json?["run_id"] as? String)
        #expect(try await waitFor(fixture, badVerify, "failed")["error"] as? String == "verify_failed")
        let refusedOut = fixture.scratch.path + "/refused"
        let badRestore = try #require(
            try await HTTP.send(
                "POST",
                fixture.base + "/api/runs/\(backup)/restore",
                json: ["destination": ["type": "local_fs", "directory": refusedOut]]
            ).json?["run_id"] as? String
        )
        #expect(try await waitFor(fixture, badRestore, "failed")["error"] as? String == "snapshot_corrupt")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: refusedOut)) ?? []).isEmpty, "nothing restored from a damaged snapshot")
        bytes[4242] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: part))

        // A missing part: verify fails too.
        try FileManager.default.moveItem(atPath: part, toPath: part + ".moved")
        let missing = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify").json?["run_id"] as? String)
        #expect(try await waitFor(fixture, missing, "failed")["error"] as? String == "verify_failed")
        try FileManager.default.moveItem(atPath: part + ".moved", toPath: part)

        // Bad requests change nothing.
        let before = try await HTTP.get(fixture.base + "/api/runs?page=1&page_size=100").json?["total"] as? Int
        for (body, status, code) in [
            (["destination": ["type": "local_fs", "directory": "relative/dir"]], 400, "invalid_destination"),
            (["destination": ["type": "sftp", "directory": "/x"]], 400, "invalid_destination"),
            (["destination": ["type": "local_fs", "directory": "/x"], "conflict_policy": "merge"], 400, "invalid_conflict_policy"),
            (["destination": ["type": "local_fs", "directory": "/x"], "selection": ["files": ["../etc"]]], 400, "invalid_selection"),
            (["destination": ["type": "local_fs", "directory": "/x"], "selection": ["files": [1]]], 400, "invalid_selection"),
            (["destination": ["type": "local_fs", "directory": "/x"], "selection": ["files_b64": ["not base64!"]]], 400, "invalid_selection"),
            (["destination": ["type": "local_fs", "directory": "/x"], "selection": ["dirs_b64": ["Li4="]]], 400, "invalid_selection"),  // ".."
            (["destination": ["type": "local_fs", "directory": "/x"], "restore_ownership": "sometimes"], 400, "invalid_restore_ownership"),
            (["destination": ["type": "local_fs", "directory": "/x"], "restore_ownership": 1], 400, "invalid_restore_ownership"),
        ] as [([String: Any], Int, String)] {
            let result = try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/restore", json: body)
            #expect(result.status == status && result.json?["error"] as? String == code, "\(body): \(result.status)")
        }
        let unknown = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/nope/restore",
            json: ["destination": ["type": "local_fs", "directory": "/x"]]
        )
        #expect(unknown.status == 404 && unknown.json?["error"] as? String == "run_not_found")
        let notBackup = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(verify)/restore",
            json: ["destination": ["type": "local_fs", "directory": "/x"]]
        )
        #expect(notBackup.status == 409 && notBackup.json?["error"] as? String == "snapshot_not_restorable")
        try FileManager.default.removeItem(atPath: runDir + "/complete.json")
        let unfinished = try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify")
        #expect(unfinished.status == 409 && unfinished.json?["error"] as? String == "snapshot_not_restorable")
        #expect(try await HTTP.get(fixture.base + "/api/runs?page=1&page_size=100").json?["total"] as? Int == before)
    }

    @Test func cancelStopsAPackagingBackupAndAKilledWorkerLeavesNothingRestorable() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/big"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        for index in 0..<4 { try Shell.run("head -c 150000000 /dev/urandom > '\(source)/blob\(index).bin'") }
        let worker = try await fixture.startWorker("w0")
        let job = try await createFilesystemJob(fixture, paths: [source])

        // Cancel while packaging: canceled within about a second, no complete.json.
        let first = try await fixture.enqueue(job).id
        let packaging = await eventually(timeout: .seconds(30)) {
            let progress = try? await fixture.run(first)["progress"] as? [String: Any]
            return progress?["stage"] as? String == "packaging" && ((progress?["done"] as? [String: Any])?["bytes"] as? Int ?? 0) > 0
        }
        #expect(packaging)
        let asked = ContinuousClock.now
        _ = try await HTTP.send("POST", fixture.base + "/api/runs/\(first)/cancel")
        #expect(await eventually(timeout: .seconds(10)) { await fixture.status(first) == "canceled" })
        print("cancel honoured after \(ContinuousClock.now - asked)")
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(first)/complete.json"))

        // SIGKILL mid-backup: the run ends worker_lost (after the lease) and is not restorable.
        let second = try await fixture.enqueue(job).id
        #expect(
            await eventually(timeout: .seconds(30)) {
                (try? await fixture.run(second)["progress"] as? [String: Any])?["stage"] as? String == "packaging"
            }
        )
        worker.kill9()
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(second)/complete.json"))
        let refused = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(second)/restore",
            json: ["destination": ["type": "local_fs", "directory": "/tmp/x"]]
        )
        #expect(refused.status == 409 && refused.json?["error"] as? String == "snapshot_not_restorable")
    }

    /// A worker restarted mid-backup returns the run to the queue; the next attempt keeps the parts the first one
    /// finished (same bytes, same files) instead of writing them again, and the snapshot verifies.
    @Test func aRunStoppedByAWorkerRestartResumesKeepingItsFinishedParts() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/big"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        for index in 0..<3 { try Shell.run("head -c 100000000 /dev/urandom > '\(source)/blob\(index).bin'") }
        let first = try await fixture.startWorker("w0")
        let job = try await createFilesystemJob(fixture, paths: [source], partSize: 16 << 20)
        let run = try await fixture.enqueue(job).id
        let runDir = "\(fixture.targetDir)/\(job)/\(run)"
        #expect(await eventually(timeout: .seconds(60)) { FileManager.default.fileExists(atPath: runDir + "/payload.part000002") })
        first.signal(SIGTERM)
        #expect(await first.waitForExit(timeout: .seconds(15)) == 0)
        #expect(await fixture.status(run) == "queued")
        func inodes() -> [String: ino_t] {
            var result: [String: ino_t] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? [] where !name.hasSuffix(".partial") {
                var info = stat()
                if name.hasPrefix("payload.part"), stat(runDir + "/" + name, &info) == 0 { result[name] = info.st_ino }
            }
            return result
        }
        let finished = inodes()
        #expect(finished.count >= 2 && !FileManager.default.fileExists(atPath: runDir + "/complete.json"))

        try await fixture.startWorker("w1")
        #expect(try await waitFor(fixture, run, "success")["status"] as? String == "success")
        let events = try await fixture.events(run)
        #expect(events.contains { $0["kind"] as? String == "requeued" })
        let upload = try #require(events.first { $0["kind"] as? String == "upload" }?["fields"] as? [String: Any])
        #expect(upload["parts_kept"] as? Int ?? 0 >= finished.count, "\(upload) after \(finished.keys.sorted())")
        let after = inodes()
        for (name, inode) in finished { #expect(after[name] == inode, "\(name) was rewritten") }
        let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(run)/verify").json?["run_id"] as? String)
        #expect(try await waitFor(fixture, verify, "success")["status"] as? String == "success")
    }

    /// Verify of a sqlite backup also runs PRAGMA integrity_check on the database the snapshot holds: a healthy copy
    /// passes; a database that was already damaged when it was backed up (no check at backup time) fails verify even
    /// though every part and file hash matches.
    @Test func verifyOfASqliteBackupChecksTheDatabaseIntegrity() async throws {
        let fixture = try await RunsFixture()
        let database = fixture.scratch.path + "/app.db"
        let create = try Shell.run(
            "sqlite3 '\(database)' \"CREATE TABLE t(x); CREATE INDEX i ON t(x); "
                + "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 3000) INSERT INTO t SELECT randomblob(200) FROM n;\""
        )
        #expect(create.status == 0, "\(create.output)")
        try await fixture.startWorker("w0", ["--sqlite-step-pause-ms", "0"])
        let created = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: [
                "name": "db",
                "spec": [
                    "v": 1, "type": "sqlite", "source": ["path": database, "integrity_check": false],
                    "target": ["type": "local_dir", "base_dir": fixture.targetDir],
                ],
            ]
        )
        let job = try #require(created.json?["id"] as? String)
        func verify(_ backup: String) async throws -> [String: Any] {
            #expect(try await waitFor(fixture, backup, "success")["status"] as? String == "success")
            let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify").json?["run_id"] as? String)
            _ = await eventually(timeout: .seconds(60)) { ["success", "failed"].contains(await fixture.status(verify)) }
            return try await fixture.run(verify)
        }

        let healthy = try await verify(try await fixture.enqueue(job).id)
        let summary = try #require(healthy["summary"] as? [String: Any])
        #expect(healthy["status"] as? String == "success" && summary["sqlite_ok"] as? Bool == true, "\(healthy)")
        #expect((summary["sqlite"] as? [String: Any])?["integrity_check"] as? [String] == ["ok"])
        #expect((summary["sqlite"] as? [String: Any])?["name"] as? String == "app.db")

        // Damage a b-tree page of the source, back it up again (the job does not check), and verify.
        let pageSize = Int(try Shell.run("sqlite3 '\(database)' 'PRAGMA page_size'").trimmed) ?? 4096
        _ = try Shell.run(
            "printf '\\377\\377\\377\\377\\377\\377\\377\\377' | dd of='\(database)' bs=1 seek=\(pageSize * 3) conv=notrunc status=none"
        )
        let damaged = try await verify(try await fixture.enqueue(job).id)
        let damagedSummary = try #require(damaged["summary"] as? [String: Any])
        #expect(damaged["status"] as? String == "failed" && damaged["error"] as? String == "verify_failed", "\(damaged)")
        #expect(damagedSummary["sqlite_ok"] as? Bool == false && damagedSummary["files_failed"] as? Int == 0, "\(damagedSummary)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.dataDir + "/runs").isEmpty, "the work copy is removed")
    }

    @Test func anEncryptedSnapshotDecryptsWithAgeAndTheExportedKey() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        try Self.makeTree(source)
        try await fixture.startWorker("w0")
        let job = try await createFilesystemJob(fixture, paths: [source], encryptionKey: "offsite")
        let run = try await fixture.enqueue(job).id
        #expect(try await waitFor(fixture, run, "success")["status"] as? String == "success")
        let runDir = "\(fixture.targetDir)/\(job)/\(run)"
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: runDir + "/manifest.json"))) as? [String: Any]
        )
        let pipeline = try #require(manifest["pipeline"] as? [String: Any])
        #expect(pipeline["encryption"] as? String == "age" && pipeline["encryption_key"] as? String == "offsite")
        #expect(try Shell.run("head -c 21 '\(runDir)/payload.part000001'").output == "age-encryption.org/v1")
        #expect(try Shell.run("cat '\(runDir)'/payload.part* | zstd -d > /dev/null").status != 0, "not readable without the key")

        // The key, exported through the API, decrypts with the age command.
        let keys = try await HTTP.get(fixture.base + "/api/keys")
        let listed = try #require(try JSONSerialization.jsonObject(with: keys.body) as? [[String: Any]])
        #expect(listed.count == 1 && listed[0]["name"] as? String == "offsite" && listed[0]["identity"] == nil)
        let exported = try await HTTP.get(fixture.base + "/api/keys/offsite")
        let identity = try #require(exported.json?["identity"] as? String)
        #expect(identity.hasPrefix("AGE-SECRET-KEY-1") && (exported.json?["recipient"] as? String)?.hasPrefix("age1") == true)
        let keyFile = fixture.scratch.path + "/offsite.key"
        try identity.write(toFile: keyFile, atomically: true, encoding: .utf8)
        let out = fixture.scratch.path + "/decrypted"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let extract = try Shell.run("cat '\(runDir)'/payload.part* | age -d -i '\(keyFile)' | zstd -d | tar -x -C '\(out)'")
        #expect(extract.status == 0, "\(extract.output)")
        #expect(try Shell.run("diff -r --no-dereference '\(source)' '\(out)\(source)'").status == 0)

        // Nothing on the target names a file in the clear: the index is encrypted to the same key (docs/formats.md).
        #expect((manifest["entry_index"] as? [String: Any])?["encryption"] as? String == "age")
        let clear = try Shell.run("grep -rla -e hello.txt -e big.bin -e '\(source.dropFirst())' '\(runDir)' || true")
        #expect(clear.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "names in the clear: \(clear.output)")
        #expect(try Shell.run("zstd -dc '\(runDir)/entries.jsonl.zst' > /dev/null").status != 0, "the index is not readable without the key")
        let index = try Shell.run("age -d -i '\(keyFile)' '\(runDir)/entries.jsonl.zst' | zstd -d")
        #expect(index.status == 0 && index.output.contains("hello.txt"), "\(index.output.prefix(300))")
        // Browsing decrypts it (the catalog rebuilt by the API from the target).
        try FileManager.default.removeItem(atPath: "\(fixture.dataDir)/catalog/\(run).sqlite")
        let entries = try await HTTP.send("GET", fixture.base + "/api/runs/\(run)/entries?prefix=\(source.dropFirst())/a")
        let names = (entries.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(entries.status == 200 && names.contains("hello.txt"), "\(entries.status) \(names)")
        let stored = try await fixture.readDatabase { db in
            try Data.fetchOne(db, sql: "SELECT ciphertext FROM secrets WHERE kind = 'backup_age_identity'")
        }
        #expect(stored.map { $0.range(of: Data(identity.utf8)) == nil } == true, "the identity is stored encrypted")
        #expect(try await HTTP.get(fixture.base + "/api/keys/nope").json?["error"] as? String == "key_not_found")

        // Restore and verify through Bastion use the stored key.
        let restoreOut = fixture.scratch.path + "/restored"
        let restore = try #require(
            try await HTTP.send(
                "POST",
                fixture.base + "/api/runs/\(run)/restore",
                json: ["destination": ["type": "local_fs", "directory": restoreOut]]
            ).json?["run_id"] as? String
        )
        #expect(try await waitFor(fixture, restore, "success")["status"] as? String == "success")
        #expect(try Shell.run("diff -r --no-dereference '\(source)' '\(restoreOut)\(source)'").status == 0)
        let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(run)/verify").json?["run_id"] as? String)
        #expect((try await waitFor(fixture, verify, "success")["summary"] as? [String: Any])?["ok"] as? Bool == true)
    }

    @Test func retentionKeepsPinnedAndNewestAndTheJanitorDeletesTheRest() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/small"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try "data".write(toFile: source + "/file.txt", atomically: true, encoding: .utf8)
        try await fixture.startWorker("w0")
        let created = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: [
                "name": "kept", "schedule_timezone": "Pacific/Kiritimati",
                "spec": [
                    "v": 1, "type": "filesystem", "source": ["paths": [source]],
                    "target": ["type": "local_dir", "base_dir": fixture.targetDir], "retention": ["enabled": true, "keep_last": 2],
                ],
            ]
        )
        let job = try #require(created.json?["id"] as? String)
        var runs: [String] = []
        for _ in 0..<4 {
            let run = try await fixture.enqueue(job).id
            #expect(try await waitFor(fixture, run, "success")["status"] as? String == "success")
            runs.append(run)
        }
        let snapshots =
            try JSONSerialization.jsonObject(with: try await HTTP.get(fixture.base + "/api/jobs/\(job)/snapshots").body) as? [[String: Any]]
        #expect(snapshots?.count == 4 && snapshots?.allSatisfy { $0["status"] as? String == "present" } == true)
        #expect(try await HTTP.send("POST", fixture.base + "/api/runs/\(runs[0])/pin").json?["pinned_at"] as? Int != nil)

        let preview = try await HTTP.send("POST", fixture.base + "/api/jobs/\(job)/retention/preview")
        let deletes = (preview.json?["delete"] as? [[String: Any]])?.compactMap { $0["run_id"] as? String }
        #expect(deletes == [runs[1]], "keep the newest 2 and the pinned one: \(String(decoding: preview.body, as: UTF8.self))")
        let tried = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs/\(job)/retention/preview",
            json: ["retention": ["enabled": true, "keep_last": 1]]
        )
        #expect((tried.json?["delete"] as? [[String: Any]])?.count == 2, "a policy in the body is previewed, not saved")
        // restic's rules, with the period each rule kept a snapshot for, read in the job's zone (UTC+14: a day ahead
        // of UTC for ten hours of each day).
        let rules = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs/\(job)/retention/preview",
            json: ["retention": ["enabled": true, "keep_daily": 1, "keep_yearly": -1, "keep_within": "0h"]]
        )
        let newest = try #require((rules.json?["keep"] as? [[String: Any]])?.first, "\(String(decoding: rules.body, as: UTF8.self))")
        let day = DateFormatter()
        day.timeZone = TimeZone(identifier: "Pacific/Kiritimati")
        day.dateFormat = "yyyy-MM-dd"
        let endedAt = Date(timeIntervalSince1970: TimeInterval(newest["ended_at"] as? Int ?? 0))
        #expect(newest["run_id"] as? String == runs[3] && newest["reasons"] as? [String] == ["keep_daily", "keep_yearly"])
        #expect(
            newest["buckets"] as? [String: String] == [
                "keep_daily": day.string(from: endedAt), "keep_yearly": String(day.string(from: endedAt).prefix(4)),
            ]
        )
        let bad = try await HTTP.send("POST", fixture.base + "/api/jobs/\(job)/retention/preview", json: ["retention": ["enabled": true]])
        #expect(bad.status == 400 && bad.json?["error"] as? String == "invalid_spec")
        let negative = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs/\(job)/retention/preview",
            json: ["retention": ["enabled": true, "keep_daily": -2]]
        )
        #expect(negative.status == 400 && negative.json?["error"] as? String == "invalid_spec")

        let applied = try await HTTP.send("POST", fixture.base + "/api/jobs/\(job)/retention/apply")
        #expect(applied.json?["queued"] as? [String] == [runs[1]])
        let janitor = try Child.bastion("bastion-janitor", dataDir: fixture.dataDir, logDir: fixture.scratch.path, ["--maintenance-interval", "1"])
        fixture.children.append(janitor)
        let doomedDir = "\(fixture.targetDir)/\(job)/\(runs[1])"
        #expect(await eventually(timeout: .seconds(15)) { !FileManager.default.fileExists(atPath: doomedDir) })
        let after = try JSONSerialization.jsonObject(with: try await HTTP.get(fixture.base + "/api/jobs/\(job)/snapshots").body) as? [[String: Any]]
        let statuses = Dictionary(
            uniqueKeysWithValues: (after ?? []).compactMap { row in (row["run_id"] as? String).map { ($0, row["status"] as? String ?? "") } }
        )
        #expect(statuses == [runs[0]: "present", runs[1]: "deleted", runs[2]: "present", runs[3]: "present"], "\(statuses)")
        #expect(FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(runs[0])/complete.json"), "the pinned snapshot stays")
        let kinds = try await fixture.events(runs[1]).compactMap { $0["kind"] as? String }
        #expect(kinds.contains("retention_queued") && kinds.contains("snapshot_deleted"), "\(kinds)")
        let refused = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(runs[1])/restore",
            json: ["destination": ["type": "local_fs", "directory": "/tmp/x"]]
        )
        #expect(refused.status == 409)
        #expect(try await HTTP.send("POST", fixture.base + "/api/runs/nope/pin").json?["error"] as? String == "snapshot_not_found")
    }
}
