import Foundation
import Logging

/// One janitor maintenance pass (the seeds' DB maintenance loop plus run retention and WAL care).
public struct MaintenancePass: Sendable {
    public struct Settings: Sendable {
        public var runRetentionDays: Int
        public var loginThrottleRetentionDays: Int
        public var batchSize: Int
        public var walTruncateAboveBytes: Int64

        public init(runRetentionDays: Int = 180, loginThrottleRetentionDays: Int = 30, batchSize: Int = 500, walTruncateAboveBytes: Int64 = 64 << 20) {
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
        public var checkpoint: WALCheckpointResult?
    }

    public let database: AppDatabase
    public let settings: Settings
    public let logger: Logger

    public init(database: AppDatabase, settings: Settings, logger: Logger) {
        self.database = database
        self.settings = settings
        self.logger = logger
    }

    /// Runs every step once. `now` is unix seconds.
    @discardableResult
    public func run(now: Int64) async throws -> Report {
        var report = Report()
        let day: Int64 = 86_400
        report.sessions = try await database.deleteExpiredSessions(now: now, batchSize: settings.batchSize)
        logger.info("Pruned expired sessions", metadata: ["removed": "\(report.sessions)"])
        report.enrollmentTokens = try await database.deleteExpiredEnrollmentTokens(now: now, batchSize: settings.batchSize)
        logger.info("Pruned expired enrollment tokens", metadata: ["removed": "\(report.enrollmentTokens)"])
        report.loginThrottles = try await database.deleteStaleLoginThrottles(
            lastFailedBefore: now - Int64(settings.loginThrottleRetentionDays) * day,
            batchSize: settings.batchSize
        )
        logger.info("Pruned stale login throttles", metadata: ["removed": "\(report.loginThrottles)"])
        let runs = try await database.deleteRunsEnded(
            before: now - Int64(settings.runRetentionDays) * day,
            batchSize: settings.batchSize
        )
        report.runs = runs.runs
        report.runEvents = runs.events
        logger.info(
            "Pruned runs past retention",
            metadata: ["removed": "\(runs.runs)", "events_removed": "\(runs.events)", "retention_days": "\(settings.runRetentionDays)"]
        )
        try await database.optimize()
        logger.info("Optimized database")
        let checkpoint = try await database.checkpoint(truncateAboveBytes: settings.walTruncateAboveBytes)
        report.checkpoint = checkpoint
        logger.info(
            "Checkpointed WAL",
            metadata: [
                "mode": "\(checkpoint.mode)", "wal_bytes_before": "\(checkpoint.walBytesBefore)",
                "wal_bytes_after": "\(checkpoint.walBytesAfter)", "frames": "\(checkpoint.walFrames)",
                "checkpointed": "\(checkpoint.checkpointedFrames)",
            ]
        )
        return report
    }
}
