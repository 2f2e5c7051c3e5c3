import Foundation
import Glibc
import TestClients
import Testing

/// Consistency of live files and btrfs snapshots (docs/architecture.md, "Consistency of live files", "Filesystem
/// snapshots") through the real API and worker. The worker pauses in the middle of reading a file named N when the
/// FIFO `<pause dir>/N.pause` exists (`BASTION_TEST_PAUSE_DIR`): the test changes files while it waits, with no timing.
@Suite(.serialized) struct SourceSnapshotTests {
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

    /// Waits until the worker is paused on `fifo` and returns the descriptor that holds it there: opening a FIFO for
    /// writing without blocking succeeds only once its reader is opening it. Closing the descriptor lets it go on.
    func paused(at fifo: String) async throws -> Int32 {
        var descriptor: Int32 = -1
        _ = await eventually(timeout: .seconds(60)) {
            descriptor = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            return descriptor >= 0
        }
        guard descriptor >= 0 else { throw FixtureError("the worker never reached \(fifo)") }
        return descriptor
    }

    func consistency(_ run: [String: Any]) -> [String: Any] {
        (run["summary"] as? [String: Any])?["consistency"] as? [String: Any] ?? [:]
    }

    func listing(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    @Test func aFileAppendedToWhileReadIsReportedUnderWarnFailsUnderFailAndIsOnlyCountedUnderIgnore() async throws {
        let fixture = try await RunsFixture()
        let pauses = fixture.scratch.path + "/pauses"
        try await sh(fixture, "mkdir -p '\(pauses)' && mkfifo '\(pauses)/grow.log.pause'")
        try await fixture.startWorker("w0", environment: ["BASTION_TEST_PAUSE_DIR": pauses])

        for policy in ["warn", "fail", "ignore"] {
            let source = fixture.scratch.path + "/src-\(policy)"
            try await sh(
                fixture,
                "mkdir -p '\(source)' && head -c 3145728 /dev/urandom > '\(source)/grow.log' && echo steady > '\(source)/steady.txt'"
            )
            let job = try await createJob(fixture, source: ["paths": [source], "consistency_policy": policy])
            let run = try await fixture.enqueue(job).id
            let hold = try await paused(at: pauses + "/grow.log.pause")
            // A MiB of the file is read: it grows by 10 bytes before the rest is.
            try await sh(fixture, "printf 0123456789 >> '\(source)/grow.log'")
            close(hold)
            let finished = try await finish(fixture, run)
            let events = try await fixture.events(run)
            let reported = events.filter { $0["kind"] as? String == "source_consistency" }
            let summary = consistency(finished)
            let log = events.compactMap { $0["message"] as? String }
            #expect(summary["changed_total"] as? Int == 1 && summary["size_total"] as? Int == 1, "\(policy): \(finished)")
            let sample = summary["sample"] as? [[String: Any]] ?? []
            #expect(sample.count == 1 && sample.first?["path"] as? String == source + "/grow.log" && sample.first?["reason"] as? String == "size")
            let runDirectory = "\(fixture.targetDir)/\(job)/\(run)"
            switch policy {
            case "warn":
                #expect(finished["status"] as? String == "success", "\(finished) \(log)")
                #expect(reported.count == 1 && reported.first?["level"] as? String == "warn", "\(events)")
                #expect((finished["summary"] as? [String: Any])?["warnings"] as? Int == 1)
                // Only the size stat'ed before reading is archived.
                let totals = ((finished["summary"] as? [String: Any])?["metrics"] as? [String: Any])?["source_total"] as? [String: Any]
                #expect(totals?["bytes"] as? Int == 3_145_728 + 7, "\(String(describing: totals))")
                #expect(FileManager.default.fileExists(atPath: runDirectory + "/complete.json"))
            case "fail":
                #expect(finished["status"] as? String == "failed" && finished["error"] as? String == "source_consistency", "\(finished) \(log)")
                #expect(reported.count == 1 && reported.first?["level"] as? String == "error", "\(events)")
                #expect(!FileManager.default.fileExists(atPath: runDirectory + "/complete.json"))
            default:
                #expect(finished["status"] as? String == "success", "\(finished) \(log)")
                #expect(reported.isEmpty, "\(events)")
                #expect((finished["summary"] as? [String: Any])?["warnings"] as? Int == 0)
            }
        }

        // Under `fail`, a threshold of one changed file lets one through.
        let source = fixture.scratch.path + "/src-threshold"
        try await sh(fixture, "mkdir -p '\(source)' && head -c 3145728 /dev/urandom > '\(source)/grow.log'")
        let job = try await createJob(fixture, source: ["paths": [source], "consistency_policy": "fail", "consistency_fail_threshold": 1])
        let run = try await fixture.enqueue(job).id
        let hold = try await paused(at: pauses + "/grow.log.pause")
        try await sh(fixture, "printf x >> '\(source)/grow.log'")
        close(hold)
        let finished = try await finish(fixture, run)
        #expect(finished["status"] as? String == "success" && consistency(finished)["changed_total"] as? Int == 1, "\(finished)")
    }

    /// A loop-mounted btrfs image with a subvolume `vol`, made by the test; nil (with the reason recorded) when loop
    /// devices cannot be used here.
    final class BtrfsImage: @unchecked Sendable {
        let mount: String
        var volume: String { mount + "/vol" }

        init?(in directory: String) async throws {
            mount = directory + "/mnt"
            let made = try await Child.shell(
                "set -e; truncate -s 300M '\(directory)/btrfs.img'; mkfs.btrfs -q '\(directory)/btrfs.img'; mkdir -p '\(mount)'; "
                    + "mount -o loop '\(directory)/btrfs.img' '\(mount)'; btrfs subvolume create '\(mount)/vol' >/dev/null",
                logDir: directory
            )
            guard made.status == 0 else {
                Issue.record("loop-mounted btrfs is unavailable here, btrfs tests not run: \(made.output)")
                return nil
            }
        }

        func unmount(_ logDir: String) async {
            _ = try? await Child.shell("umount '\(mount)' || umount -l '\(mount)'", logDir: logDir)
        }
    }

    @Test func aBtrfsSnapshotIsArchivedUnderTheLivePathsAndDeletedAfterAndIncrementalsStillFindFilesUnchanged() async throws {
        let fixture = try await RunsFixture()
        guard let image = try await BtrfsImage(in: fixture.scratch.path) else { return }
        let pauses = fixture.scratch.path + "/pauses"
        var failure: (any Error)?
        do {
            let volume = image.volume
            try await sh(
                fixture,
                "set -e; mkdir -p '\(pauses)' '\(volume)/data'; mkfifo '\(pauses)/big.bin.pause'; head -c 3145728 /dev/urandom > '\(volume)/data/big.bin'; "
                    + "cp '\(volume)/data/big.bin' '\(fixture.scratch.path)/big.before'; echo before > '\(volume)/data/note.txt'"
            )
            let worker = try await fixture.startWorker("w0", environment: ["BASTION_TEST_PAUSE_DIR": pauses])
            let job = try await createJob(fixture, source: ["paths": [volume], "snapshot_mode": "required"])
            let run = try await fixture.enqueue(job).id
            let hold = try await paused(at: pauses + "/big.bin.pause")
            // While the snapshot is read: one snapshot and its record exist; the live files change.
            let snapshots = listing(volume + "/.bastion-snapshots")
            #expect(snapshots.count == 1 && snapshots.first?.hasPrefix(run) == true, "\(snapshots)")
            #expect(listing(fixture.dataDir + "/snapshots").count == 1)
            try await sh(
                fixture,
                "printf more >> '\(volume)/data/big.bin'; echo after > '\(volume)/data/note.txt'; echo new > '\(volume)/data/new.txt'"
            )
            close(hold)
            let finished = try await finish(fixture, run)
            let events = try await fixture.events(run)
            let kinds = events.compactMap { $0["kind"] as? String }
            #expect(finished["status"] as? String == "success", "\(finished) \(events)")
            #expect(kinds.contains("snapshot_started") && kinds.contains("snapshot_ready") && !kinds.contains("snapshot_unavailable"), "\(kinds)")
            // The snapshot does not change while read.
            #expect(consistency(finished)["changed_total"] as? Int == 0, "\(finished)")
            #expect(listing(volume + "/.bastion-snapshots").isEmpty && listing(fixture.dataDir + "/snapshots").isEmpty)

            // Restored: the state at snapshot time, under the live paths, without the snapshot store.
            let out = fixture.scratch.path + "/out"
            let queued = try await HTTP.send(
                "POST",
                fixture.base + "/api/runs/\(run)/restore",
                json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
            )
            let restore = try #require(queued.json?["run_id"] as? String, "\(queued.text)")
            #expect(try await finish(fixture, restore)["status"] as? String == "success")
            let restored = out + volume
            #expect(listing(restored) == ["data"], "\(listing(restored))")
            #expect(listing(restored + "/data") == ["big.bin", "note.txt"])
            #expect(try String(contentsOfFile: restored + "/data/note.txt", encoding: .utf8) == "before\n")
            #expect(FileManager.default.contentsEqual(atPath: restored + "/data/big.bin", andPath: fixture.scratch.path + "/big.before"))

            // Incremental over a snapshot: the snapshot has a device of its own, recorded as the live one, so a 3 MiB
            // file unchanged since a snapshot of the live files is not stored again.
            try await sh(fixture, "rm '\(pauses)/big.bin.pause'")
            var spec: [String: Any] = [
                "v": 1, "type": "filesystem", "source": ["paths": [volume + "/data"], "snapshot_mode": "off"],
                "target": ["type": "local_dir", "base_dir": fixture.targetDir], "pipeline": ["incremental": ["full_every": 10]],
            ]
            let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "incremental", "spec": spec])
            let incremental = try #require(created.json?["id"] as? String, "\(created.text)")
            var transfers: [Int] = []
            for mode in ["off", "required"] {
                spec["source"] = ["paths": [volume + "/data"], "snapshot_mode": mode]
                let updated = try await HTTP.send("PUT", fixture.base + "/api/jobs/\(incremental)", json: ["name": "incremental", "spec": spec])
                #expect(updated.status == 200, "\(updated.text)")
                let id = try await fixture.enqueue(incremental).id
                let done = try await finish(fixture, id)
                #expect(done["status"] as? String == "success", "\(done)")
                let kinds = try await fixture.events(id).compactMap { $0["kind"] as? String }
                #expect(kinds.contains("snapshot_ready") == (mode == "required"), "\(kinds)")
                let metrics = (done["summary"] as? [String: Any])?["metrics"] as? [String: Any]
                transfers.append(metrics?["transfer_total_bytes"] as? Int ?? -1)
            }
            #expect(transfers[0] > 3_000_000 && transfers[1] >= 0 && transfers[1] < 100_000, "\(transfers)")
            #expect(listing(volume + "/.bastion-snapshots").isEmpty)
            worker.kill9()
        } catch {
            failure = error
        }
        for child in fixture.children { child.kill9() }
        await image.unmount(fixture.scratch.path)
        if let failure { throw failure }
    }

    @Test func aSnapshotLeftByAKilledWorkerIsDeletedWhenAWorkerStarts() async throws {
        let fixture = try await RunsFixture()
        guard let image = try await BtrfsImage(in: fixture.scratch.path) else { return }
        let pauses = fixture.scratch.path + "/pauses"
        var failure: (any Error)?
        do {
            let volume = image.volume
            try await sh(
                fixture,
                "set -e; mkdir -p '\(pauses)' '\(volume)/data'; mkfifo '\(pauses)/big.bin.pause'; head -c 3145728 /dev/urandom > '\(volume)/data/big.bin'"
            )
            let worker = try await fixture.startWorker("w0", ["--lease-seconds", "600"], environment: ["BASTION_TEST_PAUSE_DIR": pauses])
            let job = try await createJob(fixture, source: ["paths": [volume + "/data"], "snapshot_mode": "required"])
            let run = try await fixture.enqueue(job).id
            let hold = try await paused(at: pauses + "/big.bin.pause")
            let left = listing(volume + "/.bastion-snapshots")
            #expect(left.count == 1 && left.first?.hasPrefix(run) == true, "\(left)")
            worker.kill9()
            close(hold)
            // The worker is gone: its snapshot and record stay until a worker starts on this data directory.
            #expect(listing(volume + "/.bastion-snapshots") == left)
            #expect(listing(fixture.dataDir + "/snapshots").count == 1)
            try await sh(fixture, "rm '\(pauses)/big.bin.pause'")
            try await fixture.startWorker("w1", ["--lease-seconds", "600"])
            #expect(!listing(volume + "/.bastion-snapshots").contains(left.first ?? ""), "\(listing(volume + "/.bastion-snapshots"))")
            #expect(listing(fixture.dataDir + "/snapshots").filter { $0.hasPrefix(left.first ?? "-") }.isEmpty)
        } catch {
            failure = error
        }
        for child in fixture.children { child.kill9() }
        await image.unmount(fixture.scratch.path)
        if let failure { throw failure }
    }

    @Test func anAgentReadsABtrfsSnapshotOfItsSourceAndDeletesItAfter() async throws {
        let fixture = try await RunsFixture()
        guard let image = try await BtrfsImage(in: fixture.scratch.path) else { return }
        var failure: (any Error)?
        do {
            let volume = image.volume
            try await sh(fixture, "set -e; mkdir -p '\(volume)/data'; echo on-agent > '\(volume)/data/a.txt'")
            let links = AgentLinkTests()
            _ = try links.startAgent(fixture, "a1", token: try await links.token(fixture))
            #expect(await eventually { await links.agents(fixture)["a1"]?["connected"] as? Bool == true })
            let agent = try #require(await links.agents(fixture)["a1"]?["id"] as? String)
            let spec: [String: Any] = [
                "v": 1, "type": "filesystem", "source": ["paths": [volume + "/data"], "snapshot_mode": "required"],
                "target": ["type": "local_dir", "base_dir": fixture.scratch.path + "/target-a1"],
            ]
            let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "on-agent", "agent_id": agent, "spec": spec])
            let job = try #require(created.json?["id"] as? String, "\(created.text)")
            let run = try await fixture.enqueue(job).id
            let finished = try await finish(fixture, run)
            let kinds = try await fixture.events(run).compactMap { $0["kind"] as? String }
            #expect(finished["status"] as? String == "success" && finished["node_id"] as? String == agent, "\(finished)")
            #expect(kinds.contains("snapshot_ready"), "\(kinds)")
            #expect(listing(volume + "/.bastion-snapshots").isEmpty && listing(fixture.scratch.path + "/agent-a1/snapshots").isEmpty)
        } catch {
            failure = error
        }
        for child in fixture.children { child.kill9() }
        await image.unmount(fixture.scratch.path)
        if let failure { throw failure }
    }

    /// A `.bastion-snapshots` another user made (and may write to) before Bastion did: the snapshot is not taken there
    /// (that user could rename it away and put a symlink in its place, so the walk would read whatever the link names
    /// under the live paths' names): `required` fails with `snapshot_unavailable` and nothing is made in it.
    @Test func aSnapshotStoreAnotherUserMadeIsRefused() async throws {
        let fixture = try await RunsFixture()
        guard let image = try await BtrfsImage(in: fixture.scratch.path) else { return }
        var failure: (any Error)?
        do {
            let volume = image.volume
            let store = volume + "/.bastion-snapshots"
            try await sh(
                fixture,
                "set -e; mkdir -p '\(volume)/data' '\(store)'; echo x > '\(volume)/data/a.txt'; chown 65534 '\(store)'; chmod 0777 '\(store)'"
            )
            try await fixture.startWorker("w0")
            let job = try await createJob(fixture, source: ["paths": [volume + "/data"], "snapshot_mode": "required"])
            let run = try await fixture.enqueue(job).id
            let finished = try await finish(fixture, run)
            let events = try await fixture.events(run)
            #expect(finished["status"] as? String == "failed" && finished["error"] as? String == "snapshot_unavailable", "\(finished) \(events)")
            #expect(listing(store).isEmpty && listing(fixture.dataDir + "/snapshots").isEmpty, "\(listing(store))")
        } catch {
            failure = error
        }
        for child in fixture.children { child.kill9() }
        await image.unmount(fixture.scratch.path)
        if let failure { throw failure }
    }

    @Test func snapshotModeAutoFallsBackWithAWarningAndRequiredFailsWhereTheSourceIsNotOnBtrfs() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/plain"
        try await sh(fixture, "mkdir -p '\(source)' && echo plain > '\(source)/a.txt' && [ \"$(stat -f -c %T '\(source)')\" != btrfs ]")
        try await fixture.startWorker("w0")

        let auto = try await fixture.enqueue(try await createJob(fixture, source: ["paths": [source], "snapshot_mode": "auto"])).id
        let autoRun = try await finish(fixture, auto)
        let autoEvents = try await fixture.events(auto)
        #expect(autoRun["status"] as? String == "success", "\(autoRun)")
        let warning = autoEvents.first { $0["kind"] as? String == "snapshot_unavailable" }
        #expect(warning?["level"] as? String == "warn" && (warning?["message"] as? String)?.contains("not on btrfs") == true, "\(autoEvents)")
        #expect((autoRun["summary"] as? [String: Any])?["entries_count"] as? Int ?? 0 >= 1)

        let required = try await fixture.enqueue(try await createJob(fixture, source: ["paths": [source], "snapshot_mode": "required"])).id
        let requiredRun = try await finish(fixture, required)
        #expect(requiredRun["status"] as? String == "failed" && requiredRun["error"] as? String == "snapshot_unavailable", "\(requiredRun)")
    }
}
