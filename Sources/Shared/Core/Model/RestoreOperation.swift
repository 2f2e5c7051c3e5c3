import Foundation

/// What a restore run is asked to do (`runs.operation_json` of a `restore` run; docs/formats.md, "Run operations"):
/// where to, what to do with names that already exist, whether to restore owners, and optionally which paths.
/// The API builds it from a request; the restore executor reads it back.
public struct RestoreOperation: Sendable, Equatable {
    /// What happens when a name to restore already exists: replace it, keep it, or stop the restore.
    public enum ConflictPolicy: String, Sendable, CaseIterable {
        case overwrite, skip, fail
    }

    /// Whether owners are restored: `auto` when running as root (as GNU tar does), `always` (a failure is a warning),
    /// `never`.
    public enum OwnershipPolicy: String, Sendable, CaseIterable {
        case auto, always, never
    }

    /// Archive paths as bytes: exact files, and directories restored with everything below them.
    public struct Selection: Sendable, Equatable {
        public var files: [[UInt8]]
        public var dirs: [[UInt8]]

        public init(files: [[UInt8]], dirs: [[UInt8]]) {
            self.files = files
            self.dirs = dirs
        }
    }

    /// The backup run whose snapshot is restored (set when the run is enqueued).
    public var sourceRunId: String?
    /// Absolute directory on the worker's machine.
    public var directory: String
    public var conflictPolicy: ConflictPolicy
    public var ownership: OwnershipPolicy
    /// Nil restores everything.
    public var selection: Selection?
    /// Leading directories taken off every restored path (`home/ann` restores `home/ann/docs` as `<directory>/docs`;
    /// docs/formats.md, "Run operations"). A proper prefix, by whole components, of every selected path.
    public var stripPrefix: [UInt8]?
    /// `directory` is where the snapshot's paths came from (`destination.type: "original"`), resolved by the API from
    /// the job when the run was queued; kept so the run says so.
    public var original = false
    /// A restore into a database server instead of files (`destination.type: "database"`, docs/databases.md);
    /// `directory` is empty then.
    public var database: DatabaseDestination?
    /// A restore into a WebDAV collection instead of a directory (`destination.type: "webdav"`, docs/targets.md,
    /// "Restore to WebDAV"); `directory` is empty then.
    public var webdav: WebDAVTarget?

    public init(
        sourceRunId: String? = nil,
        directory: String,
        conflictPolicy: ConflictPolicy = .fail,
        ownership: OwnershipPolicy = .auto,
        selection: Selection? = nil
    ) {
        self.sourceRunId = sourceRunId
        self.directory = directory
        self.conflictPolicy = conflictPolicy
        self.ownership = ownership
        self.selection = selection
    }

    /// The stored form. A selected name that is UTF-8 goes in `files`/`dirs`; any other in `files_b64`/`dirs_b64`.
    public var json: JSONValue {
        if let database {
            var object: [String: JSONValue] = ["destination": database.json]
            if let sourceRunId { object["source_run_id"] = .string(sourceRunId) }
            return .object(object)
        }
        var object: [String: JSONValue] = [
            "destination": webdav.map { .object(["type": "webdav", "base_url": .string($0.baseURL), "secret_name": .string($0.secretName)]) }
                ?? .object(["type": original ? "original" : "local_fs", "directory": .string(directory)]),
            "conflict_policy": .string(conflictPolicy.rawValue), "restore_ownership": .string(ownership.rawValue),
        ]
        if let sourceRunId { object["source_run_id"] = .string(sourceRunId) }
        if let selection {
            var lists: [String: [JSONValue]] = ["files": [], "dirs": [], "files_b64": [], "dirs_b64": []]
            for (key, paths) in [("files", selection.files), ("dirs", selection.dirs)] {
                for path in paths {
                    if let text = String(validating: path, as: UTF8.self) {
                        lists[key]!.append(.string(text))
                    } else {
                        lists[key + "_b64"]!.append(.string(Data(path).base64EncodedString()))
                    }
                }
            }
            object["selection"] = .object(lists.mapValues(JSONValue.array))
        }
        if let stripPrefix {
            if let text = String(validating: stripPrefix, as: UTF8.self) {
                object["strip_prefix"] = .string(text)
            } else {
                object["strip_prefix_b64"] = .string(Data(stripPrefix).base64EncodedString())
            }
        }
        return .object(object)
    }

    /// Why stored parameters cannot be used.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Reads the stored form.
    public init(json: JSONValue) throws {
        if json["destination"]?["type"]?.stringValue == "database" {
            guard let database = DatabaseDestination(json: json["destination"] ?? .null) else {
                throw Invalid(description: "a database destination that cannot be used")
            }
            self.init(sourceRunId: json["source_run_id"]?.stringValue, directory: "")
            self.database = database
            return
        }
        var webdav: WebDAVTarget?
        if json["destination"]?["type"]?.stringValue == "webdav" {
            guard case .webdav(let target)? = try? JobSpec.parseTarget(type: "webdav", json["destination"], field: "destination") else {
                throw Invalid(description: "a webdav destination needs base_url (http/https) and secret_name")
            }
            webdav = target
        }
        let directory = webdav == nil ? json["destination"]?["directory"]?.stringValue ?? "" : ""
        guard webdav != nil || directory.hasPrefix("/") else {
            throw Invalid(description: "restore needs destination.directory (absolute)")
        }
        func policy<P: RawRepresentable<String>>(_ key: String, _ fallback: P) throws -> P {
            guard let raw = json[key]?.stringValue else { return fallback }
            guard let parsed = P(rawValue: raw) else { throw Invalid(description: "unknown \(key) \(raw)") }
            return parsed
        }
        var selection: Selection?
        if let stored = json["selection"], case .object = stored {
            func paths(_ key: String) throws -> [[UInt8]] {
                var result: [[UInt8]] = []
                for (name, decode) in [(key, false), (key + "_b64", true)] {
                    guard case .array(let items)? = stored[name] else { continue }
                    for item in items {
                        guard let text = item.stringValue else { throw Invalid(description: "selection.\(name) holds a non-string") }
                        if decode {
                            guard let bytes = Data(base64Encoded: text) else { throw Invalid(description: "selection.\(name) is not base64") }
                            result.append(Array(bytes))
                        } else {
                            result.append(Array(text.utf8))
                        }
                    }
                }
                return result
            }
            selection = Selection(files: try paths("files"), dirs: try paths("dirs"))
        }
        self.init(
            sourceRunId: json["source_run_id"]?.stringValue,
            directory: directory,
            conflictPolicy: try policy("conflict_policy", ConflictPolicy.fail),
            ownership: try policy("restore_ownership", OwnershipPolicy.auto),
            selection: selection
        )
        self.webdav = webdav
        original = webdav == nil && json["destination"]?["type"]?.stringValue == "original"
        if let encoded = json["strip_prefix_b64"]?.stringValue {
            guard let bytes = Data(base64Encoded: encoded) else { throw Invalid(description: "strip_prefix_b64 is not base64") }
            stripPrefix = Array(bytes)
        } else if let text = json["strip_prefix"]?.stringValue {
            stripPrefix = Array(text.utf8)
        }
    }
}

/// Where a restore into a database goes (docs/databases.md, "Restore into a database"): a server (each field absent
/// means the job's own source's), the dumped databases to restore under new names, whether the globals are restored
/// too, and whether an existing database of a new name may be dropped first.
public struct DatabaseDestination: Sendable, Equatable {
    public var host: String?
    public var port: Int?
    public var user: String?
    public var secretName: String?
    /// Dumped name → new name, sorted by the dumped name.
    public var databases: [(from: String, to: String)]
    public var globals: Bool
    public var dropExisting: Bool

    public init(
        host: String? = nil,
        port: Int? = nil,
        user: String? = nil,
        secretName: String? = nil,
        databases: [(from: String, to: String)],
        globals: Bool = false,
        dropExisting: Bool = false
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.secretName = secretName
        self.databases = databases.sorted { $0.from < $1.from }
        self.globals = globals
        self.dropExisting = dropExisting
    }

    public static func == (lhs: DatabaseDestination, rhs: DatabaseDestination) -> Bool {
        lhs.host == rhs.host && lhs.port == rhs.port && lhs.user == rhs.user && lhs.secretName == rhs.secretName
            && lhs.databases.map(\.from) == rhs.databases.map(\.from) && lhs.databases.map(\.to) == rhs.databases.map(\.to)
            && lhs.globals == rhs.globals && lhs.dropExisting == rhs.dropExisting
    }

    public static let keys: Set<String> = ["type", "host", "port", "user", "secret_name", "databases", "globals", "drop_existing"]

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "type": "database", "databases": .object(Dictionary(uniqueKeysWithValues: databases.map { ($0.from, JSONValue.string($0.to)) })),
            "globals": .bool(globals), "drop_existing": .bool(dropExisting),
        ]
        if let host { object["host"] = .string(host) }
        if let port { object["port"] = .number(Double(port)) }
        if let user { object["user"] = .string(user) }
        if let secretName { object["secret_name"] = .string(secretName) }
        return .object(object)
    }

    /// Why a request's destination cannot be used: the field and the message.
    public struct Problem: Error, Sendable {
        public var field: String
        public var message: String
    }

    /// Parses and checks a request's (or the stored) destination.
    public static func parse(_ value: JSONValue) throws(Problem) -> DatabaseDestination {
        guard case .object(let object) = value else { throw Problem(field: "destination", message: "destination must be an object") }
        func string(_ key: String, _ valid: (String) -> Bool) throws(Problem) -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)? where valid(text): return text
            default: throw Problem(field: "destination.\(key)", message: "destination.\(key) is not valid")
            }
        }
        func flag(_ key: String) throws(Problem) -> Bool {
            switch object[key] {
            case nil, .null?: return false
            case .bool(let value)?: return value
            default: throw Problem(field: "destination.\(key)", message: "destination.\(key) must be true or false")
            }
        }
        let host = try string("host", DatabaseSource.isValidHost)
        let user = try string("user", DatabaseSource.isValidName)
        let secret = try string("secret_name", JobSpec.isValidSecretName)
        var port: Int?
        switch object["port"] {
        case nil, .null?: break
        case let raw?:
            guard let value = raw.intValue, (1...65535).contains(value) else {
                throw Problem(field: "destination.port", message: "destination.port must be a whole number from 1 to 65535")
            }
            port = value
        }
        guard case .object(let map)? = object["databases"], !map.isEmpty, map.count <= 1000 else {
            throw Problem(field: "destination.databases", message: "destination.databases must map at least one dumped database to a new name")
        }
        var pairs: [(String, String)] = []
        for (from, to) in map {
            guard DatabaseSource.isValidName(from), case .string(let name) = to, DatabaseSource.isValidName(name) else {
                throw Problem(field: "destination.databases", message: "database names are 1-64 bytes without NUL or line breaks")
            }
            pairs.append((from, name))
        }
        guard Set(pairs.map(\.1)).count == pairs.count else {
            throw Problem(field: "destination.databases", message: "two dumped databases cannot be restored under one name")
        }
        return DatabaseDestination(
            host: host,
            port: port,
            user: user,
            secretName: secret,
            databases: pairs,
            globals: try flag("globals"),
            dropExisting: try flag("drop_existing")
        )
    }

    init?(json: JSONValue) {
        guard let parsed = try? Self.parse(json) else { return nil }
        self = parsed
    }

    /// The server to connect to: each field given here, else the job's source's.
    public func source(defaults: DatabaseSource) -> DatabaseSource {
        var source = defaults
        if let host { source.host = host }
        if let port { source.port = port }
        if let user { source.user = user }
        if let secretName { source.secretName = secretName }
        return source
    }
}
