import Foundation

/// A job's typed specification: what to back up (`source`), where to (`target`) and how (`pipeline`).
///
/// Accepts the original's two JSON shapes and always stores the internal V1 form (docs/architecture.md, "Jobs and specs"):
/// - V1: `{"v": 1, "type": "filesystem"|"sqlite", source: {...}, target: {"type": "local_dir", ...}, ...}`
/// - V2: `{"v": 2, source: {type, version: 1, config: {...}}, target: {type, version: 1, config: {...}, auth_refs}, ...}`
/// `pipeline`, `notifications` and `retention` keep their JSON as given (typed by the issues that use them).
public struct JobSpec: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case filesystem(FilesystemSource)
        case sqlite(SQLiteSource)

        public var type: String {
            switch self {
            case .filesystem: return "filesystem"
            case .sqlite: return "sqlite"
            }
        }
    }

    public enum Target: Sendable, Equatable {
        case localDir(LocalDirTarget)
    }

    public var source: Source
    public var target: Target
    public var pipeline: JSONValue
    public var notifications: JSONValue
    public var retention: JSONValue

    public var type: String { source.type }

    /// The typed retention policy (validated when the spec was parsed).
    public var retentionPolicy: RetentionPolicy { (try? RetentionPolicy.parse(retention)) ?? RetentionPolicy() }

    public init(
        source: Source,
        target: Target,
        pipeline: JSONValue = .object([:]),
        notifications: JSONValue = .object([:]),
        retention: JSONValue = .object([:])
    ) {
        self.source = source
        self.target = target
        self.pipeline = pipeline
        self.notifications = notifications
        self.retention = retention
    }
}

/// `filesystem` source (defaults as the original).
public struct FilesystemSource: Sendable, Equatable, Codable {
    public var paths: [String]
    public var root: String?
    public var preScan: Bool
    public var include: [String]
    public var exclude: [String]
    public var symlinkPolicy: String
    public var hardlinkPolicy: String
    public var errorPolicy: String

    enum CodingKeys: String, CodingKey {
        case paths, root, include, exclude
        case preScan = "pre_scan"
        case symlinkPolicy = "symlink_policy"
        case hardlinkPolicy = "hardlink_policy"
        case errorPolicy = "error_policy"
    }
}

/// `sqlite` source: an SQLite database copied with the online backup API.
public struct SQLiteSource: Sendable, Equatable, Codable {
    public var path: String
    public var integrityCheck: Bool

    enum CodingKeys: String, CodingKey {
        case path
        case integrityCheck = "integrity_check"
    }
}

/// `local_dir` target: `<base_dir>/<job_id>/<run_id>/`.
public struct LocalDirTarget: Sendable, Equatable, Codable {
    public static let defaultPartSize: Int64 = 268_435_456
    public static let minimumPartSize: Int64 = 1_048_576

    public var baseDir: String
    public var partSizeBytes: Int64

    enum CodingKeys: String, CodingKey {
        case baseDir = "base_dir"
        case partSizeBytes = "part_size_bytes"
    }
}

extension JobSpec {
    /// Parses and validates either JSON shape. Every problem is an `invalid_spec` `ValidationError` naming its field.
    public static func parse(_ value: JSONValue) throws -> JobSpec {
        guard case .object(let root) = value else {
            throw ValidationError.spec("spec", "not_object", "spec must be a JSON object")
        }
        let version = root["v"].flatMap(\.intValue)
        if case .string(let type)? = root["type"] {
            guard version == 1 else { throw ValidationError.spec("v", "unsupported_version", "a spec with a top-level type must have \"v\": 1") }
            let source = try parseSource(type: type, config: root["source"], field: "source")
            let target = try parseTargetV1(root["target"])
            return try JobSpec(source: source, target: target, root: root)
        }
        guard version == 2 else { throw ValidationError.spec("v", "unsupported_version", "spec \"v\" must be 1 or 2") }
        guard case .object(let source)? = root["source"] else { throw ValidationError.spec("source", "required", "source is required") }
        guard case .string(let sourceType)? = source["type"] else { throw ValidationError.spec("source.type", "required", "source.type is required") }
        try checkDriverVersion(source["version"], field: "source.version")
        let parsedSource = try parseSource(type: sourceType, config: source["config"], field: "source.config")
        guard case .object(let target)? = root["target"] else { throw ValidationError.spec("target", "required", "target is required") }
        guard case .string(let targetType)? = target["type"] else { throw ValidationError.spec("target.type", "required", "target.type is required") }
        try checkDriverVersion(target["version"], field: "target.version")
        guard targetType == "local_dir" else {
            throw ValidationError.spec("target.type", "unsupported", "target type \(targetType) is not supported (local_dir)")
        }
        if case .object(let refs)? = target["auth_refs"], !refs.isEmpty {
            throw ValidationError.spec("target.auth_refs", "not_allowed", "local_dir takes no auth_refs")
        }
        let parsedTarget = try parseLocalDir(target["config"], field: "target.config")
        return try JobSpec(source: parsedSource, target: .localDir(parsedTarget), root: root)
    }

    private init(source: Source, target: Target, root: [String: JSONValue]) throws {
        func section(_ name: String) throws -> JSONValue {
            switch root[name] {
            case nil, .null?: return .object([:])
            case .object(let object)?: return .object(object)
            default: throw ValidationError.spec(name, "not_object", "\(name) must be an object")
            }
        }
        self.init(
            source: source,
            target: target,
            pipeline: try section("pipeline"),
            notifications: try section("notifications"),
            retention: try section("retention")
        )
        try validatePipeline()
        _ = try JobNotifications.parse(notifications)
        _ = try RetentionPolicy.parse(retention)
    }

    private func validatePipeline() throws {
        if case .string(let format)? = pipeline["format"], format != "archive_v1", format != "raw_tree_v1" {
            throw ValidationError.spec("pipeline.format", "unsupported", "pipeline.format must be archive_v1 or raw_tree_v1")
        }
        if case .object(let encryption)? = pipeline["encryption"] {
            switch encryption["type"] {
            case .string("none")?, nil: break
            case .string("age_x25519")?:
                guard case .string(let key)? = encryption["key_name"], !key.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError.spec("pipeline.encryption.key_name", "required", "age_x25519 encryption needs a key_name")
                }
            default:
                throw ValidationError.spec("pipeline.encryption.type", "unsupported", "encryption type must be none or age_x25519")
            }
        }
    }

    private static func checkDriverVersion(_ value: JSONValue?, field: String) throws {
        guard let value else { return }
        guard value.intValue == 1 else { throw ValidationError.spec(field, "unsupported_version", "only driver version 1 is supported") }
    }

    private static func parseSource(type: String, config: JSONValue?, field: String) throws -> Source {
        guard case .object(let object)? = config else { throw ValidationError.spec(field, "required", "\(field) must be an object") }
        switch type {
        case "filesystem":
            var paths = try stringArray(object["paths"], field: "\(field).paths")
            let root = try optionalString(object["root"], field: "\(field).root")
            if paths.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }), let root, !root.trimmingCharacters(in: .whitespaces).isEmpty {
                paths = [root]
            }
            paths = paths.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            guard !paths.isEmpty else { throw ValidationError.spec("\(field).paths", "required", "at least one non-blank path is required") }
            let include = try stringArray(object["include"], field: "\(field).include")
            let exclude = try stringArray(object["exclude"], field: "\(field).exclude")
            for (list, name) in [(include, "include"), (exclude, "exclude")] {
                for pattern in list where Glob(pattern) == nil {
                    throw ValidationError.spec("\(field).\(name)", "invalid_glob", "\(name) pattern \"\(pattern)\" does not compile")
                }
            }
            return .filesystem(
                FilesystemSource(
                    paths: paths,
                    root: root,
                    preScan: try bool(object["pre_scan"], default: true, field: "\(field).pre_scan"),
                    include: include,
                    exclude: exclude,
                    symlinkPolicy: try oneOf(object["symlink_policy"], ["keep", "follow", "skip"], field: "\(field).symlink_policy"),
                    hardlinkPolicy: try oneOf(object["hardlink_policy"], ["copy", "keep"], field: "\(field).hardlink_policy"),
                    errorPolicy: try oneOf(object["error_policy"], ["fail_fast", "skip_fail", "skip_ok"], field: "\(field).error_policy")
                )
            )
        case "sqlite":
            guard case .string(let path)? = object["path"], !path.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError.spec("\(field).path", "required", "sqlite source needs a non-blank path")
            }
            return .sqlite(
                SQLiteSource(path: path, integrityCheck: try bool(object["integrity_check"], default: false, field: "\(field).integrity_check"))
            )
        default:
            throw ValidationError.spec(
                field == "source" ? "type" : "source.type",
                "unsupported",
                "job type \(type) is not supported (filesystem, sqlite)"
            )
        }
    }

    private static func parseTargetV1(_ value: JSONValue?) throws -> Target {
        guard case .object(let object)? = value else { throw ValidationError.spec("target", "required", "target is required") }
        guard case .string(let type)? = object["type"] else { throw ValidationError.spec("target.type", "required", "target.type is required") }
        guard type == "local_dir" else {
            throw ValidationError.spec("target.type", "unsupported", "target type \(type) is not supported (local_dir)")
        }
        return .localDir(try parseLocalDir(value, field: "target"))
    }

    private static func parseLocalDir(_ value: JSONValue?, field: String) throws -> LocalDirTarget {
        guard case .object(let object)? = value else { throw ValidationError.spec(field, "required", "\(field) must be an object") }
        guard case .string(let base)? = object["base_dir"], !base.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError.spec("\(field).base_dir", "required", "local_dir needs a base_dir")
        }
        guard base.hasPrefix("/") else { throw ValidationError.spec("\(field).base_dir", "not_absolute", "base_dir must be an absolute path") }
        var partSize = LocalDirTarget.defaultPartSize
        if let raw = object["part_size_bytes"], raw != .null {
            guard let size = raw.intValue else {
                throw ValidationError.spec("\(field).part_size_bytes", "invalid", "part_size_bytes must be an integer")
            }
            partSize = Int64(size)
        }
        guard partSize >= LocalDirTarget.minimumPartSize else {
            throw ValidationError.spec("\(field).part_size_bytes", "min_value", "part_size_bytes must be at least 1048576 (1 MiB)")
        }
        return LocalDirTarget(baseDir: base, partSizeBytes: partSize)
    }

    private static func stringArray(_ value: JSONValue?, field: String) throws -> [String] {
        switch value {
        case nil, .null?: return []
        case .array(let items)?:
            return try items.map { item in
                guard case .string(let string) = item else { throw ValidationError.spec(field, "invalid", "\(field) must be a list of strings") }
                return string
            }
        default: throw ValidationError.spec(field, "invalid", "\(field) must be a list of strings")
        }
    }

    private static func optionalString(_ value: JSONValue?, field: String) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let string)?: return string
        default: throw ValidationError.spec(field, "invalid", "\(field) must be a string")
        }
    }

    private static func bool(_ value: JSONValue?, default defaultValue: Bool, field: String) throws -> Bool {
        switch value {
        case nil, .null?: return defaultValue
        case .bool(let flag)?: return flag
        default: throw ValidationError.spec(field, "invalid", "\(field) must be true or false")
        }
    }

    private static func oneOf(_ value: JSONValue?, _ allowed: [String], field: String) throws -> String {
        switch value {
        case nil, .null?: return allowed[0]
        case .string(let string)? where allowed.contains(string): return string
        default: throw ValidationError.spec(field, "invalid", "\(field) must be one of \(allowed.joined(separator: ", "))")
        }
    }

    /// The internal V1 JSON form stored in `jobs.spec_json`.
    public var storedJSON: JSONValue {
        var root: [String: JSONValue] = [
            "v": .number(1), "type": .string(type), "pipeline": pipeline, "notifications": notifications, "retention": retention,
        ]
        switch source {
        case .filesystem(let fs):
            root["source"] = .object([
                "paths": .array(fs.paths.map(JSONValue.string)), "root": fs.root.map(JSONValue.string) ?? .null,
                "pre_scan": .bool(fs.preScan), "include": .array(fs.include.map(JSONValue.string)),
                "exclude": .array(fs.exclude.map(JSONValue.string)), "symlink_policy": .string(fs.symlinkPolicy),
                "hardlink_policy": .string(fs.hardlinkPolicy), "error_policy": .string(fs.errorPolicy),
            ])
        case .sqlite(let sqlite):
            root["source"] = .object(["path": .string(sqlite.path), "integrity_check": .bool(sqlite.integrityCheck)])
        }
        switch target {
        case .localDir(let local):
            root["target"] = .object([
                "type": .string("local_dir"), "base_dir": .string(local.baseDir), "part_size_bytes": .number(Double(local.partSizeBytes)),
            ])
        }
        return .object(root)
    }
}

extension JSONValue {
    /// The value as an integer when it is a whole number.
    public var intValue: Int? {
        if case .number(let number) = self, number.rounded() == number, abs(number) < 9.0e15 { return Int(number) }
        return nil
    }

}
