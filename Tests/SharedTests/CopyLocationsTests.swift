import Foundation
import TestClients
import Testing

@testable import Core
@testable import Store

/// The copy bookkeeping in the database (docs/targets.md, "Copies"): a successful backup queues one `copy` run per
/// copy target in its terminal transaction; a copy run whose worker is lost, or that is canceled before it starts,
/// leaves its location `failed` (attention on the overview), not `copying` forever; a retry queues it again.
@Suite struct CopyLocationsTests {
    @Test func aLostOrCanceledCopyLeavesItsLocationFailedAndRetryable() async throws {
        let dir = TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let copyTargets: [JSONValue] = [
            .object(["target": .object(["type": "local_dir", "base_dir": "/tmp/copy-a"])]),
            .object(["target": .object(["type": "local_dir", "base_dir": "/tmp/copy-b"])]),
        ]
        let spec: JSONValue = .object([
            "v": 1, "type": "filesystem", "source": .object(["paths": .array(["/data"])]),
            "target": .object(["type": "local_dir", "base_dir": "/tmp/primary"]), "copies": .array(copyTargets),
        ])
        let job = try await database.createJob(
            try JobInput(name: "j", schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
        )
        let backup = try #require(try await database.enqueueRun(jobId: job.id, source: "manual", now: 100))
        let claimed = try #require(try await database.claimNextRun(workerId: "w", now: 100))
        let summary: JSONValue = .object([
            "artifact_format": "archive_v1",
            "target": RunLocation(
                target: .localDir(LocalDirTarget(baseDir: "/tmp/primary", partSizeBytes: LocalDirTarget.defaultPartSize)),
                jobId: job.id,
                runId: backup.id
            ).json,
        ])
        #expect(
            try await database.completeRun(runId: backup.id, claimToken: claimed.claimToken, outcome: .success(summary: summary), now: 110)
                == .success
        )
        let record = try #require(try await database.snapshot(runId: backup.id))
        var locations = try #require(try await database.snapshotLocations(of: [record])[backup.id])
        #expect(locations.map(\.status) == ["present", "copying", "copying"])
        #expect(locations[0].id == "primary" && locations.dropFirst().allSatisfy { JobCopy.isLocationId($0.id) && $0.copyRunId != nil })

        // One copy run is lost with its worker, the other canceled while queued.
        let lost = try #require(try await database.claimNextRun(workerId: "w", now: 120))
        #expect(lost.run.kind == .copy)
        #expect(try await database.recoverLostRuns(leaseSeconds: 60, now: 500) == [lost.run.id])
        let queued = try #require(locations.first { $0.copyRunId != nil && $0.copyRunId != lost.run.id }?.copyRunId)
        _ = try await database.cancelRun(id: queued, userId: nil, reason: "test", now: 510)
        locations = try #require(try await database.snapshotLocations(of: [record])[backup.id])
        #expect(locations.map(\.status) == ["present", "failed", "failed"], "\(locations)")
        let attention = try await database.copyAttention(jobIds: [job.id])[job.id] ?? []
        #expect(attention.count == 2 && attention.allSatisfy { $0["reason"] == "copy_failed" && $0["run_id"] == .string(backup.id) })

        // Retried: a new copy run, the location `copying` again; the janitor's backoff has not passed yet.
        #expect(try await database.copiesToRetry(now: 520, limit: 10).isEmpty)
        #expect(try await database.copiesToRetry(now: 520 + 300, limit: 10).count == 2)
        let retried = try #require(try await database.retryCopy(runId: backup.id, locationId: locations[1].id, now: 530))
        #expect(try await database.run(id: retried)?.kind == .copy)
        #expect(try await database.retryCopy(runId: backup.id, locationId: locations[1].id, now: 531) == nil, "only a failed copy")
        locations = try #require(try await database.snapshotLocations(of: [record])[backup.id])
        #expect(locations[1].status == "copying" && locations[1].copyRunId == retried)
    }

    /// A copy target added after a backup: the newest snapshot has no copy there, the overview says `copy_missing`, and
    /// Retry queues the copy.
    @Test func aCopyTargetAddedLaterIsAMissingCopyThatRetryQueues() async throws {
        let dir = TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        func spec(copies: [JSONValue]) -> JSONValue {
            .object([
                "v": 1, "type": "filesystem", "source": .object(["paths": .array(["/data"])]),
                "target": .object(["type": "local_dir", "base_dir": "/tmp/primary"]), "copies": .array(copies),
            ])
        }
        func input(_ copies: [JSONValue]) throws -> JobInput {
            try JobInput(name: "j", schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec(copies: copies), defaultTimezone: "UTC")
        }
        let job = try await database.createJob(try input([]))
        let backup = try #require(try await database.enqueueRun(jobId: job.id, source: "manual", now: 100))
        let claimed = try #require(try await database.claimNextRun(workerId: "w", now: 100))
        let summary: JSONValue = .object([
            "artifact_format": "archive_v1",
            "target": RunLocation(
                target: .localDir(LocalDirTarget(baseDir: "/tmp/primary", partSizeBytes: LocalDirTarget.defaultPartSize)),
                jobId: job.id,
                runId: backup.id
            ).json,
        ])
        _ = try await database.completeRun(runId: backup.id, claimToken: claimed.claimToken, outcome: .success(summary: summary), now: 110)
        #expect(try await database.copyAttention(jobIds: [job.id])[job.id] == nil, "no copies named, none missing")

        _ = try #require(
            try await database.updateJob(
                id: job.id,
                try input([.object(["target": .object(["type": "local_dir", "base_dir": "/tmp/later"])])]),
                now: 120
            )
        )
        let attention = try await database.copyAttention(jobIds: [job.id])[job.id] ?? []
        #expect(
            attention.count == 1 && attention.first?["reason"] == "copy_missing" && attention.first?["run_id"] == .string(backup.id),
            "\(attention)"
        )
        guard case .string(let locationId)? = attention.first?["location_id"] else {
            Issue.record("no location id")
            return
        }
        #expect(try await database.retryCopy(runId: backup.id, locationId: "copy:000000000000", now: 130) == nil, "not a copy target of the job")
        let queued = try #require(try await database.retryCopy(runId: backup.id, locationId: locationId, now: 130))
        #expect(try await database.run(id: queued)?.kind == .copy)
        #expect(try await database.copyAttention(jobIds: [job.id])[job.id] == nil, "copying now")
    }
}
