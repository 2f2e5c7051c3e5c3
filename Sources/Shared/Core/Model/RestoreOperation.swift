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
        var object: [String: JSONValue] = [
            "destination": .object(["type": "local_fs", "directory": .string(directory)]),
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
        return .object(object)
    }

    /// Why stored parameters cannot be used.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Reads the stored form.
    public init(json: JSONValue) throws {
        guard let directory = json["destination"]?["directory"]?.stringValue, directory.hasPrefix("/") else {
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
    }
}
