import Foundation

/// Where a setting's value came from (docs/ui.md, "Settings pages"): a command-line flag, an environment variable, or
/// the built-in default. The same precedence `OptionResolver.resolve` applies.
public enum OptionSource: String, Sendable, Codable, Equatable {
    case flag
    case env
    case `default`
}

/// One setting a process read at start, as the system page shows it: its value (no secret is ever one of these), where
/// it came from, and whether changing it needs a restart.
public struct RuntimeSetting: Sendable, Codable, Equatable {
    public var name: String
    /// The flag, e.g. `--port`.
    public var option: String
    /// The environment variable, e.g. `BASTION_PORT`.
    public var env: String
    public var value: String
    public var source: OptionSource
    public var restartRequired: Bool

    public init(name: String, option: String, env: String, value: String, source: OptionSource, restartRequired: Bool = true) {
        self.name = name
        self.option = option
        self.env = env
        self.value = value
        self.source = source
        self.restartRequired = restartRequired
    }
}

extension OptionResolver {
    /// Where `resolve` took the value from: the flag when one was given, else a non-empty environment variable, else
    /// the default.
    public func source(flagGiven: Bool, env name: String) -> OptionSource {
        if flagGiven { return .flag }
        if let raw = environment[name], !raw.isEmpty { return .env }
        return .default
    }

    /// A resolved value as a `RuntimeSetting`, its source recorded by the same rule `resolve` used. Every option is read
    /// once at start, so a change needs a restart unless `restartRequired` says otherwise.
    public func setting(
        _ name: String,
        option: String,
        env: String,
        flagGiven: Bool,
        value: String,
        restartRequired: Bool = true
    ) -> RuntimeSetting {
        RuntimeSetting(
            name: name,
            option: option,
            env: env,
            value: value,
            source: source(flagGiven: flagGiven, env: env),
            restartRequired: restartRequired
        )
    }
}

extension CommonOptions {
    /// The common options' values in `config`, each with its source.
    public func runtime(_ config: CommonConfig, resolver: OptionResolver = OptionResolver()) -> [RuntimeSetting] {
        let poll = Double(config.safetyPoll.components.seconds) + Double(config.safetyPoll.components.attoseconds) / 1e18
        return [
            resolver.setting("data_dir", option: "--data-dir", env: "BASTION_DATA_DIR", flagGiven: dataDir != nil, value: config.dataDirectory.path),
            resolver.setting("log_level", option: "--log-level", env: "BASTION_LOG", flagGiven: logLevel != nil, value: config.logLevel.rawValue),
            resolver.setting(
                "safety_poll_seconds",
                option: "--safety-poll-seconds",
                env: "BASTION_SAFETY_POLL_SECONDS",
                flagGiven: safetyPollSeconds != nil,
                value: RuntimeSetting.number(poll)
            ),
        ]
    }
}

extension RuntimeSetting {
    /// `30` for 30.0, `0.5` for 0.5.
    public static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// What the janitor writes at start to `janitor.runtime.json` in the data directory: its PID and its settings, so the
/// API's system page can show them while that janitor is connected (docs/architecture.md, "Processes and services").
public struct RuntimeFile: Sendable, Codable, Equatable {
    public var pid: Int32
    public var settings: [RuntimeSetting]

    public init(pid: Int32, settings: [RuntimeSetting]) {
        self.pid = pid
        self.settings = settings
    }

    /// The largest file `read` accepts: a few dozen settings are a few KiB.
    static let maxBytes = 64 << 10

    /// Writes the file whole (a temporary file renamed over it), mode 0600.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The file at `path`, or nil when it is missing, too large or not this shape.
    public static func read(from path: String) -> RuntimeFile? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maxBytes + 1), data.count <= maxBytes else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(RuntimeFile.self, from: data)
    }
}

extension DataDirectory {
    /// The janitor's settings with their sources (`RuntimeFile`), rewritten at each janitor start.
    public var janitorRuntimePath: String { path + "/janitor.runtime.json" }
}
