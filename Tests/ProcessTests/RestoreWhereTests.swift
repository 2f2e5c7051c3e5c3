import Foundation
import GRDB
import TestClients
import Testing

/// Restore where people want it (docs/formats.md, "Run operations"), through the real API and worker: back to the
/// original location under each conflict policy, into a directory without the selection's leading path (exactly the
/// expected tree), the preview's counts, and hostile bodies refused with a 400 that queues nothing and writes nothing.
@Suite(.serialized) struct RestoreWhereTests {
    let links = AgentLinkTests()
    let copies = CopiesTests()
    let targets = TargetsTests()

    /// A finished backup of `source` (a filesystem job; `root` for the legacy root mode).
    static func backup(_ fixture: RunsFixture, _ name: String, source: String, root: String? = nil) async throws -> (job: String, run: String) {
        var config: [String: Any] = ["paths": [source], "hardlink_policy": "keep"]
        if let root { config["root"] = root }
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": config, "target": ["type": "local_dir", "base_dir": fixture.targetDir],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": name, "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(created.text)")
        let run = try await fixture.enqueue(job).id
        #expect(await eventually(timeout: .seconds(90)) { await fixture.status(run) == "success" }, "\(name) backup")
        return (job, run)
    }

    static func restore(_ fixture: RunsFixture, _ snapshot: String, _ body: [String: Any]) async throws -> [String: Any] {
        let queued = try await HTTP.send("POST", fixture.base + "/api/runs/\(snapshot)/restore", json: body)
        let id = try #require(queued.json?["run_id"] as? String, "\(queued.status) \(queued.text)")
        _ = await eventually(timeout: .seconds(90)) { ["success", "failed", "canceled"].contains(await fixture.status(id) ?? "") }
        return try await fixture.run(id)
    }

    static func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// Every path under `directory`, relative, sorted (directories with a trailing `/`).
    static func tree(_ directory: String) throws -> [String] {
        let listed = try Shell.run("cd '\(directory)' && find . -mindepth 1 \\( -type d -printf '%P/\\n' \\) -o -printf '%P\\n' | LC_ALL=C sort")
        return listed.output.split(separator: "\n").map(String.init)
    }

    @Test(.timeLimit(.minutes(5))) func theOriginalLocationOverwritesSkipsOrFailsPerPolicy() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let source = fixture.scratch.path + "/home/ann"
        try FileManager.default.createDirectory(atPath: source + "/docs", withIntermediateDirectories: true)
        try "changed v1\n".write(toFile: source + "/docs/changed.txt", atomically: true, encoding: .utf8)
        try "kept\n".write(toFile: source + "/docs/kept.txt", atomically: true, encoding: .utf8)
        try "missing\n".write(toFile: source + "/docs/missing.txt", atomically: true, encoding: .utf8)
        let (_, snapshot) = try await Self.backup(fixture, "home", source: source)

        // The preview says where "original" is and what the selection holds, from the catalog.
        let selected = String(source.dropFirst()) + "/docs"
        let preview = try await HTTP.send("POST", fixture.base + "/api/runs/\(snapshot)/restore/preview", json: ["selection": ["dirs": [selected]]])
        #expect(preview.status == 200, "\(preview.text)")
        #expect(preview.json?["original_directory"] as? String == "/", "\(preview.text)")
        #expect(preview.json?["counted"] as? Bool == true, "\(preview.text)")
        #expect(preview.json?["files"] as? Int == 3 && preview.json?["dirs"] as? Int == 1, "\(preview.text)")
        #expect(preview.json?["bytes"] as? Int == "changed v1\n".utf8.count + "kept\n".utf8.count + "missing\n".utf8.count, "\(preview.text)")
        let whole = try await HTTP.send("POST", fixture.base + "/api/runs/\(snapshot)/restore/preview", json: [:] as [String: Any])
        #expect(whole.status == 200 && whole.json?["files"] as? Int == 3 && whole.json?["dirs"] as? Int == 2, "\(whole.text)")

        func damage() throws {
            try "local edit\n".write(toFile: source + "/docs/changed.txt", atomically: true, encoding: .utf8)
            unlink(source + "/docs/missing.txt")
        }
        let body: (String) -> [String: Any] = { ["destination": ["type": "original"], "conflict_policy": $0, "selection": ["dirs": [selected]]] }

        try damage()
        let failed = try await Self.restore(fixture, snapshot, body("fail"))
        #expect(failed["status"] as? String == "failed" && failed["error"] as? String == "restore_conflict", "\(failed)")
        #expect(Self.read(source + "/docs/changed.txt") == "local edit\n", "fail changes nothing that exists")
        let operation = failed["operation"] as? [String: Any]
        let destination = operation?["destination"] as? [String: Any]
        #expect(destination?["type"] as? String == "original" && destination?["directory"] as? String == "/", "\(operation ?? [:])")

        try damage()
        let skipped = try await Self.restore(fixture, snapshot, body("skip"))
        #expect(skipped["status"] as? String == "success", "\(skipped)")
        #expect(Self.read(source + "/docs/changed.txt") == "local edit\n", "skip keeps what exists")
        #expect(Self.read(source + "/docs/missing.txt") == "missing\n", "skip brings back what is missing")

        try damage()
        let overwritten = try await Self.restore(fixture, snapshot, body("overwrite"))
        #expect(overwritten["status"] as? String == "success", "\(overwritten)")
        #expect(Self.read(source + "/docs/changed.txt") == "changed v1\n", "overwrite puts the snapshot's version back")
        #expect(Self.read(source + "/docs/missing.txt") == "missing\n")
        #expect(Self.read(source + "/docs/kept.txt") == "kept\n")

        // Root mode: the archive's paths are relative to `root`, so the original location is `root`.
        let rooted = fixture.scratch.path + "/rooted"
        try FileManager.default.createDirectory(atPath: rooted + "/etc", withIntermediateDirectories: true)
        try "v1\n".write(toFile: rooted + "/etc/app.conf", atomically: true, encoding: .utf8)
        let (_, rootSnapshot) = try await Self.backup(fixture, "rooted", source: rooted, root: rooted)
        let rootPreview = try await HTTP.send("POST", fixture.base + "/api/runs/\(rootSnapshot)/restore/preview", json: [:] as [String: Any])
        #expect(rootPreview.json?["original_directory"] as? String == rooted, "\(rootPreview.text)")
        try "v2\n".write(toFile: rooted + "/etc/app.conf", atomically: true, encoding: .utf8)
        let rootRestore = try await Self.restore(fixture, rootSnapshot, ["destination": ["type": "original"], "conflict_policy": "overwrite"])
        #expect(rootRestore["status"] as? String == "success", "\(rootRestore)")
        #expect(Self.read(rooted + "/etc/app.conf") == "v1\n")
        #expect(!FileManager.default.fileExists(atPath: rooted + rooted), "nothing under the root's own path again")
    }

    @Test(.timeLimit(.minutes(5))) func aStripPrefixGivesExactlyTheExpectedTree() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let source = fixture.scratch.path + "/src"
        try FileManager.default.createDirectory(atPath: source + "/home/ann/docs/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: source + "/home/bob", withIntermediateDirectories: true)
        try "x\n".write(toFile: source + "/home/ann/docs/x.txt", atomically: true, encoding: .utf8)
        try "y\n".write(toFile: source + "/home/ann/docs/sub/y.txt", atomically: true, encoding: .utf8)
        try "notes\n".write(toFile: source + "/home/ann/notes.txt", atomically: true, encoding: .utf8)
        try "bob\n".write(toFile: source + "/home/bob/z.txt", atomically: true, encoding: .utf8)
        // A hardlink's target is an archive path: it moves with the prefix taken off.
        try #require(link(source + "/home/ann/docs/x.txt", source + "/home/ann/docs/x-link.txt") == 0)
        let (_, snapshot) = try await Self.backup(fixture, "strip", source: source)
        let ann = String(source.dropFirst()) + "/home/ann"
        let selection: [String: Any] = ["dirs": [ann + "/docs"], "files": [ann + "/notes.txt"]]

        let out = fixture.scratch.path + "/restore-docs"
        let done = try await Self.restore(
            fixture,
            snapshot,
            ["destination": ["type": "local_fs", "directory": out], "selection": selection, "strip_prefix": ann]
        )
        #expect(done["status"] as? String == "success", "\(done)")
        #expect(try Self.tree(out) == ["docs/", "docs/sub/", "docs/sub/y.txt", "docs/x-link.txt", "docs/x.txt", "notes.txt"])
        #expect(Self.read(out + "/docs/sub/y.txt") == "y\n" && Self.read(out + "/notes.txt") == "notes\n")
        var first = stat()
        var second = stat()
        #expect(stat(out + "/docs/x.txt", &first) == 0 && stat(out + "/docs/x-link.txt", &second) == 0 && first.st_ino == second.st_ino)

        // A shorter prefix keeps more of the path; `./` and doubled slashes read as the server normalizes them.
        let shorter = fixture.scratch.path + "/restore-home"
        let kept = try await Self.restore(
            fixture,
            snapshot,
            [
                "destination": ["type": "local_fs", "directory": shorter], "selection": selection,
                "strip_prefix": "./" + String(source.dropFirst()) + "//home",
            ]
        )
        #expect(kept["status"] as? String == "success", "\(kept)")
        #expect(
            try Self.tree(shorter) == [
                "ann/", "ann/docs/", "ann/docs/sub/", "ann/docs/sub/y.txt", "ann/docs/x-link.txt", "ann/docs/x.txt", "ann/notes.txt",
            ]
        )
    }

    @Test(.timeLimit(.minutes(3))) func hostileBodiesAreRefusedAndNothingIsWritten() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let source = fixture.scratch.path + "/src"
        try FileManager.default.createDirectory(atPath: source + "/home/ann/docs", withIntermediateDirectories: true)
        try "x\n".write(toFile: source + "/home/ann/docs/x.txt", atomically: true, encoding: .utf8)
        let (job, snapshot) = try await Self.backup(fixture, "hostile", source: source)
        let ann = String(source.dropFirst()) + "/home/ann"
        let out = fixture.scratch.path + "/never"
        let directory: [String: Any] = ["type": "local_fs", "directory": out]
        let selection: [String: Any] = ["dirs": [ann + "/docs"]]
        let cases: [(String, [String: Any], String)] = [
            ("absolute", ["destination": directory, "selection": selection, "strip_prefix": "/" + ann], "invalid_strip_prefix"),
            ("dot dot", ["destination": directory, "selection": selection, "strip_prefix": ann + "/../ann"], "invalid_strip_prefix"),
            ("NUL", ["destination": directory, "selection": selection, "strip_prefix": ann + "\u{0}"], "invalid_strip_prefix"),
            ("empty", ["destination": directory, "selection": selection, "strip_prefix": ""], "invalid_strip_prefix"),
            ("only slashes", ["destination": directory, "selection": selection, "strip_prefix": "./"], "invalid_strip_prefix"),
            ("number", ["destination": directory, "selection": selection, "strip_prefix": 3], "invalid_strip_prefix"),
            (
                "both forms", ["destination": directory, "selection": selection, "strip_prefix": ann, "strip_prefix_b64": "aG9tZQ=="],
                "invalid_strip_prefix"
            ),
            ("not base64", ["destination": directory, "selection": selection, "strip_prefix_b64": "!!!"], "invalid_strip_prefix"),
            (
                "too long", ["destination": directory, "selection": selection, "strip_prefix": String(repeating: "a/", count: 3000)],
                "invalid_strip_prefix"
            ),
            ("not leading", ["destination": directory, "selection": selection, "strip_prefix": String(ann.dropLast())], "invalid_strip_prefix"),
            ("the selection itself", ["destination": directory, "selection": selection, "strip_prefix": ann + "/docs"], "invalid_strip_prefix"),
            ("no selection", ["destination": directory, "strip_prefix": ann], "invalid_strip_prefix"),
            ("original and a prefix", ["destination": ["type": "original"], "selection": selection, "strip_prefix": ann], "invalid_strip_prefix"),
            ("original with a directory", ["destination": ["type": "original", "directory": out]], "unknown_field"),
            ("database and a prefix", ["destination": ["type": "database", "databases": ["a": "b"]], "strip_prefix": ann], "invalid_strip_prefix"),
            ("unknown type", ["destination": ["type": "elsewhere", "directory": out]], "invalid_destination"),
        ]
        for (name, body, code) in cases {
            let answer = try await HTTP.send("POST", fixture.base + "/api/runs/\(snapshot)/restore", json: body)
            #expect(answer.status == 400, "\(name): \(answer.status) \(answer.text)")
            #expect(answer.json?["error"] as? String == code, "\(name): \(answer.text)")
        }
        for (name, body) in [
            ("selection not an object", ["selection": "everything"]), ("unknown key", ["selection": selection, "where": "x"]),
            ("dot dot", ["selection": ["dirs": ["a/../b"]]]), ("location", ["location": "../primary"]),
        ] as [(String, [String: Any])] {
            let answer = try await HTTP.send("POST", fixture.base + "/api/runs/\(snapshot)/restore/preview", json: body)
            #expect(answer.status == 400, "preview \(name): \(answer.status) \(answer.text)")
        }
        // Nothing was queued, nothing written.
        let runs = try await HTTP.get(fixture.base + "/api/runs?job_id=\(job)")
        let items = (runs.json?["items"] as? [[String: Any]]) ?? runs.jsonArray ?? []
        #expect(items.filter { $0["kind"] as? String == "restore" }.isEmpty, "\(runs.text)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// An agent's snapshot read from a copy is restored by whoever reads that copy (a WebDAV copy: a hub worker), so
    /// the original location, a directory of the agent's host, would be written on the hub's own disk: a restore to
    /// "original" at the copy is `400 original_not_applicable` and queues nothing, and the preview at the copy offers no
    /// original directory (at the primary it still does: the agent restores there).
    @Test(.timeLimit(.minutes(5))) func anAgentsSnapshotReadFromACopyIsNotRestoredToTheOriginalLocation() async throws {
        let fixture = try await RunsFixture()
        let agent = try links.startAgent(fixture, "a1", token: try await links.token(fixture, ["remaining_uses": 1]))
        let connected = await eventually { await links.connected(fixture, "a1") }
        #expect(connected, "\(agent.log)")
        let agentId = try #require(await links.agents(fixture)["a1"]?["id"] as? String)
        let davRoot = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(
            root: davRoot,
            user: CopiesTests.user,
            password: CopiesTests.password,
            logDir: fixture.scratch.path
        )
        defer { dav.stop() }
        try await targets.saveSecret(
            fixture,
            "webdav",
            "nas",
            ["username": CopiesTests.user, "password": CopiesTests.password, "url": "http://127.0.0.1:\(dav.port)/"]
        )
        let source = fixture.scratch.path + "/home/ann"
        try FileManager.default.createDirectory(atPath: source + "/docs", withIntermediateDirectories: true)
        try "x\n".write(toFile: source + "/docs/x.txt", atomically: true, encoding: .utf8)
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]],
            "target": ["type": "local_dir", "base_dir": fixture.scratch.path + "/target-a1"],
            "copies": [["target": ["type": "webdav", "base_url": "http://127.0.0.1:\(dav.port)/b", "secret_name": "nas"]]],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "agent-home", "agent_id": agentId, "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(created.status) \(created.text)")
        let run = try await fixture.enqueue(job).id
        let finished = try await targets.waitFor(fixture, run, ["success", "failed"])
        #expect(finished["status"] as? String == "success" && finished["node_id"] as? String == agentId, "\(finished)")
        let present = await copies.allPresent(fixture, job, run, count: 2)
        let locations = try await copies.locations(fixture, job, run)
        #expect(present, "\(locations)\n\(agent.log)")
        let davCopy = try #require(locations.first { $0.value["type"] as? String == "webdav" }?.key)

        // The preview: the original directory at the primary (the agent's `/`), none at the copy.
        let preview = { (body: [String: Any]) in
            try await HTTP.send("POST", fixture.base + "/api/runs/\(run)/restore/preview", json: body)
        }
        let atPrimary = try await preview([:])
        #expect(atPrimary.status == 200 && atPrimary.json?["original_directory"] as? String == "/", "\(atPrimary.text)")
        let atCopy = try await preview(["location": davCopy])
        #expect(atCopy.status == 200, "\(atCopy.text)")
        #expect(atCopy.json?["original_directory"] as? String == nil, "\(atCopy.text)")

        // A restore to "original" at the copy, whole or a selection, whatever the policy: refused, nothing queued.
        let selection: [String: Any] = ["dirs": [String(source.dropFirst()) + "/docs"]]
        for body: [String: Any] in [
            ["destination": ["type": "original"], "location": davCopy],
            ["destination": ["type": "original"], "location": davCopy, "selection": selection, "conflict_policy": "overwrite"],
        ] {
            let answer = try await HTTP.send("POST", fixture.base + "/api/runs/\(run)/restore", json: body)
            #expect(answer.status == 400 && answer.json?["error"] as? String == "original_not_applicable", "\(answer.status) \(answer.text)")
            #expect((answer.json?["details"] as? [String: Any])?["field"] as? String == "destination.type", "\(answer.text)")
        }
        let restores = try await fixture.readDatabase { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs WHERE kind = 'restore' AND job_id = ?", arguments: [job]) ?? 0
        }
        #expect(restores == 0, "a restore was queued")

        // A chosen directory at the copy is queued, for the hub (no hub worker runs here, so it stays queued).
        let chosen = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(run)/restore",
            json: ["destination": ["type": "local_fs", "directory": fixture.scratch.path + "/out"], "location": davCopy]
        )
        let queued = try #require(chosen.json?["run_id"] as? String, "\(chosen.status) \(chosen.text)")
        #expect(try await fixture.run(queued)["node_id"] as? String == "hub")
    }
}
