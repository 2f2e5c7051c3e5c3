import Core
import Foundation
import Logging
import Store
import Synchronization
import Targets

/// One janitor maintenance pass: database maintenance, run retention and WAL care (docs/architecture.md, "Database").
public struct MaintenancePass: Sendable {
    /// Whether `deleteQueuedSnapshots` is running in this process.
    private static let deleting = Mutex(false)

    public struct Settings: Sendable {
        public var runRetentionDays: Int
        public var loginThrottleRetentionDays: Int
        public var batchSize: Int
        public var walTruncateAboveBytes: Int64
        /// Failed or canceled backups older than this lose what they wrote on their target; 0 disables.
        public var incompleteCleanupDays: Double

        public init(
            runRetentionDays: Int = 180,
            loginThrottleRetentionDays: Int = 30,
            batchSize: Int = 500,
            walTruncateAboveBytes: Int64 = 64 << 20,
            incompleteCleanupDays: Double = 7
        ) {
            self.runRetentionDays = runRetentionDays
            self.loginThrottleRetentionDays = loginThrottleRetentionDays
            self.batchSize = batchSize
            self.walTruncateAboveBytes = walTruncateAboveBytes
            self.incompleteCleanupDays = incompleteCleanupDays
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
        public var incompleteCleaned = 0
        /// Test-restore directories of drills whose worker died (`<data-dir>/runs/<run_id>/drill`).
        public var drillScratchRemoved = 0
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
        if settings.incompleteCleanupDays > 0,
            let cleaned = await step("incomplete_cleanup", &failed, { try await cleanIncompleteRuns(now: now, limit: min(batch, 50)) }), cleaned > 0
        {
            report.incompleteCleaned = cleaned
            logger.info("Removed incomplete runs' data from their targets", metadata: ["runs": "\(cleaned)"])
        }
        if let removed = await step("drill_scratch", &failed, { try await removeAbandonedDrillScratch() }), removed > 0 {
            report.drillScratchRemoved = removed
            logger.info("Removed test restores of drills whose worker died", metadata: ["runs": "\(removed)"])
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
            // Each copy location decides on its own (docs/targets.md, "Copies").
            queued += try await database.queueCopyRetentionDeletes(jobId: jobId, policy: policy, now: now).count
        }
        // Failed copies whose backoff is over are tried again.
        for (runId, locationId) in try await database.copiesToRetry(now: now, limit: 20) {
            if let copyRunId = try await database.retryCopy(runId: runId, locationId: locationId, now: now) {
                logger.info("Failed copy retried", metadata: ["run.id": "\(runId)", "location": "\(locationId)", "copy_run.id": "\(copyRunId)"])
            }
        }
        return queued
    }

    /// Deletes snapshots marked `deleting` from their target (docs/targets.md), at most `limit` per pass, in batches
    /// of 20. On a `local_dir` a run directory is removed only when its path ends in `/<job_id>/<run_id>` (nothing else
    /// is ever deleted); one already gone counts as deleted. A failure is recorded on the row and retried.
    ///
    /// The deletion service and the maintenance pass both call this; one at a time in a process (the other returns 0:
    /// the one running takes the queue), so two never remove the same directory at once and record a spurious failure.
    func deleteQueuedSnapshots(limit: Int) async throws -> Int {
        let began = Self.deleting.withLock { running -> Bool in
            if running { return false }
            running = true
            return true
        }
        guard began else { return 0 }
        defer { Self.deleting.withLock { $0 = false } }
        var deleted = 0
        while deleted < limit {
            let batch = try await database.snapshotsToDelete(limit: min(20, limit - deleted))
            if batch.isEmpty { break }
            for snapshot in batch {
                // An agent's snapshot is on its host: never deleted with the hub's disk or credentials.
                if snapshot.onAgent {
                    try await database.leaveSnapshotOnAgent(runId: snapshot.runId, display: snapshot.location?.display ?? "its run directory")
                    logger.warning(
                        "Agent snapshot left on the agent (removed from the index only)",
                        metadata: ["run.id": "\(snapshot.runId)", "agent.id": "\(snapshot.nodeId)"]
                    )
                    deleted += 1
                    continue
                }
                var failure: String?
                if let location = snapshot.location {
                    do {
                        try await TargetStores.open(location, secrets: HubTargetSecrets(database: database), logger: logger).removeRun()
                    } catch {
                        failure = "\(error)"
                    }
                }
                try await database.finishSnapshotDelete(runId: snapshot.runId, error: failure)
                // The catalog and cached diffs are derived from the snapshot: gone with it.
                if failure == nil { SnapshotCatalog.removeFiles(in: database.dataDirectory, runId: snapshot.runId) }
                deleted += 1
            }
        }
        // Copy locations (docs/targets.md, "Copies"): each deleted at its own target only.
        while deleted < limit {
            let batch = try await database.copyLocationsToDelete(limit: min(20, limit - deleted))
            if batch.isEmpty { break }
            for copy in batch {
                // A copy on an agent's disk (docs/agents.md, "Copies"): never deleted with the hub's disk.
                if copy.agentNode != nil {
                    try await database.leaveCopyLocationOnAgent(
                        runId: copy.runId,
                        locationId: copy.id,
                        display: copy.location?.display ?? "its run directory"
                    )
                    deleted += 1
                    continue
                }
                var failure: String?
                if let location = copy.location {
                    do {
                        try await TargetStores.open(location, secrets: HubTargetSecrets(database: database), logger: logger).removeRun()
                    } catch {
                        failure = "\(error)"
                    }
                } else {
                    failure = "the copy's target is not readable"
                }
                try await database.finishCopyLocationDelete(runId: copy.runId, locationId: copy.id, error: failure)
                deleted += 1
            }
        }
        return deleted
    }

    /// Queues the failed and canceled backups older than `--incomplete-cleanup-days`, then removes what the due ones
    /// wrote on their targets (and any staging they left in `<data-dir>/runs`), at most `limit` per pass.
    func cleanIncompleteRuns(now: Int64, limit: Int) async throws -> Int {
        let cutoff = now - Int64(saturating: settings.incompleteCleanupDays * 86_400)
        let queued = try await database.queueIncompleteCleanups(endedBefore: cutoff, now: now)
        if queued > 0 { logger.info("Incomplete runs queued for cleanup", metadata: ["queued": "\(queued)"]) }
        var cleaned = 0
        for cleanup in try await database.dueIncompleteCleanups(now: now, limit: limit) {
            guard let location = cleanup.location else {
                try await database.finishIncompleteCleanup(runId: cleanup.runId, removed: nil, error: "the run's target is not readable")
                continue
            }
            do {
                try await TargetStores.open(location, secrets: HubTargetSecrets(database: database), logger: logger).removeRun()
                for suffix in [".upload", ".read"] {
                    try? FileManager.default.removeItem(atPath: database.dataDirectory.runsPath + "/" + cleanup.runId + suffix)
                }
                try await database.finishIncompleteCleanup(runId: cleanup.runId, removed: location.display, error: nil)
                logger.info("Incomplete run cleaned up", metadata: ["run.id": "\(cleanup.runId)", "location": "\(location.display)"])
                cleaned += 1
            } catch {
                try await database.finishIncompleteCleanup(runId: cleanup.runId, removed: nil, error: "\(error)")
                logger.warning("Incomplete run cleanup failed", metadata: ["run.id": "\(cleanup.runId)", "error": "\(error)"])
            }
        }
        return cleaned
    }

    /// Removes `<data-dir>/runs/<run_id>/drill` of every run no longer queued or running: a restore drill's test restore
    /// that its worker, killed in the middle, could not remove (docs/architecture.md, "Restore drills").
    func removeAbandonedDrillScratch() async throws -> Int {
        let runs = database.dataDirectory.runsPath
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runs)) ?? []
        let candidates = names.filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(runs)/\(name)/drill", isDirectory: &isDirectory) && isDirectory.boolValue
        }
        var removed = 0
        for runId in try await database.abandonedDrillScratch(runIds: candidates) {
            try FileManager.default.removeItem(atPath: "\(runs)/\(runId)/drill")
            rmdir("\(runs)/\(runId)")
            removed += 1
        }
        return removed
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
