import Core
import Foundation
import Hummingbird
import Store

extension JobsController {
    /// `POST /api/jobs/{id}/drill {pick?, test_restore?}`: queues a restore drill of the job now (docs/architecture.md,
    /// "Restore drills"); the body's values override the job's `drills` settings (default: newest, no test restore).
    /// `409 no_snapshot` when the job has no present successful snapshot, `409 job_archived` for an archived job.
    @Sendable func drill(_ request: Request, context: AppRequestContext) async throws -> RunsController.OperationQueued {
        let id = try context.parameters.require("id")
        let body = try await RequestInput.object(request, allowEmpty: true, known: ["pick", "test_restore"])
        var pick: JobDrills.Pick?
        switch body["pick"] {
        case nil, .null?: break
        case .string(let raw)? where JobDrills.Pick(rawValue: raw) != nil: pick = JobDrills.Pick(rawValue: raw)
        default:
            throw APIError(status: .badRequest, code: "invalid_drill", message: "pick must be newest or random", details: ["field": "pick"])
        }
        var testRestore: Bool?
        switch body["test_restore"] {
        case nil, .null?: break
        case .bool(let value)?: testRestore = value
        default:
            throw APIError(
                status: .badRequest,
                code: "invalid_drill",
                message: "test_restore must be true or false",
                details: ["field": "test_restore"]
            )
        }
        guard let job = try await services.database.job(id: id) else { throw APIError.jobNotFound }
        guard job.archivedAt == nil else {
            throw APIError(status: .conflict, code: "job_archived", message: "job \(id) is archived: unarchive it to run a drill")
        }
        switch try await services.database.enqueueDrill(jobId: id, scheduledFor: nil, pick: pick, testRestore: testRestore) {
        case .queued(let run)?:
            context.logger.info("Restore drill enqueued", metadata: ["job.id": "\(id)", "run.id": "\(run.id)"])
            return RunsController.OperationQueued(runId: run.id, kind: run.kind.rawValue, status: run.status.rawValue)
        case .noSnapshot?:
            throw APIError(status: .conflict, code: "no_snapshot", message: "job \(id) has no present successful snapshot to drill on")
        case nil:
            throw APIError.jobNotFound
        }
    }
}
