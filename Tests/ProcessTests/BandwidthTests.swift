import Core
import Foundation
import Targets
import TestClients
import Testing

/// Targets with a bandwidth limit (docs/targets.md, "Bandwidth") still back up, verify and restore identically: WebDAV
/// (paced PUT bodies, ranged GETs) on `rclone serve webdav`, and rclone over SFTP (paced pipes) to OpenSSH's sshd.
/// No timed assertions: `bastion-bench bandwidth` prints the rates.
@Suite(.serialized) struct BandwidthTests {
    @Test func limitedTargetsBackUpAndRestoreIdentically() async throws {
        let helpers = TargetsTests()
        let fixture = try await RunsFixture()
        let source = try await helpers.makeSource(fixture)
        try await fixture.startWorker("w0")
        let davRoot = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(
            root: davRoot,
            user: TargetsTests.user,
            password: TargetsTests.password,
            logDir: fixture.scratch.path
        )
        defer { dav.stop() }
        try await helpers.saveSecret(
            fixture,
            "webdav",
            "nas",
            ["username": TargetsTests.user, "password": TargetsTests.password, "url": "http://127.0.0.1:\(dav.port)/"]
        )
        let (sshd, key) = try await TargetServers.sshd(directory: fixture.scratch.path + "/ssh")
        defer { sshd.stop() }
        let keys = fixture.dataDir + "/rclone-keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: key, toPath: keys + "/box")
        try await helpers.saveSecret(
            fixture,
            "rclone",
            "box",
            ["config": "type = sftp\nhost = 127.0.0.1\nport = \(sshd.port)\nuser = root\nkey_file = \(keys)/box\nshell_type = unix\n"]
        )
        // 4 MiB/s, and a schedule entry for every hour of every day at 3 MiB/s (the schedule is what is applied).
        let bandwidth: [String: Any] = [
            "limit_bps": 4_194_304, "timezone": "Europe/Berlin",
            "schedule": [
                ["days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start_hour": 0, "end_hour": 24, "limit_bps": 3_145_728]
            ],
        ]
        let targets: [(String, [String: Any], String)] = [
            (
                "webdav",
                [
                    "type": "webdav", "base_url": "http://127.0.0.1:\(dav.port)/limited/", "secret_name": "nas", "part_size_bytes": 1_048_576,
                    "bandwidth": bandwidth,
                ],
                davRoot + "/limited"
            ),
            (
                "rclone",
                [
                    "type": "rclone", "remote": "box:\(fixture.scratch.path)/sftp-root", "secret_name": "box", "part_size_bytes": 1_048_576,
                    "bandwidth": bandwidth,
                ],
                fixture.scratch.path + "/sftp-root"
            ),
        ]
        for (label, target, root) in targets {
            // The test connection is not paced, and takes a target with its limits.
            let test = try await HTTP.send("POST", fixture.base + "/api/targets/test", json: target)
            #expect(test.json?["ok"] as? Bool == true, "\(label): \(String(decoding: test.body, as: UTF8.self))")
            let job = try await helpers.createJob(fixture, name: "limited-\(label)", source: source, target: target)
            // The job keeps its limits.
            let stored = try await HTTP.send("GET", fixture.base + "/api/jobs/\(job)")
            let storedTarget = (stored.json?["spec"] as? [String: Any])?["target"] as? [String: Any]
            #expect(
                (storedTarget?["bandwidth"] as? [String: Any])?["limit_bps"] as? Int == 4_194_304,
                "\(String(decoding: stored.body, as: UTF8.self))"
            )
            let run = try await fixture.enqueue(job).id
            let finished = try await helpers.waitFor(fixture, run, ["success", "failed"])
            let log = try await fixture.events(run).compactMap { $0["message"] as? String }
            #expect(finished["status"] as? String == "success", "\(label): \(finished) \(log)")
            let parts = try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(job)/\(run)").filter { $0.hasPrefix("payload.part") }
            #expect(parts.count >= 4, "\(label): \(parts)")
            try await helpers.verifyAndRestore(fixture, run, source, label: label)
        }
        // A bandwidth the spec does not define is refused, with its path.
        var bad = targets[0].1
        bad["bandwidth"] = ["limit_bps": 4_194_304, "burst_bytes": 1]
        let refused = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: ["name": "bad", "spec": ["v": 1, "type": "filesystem", "source": ["paths": [source]], "target": bad]]
        )
        #expect(refused.status == 400 && String(decoding: refused.body, as: UTF8.self).contains("target.bandwidth.burst_bytes"), "\(refused)")
        bad["bandwidth"] = ["limit_bps": 100]
        let tooLow = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: ["name": "bad", "spec": ["v": 1, "type": "filesystem", "source": ["paths": [source]], "target": bad]]
        )
        #expect(tooLow.status == 400 && String(decoding: tooLow.body, as: UTF8.self).contains("target.bandwidth.limit_bps"), "\(tooLow)")
        // A local_dir target is not paced: a limit on it is refused, not kept to do nothing.
        let local: [String: Any] = ["type": "local_dir", "base_dir": fixture.dataDir + "/local", "bandwidth": ["limit_bps": 4_194_304]]
        let unpaced = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: ["name": "local", "spec": ["v": 1, "type": "filesystem", "source": ["paths": [source]], "target": local]]
        )
        let unpacedBody = String(decoding: unpaced.body, as: UTF8.self)
        #expect(unpaced.status == 400 && unpacedBody.contains("bandwidth_unsupported") && unpacedBody.contains("target.bandwidth"), "\(unpaced)")
    }

    /// A cancelled rclone transfer ends its rclone process at once (a target that trickles bytes, here a download paced
    /// at 64 KiB/s, would otherwise hold the transfer until rclone is done): the task ends with `CancellationError` and
    /// no `rclone cat` of it is left.
    @Test func aCancelledRcloneDownloadEndsItsRclone() async throws {
        let scratch = TemporaryDirectory()
        let root = scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: root + "/b/cancel-job/run", withIntermediateDirectories: true)
        _ = try await Child.shell("head -c 4194304 /dev/urandom > '\(root)/b/cancel-job/run/object'", logDir: scratch.path)
        let dav = try await TargetServers.rcloneWebDAV(root: root, user: "u", password: "p", logDir: scratch.path)
        defer { dav.stop() }
        let obscured = try await Child.shell("rclone obscure p", logDir: scratch.path).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let target = RcloneTarget(remote: "dav:b", secretName: "dav", bandwidth: TargetBandwidth(limitBps: 65536))
        let secret = TargetSecret(
            .object(["config": .string("type = webdav\nurl = http://127.0.0.1:\(dav.port)/\nvendor = other\nuser = u\npass = \(obscured)\n")])
        )
        let store = try RcloneStore(
            location: RunLocation(target: .rclone(target), jobId: "cancel-job", runId: "run"),
            target: target,
            secret: secret,
            logger: nil
        )
        let destination = scratch.path + "/back"
        let download = Task { try await store.download("object", to: destination, maxBytes: 8 << 20) }
        let running = await eventually(timeout: .seconds(20)) { Self.rcloneCats() > 0 }
        #expect(running, "rclone cat never started")
        download.cancel()
        let ended: Result<Int64, any Error> = await { () async -> Result<Int64, any Error> in
            do { return .success(try await download.value) } catch { return .failure(error) }
        }()
        if case .failure(let error) = ended {
            #expect(error is CancellationError, "\(error)")
        } else {
            Issue.record("a 4 MiB download at 64 KiB/s finished although cancelled: \(ended)")
        }
        #expect(Self.rcloneCats() == 0)
    }

    /// The `rclone cat` processes of this test's object (their command line names it).
    static func rcloneCats() -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { pid in
            guard Int(pid) != nil, let line = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
            let arguments = line.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.contains("cat") && arguments.contains { $0.hasSuffix("cancel-job/run/object") }
        }.count
    }
}
