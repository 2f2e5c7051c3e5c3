import ArgumentParser
import Core
import Foundation

/// Options only the worker takes.
struct WorkerOptions: ParsableArguments {
    @Option(
        name: .customLong("worker-id"),
        help: "Name shown in /api/system and stored on claimed runs. Env BASTION_WORKER_ID; default worker-<pid>-<random>."
    )
    var workerID: String?

    @Option(name: .customLong("heartbeat-seconds"), help: "Heartbeat period of a running run. Env BASTION_HEARTBEAT_SECONDS; default 10.")
    var heartbeatSeconds: Double?

    @Option(
        name: .customLong("lease-seconds"),
        help: "A run whose heartbeat is older than this is failed as worker_lost. Env BASTION_LEASE_SECONDS; default 60."
    )
    var leaseSeconds: Int?

    @Option(
        name: .customLong("sqlite-step-pause-ms"),
        help: "Pause between SQLite online-backup steps of 100 pages, letting writers in. Env BASTION_SQLITE_STEP_PAUSE_MS; default 10."
    )
    var sqliteStepPauseMillis: Int?

    @Option(
        name: .customLong("misfire-grace"),
        help: "At start, a cron trigger missed less than this many seconds ago is run once. Env BASTION_MISFIRE_GRACE; default 3600."
    )
    var misfireGrace: Int?

    @Option(
        name: .customLong("dump-chunk-mib"),
        help:
            "A database dump is held in memory up to this many MiB before its archive member is written; a longer one is several members. Env BASTION_DUMP_CHUNK_MIB; default 64."
    )
    var dumpChunkMiB: Int?
}

/// The worker's resolved configuration.
struct WorkerConfig: Sendable {
    var common: CommonConfig
    var workerID: String
    var heartbeatInterval: Duration = .seconds(10)
    var leaseSeconds: Int64 = 60
    var sqliteStepPause: Duration = .milliseconds(10)
    var misfireGrace: Int64 = 3600
    /// docs/databases.md, "How dumps are stored".
    var dumpChunkMiB = 64

    init(common: CommonConfig, workerID: String? = nil) {
        self.common = common
        self.workerID = workerID ?? "worker-\(getpid())-\(String(UInt32.random(in: 0...0xffff), radix: 16))"
    }

    init(common: CommonConfig, options: WorkerOptions, resolver: OptionResolver = OptionResolver()) throws {
        let id = try resolver.resolve(options.workerID, env: "BASTION_WORKER_ID", default: "")
        // The id names the worker's lock file (`<data-dir>/workers/<id>.lock`): a plain name.
        guard id.isEmpty || Self.isValidWorkerID(id) else {
            throw ConfigError.invalidValue(
                option: "--worker-id",
                value: id,
                reason: "must be 1-128 letters, digits, '.', '_' or '-', not starting with '.'"
            )
        }
        self.init(common: common, workerID: id.isEmpty ? nil : id)
        let heartbeat = try resolver.resolve(options.heartbeatSeconds, env: "BASTION_HEARTBEAT_SECONDS", default: 10)
        guard heartbeat > 0, heartbeat.isFinite else {
            throw ConfigError.invalidValue(option: "--heartbeat-seconds", value: "\(heartbeat)", reason: "must be > 0")
        }
        let lease = try resolver.resolve(options.leaseSeconds, env: "BASTION_LEASE_SECONDS", default: 60)
        guard lease > 0, Double(lease) > heartbeat else {
            throw ConfigError.invalidValue(option: "--lease-seconds", value: "\(lease)", reason: "must be longer than the heartbeat period")
        }
        heartbeatInterval = .milliseconds(Int64(saturating: heartbeat * 1000))
        let pause = try resolver.resolve(options.sqliteStepPauseMillis, env: "BASTION_SQLITE_STEP_PAUSE_MS", default: 10)
        guard (0...10_000).contains(pause) else {
            throw ConfigError.invalidValue(option: "--sqlite-step-pause-ms", value: "\(pause)", reason: "must be 0...10000")
        }
        sqliteStepPause = .milliseconds(pause)
        let grace = try resolver.resolve(options.misfireGrace, env: "BASTION_MISFIRE_GRACE", default: 3600)
        guard grace >= 0 else {
            throw ConfigError.invalidValue(option: "--misfire-grace", value: "\(grace)", reason: "must be ≥ 0")
        }
        misfireGrace = Int64(grace)
        let chunk = try resolver.resolve(options.dumpChunkMiB, env: "BASTION_DUMP_CHUNK_MIB", default: 64)
        guard (1...4096).contains(chunk) else {
            throw ConfigError.invalidValue(option: "--dump-chunk-mib", value: "\(chunk)", reason: "must be 1...4096")
        }
        dumpChunkMiB = chunk
        leaseSeconds = Int64(lease)
    }

    static func isValidWorkerID(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && !id.hasPrefix(".")
            && id.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
