import Foundation
import GRDB
import TestClients
import Testing

/// Restore drills (docs/architecture.md, "Restore drills") with the real api and worker: scheduled on the scaled test
/// clock beside the job's own backups, a test restore of an incremental chain compared with the index and shown on the
/// overview; a corrupted part failing the drill with `snapshot_corrupt` and alerting a real webhook receiver.
@Suite(.serialized) struct DrillTests {
    /// A small tree with a subdirectory, modes and a symlink.
    func makeSource(_ fixture: RunsFixture) throws -> String {
        let source = fixture.scratch.path + "/drill-source"
        try FileManager.default.createDirectory(atPath: source + "/sub", withIntermediateDirectories: true)
        for index in 0..<5 {
            let bytes = Data((0..<(20_000 + index * 7_000)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
            try bytes.write(to: URL(fileURLWithPath: source + "/sub/file\(index).bin"))
        }
        try Data("hello drill\n".utf8).write(to: URL(fileURLWithPath: source + "/readme.txt"))
        chmod(source + "/readme.txt", 0o640)
        try FileManager.default.createSymbolicLink(atPath: source + "/link", withDestinationPath: "readme.txt")
        return source
    }

    func createJob(_ fixture: RunsFixture, name: String, source: String, schedule: String?, drills: [String: Any]) async throws -> String {
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]],
            "target": ["type": "local_dir", "base_dir": fixture.targetDir, "part_size_bytes": 1_048_576],
            "pipeline": ["incremental": ["full_every": 4]], "drills": drills,
        ]
        let body: [String: Any] = ["name": name, "schedule": schedule.map { $0 as Any } ?? NSNull(), "spec": spec]
        let result = try await HTTP.send("POST", fixture.base + "/api/jobs", json: body)
        guard result.status == 201, let id = result.json?["id"] as? String else {
            throw FixtureError("create job: \(result.status) \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    func card(_ fixture: RunsFixture, job: String) async throws -> [String: Any]? {
        let jobs = try await HTTP.get(fixture.base + "/api/dashboard").json?["jobs"] as? [[String: Any]]
        return jobs?.first { $0["id"] as? String == job }
    }

    @Test func aScheduledDrillRestoresTheChainComparesItAndShowsOnTheOverview() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0", environment: SchedulingTests.fastClock())
        let source = try makeSource(fixture)
        // Backups every (scaled) minute, drills every second one: the even minutes fire both for the same job.
        let job = try await createJob(
            fixture,
            name: "drilled",
            source: source,
            schedule: "* * * * *",
            drills: ["enabled": true, "schedule": "*/2 * * * *", "pick": "newest", "test_restore": true]
        )
        // A drill of an incremental snapshot (level ≥ 1: its files are in the chain's full snapshot) that passed.
        var drill: [String: Any] = [:]
        let passed = try await eventually(timeout: .seconds(60)) {
            let runs = try await fixture.readDatabase { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT v.id, v.summary_json FROM runs v JOIN run_artifacts a ON a.run_id = json_extract(v.operation_json, '$.source_run_id')
                        WHERE v.job_id = ? AND v.kind = 'verify' AND v.status = 'success' AND a.chain_level >= 1 ORDER BY v.started_at DESC
                        """,
                    arguments: [job]
                ).map { ($0[0] as String, $0[1] as String) }
            }
            guard let (id, summary) = runs.first else { return false }
            drill = (try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Any])?["drill"] as? [String: Any] ?? [:]
            drill["run_id"] = id
            return true
        }
        try #require(passed, "no drill of an incremental snapshot passed")
        let drillRun = try #require(drill["run_id"] as? String)
        #expect(drill["compared"] as? Bool == true && drill["test_restore"] as? Bool == true && drill["pick"] as? String == "newest")
        #expect(drill["restored_files"] as? Int == 6, "\(drill)")
        #expect(drill["restored_bytes"] as? Int == (0..<5).reduce(12) { $0 + 20_000 + $1 * 7_000 }, "\(drill)")
        // The scratch directory is gone.
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.dataDir)/runs/\(drillRun)/drill"))
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.dataDir)/runs/\(drillRun)"))
        // A drill and a backup of the same job and minute each got their run, each trigger once per kind.
        let triggers = try await fixture.readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT kind, scheduled_for FROM runs WHERE job_id = ? AND scheduled_for IS NOT NULL", arguments: [job])
                .map { ($0[0] as String, $0[1] as Int64) }
        }
        let backups = triggers.filter { $0.0 == "backup" }.map(\.1)
        let drills = triggers.filter { $0.0 == "verify" }.map(\.1)
        #expect(Set(backups).count == backups.count && Set(drills).count == drills.count, "\(triggers)")
        #expect(drills.allSatisfy { $0 % 120 == 0 }, "\(drills)")
        #expect(!Set(drills).intersection(backups).isEmpty, "no minute fired both: \(triggers)")
        // The overview shows it.
        var shown: [String: Any]?
        #expect(
            try await eventually {
                shown = try await card(fixture, job: job)
                return (shown?["last_successful_drill"] as? [String: Any])?["run_id"] as? String != nil
                    && (shown?["last_drill"] as? [String: Any])?["status"] as? String == "success"
            },
            "\(String(describing: shown))"
        )
        let last = try #require(shown?["last_successful_drill"] as? [String: Any])
        #expect(last["status"] as? String == "success" && last["ended_at"] is Int)
        #expect(shown?["state"] as? String != "failed", "\(String(describing: shown))")
    }

    @Test func aDrillOnACorruptedPartFailsAndAlerts() async throws {
        let fixture = try await RunsFixture()
        let receiver = WebhookReceiver(port: freePort()) { _ in .status(200) }
        try await receiver.start()
        defer { receiver.stop() }
        let destination = try await HTTP.send(
            "PUT",
            fixture.base + "/api/notifications/destinations/webhook/ops",
            json: ["url": receiver.url]
        )
        try #require(destination.status == 200)
        try await fixture.startWorker("w0")
        let source = try makeSource(fixture)
        let job = try await createJob(fixture, name: "corrupted", source: source, schedule: nil, drills: ["enabled": true, "test_restore": true])
        // Nothing to drill on yet.
        let early = try await HTTP.send("POST", fixture.base + "/api/jobs/\(job)/drill")
        #expect(early.status == 409 && early.json?["error"] as? String == "no_snapshot", "\(early.status)")
        let backup = try await fixture.enqueue(job).id
        #expect(await eventually { await fixture.status(backup) == "success" })

        // A good drill first: it passes.
        let good = try await HTTP.send("POST", fixture.base + "/api/jobs/\(job)/drill", json: ["test_restore": true])
        let goodRun = try #require(good.json?["run_id"] as? String, "\(good.status)")
        #expect(await eventually { await fixture.status(goodRun) == "success" })

        // One byte of the part flipped.
        let part = "\(fixture.targetDir)/\(job)/\(backup)/payload.part000001"
        let handle = try #require(FileHandle(forUpdatingAtPath: part))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data([byte ^ 0x20]))
        try handle.close()

        let queued = try await HTTP.send("POST", fixture.base + "/api/jobs/\(job)/drill")
        let drill = try #require(queued.json?["run_id"] as? String, "\(queued.status)")
        #expect(queued.json?["kind"] as? String == "verify")
        #expect(await eventually { await fixture.status(drill) == "failed" })
        let run = try await fixture.run(drill)
        #expect(run["error"] as? String == "snapshot_corrupt", "\(run)")
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.dataDir)/runs/\(drill)"))

        // The alert: like a failed backup's, titled as a drill.
        var alert: [String: Any]?
        #expect(
            await eventually {
                alert = receiver.requests.compactMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] }
                    .first { ($0["run"] as? [String: Any])?["id"] as? String == drill }
                return alert != nil
            }
        )
        #expect(alert?["title"] as? String == "Restore drill failed: corrupted", "\(String(describing: alert))")
        let alerted = alert?["run"] as? [String: Any]
        #expect(alerted?["status"] as? String == "failed" && alerted?["error"] as? String == "snapshot_corrupt")
        // The good drill sent nothing.
        #expect(!receiver.requests.contains { String(decoding: $0.body, as: UTF8.self).contains(goodRun) })

        // The overview: the job failed its latest drill; the last successful one is still the good one.
        let shown = try #require(try await card(fixture, job: job))
        #expect(shown["state"] as? String == "failed", "\(shown)")
        let last = try #require(shown["last_drill"] as? [String: Any])
        #expect(last["run_id"] as? String == drill && last["status"] as? String == "failed" && last["error"] as? String == "snapshot_corrupt")
        #expect((shown["last_successful_drill"] as? [String: Any])?["run_id"] as? String == goodRun)
    }
}
