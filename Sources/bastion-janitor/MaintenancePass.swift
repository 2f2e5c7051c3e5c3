import Foundation
import Logging
import Store

/// One janitor maintenance pass: database maintenance, run retention and WAL care (docs/architecture.md, "Database").
public struct MaintenancePass: Sendable {
    public struct Settings: Sendable {
        public var runRetentionDays: Int
        public var loginThrottleRetentionDays: Int
        public var batchSize: Int
        public var walTruncateAboveBytes: Int64

        public init(runRetentionDays: Int = 180, loginThrottleRetentionDays: Int = 30, batchSize: Int = 500, walTruncateAboveBytes: Int64 = 64 << 20)
        {
            self.runRetentionDays = runRetentionDays
            self.loginThrottleRetentionDays = loginThrottleRetentionDays
            self.batchSize = batchSize
            self.walTruncateAboveBytes = walTruncateAboveBytes
        }
    }

    /// What a pass removed.
    public struct Report: Sendable, Equatable {
        public var sessions = 0
        public var enrollmentTokens = 0
        public var loginThrottles = 0
        public var runs = 0
        public var runEvents = 0
        public var snapshotsQueued = 0
        public var snapshotsDeleted = 0
        public var checkpoint: WALCheckpointResult?
        public var failedSteps: [String] = []
    }

    public let database: AppDatabase
    public let settings: Settings
    public let logger: Logger

    public init(database: AppDatabase, settings: Settings, logger: Logger) {
        self.database = database
        self.settings = settings
        self.logger = logger
    }

    /// Runs every step once; `now` is unix seconds. Steps are independent: one that fails is logged and the others
    /// still run. Returns what was removed and the names of the steps that failed.
    @discardableResult
    public func run(now: Int64) async -> Report {
        var report = Report()
        var failed: [String] = []
        let day: Int64 = 86_400
        let batch = settings.batchSize
        if let removed = await step("sessions", &failed, { try await database.deleteExpiredSessions(now: now, batchSize: batch) }) {
            report.sessions = removed
            logger.info("Pruned expired sessions", metadata: ["removed": "\(removed)"])
        }
        if let removed = await step("enrollment_tokens", &failed, { try await database.deleteExpiredEnrollmentTokens(now: now, batchSize: batch) }) {
            report.enrollmentTokens = removed
            logger.info("Pruned expired enrollment tokens", metadata: ["removed": "\(removed)"])
        }
        let throttleCutoff = now - Int64(settings.loginThrottleRetentionDays) * day
        if let removed = await step(
            "login_throttle",
            &failed,
            { try await database.deleteStaleLoginThrottles(lastFailedBefore: throttleCutoff, batchSize: batch) }
        ) {
            report.loginThrottles = removed
            logger.info("Pruned stale login throttles", metadata: ["removed": "\(removed)"])
        }
        let runCutoff = now - Int64(settings.runRetentionDays) * day
        if let runs = await step("runs", &failed, { try await database.deleteRunsEnded(before: runCutoff, batchSize: batch) }) {
            report.runs = runs.runs
            report.runEvents = runs.events
            logger.info(
                "Pruned runs past retention",
                metadata: ["removed": "\(runs.runs)", "events_removed": "\(runs.events)", "retention_days": "\(settings.runRetentionDays)"]
            )
        }
        if let queued = await step("snapshot_retention", &failed, { try await queueSnapshotRetention(now: now) }), queued > 0 {
            report.snapshotsQueued = queued
            logger.info("Snapshots queued for deletion by retention", metadata: ["queued": "\(queued)"])
        }
        if let deleted = await step("snapshot_deletes", &failed, { try await deleteQueuedSnapshots(limit: batch) }), deleted > 0 {
            report.snapshotsDeleted = deleted
            logger.info("Deleted snapshots from their targets", metadata: ["deleted": "\(deleted)"])
        }
        if await step("optimize", &failed, { try await database.optimize() }) != nil {
            logger.info("Optimized database")
        }
        let truncateAbove = settings.walTruncateAboveBytes
        if let checkpoint = await step("checkpoint", &failed, { try await database.checkpoint(truncateAboveBytes: truncateAbove) }) {
            report.checkpoint = checkpoint
            logger.info(
                checkpoint.skipped ? "Checkpoint skipped: another connection is checkpointing" : "Checkpointed WAL",
                metadata: [
                    "mode": "\(checkpoint.mode)", "wal_bytes_before": "\(checkpoint.walBytesBefore)",
                    "wal_bytes_after": "\(checkpoint.walBytesAfter)", "frames": "\(checkpoint.walFrames)",
                    "checkpointed": "\(checkpoint.checkpointedFrames)",
                ]
            )
        }
        report.failedSteps = failed
        return report
    }

    /// Applies every enabled job retention policy (bounded by its per-tick and per-day limits).
    func queueSnapshotRetention(now: Int64) async throws -> Int {
        var queued = 0
        for (jobId, policy) in try await database.jobsWithRetention() {
            queued += try await database.queueRetentionDeletes(jobId: jobId, policy: policy, now: now).count
        }
        return queued
    }

    /// Deletes snapshots marked `deleting` from their `local_dir` target, at most `limit` per pass. A run directory is
    /// removed only when its path ends in `/<job_id>/<run_id>` (nothing else is ever deleted); one already gone counts
    /// as deleted.
    func deleteQueuedSnapshots(limit: Int) async throws -> Int {
        var deleted = 0
        while deleted < limit {
            let batch = try await database.snapshotsToDelete(limit: min(20, limit - deleted))
            if batch.isEmpty { break }
            for snapshot in batch {
                var failure: String?
                if let directory = snapshot.runDirectory {
                    if !directory.hasSuffix("/\(snapshot.jobId)/\(snapshot.runId)") || !directory.hasPrefix("/") {
                        failure = "refusing to delete \(directory): not <base_dir>/<job_id>/<run_id>"
                    } else if FileManager.default.fileExists(atPath: directory) {
                        do {
                            // complete.json first: from then on the snapshot is no longer restorable, even half-deleted.
                            try? FileManager.default.removeItem(atPath: directory + "/complete.json")
                            try FileManager.default.removeItem(atPath: directory)
                        } catch {
                            failure = "\(error)"
                        }
                    }
                }
                try await database.finishSnapshotDelete(runId: snapshot.runId, error: failure)
                // The catalog and cached diffs are derived from the snapshot: gone with it.
                if failure == nil { SnapshotCatalog.removeFiles(in: database.dataDirectory, runId: snapshot.runId) }
                deleted += 1
            }
        }
        return deleted
    }

    /// Runs one step; a failure is logged and recorded, and the pass goes on.
    private func step<T>(_ name: String, _ failed: inout [String], _ body: () async throws -> T) async -> T? {
        do {
            return try await body()
        } catch is CancellationError where Task.isCancelled {
            // Shutdown arrived during the pass: the step is left for the next start, which is not a failure.
            failed.append(name)
            logger.info("Maintenance step skipped: shutting down", metadata: ["step": "\(name)"])
            return nil
        } catch {
            failed.append(name)
            logger.error("Maintenance step failed", metadata: ["step": "\(name)", "error": "\(error)"])
            return nil
        }
    }
}
