import Archive
import Core
import Foundation
import Hummingbird
import Store

/// Where a restore writes, besides a chosen directory (docs/formats.md, "Run operations"): back to the original
/// location (the body's selection and prefix are read by `RestoreRequest`, Archive); and how much a selection holds
/// before it starts.
extension RunsController {
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
        let chosen = try RequestInput.checked { try RestoreRequest.selection(body["selection"]) }
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
