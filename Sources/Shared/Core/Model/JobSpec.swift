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
        case vaultwarden(VaultwardenSource)
        /// `postgres` and `mariadb` (docs/databases.md): the engine is the source's `engine`.
        case database(DatabaseSource)

        public var type: String {
            switch self {
            case .filesystem: return "filesystem"
            case .sqlite: return "sqlite"
            case .vaultwarden: return "vaultwarden"
            case .database(let source): return source.engine.rawValue
            }
        }
    }

    /// Where snapshots are written (docs/targets.md): a directory of this host, a WebDAV server, or any rclone remote.
    public enum Target: Sendable, Equatable {
        case localDir(LocalDirTarget)
        case webdav(WebDAVTarget)
        case rclone(RcloneTarget)

        public var type: String {
            switch self {
            case .localDir: return "local_dir"
            case .webdav: return "webdav"
            case .rclone: return "rclone"
            }
        }

        public var partSizeBytes: Int64 {
            switch self {
            case .localDir(let target): return target.partSizeBytes
            case .webdav(let target): return target.partSizeBytes
            case .rclone(let target): return target.partSizeBytes
            }
        }

        /// The target's bandwidth limit (docs/targets.md, "Bandwidth"); nil: unlimited.
        public var bandwidth: TargetBandwidth? {
            switch self {
            case .localDir(let target): return target.bandwidth
            case .webdav(let target): return target.bandwidth
            case .rclone(let target): return target.bandwidth
            }
        }

        /// The secret holding the credentials (`secrets` row of kind `type`); nil for `local_dir`.
        public var secretName: String? {
            switch self {
            case .localDir: return nil
            case .webdav(let target): return target.secretName
            case .rclone(let target): return target.secretName
            }
        }

        /// The spec's JSON form of the target.
        public var json: JSONValue {
            guard let bandwidth, case .object(var object) = addressJSON else { return addressJSON }
            object["bandwidth"] = bandwidth.json
            return .object(object)
        }

        var addressJSON: JSONValue {
            switch self {
            case .localDir(let local):
                return .object(["type": "local_dir", "base_dir": .string(local.baseDir), "part_size_bytes": .number(Double(local.partSizeBytes))])
            case .webdav(let webdav):
                return .object([
                    "type": "webdav", "base_url": .string(webdav.baseURL), "secret_name": .string(webdav.secretName),
                    "part_size_bytes": .number(Double(webdav.partSizeBytes)),
                ])
            case .rclone(let rclone):
                return .object([
                    "type": "rclone", "remote": .string(rclone.remote), "secret_name": .string(rclone.secretName),
                    "part_size_bytes": .number(Double(rclone.partSizeBytes)),
                ])
            }
        }
    }

    public var source: Source
    public var target: Target
    public var pipeline: JSONValue
    public var notifications: JSONValue
    public var retention: JSONValue
    /// Commands run before and after each backup run (docs/hooks.md).
    public var hooks = JobHooks()
    /// Further targets each snapshot is copied to (docs/targets.md, "Copies").
    public var copies: [JobCopy] = []
    /// URLs told when a backup run starts, succeeds and fails (docs/architecture.md, "Notifications").
    public var pings = JobPings()
    /// Scheduled restore drills (docs/architecture.md, "Restore drills"); nil: none.
    public var drills: JobDrills?

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
    /// `off`, `auto` or `required`: read a btrfs read-only snapshot of the source instead of the live files
    /// (docs/architecture.md, "Filesystem snapshots").
    public var snapshotMode: String = "off"
    /// `warn`, `fail` or `ignore`: what files changed while read do to the run (docs/architecture.md, "Consistency of
    /// live files").
    public var consistencyPolicy: String = "warn"
    /// With `fail`: the run fails when more files than this changed while read.
    public var consistencyFailThreshold: Int = 0

    enum CodingKeys: String, CodingKey {
        case paths, root, include, exclude
        case preScan = "pre_scan"
        case symlinkPolicy = "symlink_policy"
        case hardlinkPolicy = "hardlink_policy"
        case errorPolicy = "error_policy"
        case snapshotMode = "snapshot_mode"
        case consistencyPolicy = "consistency_policy"
        case consistencyFailThreshold = "consistency_fail_threshold"
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

/// `vaultwarden` source: a Vaultwarden data directory (docs/vaultwarden.md): `db.sqlite3` copied with the online
/// backup API plus the rest of the directory (attachments, sends, RSA keys, config.json, icon_cache).
public struct VaultwardenSource: Sendable, Equatable {
    /// Absolute path of the data directory (Vaultwarden's `DATA_FOLDER`).
    public var dataDir: String
    /// What a file of the data directory that changed while it was read does: `warn` (default), `fail` or `ignore`.
    public var consistencyPolicy: String
    /// `fail` fails the run when more than this many files changed while read.
    public var consistencyFailThreshold: Int

    public init(dataDir: String, consistencyPolicy: String = "warn", consistencyFailThreshold: Int = 0) {
        self.dataDir = dataDir
        self.consistencyPolicy = consistencyPolicy
        self.consistencyFailThreshold = consistencyFailThreshold
    }
}

/// A `postgres` or `mariadb` source (docs/databases.md): where the server is, who connects, the password's secret,
/// which databases, and whether the globals (roles / users and grants) are dumped too.
public struct DatabaseSource: Sendable, Equatable {
    public enum Engine: String, Sendable, Equatable, CaseIterable {
        case postgres, mariadb

        /// libpq's socket directory / the client's socket file.
        public var defaultHost: String { self == .postgres ? "/var/run/postgresql" : "/run/mysqld/mysqld.sock" }
        public var defaultPort: Int { self == .postgres ? 5432 : 3306 }
        /// The secret kind holding `{password}`.
        public var secretKind: String { rawValue }
    }

    public var engine: Engine
    /// A host name or IP; or an absolute path: postgres a socket directory, mariadb the socket file.
    public var host: String
    public var port: Int
    public var user: String?
    public var secretName: String?
    /// Empty: every database (docs/databases.md, "Which databases").
    public var databases: [String]
    public var globals: Bool
    /// mariadb: verify also restores each dump into a scratch database.
    public var verifyScratchRestore: Bool

    public init(
        engine: Engine,
        host: String? = nil,
        port: Int? = nil,
        user: String? = nil,
        secretName: String? = nil,
        databases: [String] = [],
        globals: Bool = true,
        verifyScratchRestore: Bool = false
    ) {
        self.engine = engine
        self.host = host ?? engine.defaultHost
        self.port = port ?? engine.defaultPort
        self.user = user
        self.secretName = secretName
        self.databases = databases
        self.globals = globals
        self.verifyScratchRestore = verifyScratchRestore
    }

    /// Whether `host` is a socket (an absolute path) rather than a host name or IP.
    public var isSocket: Bool { host.hasPrefix("/") }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "host": .string(host), "port": .number(Double(port)), "user": user.map(JSONValue.string) ?? .null,
            "secret_name": secretName.map(JSONValue.string) ?? .null, "databases": .array(databases.map(JSONValue.string)),
            "globals": .bool(globals),
        ]
        if engine == .mariadb { object["verify_scratch_restore"] = .bool(verifyScratchRestore) }
        return .object(object)
    }

    public static func keys(_ engine: Engine) -> Set<String> {
        let common: Set<String> = ["host", "port", "user", "secret_name", "databases", "globals"]
        return engine == .mariadb ? common.union(["verify_scratch_restore"]) : common
    }

    /// A database (or user) name as the tools take it: 1-64 bytes, no NUL or line break (they travel in the
    /// environment and in option files, never in argv).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && !name.utf8.contains(where: { $0 == 0 || $0 == 10 || $0 == 13 })
    }

    /// A host: a name or IP (letters, digits, `.`, `-`, `:`, `[`, `]`, `_`; not starting with `-`) or an absolute path
    /// without NUL or line breaks, at most 255 bytes.
    public static func isValidHost(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 255, !host.utf8.contains(where: { $0 == 0 || $0 == 10 || $0 == 13 }) else { return false }
        if host.hasPrefix("/") { return !host.split(separator: "/").contains("..") }
        return !host.hasPrefix("-") && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]_".contains($0)) }
    }

    static func parse(_ engine: Engine, _ object: [String: JSONValue], field: String) throws -> DatabaseSource {
        var source = DatabaseSource(engine: engine)
        switch object["host"] {
        case nil, .null?: break
        case .string(let host)?:
            guard isValidHost(host) else {
                throw ValidationError.spec(
                    "\(field).host",
                    "invalid",
                    "host must be a host name, an IP or an absolute socket path (no spaces, not starting with -)"
                )
            }
            source.host = host
        default: throw ValidationError.spec("\(field).host", "invalid", "host must be a string")
        }
        switch object["port"] {
        case nil, .null?: break
        case let value?:
            guard let port = value.intValue, (1...65535).contains(port) else {
                throw ValidationError.spec("\(field).port", "invalid", "port must be a whole number from 1 to 65535")
            }
            source.port = port
        }
        switch object["user"] {
        case nil, .null?: break
        case .string(let user)?:
            guard isValidName(user) else {
                throw ValidationError.spec("\(field).user", "invalid", "user must be 1-64 bytes without NUL or line breaks")
            }
            source.user = user
        default: throw ValidationError.spec("\(field).user", "invalid", "user must be a string")
        }
        switch object["secret_name"] {
        case nil, .null?: break
        case .string(let name)? where JobSpec.isValidSecretName(name): source.secretName = name
        default:
            throw ValidationError.spec(
                "\(field).secret_name",
                "invalid",
                "secret_name must name a \(engine.rawValue) secret (letters, digits, . _ -)"
            )
        }
        switch object["databases"] {
        case nil, .null?: break
        case .array(let items)?:
            var names: [String] = []
            for item in items {
                guard case .string(let name) = item, isValidName(name) else {
                    throw ValidationError.spec(
                        "\(field).databases",
                        "invalid",
                        "databases must be a list of names (1-64 bytes, no NUL or line breaks)"
                    )
                }
                if !names.contains(name) { names.append(name) }
            }
            guard names.count <= 1000 else { throw ValidationError.spec("\(field).databases", "invalid", "at most 1000 databases") }
            source.databases = names
        default: throw ValidationError.spec("\(field).databases", "invalid", "databases must be a list of names")
        }
        for (key, name) in [("globals", "globals"), ("verify_scratch_restore", "verify_scratch_restore")] {
            switch object[key] {
            case nil, .null?: break
            case .bool(let flag)?:
                guard key == "globals" || engine == .mariadb else {
                    throw ValidationError.spec("\(field).\(name)", "not_allowed", "\(name) is a mariadb setting")
                }
                if key == "globals" { source.globals = flag } else { source.verifyScratchRestore = flag }
            default: throw ValidationError.spec("\(field).\(name)", "invalid", "\(name) must be true or false")
            }
        }
        return source
    }
}

/// `local_dir` target: `<base_dir>/<job_id>/<run_id>/`.
public struct LocalDirTarget: Sendable, Equatable, Codable {
    public static let defaultPartSize: Int64 = 268_435_456
    public static let minimumPartSize: Int64 = 1_048_576

    public var baseDir: String
    public var partSizeBytes: Int64
    /// Always nil from a spec: `local_dir` reads and writes are not paced, so a limit is refused (docs/targets.md,
    /// "Bandwidth").
    public var bandwidth: TargetBandwidth? = nil

    enum CodingKeys: String, CodingKey {
        case baseDir = "base_dir"
        case partSizeBytes = "part_size_bytes"
    }
}

/// `webdav` target: `<base_url>/<job_id>/<run_id>/`, HTTP Basic credentials in the `webdav` secret `secret_name`
/// (`{username, password}`).
public struct WebDAVTarget: Sendable, Equatable {
    public var baseURL: String
    public var secretName: String
    public var partSizeBytes: Int64
    public var bandwidth: TargetBandwidth?

    public init(baseURL: String, secretName: String, partSizeBytes: Int64 = LocalDirTarget.defaultPartSize, bandwidth: TargetBandwidth? = nil) {
        self.baseURL = baseURL
        self.secretName = secretName
        self.partSizeBytes = partSizeBytes
        self.bandwidth = bandwidth
    }
}

/// `rclone` target: `<remote>/<job_id>/<run_id>/` through Debian's `rclone`, the remote's configuration in the
/// `rclone` secret `secret_name` (`{config: "type = sftp\n..."}`, as `rclone config show` prints it). `remote` is
/// `name:path`; `name` names the configuration (letters, digits, `_`).
public struct RcloneTarget: Sendable, Equatable {
    public var remote: String
    public var secretName: String
    public var partSizeBytes: Int64
    public var bandwidth: TargetBandwidth?

    public init(remote: String, secretName: String, partSizeBytes: Int64 = LocalDirTarget.defaultPartSize, bandwidth: TargetBandwidth? = nil) {
        self.remote = remote
        self.secretName = secretName
        self.partSizeBytes = partSizeBytes
        self.bandwidth = bandwidth
    }

    /// `name` of `name:path`.
    public var remoteName: String { String(remote.prefix { $0 != ":" }) }
    /// `path` of `name:path`, without a trailing `/`.
    public var remotePath: String {
        var path = String(remote.drop { $0 != ":" }.dropFirst())
        while path.hasSuffix("/") { path.removeLast() }
        return path
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
        var config = target["config"]
        if case .object(let refs)? = target["auth_refs"], !refs.isEmpty {
            guard targetType != "local_dir" else { throw ValidationError.spec("target.auth_refs", "not_allowed", "local_dir takes no auth_refs") }
            // The original's shape: the credentials' secret named in auth_refs.
            if case .object(var object)? = config, let name = refs["secret_name"] ?? refs[targetType] {
                object["secret_name"] = name
                config = .object(object)
            }
        }
        let parsedTarget = try parseTarget(type: targetType, config, field: "target.config")
        return try JobSpec(source: parsedSource, target: parsedTarget, root: root)
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
        hooks = try JobHooks.parse(root["hooks"])
        copies = try JobCopy.parse(root["copies"], primary: target)
        pings = try JobPings.parse(root["pings"])
        drills = try JobDrills.parse(root["drills"])
        if case .vaultwarden = source {
            switch pipeline["format"] {
            case nil, .null?, .string("archive_v1")?: break
            default: throw ValidationError.spec("pipeline.format", "unsupported", "a vaultwarden job writes archive_v1 snapshots only")
            }
        }
        // A dump is the whole database every time: an incremental setting would be silently ignored (docs/databases.md).
        if case .database(let database) = source, incremental != nil {
            throw ValidationError.spec(
                "pipeline.incremental",
                "unsupported",
                "a \(database.engine.rawValue) job's dumps are always full snapshots: remove pipeline.incremental"
            )
        }
        _ = try JobNotifications.parse(notifications)
        _ = try RetentionPolicy.parse(retention)
    }

    private func validatePipeline() throws {
        // A value of the wrong type is an error, never "as if absent": `"encryption": "age_x25519"` or an encryption
        // without a type used to save a job that wrote its backups in the clear (docs/security.md, "Unknown fields").
        switch pipeline["format"] {
        case nil, .null?, .string("archive_v1")?, .string("raw_tree_v1")?: break
        default: throw ValidationError.spec("pipeline.format", "unsupported", "pipeline.format must be archive_v1 or raw_tree_v1")
        }
        switch pipeline["encryption"] {
        case nil, .null?: break
        case .object(let encryption)?:
            switch encryption["type"] {
            case .string("none")?:
                switch encryption["key_name"] {
                case nil, .null?, .string("")?: break
                default:
                    throw ValidationError.spec(
                        "pipeline.encryption.key_name",
                        "not_allowed",
                        "a key_name with encryption type none would not encrypt: set type to age_x25519 or remove key_name"
                    )
                }
            case nil, .null?:
                throw ValidationError.spec("pipeline.encryption.type", "required", "pipeline.encryption needs a type: none or age_x25519")
            case .string("age_x25519")?:
                guard case .string(let key)? = encryption["key_name"], !key.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError.spec("pipeline.encryption.key_name", "required", "age_x25519 encryption needs a key_name")
                }
                guard Self.isValidKeyName(key) else {
                    throw ValidationError.spec(
                        "pipeline.encryption.key_name",
                        "invalid",
                        "key_name must be 1–64 letters, digits, . _ or - (not . or ..)"
                    )
                }
            default:
                throw ValidationError.spec("pipeline.encryption.type", "unsupported", "encryption type must be none or age_x25519")
            }
        default:
            throw ValidationError.spec("pipeline.encryption", "not_object", "pipeline.encryption must be an object {type, key_name}")
        }
        _ = try Self.incremental(pipeline)
    }

    /// `pipeline.incremental` (docs/formats.md, "Incremental snapshots"): every `fullEvery`-th snapshot is full, the
    /// ones between hold only what changed; `rehash` reads every file to tell changes by content.
    public struct Incremental: Sendable, Equatable {
        public var fullEvery: Int
        public var rehash: Bool

        public init(fullEvery: Int, rehash: Bool = false) {
            self.fullEvery = fullEvery
            self.rehash = rehash
        }
    }

    /// The job's incremental setting; nil for full snapshots only (the default).
    public var incremental: Incremental? { try? Self.incremental(pipeline) }

    static func incremental(_ pipeline: JSONValue) throws -> Incremental? {
        switch pipeline["incremental"] {
        case nil, .null?, .bool(false)?:
            return nil
        case .object(let object)?:
            guard let every = object["full_every"]?.intValue, (1...1000).contains(every) else {
                throw ValidationError.spec(
                    "pipeline.incremental.full_every",
                    "invalid",
                    "full_every must be a whole number from 1 (every snapshot full) to 1000"
                )
            }
            switch object["rehash"] {
            case nil, .bool?: break
            default: throw ValidationError.spec("pipeline.incremental.rehash", "invalid", "rehash must be true or false")
            }
            return Incremental(fullEvery: every, rehash: object["rehash"] == .bool(true))
        default:
            throw ValidationError.spec("pipeline.incremental", "invalid", "pipeline.incremental must be an object {full_every: N} or null")
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
            if let relative = paths.first(where: { !$0.hasPrefix("/") }) {
                throw ValidationError.spec("\(field).paths", "not_absolute", "source paths must be absolute (\"\(relative)\" is not)")
            }
            if let root, !root.trimmingCharacters(in: .whitespaces).isEmpty, !root.hasPrefix("/") {
                throw ValidationError.spec("\(field).root", "not_absolute", "root must be an absolute path")
            }
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
                    errorPolicy: try oneOf(object["error_policy"], ["fail_fast", "skip_fail", "skip_ok"], field: "\(field).error_policy"),
                    snapshotMode: try oneOf(object["snapshot_mode"], ["off", "auto", "required"], field: "\(field).snapshot_mode"),
                    consistencyPolicy: try oneOf(object["consistency_policy"], SourceConsistency.policies, field: "\(field).consistency_policy"),
                    consistencyFailThreshold: try consistencyFailThreshold(object["consistency_fail_threshold"], field: field)
                )
            )
        case "sqlite":
            guard case .string(let path)? = object["path"], !path.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError.spec("\(field).path", "required", "sqlite source needs a non-blank path")
            }
            guard path.hasPrefix("/") else { throw ValidationError.spec("\(field).path", "not_absolute", "the database path must be absolute") }
            return .sqlite(
                SQLiteSource(path: path, integrityCheck: try bool(object["integrity_check"], default: false, field: "\(field).integrity_check"))
            )
        case "vaultwarden":
            guard case .string(let dataDir)? = object["data_dir"], !dataDir.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError.spec("\(field).data_dir", "required", "vaultwarden source needs a non-blank data_dir")
            }
            guard dataDir.hasPrefix("/") else {
                throw ValidationError.spec("\(field).data_dir", "not_absolute", "the data directory must be an absolute path")
            }
            guard !dataDir.contains("\0") else { throw ValidationError.spec("\(field).data_dir", "invalid", "data_dir must not contain NUL") }
            var threshold = 0
            switch object["consistency_fail_threshold"] {
            case nil, .null?: break
            case let value?:
                guard let count = value.intValue, count >= 0, count <= 1_000_000_000 else {
                    throw ValidationError.spec(
                        "\(field).consistency_fail_threshold",
                        "invalid",
                        "consistency_fail_threshold must be a whole number from 0 to 1000000000"
                    )
                }
                threshold = count
            }
            return .vaultwarden(
                VaultwardenSource(
                    dataDir: dataDir,
                    consistencyPolicy: try oneOf(object["consistency_policy"], ["warn", "fail", "ignore"], field: "\(field).consistency_policy"),
                    consistencyFailThreshold: threshold
                )
            )
        case "postgres", "mariadb":
            return .database(try DatabaseSource.parse(DatabaseSource.Engine(rawValue: type)!, object, field: field))
        default:
            throw ValidationError.spec(
                field == "source" ? "type" : "source.type",
                "unsupported",
                "job type \(type) is not supported (filesystem, sqlite, postgres, mariadb, vaultwarden)"
            )
        }
    }

    private static func parseTargetV1(_ value: JSONValue?) throws -> Target {
        guard case .object(let object)? = value else { throw ValidationError.spec("target", "required", "target is required") }
        guard case .string(let type)? = object["type"] else { throw ValidationError.spec("target.type", "required", "target.type is required") }
        return try parseTarget(type: type, value, field: "target")
    }

    /// A target of `type` from its fields (the V1 target object, or a V2 `target.config`).
    public static func parseTarget(type: String, _ value: JSONValue?, field: String) throws -> Target {
        var target = try parseTargetAddress(type: type, value, field: field)
        let bandwidth = try TargetBandwidth.parse(value?["bandwidth"], field: "\(field).bandwidth")
        switch target {
        case .localDir(var local):
            // Not paced (docs/targets.md, "Bandwidth"): a limit that would do nothing is refused, not kept.
            if bandwidth != nil {
                throw ValidationError(
                    code: "bandwidth_unsupported",
                    field: "\(field).bandwidth",
                    reason: "unsupported",
                    message: "a local_dir target is not paced: bandwidth applies to webdav and rclone targets"
                )
            }
            local.bandwidth = bandwidth
            target = .localDir(local)
        case .webdav(var webdav):
            webdav.bandwidth = bandwidth
            target = .webdav(webdav)
        case .rclone(var rclone):
            rclone.bandwidth = bandwidth
            target = .rclone(rclone)
        }
        return target
    }

    private static func parseTargetAddress(type: String, _ value: JSONValue?, field: String) throws -> Target {
        switch type {
        case "local_dir": return .localDir(try parseLocalDir(value, field: field))
        case "webdav":
            guard case .object(let object)? = value else { throw ValidationError.spec(field, "required", "\(field) must be an object") }
            guard case .string(let url)? = object["base_url"], let parsed = URL(string: url),
                parsed.scheme == "http" || parsed.scheme == "https", parsed.host?.isEmpty == false
            else { throw ValidationError.spec("\(field).base_url", "invalid", "base_url must be an http:// or https:// URL") }
            guard parsed.user == nil, parsed.password == nil else {
                throw ValidationError.spec("\(field).base_url", "credentials_in_url", "put the credentials in a webdav secret, not in base_url")
            }
            guard parsed.query == nil, parsed.fragment == nil else {
                throw ValidationError.spec("\(field).base_url", "invalid", "base_url takes no query or fragment")
            }
            let secret = try secretName(object["secret_name"], field: field)
            return .webdav(WebDAVTarget(baseURL: url, secretName: secret, partSizeBytes: try partSize(object["part_size_bytes"], field: field)))
        case "rclone":
            guard case .object(let object)? = value else { throw ValidationError.spec(field, "required", "\(field) must be an object") }
            guard case .string(let remote)? = object["remote"], let colon = remote.firstIndex(of: ":") else {
                throw ValidationError.spec("\(field).remote", "invalid", "remote must be name:path")
            }
            let name = remote[..<colon]
            guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw ValidationError.spec("\(field).remote", "invalid", "the remote's name (before :) must be letters, digits or _")
            }
            let path = remote[remote.index(after: colon)...]
            guard !path.contains("\0"), !path.split(separator: "/").contains("..") else {
                throw ValidationError.spec("\(field).remote", "invalid", "the remote's path must not contain .. or NUL")
            }
            let secret = try secretName(object["secret_name"], field: field)
            return .rclone(RcloneTarget(remote: remote, secretName: secret, partSizeBytes: try partSize(object["part_size_bytes"], field: field)))
        default:
            throw ValidationError.spec("target.type", "unsupported", "target type \(type) is not supported (local_dir, webdav, rclone)")
        }
    }

    /// A backup key's name (`pipeline.encryption.key_name`, docs/security.md, "Unknown fields"): 1–64 ASCII letters,
    /// digits, `.`, `_`, `-`, and not `.` or `..`.
    public static func isValidKeyName(_ name: String) -> Bool {
        name.utf8.count <= 64 && isValidSecretName(name) && name != "." && name != ".."
    }

    /// A secret's name: 1–128 characters of letters, digits, `.`, `_`, `-`.
    public static func isValidSecretName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    private static func secretName(_ value: JSONValue?, field: String) throws -> String {
        guard case .string(let name)? = value, isValidSecretName(name) else {
            throw ValidationError.spec("\(field).secret_name", "required", "secret_name must name a secret (letters, digits, . _ -)")
        }
        return name
    }

    private static func partSize(_ raw: JSONValue?, field: String) throws -> Int64 {
        var size = LocalDirTarget.defaultPartSize
        if let raw, raw != .null {
            guard let value = raw.intValue else {
                throw ValidationError.spec("\(field).part_size_bytes", "invalid", "part_size_bytes must be an integer")
            }
            size = Int64(value)
        }
        guard size >= LocalDirTarget.minimumPartSize else {
            throw ValidationError.spec("\(field).part_size_bytes", "min_value", "part_size_bytes must be at least 1048576 (1 MiB)")
        }
        return size
    }

    private static func parseLocalDir(_ value: JSONValue?, field: String) throws -> LocalDirTarget {
        guard case .object(let object)? = value else { throw ValidationError.spec(field, "required", "\(field) must be an object") }
        guard case .string(let base)? = object["base_dir"], !base.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError.spec("\(field).base_dir", "required", "local_dir needs a base_dir")
        }
        guard base.hasPrefix("/") else { throw ValidationError.spec("\(field).base_dir", "not_absolute", "base_dir must be an absolute path") }
        return LocalDirTarget(baseDir: base, partSizeBytes: try partSize(object["part_size_bytes"], field: field))
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

    /// `consistency_fail_threshold`: a whole number of files from 0 (default) to 1,000,000,000.
    static func consistencyFailThreshold(_ value: JSONValue?, field: String) throws -> Int {
        switch value {
        case nil, .null?: return 0
        case .number(let number)? where number >= 0 && number <= 1_000_000_000 && number.rounded() == number: return Int(number)
        default:
            throw ValidationError.spec(
                "\(field).consistency_fail_threshold",
                "invalid",
                "consistency_fail_threshold must be a whole number of files from 0 to 1000000000"
            )
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
                "snapshot_mode": .string(fs.snapshotMode), "consistency_policy": .string(fs.consistencyPolicy),
                "consistency_fail_threshold": .number(Double(fs.consistencyFailThreshold)),
            ])
        case .sqlite(let sqlite):
            root["source"] = .object(["path": .string(sqlite.path), "integrity_check": .bool(sqlite.integrityCheck)])
        case .vaultwarden(let vaultwarden):
            root["source"] = .object([
                "data_dir": .string(vaultwarden.dataDir), "consistency_policy": .string(vaultwarden.consistencyPolicy),
                "consistency_fail_threshold": .number(Double(vaultwarden.consistencyFailThreshold)),
            ])
        case .database(let database):
            root["source"] = database.json
        }
        root["target"] = target.json
        if !hooks.isEmpty { root["hooks"] = hooks.json }
        if !copies.isEmpty { root["copies"] = JobCopy.json(copies) }
        if !pings.isEmpty { root["pings"] = pings.json }
        if let drills { root["drills"] = drills.json }
        return .object(root)
    }
}

extension JobSpec {
    static let filesystemKeys: Set<String> = [
        "paths", "root", "include", "exclude", "pre_scan", "symlink_policy", "hardlink_policy", "error_policy", "snapshot_mode",
        "consistency_policy", "consistency_fail_threshold",
    ]
    static let sqliteKeys: Set<String> = ["path", "integrity_check"]
    static let vaultwardenKeys: Set<String> = ["data_dir", "consistency_policy", "consistency_fail_threshold"]
    static let sectionKeys: Set<String> = ["v", "source", "target", "pipeline", "notifications", "retention", "hooks", "copies", "pings", "drills"]

    /// The keys a source's settings take, by source type (nil for a type the spec does not know).
    static func sourceKeys(_ type: String) -> Set<String>? {
        switch type {
        case "filesystem": return filesystemKeys
        case "sqlite": return sqliteKeys
        case "vaultwarden": return vaultwardenKeys
        case "postgres": return DatabaseSource.keys(.postgres)
        case "mariadb": return DatabaseSource.keys(.mariadb)
        default: return nil
        }
    }

    /// The keys a target's settings take, by target type (nil for a type the spec does not know).
    public static func targetKeys(_ type: String) -> Set<String>? {
        switch type {
        case "local_dir": return ["base_dir", "part_size_bytes", "bandwidth"]
        case "webdav": return ["base_url", "secret_name", "part_size_bytes", "bandwidth"]
        case "rclone": return ["remote", "secret_name", "part_size_bytes", "bandwidth"]
        default: return nil
        }
    }

    /// Every key of a spec (either shape) that the spec does not define, as dotted paths from the spec's root
    /// (`pipline`, `source.exlude`, `pipeline.encryption.recipient`), sorted. Saving refuses the first
    /// (`JobInput`, `400 unknown_field`); the API reports stored jobs that have any at start-up. `parse` itself
    /// ignores them, so a job stored before this check still runs.
    public static func unknownFields(_ value: JSONValue) -> [String] {
        guard case .object(let root) = value else { return [] }
        var unknown: [String] = []
        func check(_ value: JSONValue?, _ known: Set<String>, _ path: String) {
            guard case .object(let object)? = value else { return }
            unknown += object.keys.filter { !known.contains($0) }.map { path.isEmpty ? $0 : "\(path).\($0)" }
        }
        if case .string(let type)? = root["type"] {
            check(value, sectionKeys.union(["type"]), "")
            // A type the spec does not know is `parse`'s error to report (`unsupported`), not a list of unknown keys.
            if let keys = sourceKeys(type) { check(root["source"], keys, "source") }
            if case .string(let targetType)? = root["target"]?["type"], let keys = targetKeys(targetType) {
                check(root["target"], keys.union(["type"]), "target")
                unknown += TargetBandwidth.unknownFields(root["target"]?["bandwidth"], path: "target.bandwidth")
            }
        } else {
            check(value, sectionKeys, "")
            check(root["source"], ["type", "version", "config"], "source")
            if case .string(let type)? = root["source"]?["type"], let keys = sourceKeys(type) {
                check(root["source"]?["config"], keys, "source.config")
            }
            check(root["target"], ["type", "version", "config", "auth_refs"], "target")
            if case .string(let type)? = root["target"]?["type"] {
                if let keys = targetKeys(type) { check(root["target"]?["config"], keys, "target.config") }
                unknown += TargetBandwidth.unknownFields(root["target"]?["config"]?["bandwidth"], path: "target.config.bandwidth")
                check(root["target"]?["auth_refs"], ["secret_name", type], "target.auth_refs")
            }
        }
        check(root["pipeline"], ["format", "encryption", "incremental"], "pipeline")
        check(root["pipeline"]?["encryption"], ["type", "key_name"], "pipeline.encryption")
        check(root["pipeline"]?["incremental"], ["full_every", "rehash"], "pipeline.incremental")
        check(root["notifications"], Set(["mode"] + JobNotifications.listKeys), "notifications")
        check(root["retention"], RetentionPolicy.keys, "retention")
        unknown += JobHooks.unknownFields(root["hooks"])
        unknown += JobCopy.unknownFields(root["copies"])
        unknown += JobPings.unknownFields(root["pings"])
        check(root["drills"], JobDrills.keys, "drills")
        return unknown.sorted()
    }
}
