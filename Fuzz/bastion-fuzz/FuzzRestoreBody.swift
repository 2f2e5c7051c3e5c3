import Archive
import Core
import Foundation

/// The body of `POST /api/runs/{id}/restore` as the API reads it before it looks at the run (`RestoreRequest`): the
/// destination, `strip_prefix` / `strip_prefix_b64`, the policies and the selection. A refusal is a `ValidationError`
/// with one of the API's codes; what is accepted keeps the rules: a chosen directory is absolute without `..`, a
/// prefix is relative, without NUL, `.` or `..` components, and leads every selected path by whole components; and
/// the operation's stored form (`runs.operation_json`, read back by a worker or an agent) reads back the same.
enum FuzzRestoreBody {
    static let codes: Set<String> = [
        "unknown_field", "invalid_destination", "invalid_selection", "invalid_strip_prefix", "invalid_conflict_policy",
        "invalid_restore_ownership",
    ]

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let json = try? JSONValue.parse(bytes: bytes), case .object(let body) = json else { return }
        do {
            try read(body)
        } catch let error as ValidationError {
            check(codes.contains(error.code), "unexpected code \(error)")
        } catch {
            check(false, "a refusal that is not a ValidationError: \(error)")
        }
    }

    /// The API's order (`RunsController.restore`), with a fixed original directory for `{type: "original"}`.
    static func read(_ body: [String: JSONValue]) throws {
        try ValidationError.refuseUnknownKeys(body, known: RestoreRequest.knownKeys, at: "")
        let destination = try RestoreRequest.destination(body["destination"])
        let prefix = try RestoreRequest.stripPrefix(body)
        if let prefix { checkPrefix(prefix) }
        var operation: RestoreOperation
        switch destination {
        case .database: return
        case .webdav(let target):
            operation = RestoreOperation(directory: "")
            operation.webdav = target
        case .original:
            operation = RestoreOperation(directory: "/")
            operation.original = true
        case .chosen(let object):
            let directory = try RestoreRequest.directory(object)
            check(directory.hasPrefix("/") && RestoreWriter.normalize(directory) != nil, "directory accepted: \(directory)")
            operation = RestoreOperation(directory: directory)
        }
        try RestoreRequest.policies(body, into: &operation)
        operation.selection = try RestoreRequest.selection(body["selection"])
        if let chosen = operation.selection {
            check(RestoreWriter.Selection(files: chosen.files, dirs: chosen.dirs) != nil, "selection accepted: \(chosen)")
        }
        if let prefix {
            try RestoreRequest.checkStripPrefix(prefix, operation: operation)
            check(operation.webdav == nil && !operation.original, "a prefix accepted for \(destination)")
            let selection = RestoreWriter.Selection(files: operation.selection!.files, dirs: operation.selection!.dirs)!
            check(selection.strippable(prefix) != nil, "a prefix that does not lead the selection: \(prefix)")
            operation.stripPrefix = prefix
        }
        let stored = operation.json
        let text = stored.jsonString()
        do {
            let again = try RestoreOperation(json: JSONValue.parse(text))
            check(sorted(again) == sorted(operation), "the stored form reads back otherwise: \(text)")
        } catch {
            check(false, "the stored form of an accepted restore is refused (\(error)): \(text)")
        }
    }

    /// The stored form keeps UTF-8 names and others in two lists: the selection's order is not kept, nor needed.
    static func sorted(_ operation: RestoreOperation) -> RestoreOperation {
        var operation = operation
        operation.selection = operation.selection.map {
            RestoreOperation.Selection(
                files: $0.files.sorted { $0.lexicographicallyPrecedes($1) },
                dirs: $0.dirs.sorted { $0.lexicographicallyPrecedes($1) }
            )
        }
        return operation
    }

    /// What `stripPrefix` returns: 1 to 4096 bytes, relative, whole components without NUL, `.` or `..`, and
    /// normalized already (reading it again gives it back).
    static func checkPrefix(_ prefix: [UInt8]) {
        check(!prefix.isEmpty && prefix.count <= RestoreRequest.maxStripPrefixBytes, "prefix length \(prefix.count)")
        check(prefix.first != UInt8(ascii: "/") && prefix.last != UInt8(ascii: "/") && !prefix.contains(0), "prefix \(prefix)")
        let components = prefix.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        check(!components.contains { $0.isEmpty || $0.elementsEqual([UInt8(ascii: ".")]) || $0.elementsEqual([46, 46]) }, "prefix \(prefix)")
        let again = try? RestoreRequest.stripPrefix(["strip_prefix_b64": .string(Data(prefix).base64EncodedString())])
        check(again == prefix, "the prefix is not its own normal form: \(prefix)")
    }
}
