import Foundation
import TestClients
import Testing

/// Incremental snapshots (docs/formats.md, "Incremental snapshots"), through the real API and worker: a tree changed
/// between five snapshots of one chain; each restored by Bastion and by GNU tar's `-xG` over its chain equals the tree
/// at that time; diffs name exactly what changed; a restore of one file reads only what holds it.
@Suite(.serialized) struct IncrementalTests {
    @discardableResult
    func sh(_ fixture: RunsFixture, _ command: String) async throws -> (status: Int32, output: String) {
        let result = try await Child.shell(command, logDir: fixture.scratch.path)
        if result.status != 0 { Issue.record("\(command): \(result.output)") }
        return result
    }

    func createJob(
        _ fixture: RunsFixture,
        source: String,
        fullEvery: Int,
        target: [String: Any]? = nil,
        encryptionKey: String? = nil,
        agent: String? = nil
    ) async throws -> String {
        var pipeline: [String: Any] = ["incremental": ["full_every": fullEvery]]
        if let encryptionKey { pipeline["encryption"] = ["type": "age_x25519", "key_name": encryptionKey] }
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source], "hardlink_policy": "keep"],
            "target": target ?? ["type": "local_dir", "base_dir": fixture.targetDir, "part_size_bytes": 1_048_576], "pipeline": pipeline,
        ]
        var body: [String: Any] = ["name": "incremental", "spec": spec]
        if let agent { body["agent_id"] = agent }
        let result = try await HTTP.send("POST", fixture.base + "/api/jobs", json: body)
        guard result.status == 201, let id = result.json?["id"] as? String else {
            throw FixtureError("create job: \(result.status) \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    func waitFor(_ fixture: RunsFixture, _ run: String) async throws -> [String: Any] {
        _ = await eventually(timeout: .seconds(90)) { ["success", "failed", "canceled"].contains(await fixture.status(run) ?? "") }
        return try await fixture.run(run)
    }

    func backup(_ fixture: RunsFixture, _ job: String) async throws -> (id: String, summary: [String: Any]) {
        let run = try await fixture.enqueue(job).id
        let finished = try await waitFor(fixture, run)
        let log = try await fixture.events(run).compactMap { $0["message"] as? String }
        #expect(finished["status"] as? String == "success", "\(finished) \(log)")
        return (run, finished["summary"] as? [String: Any] ?? [:])
    }

    func restore(_ fixture: RunsFixture, _ run: String, into out: String, selection: [String: Any]? = nil) async throws -> [String: Any] {
        var body: [String: Any] = ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
        if let selection { body["selection"] = selection }
        let queued = try await HTTP.send("POST", fixture.base + "/api/runs/\(run)/restore", json: body)
        let id = try #require(queued.json?["run_id"] as? String, "\(String(decoding: queued.body, as: UTF8.self))")
        let finished = try await waitFor(fixture, id)
        let log = try await fixture.events(id).compactMap { $0["message"] as? String }
        #expect(finished["status"] as? String == "success", "restore of \(run): \(finished) \(log)")
        return finished
    }

    func verify(_ fixture: RunsFixture, _ run: String) async throws -> [String: Any] {
        let queued = try await HTTP.send("POST", fixture.base + "/api/runs/\(run)/verify")
        let id = try #require(queued.json?["run_id"] as? String)
        return try await waitFor(fixture, id)
    }

    /// The changes between snapshots, as `(added, removed, changed)` relative paths.
    typealias Changes = (added: Set<String>, removed: Set<String>, changed: Set<String>)

    func diff(_ fixture: RunsFixture, _ job: String, _ from: String, _ to: String, prefix: String) async throws -> Changes {
        let result = try await HTTP.get(fixture.base + "/api/jobs/\(job)/diff?from=\(from)&to=\(to)&limit=1000")
        let items = result.json?["items"] as? [[String: Any]] ?? []
        var changes: Changes = ([], [], [])
        for item in items {
            guard let path = item["path"] as? String, path.hasPrefix(prefix + "/") else { continue }
            let relative = String(path.dropFirst(prefix.count + 1))
            switch item["change"] as? String {
            case "added": changes.added.insert(relative)
            case "removed": changes.removed.insert(relative)
            default: changes.changed.insert(relative)
            }
        }
        return changes
    }

    @Test func fiveSnapshotsOfAChangingTreeRestoreExactlyWithBastionAndGNUTar() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let source = fixture.scratch.path + "/src"
        let prefix = String(source.dropFirst())
        // The tree at the first snapshot.
        try await sh(
            fixture,
            """
            set -e; mkdir -p '\(source)'; cd '\(source)'
            head -c 100000 /dev/urandom > keep.txt; head -c 3000000 /dev/urandom > big.bin
            echo first > grow.log; head -c 50000 /dev/urandom > shrink.bin; echo bye > gone.txt; echo named > old-name.txt
            mkdir swap; echo inner > swap/inner.txt; echo 'echo hi' > perm.sh; chmod 644 perm.sh; echo stamp > stamp.txt
            echo linked > linked.txt; mkdir -p deep/a/b; echo 'version one' > deep/a/b/c.txt
            """
        )
        let steps: [(script: String, expected: Changes)] = [
            (
                "echo more >> grow.log; truncate -s 1000 shrink.bin; rm gone.txt; mkdir new; echo added > new/added.txt",
                (["new", "new/added.txt"], ["gone.txt"], ["grow.log", "shrink.bin"])
            ),
            ("mv old-name.txt new-name.txt; rm -r swap; echo now-a-file > swap", (["new-name.txt"], ["old-name.txt", "swap/inner.txt"], ["swap"])),
            (
                "chmod 755 perm.sh; touch -d '2001-02-03 04:05:06.123456789' stamp.txt; ln linked.txt zz-link.txt",
                (["zz-link.txt"], [], ["perm.sh", "stamp.txt"])
            ),
            (
                // Same size and mtime, other content: only the ctime tells.
                "m=$(stat -c %y deep/a/b/c.txt); echo 'version two' > deep/a/b/c.txt; touch -d \"$m\" deep/a/b/c.txt; rm -r new; echo x > café.txt",
                (["café.txt"], ["new", "new/added.txt"], ["deep/a/b/c.txt"])
            ),
        ]
        let job = try await createJob(fixture, source: source, fullEvery: 10)
        var runs: [String] = []
        var trees: [[String: String]] = []
        var transfers: [Int] = []
        for index in 0...steps.count {
            if index > 0 {
                try await Task.sleep(for: .milliseconds(20))
                try await sh(fixture, "cd '\(source)' && \(steps[index - 1].script)")
            }
            trees.append(try TreeFingerprint.of(source))
            let (run, summary) = try await backup(fixture, job)
            runs.append(run)
            let incremental = summary["incremental"] as? [String: Any]
            #expect(incremental?["level"] as? Int == index, "snapshot \(index + 1): \(summary)")
            #expect(incremental?["chain"] as? [String] == runs, "\(summary)")
            transfers.append((summary["metrics"] as? [String: Any])?["transfer_total_bytes"] as? Int ?? -1)
        }
        // The later snapshots hold only what changed: far less than the 3 MB the full one holds.
        #expect(transfers.dropFirst().allSatisfy { $0 < 100_000 } && transfers[0] > 3_000_000, "\(transfers)")

        for (index, run) in runs.enumerated() {
            let label = "snapshot \(index + 1)"
            let verified = try await verify(fixture, run)
            #expect(verified["status"] as? String == "success", "\(label) verify: \(verified)")
            // Bastion's restore of the snapshot alone.
            let out = fixture.scratch.path + "/bastion-\(index + 1)"
            _ = try await restore(fixture, run, into: out)
            let restored = try TreeFingerprint.of(out + source)
            #expect(TreeFingerprint.differences(trees[index], restored).isEmpty, "\(label): \(TreeFingerprint.differences(trees[index], restored))")
            // GNU tar over the chain, with the commands the manifest gives.
            let manifest =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: "\(fixture.targetDir)/\(job)/\(run)/manifest.json"))
                ) as? [String: Any]
            let commands = (manifest?["incremental"] as? [String: Any])?["gnu_tar_commands"] as? [String] ?? []
            #expect(commands.count == index + 1, "\(String(describing: manifest))")
            let tarOut = fixture.scratch.path + "/tar-\(index + 1)"
            try FileManager.default.createDirectory(atPath: tarOut, withIntermediateDirectories: true)
            for command in commands {
                try await sh(fixture, "cd '\(fixture.targetDir)/\(job)' && " + command.replacingOccurrences(of: "DEST", with: "'\(tarOut)'"))
            }
            let extracted = try TreeFingerprint.of(tarOut + source)
            #expect(
                TreeFingerprint.differences(trees[index], extracted).isEmpty,
                "\(label) tar -xG: \(TreeFingerprint.differences(trees[index], extracted))"
            )
            if index == 0 {
                // The full snapshot that starts the chain is an ordinary archive to bsdtar (which ignores the dumpdirs).
                let bsdOut = fixture.scratch.path + "/bsdtar-1"
                try FileManager.default.createDirectory(atPath: bsdOut, withIntermediateDirectories: true)
                try await sh(
                    fixture,
                    "cat '\(fixture.targetDir)/\(job)/\(run)'/payload.part* | zstd -d | bsdtar -x --xattrs --acls --numeric-owner -p -f - -C '\(bsdOut)'"
                )
                let bsd = try TreeFingerprint.of(bsdOut + source)
                #expect(TreeFingerprint.differences(trees[0], bsd).isEmpty, "bsdtar: \(TreeFingerprint.differences(trees[0], bsd))")
            }
        }

        // Diffs between consecutive snapshots name exactly what each step changed; from the first to the last, the sum.
        for (index, step) in steps.enumerated() {
            let found = try await diff(fixture, job, runs[index], runs[index + 1], prefix: prefix)
            #expect(found.added == step.expected.added && found.removed == step.expected.removed, "step \(index + 1): \(found)")
            #expect(found.changed == step.expected.changed, "step \(index + 1): \(found)")
        }
        let whole = try await diff(fixture, job, runs[0], runs[4], prefix: prefix)
        #expect(whole.added == ["new-name.txt", "zz-link.txt", "café.txt"], "\(whole)")
        #expect(whole.removed == ["gone.txt", "old-name.txt", "swap/inner.txt"], "\(whole)")
        #expect(whole.changed == ["grow.log", "shrink.bin", "swap", "perm.sh", "stamp.txt", "deep/a/b/c.txt"], "\(whole)")

        // One file of the last snapshot whose bytes are in the first: restored alone, exactly.
        let one = fixture.scratch.path + "/one"
        let selected = try await restore(fixture, runs[4], into: one, selection: ["files": [prefix + "/big.bin"]])
        let compare = try await sh(fixture, "cmp '\(source)/big.bin' '\(one)\(source)/big.bin' && test $(find '\(one)' -type f | wc -l) = 1")
        #expect(compare.status == 0, "\(selected)")
    }

    /// Retention keeps the chain of every snapshot it keeps (pinned ones included) and says why; a base is deleted only
    /// by force, after which its dependants fail verify and restore with a clear reason and write nothing.
    @Test func retentionAndDeletionRespectChains() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let janitor = try Child.bastion("bastion-janitor", dataDir: fixture.dataDir, logDir: fixture.scratch.path, ["--maintenance-interval", "1"])
        defer { janitor.kill9() }
        let source = fixture.scratch.path + "/src"
        try await sh(fixture, "mkdir -p '\(source)' && head -c 200000 /dev/urandom > '\(source)/base.bin'")
        let job = try await createJob(fixture, source: source, fullEvery: 3)
        var runs: [String] = []
        for index in 0..<4 {
            try await sh(fixture, "echo \(index) > '\(source)/step-\(index).txt'")
            let (run, summary) = try await backup(fixture, job)
            #expect((summary["incremental"] as? [String: Any])?["level"] as? Int == [0, 1, 2, 0][index], "\(summary)")
            runs.append(run)
        }
        let listed = try await HTTP.get(fixture.base + "/api/jobs/\(job)/snapshots").jsonArray ?? []
        let byRun = Dictionary(uniqueKeysWithValues: listed.compactMap { row in (row["run_id"] as? String).map { ($0, row) } })
        #expect(byRun[runs[0]]?["dependants"] as? Int == 1 && byRun[runs[2]]?["base_run_id"] as? String == runs[1], "\(listed)")
        #expect(byRun[runs[3]]?["chain_level"] as? Int == 0 && byRun[runs[3]]?["base_run_id"] is NSNull, "\(listed)")

        // Keeping the last two keeps the third snapshot's whole chain.
        func preview(_ retention: [String: Any]) async throws -> (keep: [String: [String]], delete: Set<String>) {
            let result = try await HTTP.send("POST", fixture.base + "/api/jobs/\(job)/retention/preview", json: ["retention": retention])
            let keep = (result.json?["keep"] as? [[String: Any]] ?? []).reduce(into: [String: [String]]()) {
                $0[$1["run_id"] as? String ?? ""] = $1["reasons"] as? [String] ?? []
            }
            let delete = Set((result.json?["delete"] as? [[String: Any]] ?? []).compactMap { $0["run_id"] as? String })
            return (keep, delete)
        }
        let two = try await preview(["enabled": true, "keep_last": 2])
        #expect(two.delete.isEmpty && two.keep[runs[0]] == ["chain_base"] && two.keep[runs[1]] == ["chain_base"], "\(two)")
        // Keeping one leaves nothing of the first chain.
        let one = try await preview(["enabled": true, "keep_last": 1])
        #expect(one.delete == Set(runs.prefix(3)), "\(one)")
        // A pinned snapshot keeps its chain.
        #expect(try await HTTP.send("POST", fixture.base + "/api/runs/\(runs[1])/pin").status == 200)
        let pinned = try await preview(["enabled": true, "keep_last": 1])
        #expect(pinned.delete == [runs[2]] && pinned.keep[runs[0]] == ["chain_base"] && pinned.keep[runs[1]] == ["pinned"], "\(pinned)")
        #expect(try await HTTP.send("POST", fixture.base + "/api/runs/\(runs[1])/unpin").status == 200)

        // Deleting a base needs force.
        let refused = try await HTTP.send("DELETE", fixture.base + "/api/runs/\(runs[0])/snapshot")
        #expect(refused.status == 409 && refused.json?["error"] as? String == "snapshot_has_dependants", "\(refused)")
        #expect(FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(runs[0])/complete.json"))
        let forced = try await HTTP.send("DELETE", fixture.base + "/api/runs/\(runs[0])/snapshot?force=true")
        #expect(forced.status == 200, "\(forced)")
        #expect(await eventually { !FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(runs[0])") })

        // Its dependants no longer verify, and a restore fails before writing anything; the next full chain is fine.
        let verified = try await verify(fixture, runs[2])
        let message = verified["error_message"] as? String ?? (verified["summary"] as? [String: Any])?["error"] as? String ?? ""
        #expect(verified["status"] as? String == "failed" && message.contains(runs[0]), "\(verified)")
        let out = fixture.scratch.path + "/broken"
        let queued = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(runs[2])/restore",
            json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
        )
        let restoreRun = try #require(queued.json?["run_id"] as? String)
        let restored = try await waitFor(fixture, restoreRun)
        #expect(restored["status"] as? String == "failed" && restored["error"] as? String == "base_missing", "\(restored)")
        #expect(!FileManager.default.fileExists(atPath: out + source), "nothing restored")
        #expect(try await verify(fixture, runs[3])["status"] as? String == "success")
        // The next backup builds on the newest present snapshot (the full one), not on the broken chain.
        let (next, summary) = try await backup(fixture, job)
        #expect((summary["incremental"] as? [String: Any])?["base_run_id"] as? String == runs[3], "\(next) \(summary)")
    }

    /// A chain on WebDAV (`rclone serve webdav`, behind a proxy that logs each request), one through rclone to sshd's
    /// sftp, and one on an agent: each
    /// snapshot verifies and restores identical; a restore of one file from the second snapshot fetches only the one
    /// part of the first snapshot that holds it.
    @Test func chainsLiveOnWebDAVAndOnAgents() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let root = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let server = try await TargetServers.rcloneWebDAV(root: root, user: "backup", password: "pw", logDir: fixture.scratch.path)
        defer { server.stop() }
        let proxyLog = fixture.scratch.path + "/proxy.log"
        let proxy = try await TargetServers.faultProxy(upstream: server.port, log: proxyLog, options: [])
        defer { proxy.stop() }
        #expect(
            try await HTTP.send(
                "PUT",
                fixture.base + "/api/secrets/webdav/nas",
                json: ["username": "backup", "password": "pw", "url": "http://127.0.0.1:\(proxy.port)/"]
            ).status == 200
        )
        let source = fixture.scratch.path + "/src"
        try await sh(
            fixture,
            "mkdir -p '\(source)' && for n in 1 2 3 4; do head -c 1500000 /dev/urandom > '\(source)'/big-$n.bin; done && echo one > '\(source)/note.txt'"
        )
        let target: [String: Any] = [
            "type": "webdav", "base_url": "http://127.0.0.1:\(proxy.port)/b/", "secret_name": "nas", "part_size_bytes": 1_048_576,
        ]
        let job = try await createJob(fixture, source: source, fullEvery: 5, target: target)
        let (first, _) = try await backup(fixture, job)
        try await sh(fixture, "echo two >> '\(source)/note.txt'")
        let (second, summary) = try await backup(fixture, job)
        #expect((summary["incremental"] as? [String: Any])?["base_run_id"] as? String == first, "\(summary)")
        let written = (summary["metrics"] as? [String: Any])?["transfer_total_bytes"] as? Int ?? -1
        #expect(written > 0 && written < 100_000, "the second snapshot holds only the note: \(written) bytes")
        #expect(try await verify(fixture, second)["status"] as? String == "success")
        let whole = fixture.scratch.path + "/whole"
        _ = try await restore(fixture, second, into: whole)
        #expect(try await sh(fixture, "diff -r '\(source)' '\(whole)\(source)'").status == 0)

        let before = try String(contentsOfFile: proxyLog, encoding: .utf8).split(separator: "\n").count
        let one = fixture.scratch.path + "/one"
        let prefix = String(source.dropFirst())
        _ = try await restore(fixture, second, into: one, selection: ["files": [prefix + "/big-3.bin"]])
        #expect(try await sh(fixture, "cmp '\(source)/big-3.bin' '\(one)\(source)/big-3.bin'").status == 0)
        let gets = try String(contentsOfFile: proxyLog, encoding: .utf8).split(separator: "\n").dropFirst(before)
            .filter { $0.hasPrefix("GET ") && $0.contains("payload.part") }
        let firstRunParts = gets.filter { $0.contains(first) }
        // big-3.bin's 1.5 MB of random bytes are in at most 7 of the first snapshot's 256 KiB frames, each taken by one
        // ranged GET (two where a frame crosses a part's end; docs/formats.md, "Frames"), none of the second snapshot.
        #expect(firstRunParts.count <= 14 && !firstRunParts.isEmpty && gets.allSatisfy { !$0.contains(second) }, "\(gets)")

        // rclone to OpenSSH's sftp: the same chain on another store.
        let (sshd, key) = try await TargetServers.sshd(directory: fixture.scratch.path + "/ssh")
        defer { sshd.stop() }
        // Key files are read only from <data-dir>/rclone-keys.
        let keys = fixture.dataDir + "/rclone-keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: key, toPath: keys + "/box")
        let config = "[box]\ntype = sftp\nhost = 127.0.0.1\nport = \(sshd.port)\nuser = root\nkey_file = \(keys)/box\nshell_type = unix\n"
        #expect(try await HTTP.send("PUT", fixture.base + "/api/secrets/rclone/box", json: ["config": config]).status == 200)
        let sftpRoot = fixture.scratch.path + "/sftp-root"
        let sftpTarget: [String: Any] = ["type": "rclone", "remote": "box:\(sftpRoot)", "secret_name": "box", "part_size_bytes": 1_048_576]
        let sftpJob = try await createJob(fixture, source: source, fullEvery: 5, target: sftpTarget)
        let (sftpFirst, _) = try await backup(fixture, sftpJob)
        try await sh(fixture, "echo three >> '\(source)/note.txt' && rm '\(source)/big-1.bin'")
        let (sftpSecond, sftpSummary) = try await backup(fixture, sftpJob)
        #expect((sftpSummary["incremental"] as? [String: Any])?["base_run_id"] as? String == sftpFirst, "\(sftpSummary)")
        #expect(FileManager.default.fileExists(atPath: "\(sftpRoot)/\(sftpJob)/\(sftpSecond)/complete.json"))
        #expect(try await verify(fixture, sftpSecond)["status"] as? String == "success")
        let sftpOut = fixture.scratch.path + "/sftp-restored"
        _ = try await restore(fixture, sftpSecond, into: sftpOut)
        #expect(try await sh(fixture, "diff -r '\(source)' '\(sftpOut)\(source)'").status == 0)

        // An agent keeps its chain on its own disk.
        let links = AgentLinkTests()
        _ = try links.startAgent(fixture, "a1", token: try await links.token(fixture))
        #expect(await eventually { await links.agents(fixture)["a1"]?["connected"] as? Bool == true })
        let agent = try #require(await links.agents(fixture)["a1"]?["id"] as? String)
        let agentSource = fixture.scratch.path + "/agent-src"
        try await sh(
            fixture,
            "mkdir -p '\(agentSource)' && head -c 300000 /dev/urandom > '\(agentSource)/data.bin' && echo a > '\(agentSource)/a.txt'"
        )
        let agentJob = try await createJob(
            fixture,
            source: agentSource,
            fullEvery: 5,
            target: ["type": "local_dir", "base_dir": fixture.scratch.path + "/agent-target"],
            agent: agent
        )
        _ = try await backup(fixture, agentJob)
        try await sh(fixture, "rm '\(agentSource)/a.txt' && echo b > '\(agentSource)/b.txt'")
        let (agentSecond, agentSummary) = try await backup(fixture, agentJob)
        #expect((agentSummary["incremental"] as? [String: Any])?["level"] as? Int == 1, "\(agentSummary)")
        #expect(try await verify(fixture, agentSecond)["status"] as? String == "success")
        let agentOut = fixture.scratch.path + "/agent-restored"
        _ = try await restore(fixture, agentSecond, into: agentOut)
        #expect(try await sh(fixture, "diff -r '\(agentSource)' '\(agentOut)\(agentSource)'").status == 0)
    }

    /// An age-encrypted chain: verify and a whole restore through the chain; one file restored alone decrypts only the
    /// chunks of the parts that hold it (the restore's progress counts the parts it used).
    @Test func encryptedChainsReadOnlyThePartsTheyNeed() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let source = fixture.scratch.path + "/src"
        try await sh(
            fixture,
            "mkdir -p '\(source)' && for n in 1 2 3 4 5 6; do head -c 1500000 /dev/urandom > '\(source)'/big-$n.bin; done && echo one > '\(source)/note.txt'"
        )
        let job = try await createJob(fixture, source: source, fullEvery: 5, encryptionKey: "chain-key")
        let (first, _) = try await backup(fixture, job)
        let part = try Data(contentsOf: URL(fileURLWithPath: "\(fixture.targetDir)/\(job)/\(first)/payload.part000001"))
        #expect(String(decoding: part.prefix(21), as: UTF8.self) == "age-encryption.org/v1")
        try await sh(fixture, "echo two >> '\(source)/note.txt'")
        let (second, _) = try await backup(fixture, job)
        #expect(try await verify(fixture, second)["status"] as? String == "success")
        let whole = fixture.scratch.path + "/whole"
        _ = try await restore(fixture, second, into: whole)
        #expect(try await sh(fixture, "diff -r '\(source)' '\(whole)\(source)'").status == 0)

        let parts = try FileManager.default.contentsOfDirectory(atPath: "\(fixture.targetDir)/\(job)/\(first)").filter {
            $0.hasPrefix("payload.part")
        }
        let one = fixture.scratch.path + "/one"
        let restored = try await restore(fixture, second, into: one, selection: ["files": [String(source.dropFirst()) + "/big-5.bin"]])
        #expect(try await sh(fixture, "cmp '\(source)/big-5.bin' '\(one)\(source)/big-5.bin'").status == 0)
        let read = ((restored["progress"] as? [String: Any])?["done"] as? [String: Any])?["bytes"] as? Int ?? -1
        #expect(parts.count >= 8 && read > 0 && read <= 3 * 1_048_576 + 100_000, "read \(read) bytes of \(parts.count) parts")
    }
}
