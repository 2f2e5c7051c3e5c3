import Core
import Foundation
import Secrets
import Store
import TestClients
import Testing

/// Targets are untrusted, and so are the settings that name them (docs/security.md, "Targets and secrets"): an rclone
/// secret may only name an allowed backend with allowed options, and a WebDAV secret goes only to the server it was
/// saved for. Real servers on 127.0.0.1, the real API.
@Suite(.serialized) struct TargetTrustTests {
    /// Seals a secret straight into the database, as a row saved before these checks existed.
    func saveOldSecret(_ fixture: RunsFixture, kind: String, name: String, _ value: JSONValue) async throws {
        let data = DataDirectory(path: fixture.dataDir)
        let sealed = try SecretBox.open(in: data).seal(Data(value.jsonString().utf8), kind: kind, name: name)
        try await AppDatabase.open(in: data).saveTargetSecret(kind: kind, name: name, sealed: sealed)
    }

    func saveRclone(_ fixture: RunsFixture, _ config: String) async throws -> (status: Int, error: String?, message: String) {
        let saved = try await HTTP.send("PUT", fixture.base + "/api/secrets/rclone/evil", json: ["config": config])
        return (saved.status, saved.json?["error"] as? String, saved.json?["message"] as? String ?? "")
    }

    /// `*_command`, backends that reach the hub's disk or other remotes, and key files outside `<data-dir>/rclone-keys`
    /// are refused at save with the option's name; a row saved before is refused at use, and its command never runs.
    @Test func rcloneConfigsAreAllowlisted() async throws {
        let fixture = try await RunsFixture()
        let pwned = fixture.scratch.path + "/pwned"
        let command = "type = webdav\nurl = http://127.0.0.1:9/\nbearer_token_command = touch \(pwned)\n"
        let refused: [(String, String)] = [
            (command, "bearer_token_command"),
            ("type = sftp\nhost = 127.0.0.1\nmd5sum_command = touch \(pwned)\n", "md5sum_command"),
            ("type = local\n", "local"),
            ("type = alias\nremote = /etc\n", "alias"),
            ("type = union\nupstreams = /etc /root\n", "union"),
            ("type = combine\nupstreams = a=/etc\n", "combine"),
            ("type = chunker\nremote = /etc\n", "chunker"),
            ("type = crypt\nremote = /etc\n", "crypt"),
            ("type = sftp\nhost = 127.0.0.1\nkey_file = /etc/ssh/ssh_host_ed25519_key\n", "key_file"),
            ("type = sftp\nhost = 127.0.0.1\nkey_file = \(fixture.dataDir)/rclone-keys/../master.key\n", "key_file"),
            ("type = sftp\nhost = 127.0.0.1\nkey_use_agent = true\n", "key_use_agent"),
            ("type = s3\nenv_auth = true\n", "env_auth"),
            ("type = drive\nservice_account_file = /etc/passwd\n", "service_account_file"),
        ]
        for (config, option) in refused {
            let saved = try await saveRclone(fixture, config)
            #expect(saved.status == 400 && saved.error == "rclone_config_refused" && saved.message.contains(option), "\(option): \(saved)")
        }
        // A key file in the key directory is fine.
        let keys = fixture.dataDir + "/rclone-keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: keys + "/id", contents: Data("key".utf8))
        let good = try await saveRclone(fixture, "type = sftp\nhost = 127.0.0.1\nkey_file = \(keys)/id\n")
        #expect(good.status == 200, "\(good)")

        // A row saved before the allowlist: Test connection refuses it before rclone runs.
        try await saveOldSecret(fixture, kind: "rclone", name: "old", .object(["config": .string(command)]))
        let test = try await HTTP.send(
            "POST",
            fixture.base + "/api/targets/test",
            json: ["type": "rclone", "remote": "old:bastion", "secret_name": "old"]
        )
        let step = (test.json?["steps"] as? [[String: Any]])?.first
        #expect(step?["code"] as? String == "rclone_config_refused", "\(String(decoding: test.body, as: UTF8.self))")
        try await Task.sleep(for: .milliseconds(500))
        #expect(!FileManager.default.fileExists(atPath: pwned), "a command in an rclone secret ran on the hub")
    }

    /// A WebDAV secret is saved for one server (its origin) and sent to no other: not by Test connection, not by a job
    /// (refused at save, and at run for a job saved before); a secret saved before origins were recorded is refused
    /// until saved again.
    @Test func aWebDAVSecretGoesOnlyToTheServerItWasSavedFor() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let root = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let server = try await TargetServers.rcloneWebDAV(root: root, user: "backup", password: "pw", logDir: fixture.scratch.path)
        defer { server.stop() }
        // Another server, which logs every request it gets: it must get none.
        let otherLog = fixture.scratch.path + "/other.log"
        let other = try await TargetServers.faultProxy(upstream: server.port, log: otherLog, options: [])
        defer { other.stop() }

        let noURL = try await HTTP.send("PUT", fixture.base + "/api/secrets/webdav/nas", json: ["username": "backup", "password": "pw"])
        #expect(noURL.status == 400 && noURL.json?["error"] as? String == "invalid_url", "\(noURL)")
        let saved = try await HTTP.send(
            "PUT",
            fixture.base + "/api/secrets/webdav/nas",
            json: ["username": "backup", "password": "pw", "url": "http://127.0.0.1:\(server.port)/dav/"]
        )
        #expect(saved.status == 200, "\(saved)")
        let own: [String: Any] = ["type": "webdav", "base_url": "http://127.0.0.1:\(server.port)/b/", "secret_name": "nas"]
        let ok = try await HTTP.send("POST", fixture.base + "/api/targets/test", json: own)
        #expect(ok.json?["ok"] as? Bool == true, "\(String(decoding: ok.body, as: UTF8.self))")

        let elsewhere: [String: Any] = ["type": "webdav", "base_url": "http://127.0.0.1:\(other.port)/b/", "secret_name": "nas"]
        let test = try await HTTP.send("POST", fixture.base + "/api/targets/test", json: elsewhere)
        let step = (test.json?["steps"] as? [[String: Any]])?.first
        #expect(test.json?["ok"] as? Bool == false && step?["code"] as? String == "webdav_origin_mismatch", "\(test)")
        let spec: [String: Any] = ["v": 1, "type": "filesystem", "source": ["paths": [root]], "target": elsewhere]
        let job = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "elsewhere", "spec": spec])
        #expect(job.status == 400 && job.json?["error"] as? String == "webdav_origin_mismatch", "\(job)")

        // A job saved for the right server whose secret is then saved for another one fails at run, sending nothing.
        let source = fixture.scratch.path + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: source + "/a.txt", contents: Data("a".utf8))
        let otherSpec: [String: Any] = ["v": 1, "type": "filesystem", "source": ["paths": [source]], "target": elsewhere]
        try await saveOldSecret(
            fixture,
            kind: "webdav",
            name: "nas",
            .object(["username": "backup", "password": "pw", "origin": .string("http://127.0.0.1:\(other.port)")])
        )
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "moved", "spec": otherSpec])
        let jobId = try #require(created.json?["id"] as? String, "\(created)")
        try await saveOldSecret(
            fixture,
            kind: "webdav",
            name: "nas",
            .object(["username": "backup", "password": "pw", "origin": .string("http://127.0.0.1:\(server.port)")])
        )
        let run = try await fixture.enqueue(jobId).id
        _ = await eventually(timeout: .seconds(30)) { ["success", "failed"].contains(await fixture.status(run) ?? "") }
        let finished = try await fixture.run(run)
        #expect(finished["status"] as? String == "failed" && finished["error"] as? String == "webdav_origin_mismatch", "\(finished)")

        // A secret saved before origins were recorded goes nowhere until saved again.
        try await saveOldSecret(fixture, kind: "webdav", name: "old", .object(["username": "backup", "password": "pw"]))
        let old = try await HTTP.send(
            "POST",
            fixture.base + "/api/targets/test",
            json: ["type": "webdav", "base_url": "http://127.0.0.1:\(other.port)/b/", "secret_name": "old"]
        )
        #expect((old.json?["steps"] as? [[String: Any]])?.first?["code"] as? String == "webdav_secret_unbound", "\(old)")

        let logged = (try? String(contentsOfFile: otherLog, encoding: .utf8)) ?? ""
        #expect(logged.isEmpty, "the other server got: \(logged)")
    }

    /// An entries index rewritten on the target (another path, same size or not) is never used: browsing a remote
    /// snapshot whose catalog must be rebuilt answers `snapshot_corrupt`, and so does a restore, before writing anything.
    @Test func aTamperedEntriesIndexOnTheTargetIsNeverUsed() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        // Apache serves what is on its disk now (rclone serve caches sizes, and would answer with the old length).
        let root = fixture.scratch.path + "/dav-apache/root"
        let server = try await TargetServers.apacheWebDAV(root: root, user: "backup", password: "pw", directory: fixture.scratch.path + "/dav-apache")
        defer { server.stop() }
        let saved = try await HTTP.send(
            "PUT",
            fixture.base + "/api/secrets/webdav/nas",
            json: ["username": "backup", "password": "pw", "url": "http://127.0.0.1:\(server.port)/"]
        )
        #expect(saved.status == 200, "\(saved)")
        let source = fixture.scratch.path + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: source + "/hello.txt", contents: Data("hello".utf8))
        let target: [String: Any] = ["type": "webdav", "base_url": "http://127.0.0.1:\(server.port)/b/", "secret_name": "nas"]
        let spec: [String: Any] = ["v": 1, "type": "filesystem", "source": ["paths": [source]], "target": target]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "dav", "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(created)")
        let run = try await fixture.enqueue(job).id
        _ = await eventually(timeout: .seconds(60)) { ["success", "failed"].contains(await fixture.status(run) ?? "") }
        #expect(await fixture.status(run) == "success")

        // The target rewrites the index: hello.txt becomes a file that was never backed up.
        let index = "\(root)/b/\(job)/\(run)/entries.jsonl.zst"
        let rewrite = try await Child.shell(
            "zstd -dc '\(index)' | sed s/hello.txt/evil.txt/g | zstd -q -19 -f -o '\(index).new' && mv '\(index).new' '\(index)'",
            logDir: fixture.scratch.path
        )
        #expect(rewrite.status == 0, "\(rewrite.output)")
        try FileManager.default.removeItem(atPath: "\(fixture.dataDir)/catalog/\(run).sqlite")
        let entries = try await HTTP.send("GET", fixture.base + "/api/runs/\(run)/entries?prefix=\(source.dropFirst())")
        #expect(entries.json?["error"] as? String == "snapshot_corrupt", "\(entries.status) \(String(decoding: entries.body, as: UTF8.self))")
        #expect(!String(decoding: entries.body, as: UTF8.self).contains("evil.txt"))

        let out = fixture.scratch.path + "/restored"
        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(run)/restore",
            json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String, "\(restore)")
        _ = await eventually(timeout: .seconds(60)) { ["success", "failed"].contains(await fixture.status(restoreRun) ?? "") }
        let restored = try await fixture.run(restoreRun)
        #expect(restored["status"] as? String == "failed" && restored["error"] as? String == "snapshot_corrupt", "\(restored)")
        #expect(!FileManager.default.fileExists(atPath: out + source + "/hello.txt"), "nothing restored")

        // An index larger than the manifest records is not even downloaded past that size.
        _ = try await Child.shell("head -c 20000000 /dev/zero >> '\(index)'", logDir: fixture.scratch.path)
        let big = try await HTTP.send("GET", fixture.base + "/api/runs/\(run)/entries?prefix=\(source.dropFirst())")
        #expect(big.json?["error"] as? String == "target_object_too_large", "\(big.status) \(String(decoding: big.body, as: UTF8.self))")
    }
}
