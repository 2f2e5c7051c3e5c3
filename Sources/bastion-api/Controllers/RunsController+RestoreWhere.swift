import Archive
import Core
import Foundation
import Hummingbird
import Store

/// Where a restore writes, besides a chosen directory (docs/formats.md, "Run operations"): back to the original
/// location, or a directory without the selection's leading path; and how much a selection holds before it starts.
extension RunsController {
    /// The body's `selection` (`{files?, dirs?, files_b64?, dirs_b64?}`, names that are not UTF-8 as base64;
    /// docs/formats.md, "Names are bytes"); nil restores everything. At least one path, none with `..` or NUL.
    static func selection(_ value: JSONValue?) throws -> RestoreOperation.Selection? {
        switch value {
        case nil, .null?: return nil
        case .object(let selection)?:
            try RequestInput.refuseUnknownKeys(selection, known: ["files", "dirs", "files_b64", "dirs_b64"], at: "selection")
            func strings(_ key: String) throws -> [String] {
                switch selection[key] {
                case nil, .null?: return []
                case .array(let items)? where items.count <= RunsController.maxSelectedPaths:
                    return try items.map {
                        guard case .string(let value) = $0 else { throw APIError.invalidSelection }
                        return value
                    }
                default: throw APIError.invalidSelection
                }
            }
            func encoded(_ key: String) throws -> [[UInt8]] {
                try strings(key).map {
                    guard let bytes = Data(base64Encoded: $0) else { throw APIError.invalidSelection }
                    return Array(bytes)
                }
            }
            let chosen = RestoreOperation.Selection(
                files: try strings("files").map { Array($0.utf8) } + encoded("files_b64"),
                dirs: try strings("dirs").map { Array($0.utf8) } + encoded("dirs_b64")
            )
            guard RestoreWriter.Selection(files: chosen.files, dirs: chosen.dirs) != nil else { throw APIError.invalidSelection }
            return chosen
        default: throw APIError.invalidSelection
        }
    }

    /// Paths one list of a selection may hold (a request body is bounded anyway; this bounds the work per path).
    static let maxSelectedPaths = 100_000

    /// The body's `strip_prefix` (text) or `strip_prefix_b64` (bytes), normalized (no leading `/` was given, so none
    /// to drop; `./` and doubled `/` dropped); nil when absent. Whether it fits the selection is `checkStripPrefix`.
    static func stripPrefix(_ body: [String: JSONValue]) throws -> [UInt8]? {
        func refuse(_ message: String) -> APIError {
            APIError(status: .badRequest, code: "invalid_strip_prefix", message: message, details: ["field": "strip_prefix"])
        }
        let raw: [UInt8]
        switch (body["strip_prefix"] ?? .null, body["strip_prefix_b64"] ?? .null) {
        case (.null, .null): return nil
        case (.string(let text), .null): raw = Array(text.utf8)
        case (.null, .string(let encoded)):
            guard let bytes = Data(base64Encoded: encoded) else { throw refuse("strip_prefix_b64 must be base64") }
            raw = Array(bytes)
        case (.null, _), (_, .null): throw refuse("strip_prefix must be a string (a relative directory path)")
        default: throw refuse("give strip_prefix or strip_prefix_b64, not both")
        }
        guard !raw.isEmpty, raw.count <= 4096 else { throw refuse("strip_prefix must be 1 to 4096 bytes") }
        guard !raw.contains(0) else { throw refuse("strip_prefix must not contain NUL") }
        guard raw.first != UInt8(ascii: "/") else {
            throw refuse("strip_prefix is relative to the snapshot's paths (home/ann, not /home/ann)")
        }
        guard let components = RestoreWriter.components(raw) else { throw refuse("strip_prefix must not contain ..") }
        guard !components.isEmpty else { throw refuse("strip_prefix must name at least one directory") }
        return Array(components.joined(separator: [UInt8(ascii: "/")]))
    }

    /// A prefix is taken off a selection restored into a directory, and must lead every selected path.
    static func checkStripPrefix(_ prefix: [UInt8], operation: RestoreOperation) throws {
        func refuse(_ message: String) -> APIError {
            APIError(status: .badRequest, code: "invalid_strip_prefix", message: message, details: ["field": "strip_prefix"])
        }
        if operation.webdav != nil { throw refuse("strip_prefix applies to a restore into a directory, not to WebDAV") }
        if operation.original { throw refuse("the original location keeps the paths whole: strip_prefix applies to a chosen directory") }
        guard let chosen = operation.selection, let selection = RestoreWriter.Selection(files: chosen.files, dirs: chosen.dirs) else {
            throw refuse("strip_prefix needs a selection: the paths it is taken off")
        }
        guard selection.strippable(prefix) != nil else {
            let shown = String(decoding: prefix, as: UTF8.self)
            throw refuse("\(shown) is not a leading directory of every selected path (each must be below \(shown)/)")
        }
    }

    /// Where the source run's archive paths came from, on the machine that backed them up (the hub, or the agent that
    /// runs the restore): `RestoreOperation.originalDirectory`. A database job has none: `400 original_not_applicable`.
    func originalDirectory(of source: Run) async throws -> String {
        guard let job = try await services.database.job(id: source.jobId), let spec = try? JobSpec.parse(job.spec) else {
            throw APIError(status: .conflict, code: "job_not_found", message: "the job of run \(source.id) cannot be read")
        }
        guard let directory = RestoreOperation.originalDirectory(spec: spec, summary: BackupSummary(json: source.summary)) else {
            throw APIError(
                status: .badRequest,
                code: "original_not_applicable",
                message: "a \(spec.type) snapshot holds dumps, not files of a directory: restore it into a database or a directory",
                details: ["field": "destination.type"]
            )
        }
        guard directory.hasPrefix("/"), RestoreWriter.normalize(directory) != nil else {
            throw APIError(status: .conflict, code: "original_not_applicable", message: "the original location \(directory) is not usable")
        }
        return directory
    }

    struct RestorePreview: ResponseEncodable {
        var runId: String
        /// Where `destination: {type: "original"}` writes (on `nodeId`); nil for a database job.
        var originalDirectory: String?
        var nodeId: String
        /// False when the catalog could not be read (`reason` says why: an agent's snapshot, a target that does not
        /// answer) or counting took longer than `restorePreviewTimeout`; the numbers are then 0.
        var counted: Bool
        var reason: String?
        var files: Int64
        var dirs: Int64
        var bytes: Int64
    }

    /// How long a count may read the catalog: a million-entry selection is a few range reads, well within it.
    static let restorePreviewTimeout: Duration = .seconds(5)

    /// `POST /api/runs/{id}/restore/preview {selection?, location?}` (the restore wizard, before it starts): where the
    /// original location is, and the files, directories and bytes a restore of this selection (or the whole snapshot)
    /// writes, from the snapshot's catalog.
    @Sendable func restorePreview(_ request: Request, context: AppRequestContext) async throws -> RestorePreview {
        let body = try await RequestInput.object(request, allowEmpty: true, known: ["selection", "location"])
        let chosen = try Self.selection(body["selection"])
        let location: String?
        switch body["location"] {
        case nil, .null?: location = nil
        case .string(let value)? where JobCopy.isLocationId(value): location = value
        default:
            throw APIError(
                status: .badRequest,
                code: "invalid_location",
                message: "location must be primary or copy:<key>",
                details: ["field": "location"]
            )
        }
        let source = try await restorableSource(context)
        // The original location is offered only where the restore would write it (see `restore`: not an agent's
        // snapshot read from a copy).
        let original =
            source.nodeId != AppDatabase.hubNode && (location ?? JobCopy.primaryLocationId) != JobCopy.primaryLocationId
            ? nil : try? await originalDirectory(of: source)
        var preview = RestorePreview(
            runId: source.id,
            originalDirectory: original,
            nodeId: source.nodeId,
            counted: false,
            reason: nil,
            files: 0,
            dirs: 0,
            bytes: 0
        )
        // Normalized as the restore reads them (no leading `/`, no `.` components).
        let normalized = chosen.flatMap { RestoreWriter.Selection(files: $0.files, dirs: $0.dirs) }
        do {
            let browse = BrowseController(services: services)
            let (run, at) = try await browse.snapshot(source.id, location: location)
            let catalog = try await browse.catalog(run.id, at)
            let totals = try await runBlocking {
                try catalog.totals(files: normalized.map { Array($0.files) }, dirs: normalized?.dirs, timeout: Self.restorePreviewTimeout)
            }
            if let totals {
                preview.counted = true
                (preview.files, preview.dirs, preview.bytes) = (totals.files, totals.dirs, totals.bytes)
            } else {
                preview.reason = "counting took longer than \(Self.restorePreviewTimeout)"
            }
        } catch let error as APIError {
            preview.reason = error.message
        } catch {
            preview.reason = "\(error)"
        }
        return preview
    }
}
