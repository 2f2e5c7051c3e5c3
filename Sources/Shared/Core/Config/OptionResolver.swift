import Foundation

/// Resolves one setting from a command-line flag, then an environment variable, then a default.
///
/// Flags beat the environment; the environment beats defaults. A value that does not parse is an error that names
/// where it came from, so a typo in `BASTION_PORT` is reported instead of silently ignored.
public struct OptionResolver: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Returns the flag's value, else the parsed environment variable, else `defaultValue`.
    public func resolve<T>(
        _ flag: T?,
        env name: String,
        default defaultValue: T,
        parse: (String) -> T?
    ) throws -> T {
        if let flag { return flag }
        if let raw = environment[name], !raw.isEmpty {
            guard let value = parse(raw) else {
                throw ConfigError.invalidEnvironment(name: name, value: raw)
            }
            return value
        }
        return defaultValue
    }

    public func resolve(_ flag: String?, env name: String, default defaultValue: String) throws -> String {
        try resolve(flag, env: name, default: defaultValue) { $0 }
    }

    public func resolve(_ flag: Int?, env name: String, default defaultValue: Int) throws -> Int {
        try resolve(flag, env: name, default: defaultValue) { Int($0) }
    }

    public func resolve(_ flag: Double?, env name: String, default defaultValue: Double) throws -> Double {
        try resolve(flag, env: name, default: defaultValue) { Double($0) }
    }
}

/// A configuration value that is present but unusable.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case invalidEnvironment(name: String, value: String)
    case invalidValue(option: String, value: String, reason: String)

    public var description: String {
        switch self {
        case .invalidEnvironment(let name, let value):
            return "environment variable \(name)=\(value) is not a valid value"
        case .invalidValue(let option, let value, let reason):
            return "\(option) \(value): \(reason)"
        }
    }
}
