import Foundation
import TestClients
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Disaster recovery from the target alone (docs/recovery.md): an encrypted incremental job's hub is lost with its data
/// directory; a fresh hub given the target and the key's passphrase finds the snapshots and restores the chain
/// exactly; and `age -d` plus `tar -xG` alone do the same, following the documented steps.
@Suite(.serialized) struct DisasterRecoveryTests {
    static let agePTY = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Support/age_pty.py"
    let passphrase = "tangerine submarine 42"

    @discardableResult
    func sh(_ scratch: String, _ command: String) async throws -> (status: Int32, output: String) {
        let result = try await Child.shell(command, logDir: scratch)
        if result.status != 0 { Issue.record("\(command): \(result.output)") }
        return result
    }

    func waitFor(_ fixture: RunsFixture, _ run: String) async throws -> [String: Any] {
        _ = await eventually(timeout: .seconds(120)) { ["success", "failed", "canceled"].contains(await fixture.status(run) ?? "") }
        return try await fixture.run(run)
    }

    func backup(_ fixture: RunsFixture, _ job: String) async throws -> (id: String, events: [[String: Any]]) {
        let run = try await fixture.enqueue(job).id
        let finished = try await waitFor(fixture, run)
        let events = try await fixture.events(run)
        #expect(finished["status"] as? String == "success", "\(finished) \(events.compactMap { $0["message"] as? String })")
        return (run, events)
    }

    /// The requests that run scrypt (about a second in a release build, far longer in a debug one) wait longer than
    /// `HTTP.send`'s 5 s.
    static let patient: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 300
        configuration.httpShouldSetCookies = false
        configuration.httpCookieStorage = nil
        return URLSession(configuration: configuration)
    }()

    func send(_ method: String, _ url: String, json: [String: Any]) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        HTTP.authorize(&request, anonymous: false)
        request.httpBody = try JSONSerialization.data(withJSONObject: json)
        request.setValue("application/json", forHTTPHeaderField: "content-type")
        let (data, response) = try await Self.patient.data(for: request)
        let http = response as! HTTPURLResponse
        return HTTPResult(status: http.statusCode, headers: [:], body: data)
    }

    func recovery(_ fixture: RunsFixture, _ path: String, _ body: [String: Any]) async throws -> HTTPResult {
        try await send("POST", fixture.base + "/api/recovery/" + path, json: body)
    }

    @Test func aFreshHubAndAgeWithTarRecoverAnEncryptedChainFromTheTargetAlone() async throws {
        // The first hub: an encrypted incremental job, three snapshots, the key escrowed with a passphrase.
        let first = try await RunsFixture()
        try await first.startWorker("w0")
        let target = first.targetDir
        let work = Scratch()
        let source = work.path + "/src"
        try await sh(
            work.path,
            """
            set -e; mkdir -p '\(source)/docs' '\(source)/gone'; cd '\(source)'
            head -c 2500000 /dev/urandom > big.bin; echo one > docs/a.txt; echo bye > gone/x.txt; ln -s docs/a.txt link
            """
        )
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]],
            "target": ["type": "local_dir", "base_dir": target, "part_size_bytes": 1_048_576],
            "pipeline": ["incremental": ["full_every": 10], "encryption": ["type": "age_x25519", "key_name": "dr-key"]],
        ]
        let created = try await HTTP.send("POST", first.base + "/api/jobs", json: ["name": "precious", "schedule": "0 3 * * *", "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(String(decoding: created.body, as: UTF8.self))")
        var runs = [try await backup(first, job).id]

        // The escrow: refused when short or for an unknown key; then written beside the snapshots.
        let short = try await HTTP.send("PUT", first.base + "/api/keys/dr-key/escrow", json: ["passphrase": "short"])
        #expect(short.status == 400 && short.json?["error"] as? String == "invalid_passphrase", "\(short.status)")
        let unknown = try await HTTP.send("PUT", first.base + "/api/keys/nope/escrow", json: ["passphrase": passphrase])
        #expect(unknown.status == 404, "\(unknown.status)")
        let extra = try await HTTP.send("PUT", first.base + "/api/keys/dr-key/escrow", json: ["passphrase": passphrase, "hint": "x"])
        #expect(extra.status == 400 && extra.json?["error"] as? String == "unknown_field", "\(extra.status)")
        let escrow = try await send("PUT", first.base + "/api/keys/dr-key/escrow", json: ["passphrase": passphrase])
        #expect(escrow.status == 200, "\(String(decoding: escrow.body, as: UTF8.self))")
        #expect((escrow.json?["escrow"] as? [String: Any])?["targets_written"] as? Int == 1, "\(String(decoding: escrow.body, as: UTF8.self))")
        let keyFile = "\(target)/\(job)/bastion-key-dr-key.age"
        let jobFile = "\(target)/\(job)/bastion-job.json"
        #expect(FileManager.default.fileExists(atPath: keyFile) && FileManager.default.fileExists(atPath: jobFile))
        let keys = try await HTTP.get(first.base + "/api/keys").jsonArray ?? []
        #expect((keys.first?["escrow"] as? [String: Any])?["set_at"] is Int, "\(keys)")
        // The passphrase is nowhere on the hub, and the identity is nowhere on the target in the clear.
        let grep = try await Child.shell(
            "grep -rl '\(passphrase)' '\(first.dataDir)' '\(target)'; grep -rl AGE-SECRET-KEY '\(target)'",
            logDir: work.path
        )
        #expect(grep.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(grep.output)")

        // A backup puts a missing key file back (and leaves a present one alone).
        unlink(keyFile)
        try await sh(work.path, "cd '\(source)' && echo two >> docs/a.txt && rm -r gone && echo new > docs/b.txt")
        let second = try await backup(first, job)
        runs.append(second.id)
        #expect(FileManager.default.fileExists(atPath: keyFile), "\(second.events.compactMap { $0["message"] as? String })")
        #expect(second.events.contains { $0["kind"] as? String == "job_files" })
        try await sh(work.path, "cd '\(source)' && head -c 1000 /dev/urandom > docs/c.bin && chmod 600 docs/b.txt")
        let third = try await backup(first, job)
        runs.append(third.id)
        #expect(!third.events.contains { $0["kind"] as? String == "job_files" })
        let tree = try TreeFingerprint.of(source)

        // The hub is lost: processes gone, data directory deleted.
        for child in first.children { child.kill9() }
        try FileManager.default.removeItem(atPath: first.dataDir)

        // A fresh hub, given the target.
        let fresh = try await RunsFixture()
        try await fresh.startWorker("w1")
        let targetBody: [String: Any] = ["type": "local_dir", "base_dir": target]
        let scan = try await recovery(fresh, "scan", ["target": targetBody])
        #expect(scan.status == 200, "\(String(decoding: scan.body, as: UTF8.self))")
        let found = try #require((scan.json?["jobs"] as? [[String: Any]])?.first, "\(String(decoding: scan.body, as: UTF8.self))")
        #expect(found["job_id"] as? String == job && found["name"] as? String == "precious")
        #expect(found["encrypted"] as? Bool == true && found["key_name"] as? String == "dr-key" && found["has_key_file"] as? Bool == true)
        let snapshots = found["snapshots"] as? [[String: Any]] ?? []
        #expect(snapshots.compactMap { $0["run_id"] as? String } == runs, "\(snapshots)")
        #expect(snapshots.allSatisfy { $0["complete"] as? Bool == true })
        #expect(snapshots.compactMap { $0["base_run_id"] as? String } == Array(runs.dropLast()), "\(snapshots)")

        // Without the passphrase, or with a wrong one: refused, and nothing imported.
        let without = try await recovery(fresh, "import", ["target": targetBody])
        #expect(without.status == 400 && without.json?["error"] as? String == "passphrase_required", "\(without.status)")
        let wrong = try await recovery(fresh, "import", ["target": targetBody, "passphrase": passphrase + "!"])
        #expect(wrong.status == 400 && wrong.json?["error"] as? String == "wrong_passphrase", "\(wrong.status)")
        #expect(try await HTTP.get(fresh.base + "/api/jobs/\(job)").status == 404)
        #expect((try await HTTP.get(fresh.base + "/api/keys").jsonArray ?? []).isEmpty)

        let imported = try await recovery(fresh, "import", ["target": targetBody, "job_ids": [job], "passphrase": passphrase])
        #expect(imported.status == 200, "\(String(decoding: imported.body, as: UTF8.self))")
        let importedJob = (imported.json?["jobs"] as? [[String: Any]])?.first
        #expect(importedJob?["created"] as? Bool == true && importedJob?["snapshots_imported"] as? Int == 3, "\(String(describing: importedJob))")
        #expect(imported.json?["keys"] as? [String] == ["dr-key"])
        let recoveredJob = try await HTTP.get(fresh.base + "/api/jobs/\(job)")
        #expect(recoveredJob.json?["name"] as? String == "precious" && recoveredJob.json?["schedule"] is NSNull, "\(recoveredJob.json ?? [:])")
        let listed = try await HTTP.get(fresh.base + "/api/jobs/\(job)/snapshots").jsonArray ?? []
        #expect(Set(listed.compactMap { $0["run_id"] as? String }) == Set(runs), "\(listed)")
        #expect(listed.first { $0["run_id"] as? String == runs[2] }?["chain_level"] as? Int == 2, "\(listed)")

        // A second import changes nothing.
        let again = try await recovery(fresh, "import", ["target": targetBody, "passphrase": passphrase])
        #expect((again.json?["jobs"] as? [[String: Any]])?.first?["snapshots_imported"] as? Int == 0, "\(again.status)")

        // The newest snapshot of the chain restores exactly, and verifies.
        let out = work.path + "/restored"
        let queued = try await HTTP.send(
            "POST",
            fresh.base + "/api/runs/\(runs[2])/restore",
            json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
        )
        let restoreRun = try #require(queued.json?["run_id"] as? String, "\(String(decoding: queued.body, as: UTF8.self))")
        let restored = try await waitFor(fresh, restoreRun)
        let restoreLog = try await fresh.events(restoreRun).compactMap { $0["message"] as? String }
        #expect(restored["status"] as? String == "success", "\(restored) \(restoreLog)")
        let bastionTree = try TreeFingerprint.of(out + source)
        #expect(TreeFingerprint.differences(tree, bastionTree).isEmpty, "\(TreeFingerprint.differences(tree, bastionTree))")
        let verifyQueued = try await HTTP.send("POST", fresh.base + "/api/runs/\(runs[2])/verify")
        let verified = try await waitFor(fresh, try #require(verifyQueued.json?["run_id"] as? String))
        #expect(verified["status"] as? String == "success", "\(verified)")

        // By hand, as docs/recovery.md says: age -d the key file with the passphrase, then each snapshot of the chain
        // in order through age -d, zstd -d and tar -xG.
        let key = work.path + "/key.txt"
        try await sh(work.path, "python3 '\(Self.agePTY)' '\(passphrase)' age -d -o '\(key)' '\(keyFile)'")
        let byHand = work.path + "/by-hand"
        try FileManager.default.createDirectory(atPath: byHand, withIntermediateDirectories: true)
        for run in runs {
            try await sh(
                work.path,
                "cd '\(target)/\(job)' && cat \(run)/payload.part* | age -d -i '\(key)' | zstd -d"
                    + " | tar -xG --xattrs --xattrs-include='*' --acls --numeric-owner -p -f - -C '\(byHand)'"
            )
        }
        let handTree = try TreeFingerprint.of(byHand + source)
        #expect(TreeFingerprint.differences(tree, handTree).isEmpty, "\(TreeFingerprint.differences(tree, handTree))")
    }

    /// The same through WebDAV (rclone serve webdav) and rclone over SFTP: the escrow reaches both targets, a fresh hub
    /// with the same secrets scans, imports and restores from each.
    @Test func remoteTargetsCarryTheKeyAndRecoverToo() async throws {
        let first = try await RunsFixture()
        try await first.startWorker("w0")
        let work = Scratch()
        let source = work.path + "/src"
        try await sh(work.path, "mkdir -p '\(source)/d' && head -c 1500000 /dev/urandom > '\(source)/d/blob' && echo hi > '\(source)/note'")
        let davRoot = work.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(root: davRoot, user: "dr", password: "dr-secret", logDir: work.path)
        defer { dav.stop() }
        let (sshd, clientKey) = try await TargetServers.sshd(directory: work.path + "/ssh")
        defer { sshd.stop() }
        let sftpRoot = work.path + "/sftp-root"
        func secrets(_ fixture: RunsFixture) async throws {
            let keys = fixture.dataDir + "/rclone-keys"
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: clientKey, toPath: keys + "/box")
            let bodies: [(String, String, [String: Any])] = [
                ("webdav", "nas", ["username": "dr", "password": "dr-secret", "url": "http://127.0.0.1:\(dav.port)/"]),
                (
                    "rclone", "box",
                    ["config": "[box]\ntype = sftp\nhost = 127.0.0.1\nport = \(sshd.port)\nuser = root\nkey_file = \(keys)/box\nshell_type = unix\n"]
                ),
            ]
            for (kind, name, body) in bodies {
                let saved = try await HTTP.send("PUT", fixture.base + "/api/secrets/\(kind)/\(name)", json: body)
                #expect(saved.status == 200, "\(String(decoding: saved.body, as: UTF8.self))")
            }
        }
        try await secrets(first)
        let targets: [(label: String, target: [String: Any], root: String)] = [
            ("webdav", ["type": "webdav", "base_url": "http://127.0.0.1:\(dav.port)/backups/", "secret_name": "nas"], davRoot + "/backups"),
            ("sftp", ["type": "rclone", "remote": "box:\(sftpRoot)", "secret_name": "box"], sftpRoot),
        ]
        var jobs: [String] = []
        var runs: [String] = []
        for (label, target, _) in targets {
            let spec: [String: Any] = [
                "v": 1, "type": "filesystem", "source": ["paths": [source]], "target": target,
                "pipeline": ["encryption": ["type": "age_x25519", "key_name": "remote-key"]],
            ]
            let created = try await HTTP.send("POST", first.base + "/api/jobs", json: ["name": "remote-\(label)", "spec": spec])
            let job = try #require(created.json?["id"] as? String, "\(String(decoding: created.body, as: UTF8.self))")
            jobs.append(job)
            runs.append(try await backup(first, job).id)
        }
        let escrow = try await send("PUT", first.base + "/api/keys/remote-key/escrow", json: ["passphrase": passphrase])
        #expect((escrow.json?["escrow"] as? [String: Any])?["targets_written"] as? Int == 2, "\(String(decoding: escrow.body, as: UTF8.self))")
        for (index, (label, _, root)) in targets.enumerated() {
            for name in ["bastion-key-remote-key.age", "bastion-job.json"] {
                #expect(FileManager.default.fileExists(atPath: "\(root)/\(jobs[index])/\(name)"), "\(label): \(name)")
            }
        }
        for child in first.children { child.kill9() }
        try FileManager.default.removeItem(atPath: first.dataDir)

        let fresh = try await RunsFixture()
        try await fresh.startWorker("w1")
        try await secrets(fresh)
        for (index, (label, target, _)) in targets.enumerated() {
            let scan = try await recovery(fresh, "scan", ["target": target])
            let found = (scan.json?["jobs"] as? [[String: Any]])?.first
            #expect(found?["job_id"] as? String == jobs[index] && found?["has_key_file"] as? Bool == true, "\(label): \(scan.text)")
            #expect((found?["snapshots"] as? [[String: Any]])?.compactMap { $0["run_id"] as? String } == [runs[index]], "\(label): \(scan.text)")
            let imported = try await recovery(fresh, "import", ["target": target, "passphrase": passphrase])
            #expect((imported.json?["jobs"] as? [[String: Any]])?.first?["snapshots_imported"] as? Int == 1, "\(label): \(imported.text)")
            let out = work.path + "/restored-\(label)"
            let queued = try await HTTP.send(
                "POST",
                fresh.base + "/api/runs/\(runs[index])/restore",
                json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
            )
            let restoreRun = try #require(queued.json?["run_id"] as? String, "\(queued.text)")
            let restored = try await waitFor(fresh, restoreRun)
            #expect(restored["status"] as? String == "success", "\(label): \(restored)")
            let diff = try await Child.shell("diff -r '\(source)' '\(out)\(source)'", logDir: work.path)
            #expect(diff.status == 0, "\(label): \(diff.output)")
        }
    }

    /// A target's files are hostile: a manifest that names another run, a key file that is not one, names that are not
    /// run ids, and a job file that is not ours are reported or skipped, never trusted.
    @Test func aScanTrustsNothingItReads() async throws {
        let fixture = try await RunsFixture()
        let base = fixture.scratch.path + "/hostile"
        let job = "11111111-2222-3333-4444-555555555555"
        let run = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        try await sh(
            fixture.scratch.path,
            """
            set -e; mkdir -p '\(base)/\(job)/\(run)' '\(base)/..hidden' '\(base)/not a job'
            echo '{"format":"bastion-job/1","job_id":"someone-else","name":"x"}' > '\(base)/\(job)/bastion-job.json'
            echo '{}' > '\(base)/\(job)/\(run)/complete.json'
            echo '{"format_version":1,"job_id":"\(job)","run_id":"other","started_at":"2026-01-01T00:00:00Z","ended_at":"2026-01-01T00:00:01Z","pipeline":{"format":"archive_v1","encryption":"age","encryption_key":"k1","split_bytes":1},"artifacts":[],"entry_index":{"name":"entries.jsonl.zst","count":0}}' > '\(base)/\(job)/\(run)/manifest.json'
            echo 'not age' > '\(base)/\(job)/bastion-key-k1.age'
            """
        )
        let scan = try await recovery(fixture, "scan", ["target": ["type": "local_dir", "base_dir": base]])
        let jobs = scan.json?["jobs"] as? [[String: Any]] ?? []
        #expect(jobs.count == 1, "\(String(decoding: scan.body, as: UTF8.self))")
        #expect(jobs.first?["name"] is NSNull, "a job file naming another job is not used: \(jobs)")
        let snapshot = (jobs.first?["snapshots"] as? [[String: Any]])?.first
        #expect(
            snapshot?["complete"] as? Bool == false && (snapshot?["problem"] as? String)?.contains("another") == true,
            "\(String(describing: snapshot))"
        )
        let refused = try await recovery(fixture, "scan", ["target": ["type": "local_dir", "base_dir": base, "extra": 1]])
        #expect(refused.status == 400 && refused.json?["error"] as? String == "unknown_field", "\(refused.status)")
    }

    /// A target's `bastion-job.json` never carries hooks (docs/recovery.md: written without them), so one that does was
    /// not written by a hub: whoever can write to the target must not get a command run on the hub that imports it.
    @Test func anImportedJobRunsNoHookFromTheTarget() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let base = fixture.scratch.path + "/hostile-hooks"
        let marker = fixture.scratch.path + "/hook-ran"
        let job = "21111111-2222-3333-4444-555555555555"
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [fixture.scratch.path + "/src"]],
            "target": ["type": "local_dir", "base_dir": base],
            "hooks": ["before": [["argv": ["/usr/bin/touch", marker]]]],
            "pings": [["url": "http://127.0.0.1:9/planted"]],
        ]
        let document: [String: Any] = ["format": "bastion-job/1", "job_id": job, "name": "planted", "schedule_timezone": "UTC", "spec": spec]
        try FileManager.default.createDirectory(atPath: base + "/" + job, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: fixture.scratch.path + "/src", withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: base + "/" + job + "/bastion-job.json"))
        let imported = try await recovery(fixture, "import", ["target": ["type": "local_dir", "base_dir": base]])
        #expect(imported.status == 200, "\(String(decoding: imported.body, as: UTF8.self))")
        let stored = try await HTTP.get(fixture.base + "/api/jobs/\(job)").json ?? [:]
        let storedSpec = stored["spec"] as? [String: Any]
        #expect((storedSpec?["source"] as? [String: Any])?["paths"] as? [String] == [fixture.scratch.path + "/src"], "\(stored)")
        #expect(storedSpec?["hooks"] == nil && storedSpec?["pings"] == nil, "\(stored)")
        _ = try await backup(fixture, job)
        #expect(!FileManager.default.fileExists(atPath: marker), "a hook from the target ran on the hub")
    }

    /// A target's file that is a FIFO (a `manifest.json` on a disk someone else wrote) is not read: opening it would
    /// wait for a writer that never comes, and the scan would never answer.
    @Test func aScanDoesNotWaitOnAFIFO() async throws {
        let fixture = try await RunsFixture()
        let base = fixture.scratch.path + "/fifo"
        let job = "31111111-2222-3333-4444-555555555555"
        let run = "baaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        try await sh(
            fixture.scratch.path,
            "set -e; mkdir -p '\(base)/\(job)/\(run)'; echo '{}' > '\(base)/\(job)/\(run)/complete.json'; mkfifo '\(base)/\(job)/\(run)/manifest.json'"
        )
        // `HTTP.send` gives up after 5 s: a scan stuck in open(2) fails here.
        let scan = try await HTTP.send("POST", fixture.base + "/api/recovery/scan", json: ["target": ["type": "local_dir", "base_dir": base]])
        #expect(scan.status == 502 || scan.status == 200, "\(String(decoding: scan.body, as: UTF8.self))")
    }
}
