import Archive
import Core
import Foundation
import Hummingbird
import HummingbirdCore
import Store
import Targets

/// Runs: list, detail, cancel, and the HTTP event log (docs/architecture.md).
struct RunsController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("runs", use: list)
        group.get("runs/:id", use: show)
        group.post("runs/:id/cancel", use: cancel)
        group.get("runs/:id/events", use: events)
        group.post("runs/:id/restore", use: restore)
        group.post("runs/:id/restore/preview", use: restorePreview)
        group.post("runs/:id/verify", use: verify)
    }

    struct RunListItemDTO: Encodable, Sendable {
        var id: String
        var jobId: String
        var jobName: String?
        var kind: String
        var status: String
        var startedAt: Int64
        var endedAt: Int64?
        var error: String?
        var warnings: Int
        /// `hub`, or the agent it runs on.
        var nodeId: String
        /// What the run did (the detail's typed summary) without its lists: see `listed(_:)`.
        var summary: JSONValue?

        init(_ run: Run, jobName: String?) {
            id = run.id
            jobId = run.jobId
            self.jobName = jobName
            nodeId = run.nodeId
            kind = run.kind.rawValue
            status = run.status.rawValue
            startedAt = run.startedAt
            endedAt = run.endedAt
            error = run.error
            warnings = run.warnings
            summary = run.summary.map(Self.listed)
        }

        /// A summary as a list row carries it: every array left out, at any depth. The arrays are where a summary
        /// grows with the data (a restore's `not_restored_entries` and `warning_entries`, a verify's samples, a
        /// backup's `consistency.sample`, `incremental.chain` and database dumps); a row needs the counts beside them
        /// (docs/ui.md, "What a run did"), and the run's page reads the whole summary.
        static func listed(_ value: JSONValue) -> JSONValue {
            guard case .object(let members) = value else { return value }
            var kept: [String: JSONValue] = [:]
            for (key, member) in members {
                if case .array = member { continue }
                kept[key] = listed(member)
            }
            return .object(kept)
        }
    }

    /// The run detail of the original plus this system's worker fields.
    struct RunDTO: ResponseEncodable {
        var id: String
        var jobId: String
        var jobName: String?
        /// Where the run executes: `hub` (the hub's workers) or the agent's id.
        var nodeId: String
        var kind: String
        var operation: JSONValue?
        var status: String
        var startedAt: Int64
        var endedAt: Int64?
        var cancelRequestedAt: Int64?
        var cancelRequestedByUserId: Int64?
        var cancelReason: String?
        var progress: JSONValue?
        var summary: JSONValue?
        var error: String?
        var warnings: Int
        var workerId: String?
        var heartbeatAt: Int64?
        var scheduledFor: Int64?

        init(run: Run, jobName: String?) {
            id = run.id
            jobId = run.jobId
            nodeId = run.nodeId
            self.jobName = jobName
            kind = run.kind.rawValue
            operation = run.operation
            status = run.status.rawValue
            startedAt = run.startedAt
            endedAt = run.endedAt
            cancelRequestedAt = run.cancelRequestedAt
            cancelRequestedByUserId = run.cancelRequestedByUserId
            cancelReason = run.cancelReason
            progress = run.progress
            summary = run.summary
            error = run.error
            warnings = run.warnings
            workerId = run.workerId
            heartbeatAt = run.heartbeatAt
            scheduledFor = run.scheduledFor
        }
    }

    /// A page of `GET /api/runs`: `next_cursor` continues the list (an index range read at any depth); `page` and
    /// `total` only when the client asked for a page number.
    struct RunPage: ResponseEncodable {
        var items: [RunListItemDTO]
        var pageSize: Int
        var nextCursor: String?
        var page: Omittable<Int> = .absent
        var total: Omittable<Int> = .absent
    }

    /// `GET /api/runs?status=&job_id=&kind=&page_size=&cursor=` (or `page=` for numbered pages with a total).
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> RunPage {
        let paging = try RequestInput.paging(request)
        let parameters = request.uri.queryParameters
        var query = RunListQuery(pageSize: paging.pageSize)
        query.status = try RequestInput.filter(request, "status")
        query.kind = try RequestInput.filter(request, "kind")
        query.jobId = parameters.get("job_id").map { String($0) }
        if let name = parameters.get("q").map({ String($0) }), !name.isEmpty {
            guard name.utf8.count <= 200 else {
                throw APIError(status: .badRequest, code: "invalid_query", message: "q must be at most 200 bytes", details: ["field": "q"])
            }
            query.jobName = name
        }
        let cursor = try RequestInput.cursor(request)
        let numbered = parameters.get("page") != nil && cursor == nil
        query.position = numbered ? .page(paging.page) : .after(cursor)
        let result = try await services.database.listRuns(query)
        var page = RunPage(
            items: result.items.map { RunListItemDTO($0.run, jobName: $0.jobName) },
            pageSize: paging.pageSize,
            nextCursor: result.next?.token
        )
        if numbered {
            page.page = .present(paging.page)
            page.total = .present(result.total ?? 0)
        }
        return page
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> RunDTO {
        let id = try context.parameters.require("id")
        guard let run = try await services.database.run(id: id) else { throw APIError.runNotFound }
        return RunDTO(run: run, jobName: try await services.database.job(id: run.jobId)?.name)
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> RunDTO {
        let id = try context.parameters.require("id")
        let body = try await RequestInput.object(request, allowEmpty: true, known: ["reason"])
        let reason = try RequestInput.string(body, "reason", code: "invalid_reason")
        if let reason, reason.count > 500 {
            throw APIError(
                status: .badRequest,
                code: "invalid_reason",
                message: "reason must be at most 500 characters",
                details: ["field": "reason"]
            )
        }
        guard let result = try await services.database.cancelRun(id: id, userId: context.session?.userId, reason: reason) else {
            throw APIError.runNotFound
        }
        context.logger.info("Cancel requested", metadata: ["run.id": "\(id)", "status": "\(result.run.status.rawValue)"])
        return RunDTO(run: result.run, jobName: try await services.database.job(id: result.run.jobId)?.name)
    }

    /// The events as a JSON array of the same frames the WebSocket sends (`RunEvent.json`, encoded once).
    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let after = try Self.afterSeq(request)
        let limit = Int(try RequestInput.integer(request, "limit", range: 1...500) ?? 500)
        guard try await services.database.run(id: id) != nil else { throw APIError.runNotFound }
        let events = try await services.database.events(runId: id, afterSeq: after, limit: limit)
        var body = "["
        for (index, event) in events.enumerated() {
            if index > 0 { body += "," }
            body += event.json
        }
        body += "]"
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }

    /// `after_seq` (alias `after`): a non-negative integer, default 0; anything else is a 400.
    static func afterSeq(_ request: Request) throws -> Int64 {
        try afterSeq(request.uri)
    }

    static func afterSeq(_ uri: URI) throws -> Int64 {
        try RequestInput.integer(uri, "after_seq") ?? RequestInput.integer(uri, "after") ?? 0
    }
}

extension RunsController {
    struct OperationQueued: ResponseEncodable {
        var runId: String
        var kind: String
        var status: String
    }

    /// Where an operation reads the snapshot (docs/targets.md, "Copies"): the body's `location`, else the first `present`
    /// location (the primary first). Parameters naming a copy (`location_id`, `source_target`), or nil to read the
    /// primary; an unknown or not present location is `409 location_unavailable`.
    func chosenLocation(_ value: JSONValue?, runId: String) async throws -> [String: JSONValue]? {
        var requested: String?
        switch value {
        case nil, .null?: break
        case .string(let id)? where JobCopy.isLocationId(id): requested = id
        default:
            throw APIError(
                status: .badRequest,
                code: "invalid_location",
                message: "location must be primary or copy:<key>",
                details: ["field": "location"]
            )
        }
        let found = try await services.database.readableLocation(runId: runId, id: requested)
        if requested != nil, found == nil {
            throw APIError(
                status: .conflict,
                code: "location_unavailable",
                message: "the snapshot of run \(runId) is not present at \(requested!)",
                details: ["field": "location"]
            )
        }
        guard let found, found.id != JobCopy.primaryLocationId, let location = found.location else { return nil }
        return ["location_id": .string(found.id), "source_target": location.json]
    }

    /// The backup run `id`, if it is a finished snapshot that can be read (else 404 / 409 `snapshot_not_restorable`).
    /// Read at a copy (`copy` from `chosenLocation`), the primary's state does not matter.
    func restorableSource(_ context: AppRequestContext, copy: JSONValue? = nil) async throws -> Run {
        let id = try context.parameters.require("id")
        guard let run = try await services.database.run(id: id) else { throw APIError.runNotFound }
        if case .object(let object)? = copy, let location = try await chosenLocation(object["location"], runId: id) {
            guard run.kind == .backup, run.status == .success else {
                throw APIError(status: .conflict, code: "snapshot_not_restorable", message: "run \(id) is not a finished backup")
            }
            return run.reading(location)
        }
        guard run.kind == .backup, run.status == .success, let summary = BackupSummary(json: run.summary) else {
            throw APIError(
                status: .conflict,
                code: "snapshot_not_restorable",
                message: "run \(id) is not a finished archive_v1 backup (status \(run.status.rawValue))"
            )
        }
        guard let directory = summary.runDirectory else {
            // A remote target: the executor checks complete.json there; here, that the snapshot was not deleted.
            let status = try await services.database.snapshot(runId: run.id)?.status
            guard status == nil || status == "present" else {
                throw APIError(status: .conflict, code: "snapshot_not_restorable", message: "the snapshot of run \(id) is \(status ?? "gone")")
            }
            return run
        }
        // An agent's snapshot is on its host: the agent checks it when it runs the restore or verify.
        guard run.nodeId != AppDatabase.hubNode || FileManager.default.fileExists(atPath: directory + "/complete.json") else {
            throw APIError(status: .conflict, code: "snapshot_not_restorable", message: "\(directory) has no complete.json")
        }
        return run
    }

    /// `POST /api/runs/{id}/restore {destination: {type: "local_fs", directory} | {type: "original"}, conflict_policy?,
    /// selection?, strip_prefix?}`: queues a restore run (default conflict policy `fail`; docs/formats.md, "Run
    /// operations"; the body read by `RestoreRequest`, the original location in `RunsController+RestoreWhere.swift`).
    @Sendable func restore(_ request: Request, context: AppRequestContext) async throws -> OperationQueued {
        // The body is read by `RestoreRequest` (Archive), as the fuzz target reads it; what needs the run or the
        // database is checked here, in the order below (a missing run answers 404 before a bad directory answers 400).
        let body = try await RequestInput.object(request, known: RestoreRequest.knownKeys)
        let destination = try RequestInput.checked { try RestoreRequest.destination(body["destination"]) }
        if case .database(let object) = destination {
            if try RequestInput.checked({ try RestoreRequest.stripPrefix(body) }) != nil {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_strip_prefix",
                    message: "strip_prefix applies to a restore into a directory, not into a database",
                    details: ["field": "strip_prefix"]
                )
            }
            return try await restoreIntoDatabase(object, context: context)
        }
        var webdav: WebDAVTarget?
        if case .webdav(let target) = destination {
            try await checkWebDAVSecret(of: target)
            webdav = target
        }
        let original = destination == .original
        let stripPrefix = try RequestInput.checked { try RestoreRequest.stripPrefix(body) }
        let source = try await restorableSource(context, copy: .object(["location": body["location"] ?? .null]))
        if webdav != nil, source.nodeId != AppDatabase.hubNode {
            throw APIError(
                status: .conflict,
                code: "webdav_restore_on_agent",
                message: "a snapshot of an agent job restores into a directory of the agent, not to WebDAV",
                details: ["field": "destination.type"]
            )
        }
        // An agent's snapshot read from a copy may be restored by a hub worker (docs/targets.md, "Copies"): its original
        // location is on the agent, never the hub's own `/` (refused rather than written on the wrong machine).
        if original, source.nodeId != AppDatabase.hubNode, source.operation?["read_location"] != nil {
            throw APIError(
                status: .badRequest,
                code: "original_not_applicable",
                message: "a copy of an agent's snapshot may be restored by the hub, not on the agent: choose a directory",
                details: ["field": "destination.type"]
            )
        }
        let directory: String
        switch destination {
        case .original: directory = try await originalDirectory(of: source)
        case .chosen(let object): directory = try RequestInput.checked { try RestoreRequest.directory(object) }
        // A database destination was answered above.
        case .webdav, .database: directory = ""
        }
        var operation = RestoreOperation(directory: directory)
        operation.webdav = webdav
        operation.original = original
        try RequestInput.checked {
            try RestoreRequest.policies(body, into: &operation)
            operation.selection = try RestoreRequest.selection(body["selection"])
            if let stripPrefix {
                try RestoreRequest.checkStripPrefix(stripPrefix, operation: operation)
                operation.stripPrefix = stripPrefix
            }
        }
        let run = try await services.database.enqueueOperation(kind: .restore, source: source, parameters: source.withLocation(operation.json))
        return OperationQueued(runId: run.id, kind: run.kind.rawValue, status: run.status.rawValue)
    }

    /// `destination: {type: "webdav", base_url, secret_name}` (docs/targets.md, "Restore to WebDAV"; its URL read as
    /// a target's by `RestoreRequest.destination`): the secret must exist and be bound to that URL's origin.
    func checkWebDAVSecret(of webdav: WebDAVTarget) async throws {
        guard let secret = try await HubTargetSecrets(database: services.database).secret(kind: "webdav", name: webdav.secretName) else {
            throw APIError(
                status: .badRequest,
                code: "target_secret_missing",
                message: "the webdav secret \(webdav.secretName) does not exist",
                details: ["field": "destination.secret_name"]
            )
        }
        do {
            try WebDAVStore.checkOrigin(of: secret, named: webdav.secretName, for: webdav.baseURL)
        } catch let error as TargetError {
            throw APIError(status: .badRequest, code: error.code, message: error.message, details: ["field": "destination.secret_name"])
        }
    }

    /// `POST /api/runs/{id}/restore {destination: {type: "database", host?, port?, user?, secret_name?, databases:
    /// {dumped: new}, globals?, drop_existing?}}` (docs/databases.md, "Restore into a database"): a postgres or mariadb
    /// snapshot restored into new databases on a server; each dumped name must be in the snapshot.
    func restoreIntoDatabase(_ destination: [String: JSONValue], context: AppRequestContext) async throws -> OperationQueued {
        try RequestInput.refuseUnknownKeys(destination, known: DatabaseDestination.keys, at: "destination")
        let source = try await restorableSource(context)
        let type = try await services.database.job(id: source.jobId)?.spec["type"]?.stringValue
        guard let type, AppDatabase.databaseSecretKinds.contains(type) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_destination",
                message: "only a postgres or mariadb snapshot restores into a database",
                details: ["field": "destination.type"]
            )
        }
        let parsed: DatabaseDestination
        do {
            parsed = try DatabaseDestination.parse(.object(destination))
        } catch {
            throw APIError(status: .badRequest, code: "invalid_destination", message: error.message, details: ["field": error.field])
        }
        let dumped = Set((source.summary?["database"]?["dumps"]?.arrayValue ?? []).compactMap { $0["database"]?.stringValue })
        if let missing = parsed.databases.first(where: { !dumped.contains($0.from) }) {
            throw APIError(
                status: .badRequest,
                code: "unknown_database",
                message: "the snapshot has no dump of database \(missing.from)",
                details: ["field": "destination.databases"]
            )
        }
        var operation = RestoreOperation(directory: "")
        operation.database = parsed
        let run = try await services.database.enqueueOperation(kind: .restore, source: source, parameters: operation.json)
        return OperationQueued(runId: run.id, kind: run.kind.rawValue, status: run.status.rawValue)
    }

    /// `POST /api/runs/{id}/verify`: queues a verify run of a finished snapshot.
    /// The body is optional: `{location?}` (docs/targets.md, "Copies").
    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> OperationQueued {
        let body = try await RequestInput.object(request, allowEmpty: true, known: ["location"])
        let source = try await restorableSource(context, copy: .object(["location": body["location"] ?? .null]))
        let run = try await services.database.enqueueOperation(kind: .verify, source: source, parameters: source.withLocation(.object([:])))
        return OperationQueued(runId: run.id, kind: run.kind.rawValue, status: run.status.rawValue)
    }
}

extension Run {
    /// The run, carrying the copy location an operation reads (in `operation`, which a backup run's operation does
    /// not otherwise need here).
    fileprivate func reading(_ location: [String: JSONValue]) -> Run {
        var run = self
        var operation: [String: JSONValue] = [:]
        if case .object(let existing)? = run.operation { operation = existing }
        operation["read_location"] = .object(location)
        run.operation = .object(operation)
        return run
    }

    /// `parameters` with the copy location this run carries (from `reading`), if any.
    fileprivate func withLocation(_ parameters: JSONValue) -> JSONValue {
        guard case .object(let location)? = operation?["read_location"], case .object(var object) = parameters else { return parameters }
        for (key, value) in location { object[key] = value }
        return .object(object)
    }
}
