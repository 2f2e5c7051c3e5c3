import Foundation
import TestClients
import Testing

/// Remote targets against real servers on 127.0.0.1 (docs/targets.md): WebDAV on two server implementations
/// (`rclone serve webdav`, Apache's mod_dav), faults injected by a proxy in front of one, rclone over SFTP to
/// OpenSSH's sshd, and the cleanup of incomplete runs on a file system that fills up.
@Suite(.serialized) struct TargetsTests {
    static let user = "backup"
    static let password = "s3cret-pass"

    /// A shell command as a `Child` (see `Child.shell`).
    @discardableResult
    func sh(_ fixture: RunsFixture, _ command: String) async throws -> (status: Int32, output: String) {
        try await Child.shell(command, logDir: fixture.scratch.path)
    }

    func saveSecret(_ fixture: RunsFixture, _ kind: String, _ name: String, _ body: [String: Any]) async throws {
        let saved = try await HTTP.send("PUT", fixture.base + "/api/secrets/\(kind)/\(name)", json: body)
        guard saved.status == 200 else { throw FixtureError("save secret: \(saved.status) \(String(decoding: saved.body, as: UTF8.self))") }
    }

    func createJob(_ fixture: RunsFixture, name: String = "files", source: String, target: [String: Any]) async throws -> String {
        let spec: [String: Any] = ["v": 1, "type": "filesystem", "source": ["paths": [source]], "target": target]
        let result = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": name, "spec": spec])
        guard result.status == 201, let id = result.json?["id"] as? String else {
            throw FixtureError("create job: \(result.status) \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    func waitFor(_ fixture: RunsFixture, _ run: String, _ statuses: Set<String>, timeout: Duration = .seconds(90)) async throws -> [String: Any] {
        _ = await eventually(timeout: timeout) { statuses.contains(await fixture.status(run) ?? "") }
        return try await fixture.run(run)
    }

    /// A source tree with several 1 MiB parts' worth of incompressible data plus the format test's tree.
    func makeSource(_ fixture: RunsFixture) async throws -> String {
        let source = fixture.scratch.path + "/src"
        try ArchiveFormatTests.makeTree(source)
        try await sh(fixture, "head -c 3500000 /dev/urandom > '\(source)/a/random.bin'")
        return source
    }

    /// Verify, then restore everything into a fresh directory: identical to the source.
    func verifyAndRestore(_ fixture: RunsFixture, _ backup: String, _ source: String, label: String) async throws {
        let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify").json?["run_id"] as? String)
        let verified = try await waitFor(fixture, verify, ["success", "failed"])
        let log_verify = try await fixture.events(verify).compactMap { $0["message"] as? String }
        #expect(verified["status"] as? String == "success", "\(label) verify: \(verified) \(log_verify)")
        let out = fixture.scratch.path + "/restored-\(label)"
        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(backup)/restore",
            json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String, "\(String(decoding: restore.body, as: UTF8.self))")
        let restored = try await waitFor(fixture, restoreRun, ["success", "failed"])
        let log_restoreRun = try await fixture.events(restoreRun).compactMap { $0["message"] as? String }
        #expect(restored["status"] as? String == "success", "\(label) restore: \(restored) \(log_restoreRun)")
        let diff = try await sh(fixture, "diff -r --no-dereference '\(source)' '\(out)\(source)'")
        #expect(diff.status == 0, "\(label): \(diff.output)")
    }

    /// Back up, verify and restore through WebDAV on two different servers; `complete.json` is the last file the server
    /// received; a wrong password fails with its code and writes nothing; the test connection reports each step.
    @Test func webdavRoundTripsOnRcloneAndApache() async throws {
        let fixture = try await RunsFixture()
        let source = try await makeSource(fixture)
        let worker = try await fixture.startWorker("w0")
        let rcloneRoot = fixture.scratch.path + "/dav-rclone"
        try FileManager.default.createDirectory(atPath: rcloneRoot, withIntermediateDirectories: true)
        let rclone = try await TargetServers.rcloneWebDAV(root: rcloneRoot, user: Self.user, password: Self.password, logDir: fixture.scratch.path)
        defer { rclone.stop() }
        // The proxy only logs here: the order in which the server answered.
        let proxyLog = fixture.scratch.path + "/proxy.log"
        let proxy = try await TargetServers.faultProxy(upstream: rclone.port, log: proxyLog, options: [])
        defer { proxy.stop() }
        let apacheRoot = fixture.scratch.path + "/dav-apache/root"
        let apache = try await TargetServers.apacheWebDAV(
            root: apacheRoot,
            user: Self.user,
            password: Self.password,
            directory: fixture.scratch.path + "/dav-apache"
        )
        defer { apache.stop() }
        // A secret is bound to one server: one per server.
        for (label, port) in [("rclone", proxy.port), ("apache", apache.port)] {
            try await saveSecret(
                fixture,
                "webdav",
                "nas-\(label)",
                ["username": Self.user, "password": Self.password, "url": "http://127.0.0.1:\(port)/"]
            )
        }

        // The secret is listed without its value.
        let listed = try await HTTP.send("GET", fixture.base + "/api/secrets/webdav")
        #expect(listed.status == 200 && !String(decoding: listed.body, as: UTF8.self).contains(Self.password), "\(listed)")

        for (label, port, root) in [("rclone", proxy.port, rcloneRoot), ("apache", apache.port, apacheRoot)] {
            let target: [String: Any] = [
                "type": "webdav", "base_url": "http://127.0.0.1:\(port)/backups/", "secret_name": "nas-\(label)", "part_size_bytes": 1_048_576,
            ]
            let test = try await HTTP.send("POST", fixture.base + "/api/targets/test", json: target)
            let steps = (test.json?["steps"] as? [[String: Any]] ?? []).compactMap { $0["step"] as? String }
            #expect(
                test.json?["ok"] as? Bool == true && steps == ["connect", "create", "write", "read", "delete"],
                "\(label) test: \(String(decoding: test.body, as: UTF8.self))"
            )

            #expect(!FileManager.default.fileExists(atPath: root + "/backups/.bastion-test"), "the test connection leaves nothing behind")
            let job = try await createJob(fixture, name: "dav-\(label)", source: source, target: target)
            let run = try await fixture.enqueue(job).id
            let finished = try await waitFor(fixture, run, ["success", "failed"])
            let log_run = try await fixture.events(run).compactMap { $0["message"] as? String }
            #expect(finished["status"] as? String == "success", "\(label): \(finished) \(log_run)")
            let runDir = "\(root)/backups/\(job)/\(run)"
            let names = try FileManager.default.contentsOfDirectory(atPath: runDir).sorted()
            #expect(names.contains("complete.json") && names.contains("manifest.json") && names.contains("entries.jsonl.zst"), "\(names)")
            #expect(names.filter { $0.hasPrefix("payload.part") }.count >= 4, "\(names)")
            // Nothing staged is left on the worker's disk.
            #expect(!FileManager.default.fileExists(atPath: "\(fixture.dataDir)/runs/\(run).upload"))
            // The parts GNU tar reads straight from the server's disk.
            let tar = try await sh(fixture, "cat '\(runDir)'/payload.part* | zstd -d | tar -t 2>/dev/null | wc -l")
            #expect(tar.status == 0 && (Int(tar.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 10, "\(tar.output)")

            // complete.json is the last PUT the server answered.
            let serverLog = label == "rclone" ? proxyLog : fixture.scratch.path + "/dav-apache/access.log"
            let puts = try String(contentsOfFile: serverLog, encoding: .utf8).split(separator: "\n").filter {
                $0.hasPrefix("PUT ") && $0.contains(run)
            }
            #expect(puts.last?.contains("/complete.json ") == true, "\(label): \(puts.suffix(3))")
            #expect(puts.firstIndex { $0.contains("manifest.json") }! > puts.lastIndex { $0.contains("payload.part") }!)

            try await verifyAndRestore(fixture, run, source, label: label)
        }

        // A wrong password: its code, and nothing written on the server.
        try await saveSecret(
            fixture,
            "webdav",
            "wrong",
            ["username": Self.user, "password": "not-the-password", "url": "http://127.0.0.1:\(apache.port)"]
        )
        let wrongTarget: [String: Any] = ["type": "webdav", "base_url": "http://127.0.0.1:\(apache.port)/other/", "secret_name": "wrong"]
        let test = try await HTTP.send("POST", fixture.base + "/api/targets/test", json: wrongTarget)
        let failedStep = (test.json?["steps"] as? [[String: Any]])?.last
        #expect(test.json?["ok"] as? Bool == false && failedStep?["code"] as? String == "webdav_auth_failed", "\(test)")
        let job = try await createJob(fixture, name: "wrong", source: source, target: wrongTarget)
        let run = try await fixture.enqueue(job).id
        let failed = try await waitFor(fixture, run, ["success", "failed"])
        #expect(failed["status"] as? String == "failed" && failed["error"] as? String == "webdav_auth_failed", "\(failed)")
        #expect(!FileManager.default.fileExists(atPath: apacheRoot + "/other"), "nothing written with a wrong password")
        let log = worker.log
        #expect(!log.contains(Self.password) && !log.contains("not-the-password"), "no password in the worker's log")

        // A secret in use cannot be deleted.
        let delete = try await HTTP.send("DELETE", fixture.base + "/api/secrets/webdav/nas-rclone")
        #expect(delete.status == 409 && delete.json?["error"] as? String == "secret_in_use", "\(delete)")
    }

    /// A server that answers 503 twice and then accepts, and a connection cut halfway through a PUT: the backup
    /// succeeds after retries, and the snapshot restores identical.
    @Test func webdavRetriesUnavailableAnswersAndDroppedConnections() async throws {
        let fixture = try await RunsFixture()
        let source = try await makeSource(fixture)
        try await fixture.startWorker("w0")
        let root = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let server = try await TargetServers.rcloneWebDAV(root: root, user: Self.user, password: Self.password, logDir: fixture.scratch.path)
        defer { server.stop() }
        let proxyLog = fixture.scratch.path + "/proxy.log"
        // Part PUTs 1 and 2 get 503; the 4th part PUT (part 2's second attempt... counted over all attempts) is cut.
        let proxy = try await TargetServers.faultProxy(upstream: server.port, log: proxyLog, options: ["--fail-puts", "2", "--drop-put", "5"])
        defer { proxy.stop() }
        try await saveSecret(
            fixture,
            "webdav",
            "nas",
            ["username": Self.user, "password": Self.password, "url": "http://127.0.0.1:\(proxy.port)/b"]
        )
        let target: [String: Any] = [
            "type": "webdav", "base_url": "http://127.0.0.1:\(proxy.port)/b", "secret_name": "nas", "part_size_bytes": 1_048_576,
        ]
        let job = try await createJob(fixture, source: source, target: target)
        let run = try await fixture.enqueue(job).id
        let finished = try await waitFor(fixture, run, ["success", "failed"])
        let log_run = try await fixture.events(run).compactMap { $0["message"] as? String }
        #expect(finished["status"] as? String == "success", "\(finished) \(log_run)")
        let lines = try String(contentsOfFile: proxyLog, encoding: .utf8).split(separator: "\n").map(String.init)
        let first = lines.filter { $0.contains("/payload.part000001 ") && $0.hasPrefix("PUT") }
        #expect(
            first == [
                "PUT /b/\(job)/\(run)/payload.part000001 503", "PUT /b/\(job)/\(run)/payload.part000001 503",
                "PUT /b/\(job)/\(run)/payload.part000001 201",
            ],
            "two retries after 503: \(first)"
        )
        #expect(lines.contains { $0.hasSuffix("DROPPED") }, "\(lines)")
        let dropped = try #require(lines.first { $0.hasSuffix("DROPPED") }).split(separator: " ")[1]
        #expect(lines.contains("PUT \(dropped) 201"), "the cut PUT was sent again: \(lines)")
        try await verifyAndRestore(fixture, run, source, label: "faults")

        // A byte flipped on the server (same size, so the listing passes): the restore fails before writing anything.
        let part = "\(root)/b/\(job)/\(run)/payload.part000001"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: part))
        bytes[4242] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: part))
        let refused = fixture.scratch.path + "/refused"
        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(run)/restore",
            json: ["destination": ["type": "local_fs", "directory": refused]]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String)
        let failed = try await waitFor(fixture, restoreRun, ["success", "failed"])
        #expect(failed["error"] as? String == "snapshot_corrupt", "\(failed)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: refused)) ?? []).isEmpty, "nothing restored from a damaged part")
    }

    /// The worker SIGKILLed while a part is being uploaded: started again with the same id, it takes the run back and
    /// uploads only what the ledger does not hold; the snapshot verifies.
    @Test func aWorkerKilledMidUploadResumesUploadingOnlyWhatIsMissing() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/big"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try await sh(fixture, "head -c 6000000 /dev/urandom > '\(source)/blob.bin'")
        let worker = try await fixture.startWorker("w-stable")
        let root = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let server = try await TargetServers.rcloneWebDAV(root: root, user: Self.user, password: Self.password, logDir: fixture.scratch.path)
        defer { server.stop() }
        let proxyLog = fixture.scratch.path + "/proxy.log"
        // The 4th part PUT hangs once (the proxy keeps serving everything else).
        let proxy = try await TargetServers.faultProxy(upstream: server.port, log: proxyLog, options: ["--stall-put", "4"])
        defer { proxy.stop() }
        try await saveSecret(
            fixture,
            "webdav",
            "nas",
            ["username": Self.user, "password": Self.password, "url": "http://127.0.0.1:\(proxy.port)/b"]
        )
        let target: [String: Any] = [
            "type": "webdav", "base_url": "http://127.0.0.1:\(proxy.port)/b", "secret_name": "nas", "part_size_bytes": 1_048_576,
        ]
        let job = try await createJob(fixture, source: source, target: target)
        let run = try await fixture.enqueue(job).id
        #expect(await eventually(timeout: .seconds(60)) { ((try? String(contentsOfFile: proxyLog, encoding: .utf8)) ?? "").contains("STALLED") })
        worker.kill9()
        let lines = try String(contentsOfFile: proxyLog, encoding: .utf8).split(separator: "\n").map(String.init)
        let before = lines.filter { $0.hasPrefix("PUT") && $0.contains("payload.part") && $0.hasSuffix(" 201") }
        #expect(before.count == 3, "three parts uploaded before the kill: \(before)")
        try await fixture.startWorker("w-stable")
        let finished = try await waitFor(fixture, run, ["success", "failed"])
        let log_run = try await fixture.events(run).compactMap { $0["message"] as? String }
        #expect(finished["status"] as? String == "success", "\(finished) \(log_run)")
        let events = try await fixture.events(run)
        #expect(events.contains { $0["kind"] as? String == "requeued" }, "\(events.compactMap { $0["kind"] })")
        let upload = try #require(events.last { $0["kind"] as? String == "upload" }?["fields"] as? [String: Any])
        #expect(upload["parts_kept"] as? Int == 3, "\(upload)")
        let after = try String(contentsOfFile: proxyLog, encoding: .utf8).split(separator: "\n").dropFirst(lines.count)
            .filter { $0.hasPrefix("PUT") && $0.contains("payload.part") }
        #expect(!after.contains { $0.contains("part000001") || $0.contains("part000002") || $0.contains("part000003") }, "\(after)")
        #expect(after.contains { $0.contains("part000004") }, "\(after)")
        try await verifyAndRestore(fixture, run, source, label: "resumed")
    }

    /// rclone to OpenSSH's SFTP server: the remote's configuration is a secret; back up, verify, restore identical;
    /// deleting the snapshot removes it from the server.
    @Test func rcloneOverSFTPRoundTripsAndDeletes() async throws {
        let fixture = try await RunsFixture()
        let source = try await makeSource(fixture)
        try await fixture.startWorker("w0")
        let janitor = try Child.bastion(
            "bastion-janitor",
            dataDir: fixture.dataDir,
            logDir: fixture.scratch.path,
            ["--maintenance-interval", "3600"]
        )
        fixture.children.append(janitor)
        let (sshd, key) = try await TargetServers.sshd(directory: fixture.scratch.path + "/ssh")
        defer { sshd.stop() }
        let remoteRoot = fixture.scratch.path + "/sftp-root"
        // Key files are read only from <data-dir>/rclone-keys.
        let keys = fixture.dataDir + "/rclone-keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: key, toPath: keys + "/box")
        try await saveSecret(
            fixture,
            "rclone",
            "box",
            ["config": "[box]\ntype = sftp\nhost = 127.0.0.1\nport = \(sshd.port)\nuser = root\nkey_file = \(keys)/box\nshell_type = unix\n"]
        )
        let target: [String: Any] = ["type": "rclone", "remote": "box:\(remoteRoot)", "secret_name": "box", "part_size_bytes": 1_048_576]
        let test = try await HTTP.send("POST", fixture.base + "/api/targets/test", json: target)
        #expect(test.json?["ok"] as? Bool == true, "\(String(decoding: test.body, as: UTF8.self))")
        let job = try await createJob(fixture, source: source, target: target)
        let run = try await fixture.enqueue(job).id
        let finished = try await waitFor(fixture, run, ["success", "failed"])
        let log_run = try await fixture.events(run).compactMap { $0["message"] as? String }
        #expect(finished["status"] as? String == "success", "\(finished) \(log_run)")
        let runDir = "\(remoteRoot)/\(job)/\(run)"
        #expect(FileManager.default.fileExists(atPath: runDir + "/complete.json"))
        try await verifyAndRestore(fixture, run, source, label: "sftp")
        // Browsing works from the target too: without the catalog the worker built, the API fetches the index.
        try FileManager.default.removeItem(atPath: "\(fixture.dataDir)/catalog/\(run).sqlite")
        let entries = try await HTTP.send("GET", fixture.base + "/api/runs/\(run)/entries?prefix=\(source.dropFirst())/a")
        let names = (entries.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(entries.status == 200 && names.contains("random.bin") && names.contains("hello.txt"), "\(entries.status) \(names)")

        let deleted = try await HTTP.send("DELETE", fixture.base + "/api/runs/\(run)/snapshot")
        #expect(deleted.status == 200, "\(deleted)")
        #expect(await eventually(timeout: .seconds(30)) { !FileManager.default.fileExists(atPath: runDir) }, "\(janitor.log)")
    }

    /// An agent writes to WebDAV with the credentials its task carries (for that task only), and restores from there;
    /// the secret is nowhere in the agent's data directory or log.
    @Test func anAgentBacksUpToWebDAVAndRestoresFromIt() async throws {
        let fixture = try await RunsFixture()
        let source = try await makeSource(fixture)
        let links = AgentLinkTests()
        let agent = try links.startAgent(fixture, "a1", token: try await links.token(fixture))
        #expect(await eventually { await links.agents(fixture)["a1"]?["connected"] as? Bool == true })
        let agentId = try #require(await links.agents(fixture)["a1"]?["id"] as? String)
        let root = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let server = try await TargetServers.rcloneWebDAV(root: root, user: Self.user, password: Self.password, logDir: fixture.scratch.path)
        defer { server.stop() }
        try await saveSecret(
            fixture,
            "webdav",
            "nas",
            ["username": Self.user, "password": Self.password, "url": "http://127.0.0.1:\(server.port)/"]
        )
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]],
            "target": ["type": "webdav", "base_url": "http://127.0.0.1:\(server.port)/agent/", "secret_name": "nas", "part_size_bytes": 1_048_576],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "on-a1", "agent_id": agentId, "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(String(decoding: created.body, as: UTF8.self))")
        let run = try await fixture.enqueue(job).id
        let finished = try await waitFor(fixture, run, ["success", "failed"])
        let log_run = try await fixture.events(run).compactMap { $0["message"] as? String }
        #expect(finished["status"] as? String == "success" && finished["node_id"] as? String == agentId, "\(finished) \(log_run)")
        #expect(FileManager.default.fileExists(atPath: "\(root)/agent/\(job)/\(run)/complete.json"))
        try await verifyAndRestore(fixture, run, source, label: "agent")
        // Once the tasks' results are acked, the password is in no file of the agent's (nor ever in its log).
        var leaked = ""
        let gone = await eventually(timeout: .seconds(15)) {
            leaked =
                (try? await sh(fixture, "grep -rla '\(Self.password)' '\(fixture.scratch.path)/agent-a1' '\(agent.logPath)' || true").output) ?? "?"
            return leaked.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        }
        #expect(gone, "the password is kept by the agent: \(leaked)")
    }

    /// A local_dir on a file system that fills up mid-backup: a clear failure, the worker keeps working, and after the
    /// cleanup delay nothing of that run is left on the target; the run's log and the maintenance list say so.
    @Test func aBackupThatFillsItsFileSystemIsCleanedUpAfterTheDelay() async throws {
        let fixture = try await RunsFixture()
        let small = fixture.scratch.path + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mount = try await sh(fixture, "mount -t tmpfs -o size=3m tmpfs '\(small)'")
        try #require(mount.status == 0, "\(mount.output)")
        defer { umount2(small, Int32(MNT_DETACH)) }
        let source = fixture.scratch.path + "/big"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try await sh(fixture, "head -c 8000000 /dev/urandom > '\(source)/blob.bin'")
        try await fixture.startWorker("w0")
        let job = try await createJob(fixture, source: source, target: ["type": "local_dir", "base_dir": small, "part_size_bytes": 1_048_576])
        let run = try await fixture.enqueue(job).id
        let failed = try await waitFor(fixture, run, ["success", "failed"])
        #expect(failed["status"] as? String == "failed" && failed["error"] as? String == "target_write_failed", "\(failed)")
        let runDir = "\(small)/\(job)/\(run)"
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []).contains { $0.hasPrefix("payload.part") })

        // The worker keeps working.
        let tiny = fixture.scratch.path + "/tiny"
        try FileManager.default.createDirectory(atPath: tiny, withIntermediateDirectories: true)
        try "small".write(toFile: tiny + "/a.txt", atomically: true, encoding: .utf8)
        let other = try await createJob(fixture, name: "other", source: tiny, target: ["type": "local_dir", "base_dir": fixture.targetDir])
        let ok = try await fixture.enqueue(other).id
        #expect(try await waitFor(fixture, ok, ["success", "failed"])["status"] as? String == "success")

        // 0.0001 days is 8.6 s: the janitor removes the run's data once it is that old.
        let janitor = try Child.bastion(
            "bastion-janitor",
            dataDir: fixture.dataDir,
            logDir: fixture.scratch.path,
            ["--maintenance-interval", "1", "--incomplete-cleanup-days", "0.0001"]
        )
        fixture.children.append(janitor)
        #expect(await eventually(timeout: .seconds(40)) { !FileManager.default.fileExists(atPath: runDir) }, "\(janitor.log)")
        #expect(FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(other)/\(ok)/complete.json"), "a successful run is never touched")
        let list = try await HTTP.send("GET", fixture.base + "/api/maintenance/incomplete-cleanup")
        let rows = list.json?["items"] as? [[String: Any]] ?? (try? JSONSerialization.jsonObject(with: list.body) as? [[String: Any]]) ?? []
        #expect(rows.count == 1 && rows.first?["run_id"] as? String == run && rows.first?["status"] as? String == "done", "\(rows)")
        let events = try await fixture.events(run)
        #expect(events.last?["kind"] as? String == "cleanup", "\(events.compactMap { $0["kind"] })")
    }
}
