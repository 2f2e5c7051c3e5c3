import Core
import Foundation

/// What the body of `POST /api/runs/{id}/restore` (and of `…/restore/preview`) says, read without the run or the
/// database (docs/formats.md, "Run operations"): the destination's shape, the selection, the prefix to take off, the
/// policies. Beside `RestoreWriter`, whose path rules it applies, so that the API and the fuzz target (docs/security.md,
/// "Fuzzing") read a body alike; what needs the run or the database (the original location, a WebDAV secret, which
/// node restores) stays in the API. Every refusal is a `ValidationError` with the code the API answers with a 400.
public enum RestoreRequest {
    /// The keys a restore body may have (docs/security.md, "Unknown fields").
    public static let knownKeys: Set<String> = [
        "destination", "conflict_policy", "restore_ownership", "selection", "location", "strip_prefix", "strip_prefix_b64",
    ]

    /// Paths one list of a selection may hold (a request body is bounded anyway; this bounds the work per path).
    public static let maxSelectedPaths = 100_000

    /// The most bytes a `strip_prefix` may have.
    public static let maxStripPrefixBytes = 4096

    /// Where a restore writes, by the destination's `type`.
    public enum Destination: Sendable, Equatable {
        /// `{type: "database", …}`: read by `DatabaseDestination.parse` with the snapshot's dumps at hand.
        case database([String: JSONValue])
        /// `{type: "webdav", base_url, secret_name}` (docs/targets.md, "Restore to WebDAV"); the secret is the API's to
        /// check.
        case webdav(WebDAVTarget)
        /// `{type: "original"}`: the directory is the job's (`RestoreOperation.originalDirectory`).
        case original
        /// Any other object (`{type: "local_fs", directory}`), or no object at all: `directory(_:)` says whether it
        /// names a directory, after the run is known (a missing run answers 404 before a bad directory answers 400).
        case chosen([String: JSONValue]?)
    }

    /// The destination's type and its keys (`unknown_field` for a key its type does not take; `invalid_destination`
    /// for a WebDAV URL or secret name a target would refuse).
    public static func destination(_ value: JSONValue?) throws -> Destination {
        guard case .object(let object)? = value else { return .chosen(nil) }
        switch object["type"] {
        case .string("database")?:
            return .database(object)
        case .string("webdav")?:
            try ValidationError.refuseUnknownKeys(object, known: ["type", "base_url", "secret_name"], at: "destination")
            let target: JobSpec.Target
            do {
                target = try JobSpec.parseTarget(type: "webdav", .object(object), field: "destination")
            } catch let error as ValidationError {
                throw ValidationError(code: "invalid_destination", field: error.field, reason: error.reason, message: error.message)
            }
            guard case .webdav(let webdav) = target else {
                throw ValidationError(code: "invalid_destination", field: "destination", reason: "invalid", message: "not webdav")
            }
            return .webdav(webdav)
        case .string("original")?:
            try ValidationError.refuseUnknownKeys(object, known: ["type"], at: "destination")
            return .original
        default:
            try ValidationError.refuseUnknownKeys(object, known: ["type", "directory"], at: "destination")
            return .chosen(object)
        }
    }

    /// A chosen destination's directory: `{type: "local_fs", directory}` with an absolute path without `..` or NUL.
    public static func directory(_ destination: [String: JSONValue]?) throws -> String {
        guard let destination, destination["type"] == .string("local_fs"), case .string(let chosen)? = destination["directory"],
            chosen.hasPrefix("/"), RestoreWriter.normalize(chosen) != nil
        else {
            throw ValidationError(
                code: "invalid_destination",
                field: "destination",
                reason: "invalid",
                message: "destination must be {type: \"local_fs\", directory: <absolute path without ..>} or {type: \"original\"}"
            )
        }
        return chosen
    }

    /// The body's `selection` (`{files?, dirs?, files_b64?, dirs_b64?}`, names that are not UTF-8 as base64;
    /// docs/formats.md, "Names are bytes"); nil restores everything. At least one path, none with `..` or NUL.
    public static func selection(_ value: JSONValue?) throws -> RestoreOperation.Selection? {
        let invalid = ValidationError(
            code: "invalid_selection",
            field: "selection",
            reason: "invalid",
            message: "selection must be {files?: [path], dirs?: [path], files_b64?: [base64], dirs_b64?: [base64]} with at least one path and no .."
        )
        switch value {
        case nil, .null?: return nil
        case .object(let selection)?:
            try ValidationError.refuseUnknownKeys(selection, known: ["files", "dirs", "files_b64", "dirs_b64"], at: "selection")
            func strings(_ key: String) throws -> [String] {
                switch selection[key] {
                case nil, .null?: return []
                case .array(let items)? where items.count <= maxSelectedPaths:
                    return try items.map {
                        guard case .string(let value) = $0 else { throw invalid }
                        return value
                    }
                default: throw invalid
                }
            }
            func encoded(_ key: String) throws -> [[UInt8]] {
                try strings(key).map {
                    guard let bytes = Data(base64Encoded: $0) else { throw invalid }
                    return Array(bytes)
                }
            }
            let chosen = RestoreOperation.Selection(
                files: try strings("files").map { Array($0.utf8) } + encoded("files_b64"),
                dirs: try strings("dirs").map { Array($0.utf8) } + encoded("dirs_b64")
            )
            guard RestoreWriter.Selection(files: chosen.files, dirs: chosen.dirs) != nil else { throw invalid }
            return chosen
        default: throw invalid
        }
    }

    /// The body's `strip_prefix` (text) or `strip_prefix_b64` (bytes), normalized (no leading `/` was given, so none
    /// to drop; `./` and doubled `/` dropped); nil when absent. Whether it fits the selection is `checkStripPrefix`.
    public static func stripPrefix(_ body: [String: JSONValue]) throws -> [UInt8]? {
        func refuse(_ reason: String, _ message: String) -> ValidationError {
            ValidationError(code: "invalid_strip_prefix", field: "strip_prefix", reason: reason, message: message)
        }
        let raw: [UInt8]
        switch (body["strip_prefix"] ?? .null, body["strip_prefix_b64"] ?? .null) {
        case (.null, .null): return nil
        case (.string(let text), .null): raw = Array(text.utf8)
        case (.null, .string(let encoded)):
            guard let bytes = Data(base64Encoded: encoded) else { throw refuse("not_base64", "strip_prefix_b64 must be base64") }
            raw = Array(bytes)
        case (.null, _), (_, .null): throw refuse("not_a_string", "strip_prefix must be a string (a relative directory path)")
        default: throw refuse("both", "give strip_prefix or strip_prefix_b64, not both")
        }
        guard !raw.isEmpty, raw.count <= maxStripPrefixBytes else {
            throw refuse("length", "strip_prefix must be 1 to \(maxStripPrefixBytes) bytes")
        }
        guard !raw.contains(0) else { throw refuse("nul", "strip_prefix must not contain NUL") }
        guard raw.first != UInt8(ascii: "/") else {
            throw refuse("absolute", "strip_prefix is relative to the snapshot's paths (home/ann, not /home/ann)")
        }
        guard let components = RestoreWriter.components(raw) else { throw refuse("dot_dot", "strip_prefix must not contain ..") }
        guard !components.isEmpty else { throw refuse("empty", "strip_prefix must name at least one directory") }
        return Array(components.joined(separator: [UInt8(ascii: "/")]))
    }

    /// A prefix is taken off a selection restored into a directory, and must lead every selected path.
    public static func checkStripPrefix(_ prefix: [UInt8], operation: RestoreOperation) throws {
        func refuse(_ reason: String, _ message: String) -> ValidationError {
            ValidationError(code: "invalid_strip_prefix", field: "strip_prefix", reason: reason, message: message)
        }
        if operation.webdav != nil { throw refuse("destination", "strip_prefix applies to a restore into a directory, not to WebDAV") }
        if operation.original {
            throw refuse("destination", "the original location keeps the paths whole: strip_prefix applies to a chosen directory")
        }
        guard let chosen = operation.selection, let selection = RestoreWriter.Selection(files: chosen.files, dirs: chosen.dirs) else {
            throw refuse("no_selection", "strip_prefix needs a selection: the paths it is taken off")
        }
        guard selection.strippable(prefix) != nil else {
            let shown = String(decoding: prefix, as: UTF8.self)
            throw refuse("not_leading", "\(shown) is not a leading directory of every selected path (each must be below \(shown)/)")
        }
    }

    /// The body's `conflict_policy` and `restore_ownership`, into `operation` (absent or null: its defaults).
    public static func policies(_ body: [String: JSONValue], into operation: inout RestoreOperation) throws {
        switch body["conflict_policy"] {
        case nil, .null?: break
        case .string(let raw)? where RestoreOperation.ConflictPolicy(rawValue: raw) != nil: operation.conflictPolicy = .init(rawValue: raw)!
        default:
            throw ValidationError(
                code: "invalid_conflict_policy",
                field: "conflict_policy",
                reason: "unknown",
                message: "conflict_policy must be overwrite, skip or fail"
            )
        }
        switch body["restore_ownership"] {
        case nil, .null?: break
        case .string(let raw)? where RestoreOperation.OwnershipPolicy(rawValue: raw) != nil: operation.ownership = .init(rawValue: raw)!
        default:
            throw ValidationError(
                code: "invalid_restore_ownership",
                field: "restore_ownership",
                reason: "unknown",
                message: "restore_ownership must be auto (owners restored when the worker runs as root), always or never"
            )
        }
    }
}
