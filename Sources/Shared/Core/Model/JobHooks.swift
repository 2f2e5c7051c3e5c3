import Foundation

/// A job's `hooks` section (docs/hooks.md): commands run before and after each backup run, where the run executes.
///
/// Each hook is an argv list run without a shell, in `cwd`, with a clean environment plus `env`, killed with its
/// process group past `timeout_seconds`. Validation keeps every value bounded (counts, lengths, no NUL) so a spec
/// can never make the runner build an argv or environment it cannot pass to `posix_spawn`.
public struct JobHooks: Sendable, Equatable {
    /// One command.
    public struct Hook: Sendable, Equatable {
        public var argv: [String]
        public var cwd: String
        public var timeoutSeconds: Int
        public var env: [String: String]

        public init(argv: [String], cwd: String = "/", timeoutSeconds: Int = JobHooks.defaultTimeoutSeconds, env: [String: String] = [:]) {
            self.argv = argv
            self.cwd = cwd
            self.timeoutSeconds = timeoutSeconds
            self.env = env
        }

        public var json: JSONValue {
            .object([
                "argv": .array(argv.map(JSONValue.string)), "cwd": .string(cwd), "timeout_seconds": .number(Double(timeoutSeconds)),
                "env": .object(env.mapValues(JSONValue.string)),
            ])
        }
    }

    public static let defaultTimeoutSeconds = 300
    public static let timeoutRange = 1...86_400
    /// At most this many hooks in `before`, and in `after`.
    public static let maxHooks = 16
    public static let maxArguments = 256
    /// Bytes of one argument, `cwd`, or one environment value.
    public static let maxValueBytes = 4096
    public static let maxEnvEntries = 64
    public static let maxEnvNameBytes = 128

    public static let keys: Set<String> = ["before", "after", "continue_on_before_failure"]
    public static let hookKeys: Set<String> = ["argv", "cwd", "timeout_seconds", "env"]

    public var before: [Hook]
    public var after: [Hook]
    public var continueOnBeforeFailure: Bool

    public init(before: [Hook] = [], after: [Hook] = [], continueOnBeforeFailure: Bool = false) {
        self.before = before
        self.after = after
        self.continueOnBeforeFailure = continueOnBeforeFailure
    }

    public var isEmpty: Bool { before.isEmpty && after.isEmpty }

    /// The stored form (only written into a spec when the job has hooks).
    public var json: JSONValue {
        .object([
            "before": .array(before.map(\.json)), "after": .array(after.map(\.json)),
            "continue_on_before_failure": .bool(continueOnBeforeFailure),
        ])
    }

    /// Parses `spec.hooks` (absent or null: none). Every problem is `invalid_spec` naming its field
    /// (`hooks.before.0.argv.0`).
    public static func parse(_ value: JSONValue?) throws -> JobHooks {
        let object: [String: JSONValue]
        switch value {
        case nil, .null?: return JobHooks()
        case .object(let found)?: object = found
        default: throw ValidationError.spec("hooks", "not_object", "hooks must be an object {before, after, continue_on_before_failure}")
        }
        var hooks = JobHooks()
        hooks.before = try list(object["before"], field: "hooks.before")
        hooks.after = try list(object["after"], field: "hooks.after")
        switch object["continue_on_before_failure"] {
        case nil, .null?: break
        case .bool(let flag)?: hooks.continueOnBeforeFailure = flag
        default: throw ValidationError.spec("hooks.continue_on_before_failure", "invalid", "continue_on_before_failure must be true or false")
        }
        // No hook: nothing to continue past, and nothing stored (the stored form must read back as the same spec).
        return hooks.isEmpty ? JobHooks() : hooks
    }

    private static func list(_ value: JSONValue?, field: String) throws -> [Hook] {
        switch value {
        case nil, .null?: return []
        case .array(let items)?:
            guard items.count <= maxHooks else { throw ValidationError.spec(field, "too_many", "\(field) takes at most \(maxHooks) hooks") }
            return try items.enumerated().map { try hook($1, field: "\(field).\($0)") }
        default: throw ValidationError.spec(field, "invalid", "\(field) must be a list of hooks")
        }
    }

    private static func hook(_ value: JSONValue, field: String) throws -> Hook {
        guard case .object(let object) = value else {
            throw ValidationError.spec(field, "not_object", "\(field) must be an object {argv, cwd, timeout_seconds, env}")
        }
        guard case .array(let items)? = object["argv"], !items.isEmpty else {
            throw ValidationError.spec("\(field).argv", "required", "\(field).argv must be a non-empty list of strings")
        }
        guard items.count <= maxArguments else {
            throw ValidationError.spec("\(field).argv", "too_many", "\(field).argv takes at most \(maxArguments) arguments")
        }
        let argv = try items.enumerated().map { index, item in
            let name = "\(field).argv.\(index)"
            guard case .string(let argument) = item, !argument.isEmpty else {
                throw ValidationError.spec(name, "invalid", "\(name) must be a non-empty string")
            }
            try checkValue(argument, field: name)
            return argument
        }
        guard argv[0].hasPrefix("/") else {
            throw ValidationError.spec(
                "\(field).argv.0",
                "not_absolute",
                "the command (argv[0]) must be an absolute path: hooks run without a shell or PATH search"
            )
        }
        var hook = Hook(argv: argv)
        switch object["cwd"] {
        case nil, .null?: break
        case .string(let cwd)?:
            guard cwd.hasPrefix("/") else { throw ValidationError.spec("\(field).cwd", "not_absolute", "\(field).cwd must be an absolute path") }
            try checkValue(cwd, field: "\(field).cwd")
            hook.cwd = cwd
        default: throw ValidationError.spec("\(field).cwd", "invalid", "\(field).cwd must be an absolute path")
        }
        switch object["timeout_seconds"] {
        case nil, .null?: break
        case let raw?:
            guard let seconds = raw.intValue, timeoutRange.contains(seconds) else {
                throw ValidationError.spec("\(field).timeout_seconds", "invalid", "\(field).timeout_seconds must be a whole number from 1 to 86400")
            }
            hook.timeoutSeconds = seconds
        }
        switch object["env"] {
        case nil, .null?: break
        case .object(let env)?:
            guard env.count <= maxEnvEntries else {
                throw ValidationError.spec("\(field).env", "too_many", "\(field).env takes at most \(maxEnvEntries) variables")
            }
            for (name, raw) in env.sorted(by: { $0.key < $1.key }) {
                let entry = "\(field).env.\(name)"
                guard isValidEnvName(name) else {
                    throw ValidationError.spec(
                        "\(field).env",
                        "invalid_name",
                        "environment names are letters, digits and _ (not starting with a digit, at most \(maxEnvNameBytes) bytes)"
                    )
                }
                guard !name.hasPrefix("BASTION_") else {
                    throw ValidationError.spec(entry, "reserved", "BASTION_ variables are set by Bastion and cannot be given")
                }
                guard case .string(let text) = raw else { throw ValidationError.spec(entry, "invalid", "\(entry) must be a string") }
                try checkValue(text, field: entry)
                hook.env[name] = text
            }
        default: throw ValidationError.spec("\(field).env", "invalid", "\(field).env must be an object of strings")
        }
        return hook
    }

    private static func checkValue(_ value: String, field: String) throws {
        guard !value.utf8.contains(0) else { throw ValidationError.spec(field, "invalid", "\(field) must not contain NUL") }
        guard value.utf8.count <= maxValueBytes else {
            throw ValidationError.spec(field, "too_long", "\(field) must be at most \(maxValueBytes) bytes")
        }
    }

    /// A POSIX environment name: `[A-Za-z_][A-Za-z0-9_]*`, 1–128 bytes.
    public static func isValidEnvName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= maxEnvNameBytes, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            let letter = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
            return letter || byte == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }

    /// Every key under `hooks` that the spec does not define, as dotted paths from the spec's root
    /// (`hooks.before.0.tmeout`); used by `JobSpec.unknownFields`.
    static func unknownFields(_ value: JSONValue?) -> [String] {
        guard case .object(let object)? = value else { return [] }
        var unknown = object.keys.filter { !keys.contains($0) }.map { "hooks.\($0)" }
        for phase in ["before", "after"] {
            guard case .array(let items)? = object[phase] else { continue }
            for (index, item) in items.enumerated() {
                guard case .object(let hook) = item else { continue }
                unknown += hook.keys.filter { !hookKeys.contains($0) }.map { "hooks.\(phase).\(index).\($0)" }
            }
        }
        return unknown
    }
}
