import Core
import Foundation
import Hummingbird
import Store

/// A job's snapshots, pinning, and retention preview/apply (docs/architecture.md, "Backups"). Deleting is the
/// janitor's: apply only queues (`deleting`), bounded by the policy's per-tick and per-day limits.
struct SnapshotsController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("jobs/:id/snapshots", use: list)
        group.post("jobs/:id/retention/preview", use: preview)
        group.post("jobs/:id/retention/apply", use: apply)
        group.post("runs/:id/pin", use: pin)
        group.post("runs/:id/unpin", use: unpin)
        group.delete("runs/:id/snapshot", use: delete)
        group.post("runs/:id/copies/:location/retry", use: retryCopy)
    }

    /// A snapshot row; `reasons` only in a retention preview.
    struct SnapshotDTO: ResponseEncodable {
        var runId: String
        var jobId: String
        var status: String
        var endedAt: Int64?
        var pinnedAt: Int64?
        var runDir: String?
        var sourceFiles: Int64?
        var sourceDirs: Int64?
        var sourceBytes: Int64?
        var transferBytes: Int64?
        /// Incremental snapshots (docs/formats.md): level in the chain (null outside one), the snapshot this one builds
        /// on, and how many present snapshots build on this one (it is kept while any do).
        var chainLevel: Int?
        var baseRunId: String?
        var dependants: Int
        var reasons: Omittable<[String]> = .absent
        /// For each count rule that kept it, the period it stands for (`{"keep_daily": "2026-12-05"}`).
        var buckets: Omittable<[String: String]> = .absent
        /// Where the snapshot is (docs/targets.md, "Copies"): the primary, then each copy, with its state.
        var locations: Omittable<[JSONValue]> = .absent

        init(
            record: SnapshotRecord,
            reasons: [String]? = nil,
            buckets: [String: String]? = nil,
            locations: [SnapshotLocationRecord]? = nil
        ) {
            runId = record.runId
            jobId = record.jobId
            status = record.status
            endedAt = record.endedAt
            pinnedAt = record.pinnedAt
            runDir = record.runDirectory
            sourceFiles = record.sourceFiles
            sourceDirs = record.sourceDirs
            sourceBytes = record.sourceBytes
            transferBytes = record.transferBytes
            chainLevel = record.chainLevel
            baseRunId = record.baseRunId
            dependants = record.dependants
            if let reasons { self.reasons = .present(reasons) }
            if let buckets { self.buckets = .present(buckets) }
            if let locations { self.locations = .present(locations.map(\.json)) }
        }
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> [SnapshotDTO] {
        let id = try context.parameters.require("id")
        guard try await services.database.job(id: id) != nil else { throw APIError.jobNotFound }
        let records = try await services.database.snapshots(jobId: id)
        let locations = try await services.database.snapshotLocations(of: records)
        return records.map { SnapshotDTO(record: $0, locations: locations[$0.runId] ?? []) }
    }

    struct CopyRetried: ResponseEncodable {
        var runId: String
        var locationId: String
        var copyRunId: String
    }

    /// `POST /api/runs/{id}/copies/{location_id}/retry`: re-enqueues a failed copy now (`409 copy_not_failed` when the
    /// location is not `failed`, or is one the hub cannot copy).
    @Sendable func retryCopy(_ request: Request, context: AppRequestContext) async throws -> CopyRetried {
        let id = try context.parameters.require("id")
        let location = try context.parameters.require("location")
        guard try await services.database.snapshot(runId: id) != nil else { throw APIError.runNotFound }
        guard JobCopy.isLocationId(location), let copyRunId = try await services.database.retryCopy(runId: id, locationId: location) else {
            throw APIError(status: .conflict, code: "copy_not_failed", message: "run \(id) has no failed copy at \(location)")
        }
        context.logger.info("Copy retried", metadata: ["run.id": "\(id)", "location": "\(location)", "copy_run.id": "\(copyRunId)"])
        return CopyRetried(runId: id, locationId: location, copyRunId: copyRunId)
    }

    struct Preview: ResponseEncodable {
        var keep: [SnapshotDTO]
        var delete: [SnapshotDTO]
    }

    /// The job's policy (or `{"retention": {...}}` in the body, to try one) applied to its present snapshots, in the
    /// job's time zone.
    @Sendable func preview(_ request: Request, context: AppRequestContext) async throws -> Preview {
        let (_, policy, timeZone) = try await policy(request, context)
        let present = try await services.database.snapshots(jobId: try context.parameters.require("id")).filter { $0.status == "present" }
        let byId = Dictionary(uniqueKeysWithValues: present.map { ($0.runId, $0) })
        let decisions = policy.decide(present.map(\.retentionSnapshot), now: unixNow(), timeZone: timeZone)
        return Preview(
            keep: decisions.filter(\.keep).compactMap { decision in
                byId[decision.snapshot.runId].map { SnapshotDTO(record: $0, reasons: decision.reasons, buckets: decision.buckets) }
            },
            delete: decisions.filter { !$0.keep }.compactMap { decision in
                byId[decision.snapshot.runId].map { SnapshotDTO(record: $0, reasons: [], buckets: [:]) }
            }
        )
    }

    struct Applied: ResponseEncodable {
        var queued: [String]
    }

    @Sendable func apply(_ request: Request, context: AppRequestContext) async throws -> Applied {
        let (jobId, policy, _) = try await policy(request, context)
        guard policy.enabled else {
            throw APIError(status: .conflict, code: "retention_disabled", message: "this job's retention is not enabled")
        }
        let queued = try await services.database.queueRetentionDeletes(jobId: jobId, policy: policy)
        // Each copy location decides on its own (docs/targets.md, "Copies").
        try await services.database.queueCopyRetentionDeletes(jobId: jobId, policy: policy)
        context.logger.info("Retention applied", metadata: ["job.id": "\(jobId)", "queued": "\(queued.count)"])
        return Applied(queued: queued)
    }

    func policy(_ request: Request, _ context: AppRequestContext) async throws -> (String, RetentionPolicy, TimeZone) {
        let id = try context.parameters.require("id")
        guard let job = try await services.database.job(id: id) else { throw APIError.jobNotFound }
        let timeZone = RetentionPolicy.timeZone(job.scheduleTimezone)
        let body = try await RequestInput.object(request, allowEmpty: true, known: ["retention"])
        if case .object(let retention)? = body["retention"] {
            try RequestInput.refuseUnknownKeys(retention, known: RetentionPolicy.keys, at: "retention")
        }
        do {
            if let override = body["retention"] { return (id, try RetentionPolicy.parse(override), timeZone) }
            return (id, try JobSpec.parse(job.spec).retentionPolicy, timeZone)
        } catch let error as ValidationError {
            throw RequestInput.badRequest(error)
        }
    }

    /// `DELETE /api/runs/{id}/snapshot[?force=true]`: queues the snapshot for the janitor (status `deleting`), which
    /// removes it from its target at once (woken over the bus). A pinned snapshot needs `force=true`.
    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> SnapshotDTO {
        let id = try context.parameters.require("id")
        let force: Bool
        switch request.uri.queryParameters.get("force") {
        case nil, "false"?: force = false
        case "true"?: force = true
        default: throw APIError(status: .badRequest, code: "invalid_query", message: "force must be true or false", details: ["field": "force"])
        }
        switch try await services.database.queueSnapshotDelete(runId: id, force: force, userId: context.session?.userId) {
        case .queued(let record):
            context.logger.info("Snapshot queued for deletion", metadata: ["run.id": "\(id)", "forced": "\(force)"])
            return SnapshotDTO(record: record)
        case .notFound:
            throw APIError(status: .notFound, code: "snapshot_not_found", message: "run \(id) has no snapshot")
        case .pinned:
            throw APIError(
                status: .conflict,
                code: "snapshot_pinned",
                message: "the snapshot of run \(id) is pinned: unpin it or delete with force=true"
            )
        case .alreadyGone(let status):
            throw APIError(status: .conflict, code: "snapshot_not_present", message: "the snapshot of run \(id) is already \(status)")
        case .hasDependants(let runs):
            throw APIError(
                status: .conflict,
                code: "snapshot_has_dependants",
                message: "\(runs.count) incremental snapshot(s) build on the snapshot of run \(id) and could no longer be restored: "
                    + "delete them first, or delete with force=true",
                details: ["dependants": runs.joined(separator: ",")]
            )
        }
    }

    @Sendable func pin(_ request: Request, context: AppRequestContext) async throws -> SnapshotDTO {
        try await setPinned(context, true)
    }

    @Sendable func unpin(_ request: Request, context: AppRequestContext) async throws -> SnapshotDTO {
        try await setPinned(context, false)
    }

    func setPinned(_ context: AppRequestContext, _ pinned: Bool) async throws -> SnapshotDTO {
        let id = try context.parameters.require("id")
        guard let record = try await services.database.setSnapshotPinned(runId: id, pinned: pinned, userId: context.session?.userId) else {
            throw APIError(status: .notFound, code: "snapshot_not_found", message: "run \(id) has no snapshot")
        }
        return SnapshotDTO(record: record)
    }
}
