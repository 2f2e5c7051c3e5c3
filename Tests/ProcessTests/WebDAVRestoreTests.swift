import Foundation
import TestClients
import Testing

/// A restore whose destination is a WebDAV collection (docs/targets.md, "Restore to WebDAV") on `rclone serve webdav`:
/// everything downloaded back is the source's files and directories, byte for byte; the `.bastion-meta` note lists
/// the symlinks WebDAV cannot hold; conflict policies through HEAD; a secret bound to another server, a missing
/// secret and a bad URL are refused before anything is queued.
@Suite(.serialized) struct WebDAVRestoreTests {
    @Test func aSnapshotRestoresIntoAWebDAVCollection() async throws {
        let helpers = TargetsTests()
        let fixture = try await RunsFixture()
        let source = try await helpers.makeSource(fixture)
        let (dav, davRoot) = try await startDestination(fixture, helpers)
        defer { dav.stop() }
        let origin = "http://127.0.0.1:\(dav.port)"
        try await helpers.saveSecret(
            fixture,
            "webdav",
            "elsewhere",
            ["username": TargetsTests.user, "password": TargetsTests.password, "url": "https://nas.example/"]
        )
        let backup = try await backUp(fixture, helpers, source: source, partSize: 1_048_576)

        func restore(_ destination: [String: Any], policy: String) async throws -> HTTPResult {
            try await HTTP.send(
                "POST",
                fixture.base + "/api/runs/\(backup)/restore",
                json: ["destination": destination, "conflict_policy": policy]
            )
        }
        let base = origin + "/restored/deep/"
        let queued = try await restore(["type": "webdav", "base_url": base, "secret_name": "dest"], policy: "fail")
        let run = try #require(queued.json?["run_id"] as? String, "\(String(decoding: queued.body, as: UTF8.self))")
        let finished = try await helpers.waitFor(fixture, run, ["success", "failed"])
        let log = try await fixture.events(run).compactMap { $0["message"] as? String }
        #expect(finished["status"] as? String == "success", "\(finished) \(log)")
        let summary = finished["summary"] as? [String: Any] ?? [:]
        #expect(summary["destination_type"] as? String == "webdav" && summary["not_kept"] as? Int == 2, "\(summary)")

        // Everything downloaded back over WebDAV (rclone's webdav backend): the same files and directories.
        let pass = try await helpers.sh(fixture, "rclone obscure '\(TargetsTests.password)'").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let back = fixture.scratch.path + "/back"
        let copy = try await helpers.sh(
            fixture,
            "RCLONE_CONFIG=/dev/null rclone copy --create-empty-src-dirs ':webdav:restored/deep' '\(back)' --webdav-url '\(origin)' --webdav-user '\(TargetsTests.user)' --webdav-pass '\(pass)' 2>&1"
        )
        #expect(copy.status == 0, "\(copy.output)")
        func listing(_ root: String) async throws -> String {
            try await helpers.sh(
                fixture,
                "cd '\(root)' && find . -type d | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum"
            ).output
        }
        let expected = try await listing(source)
        let got = try await listing(back + source)
        #expect(!expected.isEmpty && expected == got, "expected:\n\(expected)\ngot:\n\(got)")
        // The note: what was restored from where, and the symlinks WebDAV cannot hold.
        let note = try #require(FileManager.default.contents(atPath: davRoot + "/restored/deep/.bastion-meta/restore-\(run).json"))
        let noteJSON = try #require(try JSONSerialization.jsonObject(with: note) as? [String: Any])
        let kept = (noteJSON["not_kept_entries"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }.sorted()
        #expect(noteJSON["source_run_id"] as? String == backup && kept == ["\(source)/a/link-to-hello", "\(source)/dangling"], "\(noteJSON)")
        #expect(noteJSON["restored_files"] as? Int == summary["restored_files"] as? Int)

        // Conflicts through HEAD: fail uploads nothing, skip keeps what is there, overwrite replaces.
        let hello = davRoot + "/restored/deep" + source + "/a/hello.txt"
        try "changed on the server\n".write(toFile: hello, atomically: true, encoding: .utf8)
        for (policy, status, content) in [
            ("fail", "failed", "changed on the server\n"), ("skip", "success", "changed on the server\n"), ("overwrite", "success", "hello\n"),
        ] {
            let again = try await restore(["type": "webdav", "base_url": base, "secret_name": "dest"], policy: policy)
            let id = try #require(again.json?["run_id"] as? String)
            let ended = try await helpers.waitFor(fixture, id, ["success", "failed"])
            #expect(ended["status"] as? String == status, "\(policy): \(ended)")
            #expect(try String(contentsOfFile: hello, encoding: .utf8) == content, "\(policy)")
            if policy == "fail" { #expect(ended["error"] as? String == "restore_conflict", "\(ended)") }
            // Every file is there already: all skipped.
            if policy == "skip" { #expect((ended["summary"] as? [String: Any])?["skipped"] as? Int == summary["restored_files"] as? Int, "\(ended)") }
        }

        // Refused before anything is queued.
        let refusals: [([String: Any], String)] = [
            (["type": "webdav", "base_url": base, "secret_name": "elsewhere"], "webdav_origin_mismatch"),
            (["type": "webdav", "base_url": base, "secret_name": "missing"], "target_secret_missing"),
            (["type": "webdav", "base_url": "ftp://127.0.0.1/x", "secret_name": "dest"], "invalid_destination"),
            (["type": "webdav", "base_url": "http://u:p@127.0.0.1:\(dav.port)/x", "secret_name": "dest"], "invalid_destination"),
            (["type": "webdav", "base_url": base, "secret_name": "dest", "directory": "/tmp"], "unknown_field"),
        ]
        for (destination, code) in refusals {
            let refused = try await restore(destination, policy: "fail")
            #expect(
                refused.status == 400 && refused.json?["error"] as? String == code,
                "\(destination): \(String(decoding: refused.body, as: UTF8.self))"
            )
        }
    }

    /// Files are uploaded as the restore writes them, not after: the restore waits while `stagedLimit` (8) entries are
    /// not uploaded yet, so when it has written a snapshot of many files most are on the server already (the run's
    /// event says how many). A hard link is uploaded as the file it points to.
    @Test func filesAreUploadedAsTheyAreRestored() async throws {
        let helpers = TargetsTests()
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/many"
        for directory in 0..<4 {
            try FileManager.default.createDirectory(atPath: source + "/d\(directory)", withIntermediateDirectories: true)
            for file in 0..<15 {
                try "file \(directory)/\(file)\n".write(toFile: source + "/d\(directory)/f\(file).txt", atomically: false, encoding: .utf8)
            }
        }
        try FileManager.default.createDirectory(atPath: source + "/empty", withIntermediateDirectories: true)
        _ = try await helpers.sh(fixture, "ln '\(source)/d0/f0.txt' '\(source)/d3/hardlink.txt'")
        let (dav, _) = try await startDestination(fixture, helpers)
        defer { dav.stop() }
        let origin = "http://127.0.0.1:\(dav.port)"
        let backup = try await backUp(fixture, helpers, source: source)

        let queued = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(backup)/restore",
            json: ["destination": ["type": "webdav", "base_url": origin + "/streamed/", "secret_name": "dest"], "conflict_policy": "fail"]
        )
        let run = try #require(queued.json?["run_id"] as? String, "\(String(decoding: queued.body, as: UTF8.self))")
        let finished = try await helpers.waitFor(fixture, run, ["success", "failed"])
        let events = try await fixture.events(run)
        #expect(finished["status"] as? String == "success", "\(finished) \(events)")
        let summary = finished["summary"] as? [String: Any] ?? [:]
        #expect(summary["restored_files"] as? Int == 61, "\(summary)")

        // When the restore had written everything, all but at most 8 entries were uploaded already.
        let counts = try #require(
            events.compactMap { $0["fields"] as? [String: Any] }.first { $0["entries_restored"] != nil },
            "no event with the counts: \(events)"
        )
        let restored = counts["entries_restored"] as? Int ?? 0
        let uploaded = counts["entries_uploaded"] as? Int ?? 0
        #expect(restored > 60 && uploaded >= restored - 8 && uploaded > 0, "\(counts)")

        // What the server holds is the source.
        let pass = try await helpers.sh(fixture, "rclone obscure '\(TargetsTests.password)'").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let back = fixture.scratch.path + "/back"
        let copy = try await helpers.sh(
            fixture,
            "RCLONE_CONFIG=/dev/null rclone copy --create-empty-src-dirs ':webdav:streamed' '\(back)' --webdav-url '\(origin)' --webdav-user '\(TargetsTests.user)' --webdav-pass '\(pass)' 2>&1"
        )
        #expect(copy.status == 0, "\(copy.output)")
        func listing(_ root: String) async throws -> String {
            try await helpers.sh(fixture, "cd '\(root)' && find . -type d | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum").output
        }
        let expected = try await listing(source)
        let got = try await listing(back + source)
        #expect(!expected.isEmpty && expected == got, "expected:\n\(expected)\ngot:\n\(got)")
    }

    /// A name that is not UTF-8 (a file, and a directory with a file in it) cannot be named in a WebDAV URL as it was;
    /// it is not dropped in silence: the summary and the note list it as not kept.
    @Test func aNameThatIsNotUTF8IsListedAsNotKept() async throws {
        let helpers = TargetsTests()
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        _ = try await helpers.sh(
            fixture,
            "set -e; mkdir -p '\(source)'; echo ok > '\(source)/plain.txt'; cd '\(source)'; echo x > \"$(printf 'bad\\377')\"; mkdir \"$(printf 'dir\\376')\"; echo y > \"$(printf 'dir\\376')/child\""
        )
        let (dav, _) = try await startDestination(fixture, helpers)
        defer { dav.stop() }
        let origin = "http://127.0.0.1:\(dav.port)"
        let backup = try await backUp(fixture, helpers, source: source)
        let queued = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(backup)/restore",
            json: ["destination": ["type": "webdav", "base_url": origin + "/r/", "secret_name": "dest"], "conflict_policy": "fail"]
        )
        let run = try #require(queued.json?["run_id"] as? String, "\(String(decoding: queued.body, as: UTF8.self))")
        let finished = try await helpers.waitFor(fixture, run, ["success", "failed"])
        #expect(finished["status"] as? String == "success", "\(finished)")
        let summary = finished["summary"] as? [String: Any] ?? [:]
        let entries = summary["not_kept_entries"] as? [[String: Any]] ?? []
        #expect(summary["restored_files"] as? Int == 1 && summary["not_kept"] as? Int == 3, "\(summary)")
        #expect(entries.allSatisfy { $0["kind"] as? String == "name_not_utf8" }, "\(entries)")
    }

    /// A worker, `rclone serve webdav` on a root of its own, and the secret `dest` bound to it: the restore destination
    /// every test here writes to. The server and its root.
    func startDestination(_ fixture: RunsFixture, _ helpers: TargetsTests) async throws -> (ServerProcess, String) {
        try await fixture.startWorker("w0")
        let davRoot = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(
            root: davRoot,
            user: TargetsTests.user,
            password: TargetsTests.password,
            logDir: fixture.scratch.path
        )
        try await helpers.saveSecret(
            fixture,
            "webdav",
            "dest",
            ["username": TargetsTests.user, "password": TargetsTests.password, "url": "http://127.0.0.1:\(dav.port)/"]
        )
        return (dav, davRoot)
    }

    /// A successful backup of `source` to a local directory (whole parts as the job's default): its run id.
    func backUp(_ fixture: RunsFixture, _ helpers: TargetsTests, source: String, partSize: Int? = nil) async throws -> String {
        var target: [String: Any] = ["type": "local_dir", "base_dir": fixture.targetDir]
        if let partSize { target["part_size_bytes"] = partSize }
        let job = try await helpers.createJob(fixture, source: source, target: target)
        let backup = try await fixture.enqueue(job).id
        let backedUp = try await helpers.waitFor(fixture, backup, ["success", "failed"])
        #expect(backedUp["status"] as? String == "success", "\(backedUp)")
        return backup
    }
}
