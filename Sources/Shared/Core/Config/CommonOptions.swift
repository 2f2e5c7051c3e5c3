import ArgumentParser
import Foundation
import Logging

/// Options every Bastion process accepts. Each can also come from an environment variable; a flag wins.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("data-dir"), help: "Data directory holding bastion.db and bastion.sock. Env BASTION_DATA_DIR; default ./data.")
    public var dataDir: String?

    @Option(name: .customLong("log-level"), help: "trace|debug|info|notice|warning|error|critical. Env BASTION_LOG; default info.")
    public var logLevel: String?

    @Option(
        name: .customLong("safety-poll-seconds"),
        help: "Seconds between database re-checks when no bus hint arrives. Env BASTION_SAFETY_POLL_SECONDS; default 30."
    )
    public var safetyPollSeconds: Double?

    public init() {}

    /// Applies flag > environment > default and validates every value.
    public func resolve(_ resolver: OptionResolver = OptionResolver()) throws -> CommonConfig {
        let dataDir = try resolver.resolve(dataDir, env: "BASTION_DATA_DIR", default: "./data")
        let levelName = try resolver.resolve(logLevel, env: "BASTION_LOG", default: "info")
        guard let level = Logger.Level(rawValue: levelName.lowercased()) else {
            throw ConfigError.invalidValue(option: "--log-level", value: levelName, reason: "unknown level")
        }
        let poll = try resolver.resolve(safetyPollSeconds, env: "BASTION_SAFETY_POLL_SECONDS", default: 30)
        guard poll > 0, poll.isFinite else {
            throw ConfigError.invalidValue(option: "--safety-poll-seconds", value: String(poll), reason: "must be > 0")
        }
        return CommonConfig(
            dataDirectory: DataDirectory(path: dataDir),
            logLevel: level,
            safetyPoll: .milliseconds(Int64(saturating: poll * 1000))
        )
    }
}

/// The resolved shared configuration.
public struct CommonConfig: Sendable {
    public var dataDirectory: DataDirectory
    public var logLevel: Logger.Level
    public var safetyPoll: Duration

    public init(dataDirectory: DataDirectory, logLevel: Logger.Level = .info, safetyPoll: Duration = .seconds(30)) {
        self.dataDirectory = dataDirectory
        self.logLevel = logLevel
        self.safetyPoll = safetyPoll
    }
}
