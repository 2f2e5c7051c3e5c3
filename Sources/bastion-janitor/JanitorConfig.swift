import ArgumentParser
import Core
import Foundation

/// Options only the janitor takes.
struct JanitorOptions: ParsableArguments {
    @Option(name: .customLong("maintenance-interval"), help: "Seconds between maintenance passes. Env BASTION_MAINTENANCE_INTERVAL; default 3600.")
    var maintenanceInterval: Double?

    @Option(
        name: .customLong("run-retention-days"),
        help: "Delete finished runs older than this many days. Env BASTION_RUN_RETENTION_DAYS; default 180."
    )
    var runRetentionDays: Int?

    @Option(name: .customLong("maintenance-batch-size"), help: "Rows deleted per transaction. Env BASTION_MAINTENANCE_BATCH_SIZE; default 500.")
    var batchSize: Int?

    @Option(
        name: .customLong("wal-truncate-bytes"),
        help: "Checkpoint with TRUNCATE when the -wal file is larger. Env BASTION_WAL_TRUNCATE_BYTES; default 67108864."
    )
    var walTruncateBytes: Int?

    @Option(
        name: .customLong("lease-seconds"),
        help:
            "Runs whose heartbeat is older are failed as worker_lost, and notifications sending for longer are re-queued. Env BASTION_LEASE_SECONDS; default 60."
    )
    var leaseSeconds: Int?

    @Option(
        name: .customLong("agent-lease-seconds"),
        help:
            "Runs on an agent not heard from for longer are failed as agent_lost (a link blip shorter than this never kills a run). Env BASTION_AGENT_LEASE_SECONDS; default 600."
    )
    var agentLeaseSeconds: Int?

    @Option(
        name: .customLong("incomplete-cleanup-days"),
        help:
            "Remove what failed or canceled backups wrote on their targets once they are this many days old (fractions allowed); 0 disables. Env BASTION_INCOMPLETE_CLEANUP_DAYS; default 7."
    )
    var incompleteCleanupDays: Double?
}

/// The janitor's resolved configuration.
struct JanitorConfig: Sendable {
    var common: CommonConfig
    var interval: Duration
    var pass: MaintenancePass.Settings
    var janitorID: String
    var leaseSeconds: Int64
    var agentLeaseSeconds: Int64
    /// The janitor's own options with their sources, written to `janitor.runtime.json` for the system page.
    var runtime: [RuntimeSetting] = []

    init(common: CommonConfig, options: JanitorOptions, resolver: OptionResolver = OptionResolver()) throws {
        self.common = common
        let interval = try resolver.resolve(options.maintenanceInterval, env: "BASTION_MAINTENANCE_INTERVAL", default: 3600)
        guard interval > 0, interval.isFinite else {
            throw ConfigError.invalidValue(option: "--maintenance-interval", value: "\(interval)", reason: "must be > 0")
        }
        self.interval = .milliseconds(Int64(saturating: interval * 1000))
        let days = try resolver.resolve(options.runRetentionDays, env: "BASTION_RUN_RETENTION_DAYS", default: 180)
        guard days > 0 else {
            throw ConfigError.invalidValue(option: "--run-retention-days", value: "\(days)", reason: "must be > 0")
        }
        let batch = try resolver.resolve(options.batchSize, env: "BASTION_MAINTENANCE_BATCH_SIZE", default: 500)
        guard batch > 0 else {
            throw ConfigError.invalidValue(option: "--maintenance-batch-size", value: "\(batch)", reason: "must be > 0")
        }
        let wal = try resolver.resolve(options.walTruncateBytes, env: "BASTION_WAL_TRUNCATE_BYTES", default: 64 << 20)
        let cleanup = try resolver.resolve(options.incompleteCleanupDays, env: "BASTION_INCOMPLETE_CLEANUP_DAYS", default: 7)
        guard cleanup >= 0, cleanup.isFinite else {
            throw ConfigError.invalidValue(option: "--incomplete-cleanup-days", value: "\(cleanup)", reason: "must be >= 0")
        }
        pass = MaintenancePass.Settings(runRetentionDays: days, batchSize: batch, walTruncateAboveBytes: Int64(wal), incompleteCleanupDays: cleanup)
        janitorID = "janitor-\(getpid())"
        let lease = try resolver.resolve(options.leaseSeconds, env: "BASTION_LEASE_SECONDS", default: 60)
        guard lease > 0 else {
            throw ConfigError.invalidValue(option: "--lease-seconds", value: "\(lease)", reason: "must be > 0")
        }
        leaseSeconds = Int64(lease)
        let agentLease = try resolver.resolve(options.agentLeaseSeconds, env: "BASTION_AGENT_LEASE_SECONDS", default: 600)
        guard agentLease > 0 else {
            throw ConfigError.invalidValue(option: "--agent-lease-seconds", value: "\(agentLease)", reason: "must be > 0")
        }
        agentLeaseSeconds = Int64(agentLease)
        runtime = [
            resolver.setting(
                "maintenance_interval",
                option: "--maintenance-interval",
                env: "BASTION_MAINTENANCE_INTERVAL",
                flagGiven: options.maintenanceInterval != nil,
                value: RuntimeSetting.number(interval)
            ),
            resolver.setting(
                "run_retention_days",
                option: "--run-retention-days",
                env: "BASTION_RUN_RETENTION_DAYS",
                flagGiven: options.runRetentionDays != nil,
                value: String(days)
            ),
            resolver.setting(
                "maintenance_batch_size",
                option: "--maintenance-batch-size",
                env: "BASTION_MAINTENANCE_BATCH_SIZE",
                flagGiven: options.batchSize != nil,
                value: String(batch)
            ),
            resolver.setting(
                "wal_truncate_bytes",
                option: "--wal-truncate-bytes",
                env: "BASTION_WAL_TRUNCATE_BYTES",
                flagGiven: options.walTruncateBytes != nil,
                value: String(wal)
            ),
            resolver.setting(
                "lease_seconds",
                option: "--lease-seconds",
                env: "BASTION_LEASE_SECONDS",
                flagGiven: options.leaseSeconds != nil,
                value: String(lease)
            ),
            resolver.setting(
                "agent_lease_seconds",
                option: "--agent-lease-seconds",
                env: "BASTION_AGENT_LEASE_SECONDS",
                flagGiven: options.agentLeaseSeconds != nil,
                value: String(agentLease)
            ),
            resolver.setting(
                "incomplete_cleanup_days",
                option: "--incomplete-cleanup-days",
                env: "BASTION_INCOMPLETE_CLEANUP_DAYS",
                flagGiven: options.incompleteCleanupDays != nil,
                value: RuntimeSetting.number(cleanup)
            ),
        ]
    }
}
