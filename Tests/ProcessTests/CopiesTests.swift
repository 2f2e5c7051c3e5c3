import Foundation
import TestClients
import Testing

/// Copies (docs/targets.md, "Copies") against real servers on 127.0.0.1: a local primary copied to WebDAV
/// (`rclone serve webdav`, behind the logging proxy) and to rclone over SFTP (OpenSSH's sshd).
@Suite(.serialized) struct CopiesTests {
    static let user = "backup"
    static let password = "s3cret-pass"
    let targets = TargetsTests()

    func snapshots(_ fixture: RunsFixture, _ job: String) async throws -> [[String: Any]] {
        let listed = try await HTTP.send("GET", fixture.base + "/api/jobs/\(job)/snapshots")
        return listed.jsonArray ?? []
    }

    /// The snapshot's locations by id.
    func locations(_ fixture: RunsFixture, _ job: String, _ run: String) async throws -> [String: [String: Any]] {
        let snapshot = try await snapshots(fixture, job).first { $0["run_id"] as? String == run }
        var result: [String: [String: Any]] = [:]
        for location in snapshot?["locations"] as? [[String: Any]] ?? [] { result[location["id"] as? String ?? ""] = location }
        return result
    }

    /// Waits until every location of `run` is present (false when one failed or time ran out).
    func allPresent(_ fixture: RunsFixture, _ job: String, _ run: String, count: Int) async -> Bool {
        await eventually(timeout: .seconds(120)) {
            let found = (try? await locations(fixture, job, run)) ?? [:]
            return found.count == count && found.values.allSatisfy { $0["status"] as? String == "present" }
        }
    }

    func operation(_ fixture: RunsFixture, _ path: String, _ body: [String: Any]) async throws -> [String: Any] {
        let queued = try await HTTP.send("POST", fixture.base + path, json: body)
        let run = try #require(queued.json?["run_id"] as? String, "\(path): \(queued.status) \(String(decoding: queued.body, as: UTF8.self))")
        let finished = try await targets.waitFor(fixture, run, ["success", "failed"])
        let log = try await fixture.events(run).compactMap { $0["message"] as? String }
        #expect(finished["status"] as? String == "success", "\(path) \(body): \(finished) \(log)")
        return finished
    }

    /// An incremental chain copied to WebDAV and to rclone over SFTP; the copy to WebDAV is killed (SIGKILL) with a part
    /// upload hanging and resumes without sending again the parts the server confirmed; then the primary directory is
    /// deleted and each copy verifies and restores the chain's newest snapshot identical to the source.
    @Test func anIncrementalChainIsCopiedResumedAndRestoredFromEachCopy() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        try ArchiveFormatTests.makeTree(source)
        try await targets.sh(fixture, "head -c 4500000 /dev/urandom > '\(source)/a/random.bin'")
        let worker = try await fixture.startWorker("w-stable")
        let davRoot = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(root: davRoot, user: Self.user, password: Self.password, logDir: fixture.scratch.path)
        defer { dav.stop() }
        let proxyLog = fixture.scratch.path + "/proxy.log"
        // The 3rd part PUT hangs once: the worker is killed while it waits.
        let proxy = try await TargetServers.faultProxy(upstream: dav.port, log: proxyLog, options: ["--stall-put", "3"])
        defer { proxy.stop() }
        try await targets.saveSecret(
            fixture,
            "webdav",
            "nas",
            ["username": Self.user, "password": Self.password, "url": "http://127.0.0.1:\(proxy.port)/"]
        )
        let (sshd, key) = try await TargetServers.sshd(directory: fixture.scratch.path + "/ssh")
        defer { sshd.stop() }
        let sftpRoot = fixture.scratch.path + "/sftp-root"
        let keys = fixture.dataDir + "/rclone-keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: key, toPath: keys + "/box")
        try await targets.saveSecret(
            fixture,
            "rclone",
            "box",
            ["config": "[box]\ntype = sftp\nhost = 127.0.0.1\nport = \(sshd.port)\nuser = root\nkey_file = \(keys)/box\nshell_type = unix\n"]
        )
        let primary = fixture.targetDir
        try FileManager.default.createDirectory(atPath: primary, withIntermediateDirectories: true)
        let webdav: [String: Any] = [
            "type": "webdav", "base_url": "http://127.0.0.1:\(proxy.port)/b", "secret_name": "nas", "part_size_bytes": 1_048_576,
        ]
        let sftp: [String: Any] = ["type": "rclone", "remote": "box:\(sftpRoot)", "secret_name": "box", "part_size_bytes": 1_048_576]
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]],
            "target": ["type": "local_dir", "base_dir": primary, "part_size_bytes": 1_048_576],
            "pipeline": ["incremental": ["full_every": 5]],
            "copies": [["target": webdav], ["target": sftp]],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "copied", "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(created.status) \(String(decoding: created.body, as: UTF8.self))")

        // A copy target equal to the primary, or an unknown key in a copy, is refused.
        var duplicate = spec
        duplicate["copies"] = [["target": spec["target"]!]]
        let refused = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "dup", "spec": duplicate])
        #expect(refused.status == 400, "\(refused.status) \(String(decoding: refused.body, as: UTF8.self))")
        var unknown = spec
        unknown["copies"] = [["target": webdav, "tagret": 1]]
        let unknownAnswer = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "unknown", "spec": unknown])
        #expect(unknownAnswer.json?["error"] as? [String: Any] != nil || unknownAnswer.status == 400)
        #expect(
            String(decoding: unknownAnswer.body, as: UTF8.self).contains("copies.0.tagret"),
            "\(String(decoding: unknownAnswer.body, as: UTF8.self))"
        )

        // The full snapshot: its copy to WebDAV hangs on the 3rd part; the worker is killed there.
        let first = try await fixture.enqueue(job).id
        let backedUp = try await targets.waitFor(fixture, first, ["success", "failed"])
        #expect(backedUp["status"] as? String == "success", "\(backedUp)")
        #expect(await eventually(timeout: .seconds(90)) { ((try? String(contentsOfFile: proxyLog, encoding: .utf8)) ?? "").contains("STALLED") })
        worker.kill9()
        let lines = try String(contentsOfFile: proxyLog, encoding: .utf8).split(separator: "\n").map(String.init)
        let before = lines.filter { $0.hasPrefix("PUT") && $0.contains("payload.part") && $0.hasSuffix(" 201") }
        #expect(before.count == 2, "two parts copied before the kill: \(before)")
        try await fixture.startWorker("w-stable")
        let firstCopied = await allPresent(fixture, job, first, count: 3)
        let firstLocations = try await locations(fixture, job, first)
        #expect(firstCopied, "\(firstLocations)")
        let after = try String(contentsOfFile: proxyLog, encoding: .utf8).split(separator: "\n").dropFirst(lines.count)
            .filter { $0.hasPrefix("PUT") && $0.contains("payload.part") }
        #expect(!after.contains { $0.contains("part000001") || $0.contains("part000002") }, "confirmed parts not sent again: \(after)")
        #expect(after.contains { $0.contains("part000003") }, "\(after)")
        let davCopy = try #require(try await locations(fixture, job, first).first { $0.key != "primary" && $0.value["type"] as? String == "webdav" })
        let copyRun = try await fixture.run(try #require(davCopy.value["copy_run_id"] as? String))
        let summary = try #require(copyRun["summary"] as? [String: Any])
        #expect(summary["files_kept"] as? Int == 2, "\(summary)")
        let copyEvents = try await fixture.events(copyRun["id"] as! String)
        #expect(copyEvents.contains { $0["kind"] as? String == "requeued" })

        // The incremental snapshot, copied to both.
        try "changed\n".write(toFile: source + "/a/new.txt", atomically: true, encoding: .utf8)
        let second = try await fixture.enqueue(job).id
        let incremental = try await targets.waitFor(fixture, second, ["success", "failed"])
        #expect(incremental["status"] as? String == "success", "\(incremental)")
        #expect(((incremental["summary"] as? [String: Any])?["incremental"] as? [String: Any])?["level"] as? Int == 1, "\(incremental)")
        let secondCopied = await allPresent(fixture, job, second, count: 3)
        let secondLocations = try await locations(fixture, job, second)
        #expect(secondCopied, "\(secondLocations)")
        #expect(FileManager.default.fileExists(atPath: "\(davRoot)/b/\(job)/\(second)/complete.json"))
        #expect(FileManager.default.fileExists(atPath: "\(sftpRoot)/\(job)/\(second)/complete.json"))

        // The primary is gone: each copy verifies and restores the chain (its base read at the same copy).
        try FileManager.default.removeItem(atPath: "\(primary)/\(job)")
        let copies = try await locations(fixture, job, second).keys.filter { $0 != "primary" }.sorted()
        #expect(copies.count == 2)
        for location in copies {
            _ = try await operation(fixture, "/api/runs/\(second)/verify", ["location": location])
            let out = fixture.scratch.path + "/restored-\(location.dropFirst(5))"
            _ = try await operation(
                fixture,
                "/api/runs/\(second)/restore",
                ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail", "location": location]
            )
            let diff = try await targets.sh(fixture, "diff -r --no-dereference '\(source)' '\(out)\(source)'")
            #expect(diff.status == 0, "\(location): \(diff.output)")
        }
        // Browsing reads the index at the chosen copy (the catalog the worker built removed first).
        for location in copies {
            try? FileManager.default.removeItem(atPath: "\(fixture.dataDir)/catalog/\(second).sqlite")
            let entries = try await HTTP.send("GET", fixture.base + "/api/runs/\(second)/entries?prefix=\(source.dropFirst())/a&location=\(location)")
            let names = (entries.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(entries.status == 200 && names.contains("new.txt") && names.contains("random.bin"), "\(location): \(entries.status) \(names)")
        }
        // A location the snapshot is not at is refused.
        let unavailable = try await HTTP.send("POST", fixture.base + "/api/runs/\(second)/verify", json: ["location": "copy:000000000000"])
        #expect(unavailable.status == 409 && String(decoding: unavailable.body, as: UTF8.self).contains("location_unavailable"))
    }

    /// Retention decides per location: a copy that failed for the newest snapshot (a wrong password) leaves that
    /// location with a different set, so `keep_last: 1` deletes the middle snapshot at the primary and keeps it at the
    /// copy, and deleting at one location never touches the other; the failed copy shows on the overview and a retry
    /// copies it.
    @Test func retentionAtOneLocationLeavesTheOtherAlone() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        try ArchiveFormatTests.makeTree(source)
        try await fixture.startWorker("w0")
        let janitor = try Child.bastion(
            "bastion-janitor",
            dataDir: fixture.dataDir,
            logDir: fixture.scratch.path,
            ["--maintenance-interval", "3600"]
        )
        fixture.children.append(janitor)
        let davRoot = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(root: davRoot, user: Self.user, password: Self.password, logDir: fixture.scratch.path)
        defer { dav.stop() }
        let secret: [String: Any] = ["username": Self.user, "password": Self.password, "url": "http://127.0.0.1:\(dav.port)/"]
        try await targets.saveSecret(fixture, "webdav", "nas", secret)
        let primary = fixture.targetDir
        try FileManager.default.createDirectory(atPath: primary, withIntermediateDirectories: true)
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]], "target": ["type": "local_dir", "base_dir": primary],
            "copies": [["target": ["type": "webdav", "base_url": "http://127.0.0.1:\(dav.port)/b", "secret_name": "nas"]]],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "kept", "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(String(decoding: created.body, as: UTF8.self))")
        var runs: [String] = []
        for index in 0..<3 {
            if index == 2 {
                var wrong = secret
                wrong["password"] = "wrong-password"
                try await targets.saveSecret(fixture, "webdav", "nas", wrong)
            }
            let run = try await fixture.enqueue(job).id
            let finished = try await targets.waitFor(fixture, run, ["success", "failed"])
            #expect(finished["status"] as? String == "success", "\(finished)")
            runs.append(run)
            if index < 2 { #expect(await allPresent(fixture, job, run, count: 2)) }
        }
        let copyId = try #require(try await locations(fixture, job, runs[0]).keys.first { $0 != "primary" })
        let failed = await eventually(timeout: .seconds(60)) {
            (try? await locations(fixture, job, runs[2]))?[copyId]?["status"] as? String == "failed"
        }
        let failedLocations = try await locations(fixture, job, runs[2])
        #expect(failed, "\(failedLocations)")
        let dashboard = try await HTTP.send("GET", fixture.base + "/api/dashboard")
        let card = (dashboard.json?["jobs"] as? [[String: Any]])?.first { $0["id"] as? String == job }
        #expect(card?["state"] as? String == "attention", "\(card ?? [:])")
        let attention = card?["attention"] as? [[String: Any]] ?? []
        #expect(attention.contains { $0["reason"] as? String == "copy_failed" && $0["run_id"] as? String == runs[2] }, "\(attention)")

        try await targets.saveSecret(fixture, "webdav", "nas", secret)
        let applied = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs/\(job)/retention/apply",
            json: ["retention": ["enabled": true, "keep_last": 1]]
        )
        #expect(applied.status == 200, "\(String(decoding: applied.body, as: UTF8.self))")
        // Primary {0, 1, 2} keeps 2; the copy {0, 1} keeps 1.
        #expect(await eventually(timeout: .seconds(60)) { !FileManager.default.fileExists(atPath: "\(primary)/\(job)/\(runs[1])") })
        #expect(await eventually(timeout: .seconds(60)) { !FileManager.default.fileExists(atPath: "\(davRoot)/b/\(job)/\(runs[0])") })
        #expect(FileManager.default.fileExists(atPath: "\(davRoot)/b/\(job)/\(runs[1])/complete.json"), "the copy keeps its own newest")
        #expect(FileManager.default.fileExists(atPath: "\(primary)/\(job)/\(runs[2])/complete.json"))
        let kept = try await locations(fixture, job, runs[1])
        #expect(kept[copyId]?["status"] as? String == "present")
        // The snapshot deleted at the primary restores from the copy.
        let out = fixture.scratch.path + "/restored"
        _ = try await operation(
            fixture,
            "/api/runs/\(runs[1])/restore",
            ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
        )
        let diff = try await targets.sh(fixture, "diff -r --no-dereference '\(source)' '\(out)\(source)'")
        #expect(diff.status == 0, "\(diff.output)")

        // The failed copy, retried, is copied.
        let retried = try await HTTP.send("POST", fixture.base + "/api/runs/\(runs[2])/copies/\(copyId)/retry")
        #expect(retried.status == 200, "\(String(decoding: retried.body, as: UTF8.self))")
        let retriedCopied = await allPresent(fixture, job, runs[2], count: 2)
        let retriedLocations = try await locations(fixture, job, runs[2])
        #expect(retriedCopied, "\(retriedLocations)")
    }
}
