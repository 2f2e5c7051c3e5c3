import Archive
import Core
import Foundation
import Hummingbird
import Secrets
import Store
import Targets

/// Disaster recovery from a target alone (docs/recovery.md): a fresh hub lists the jobs and snapshots a target holds,
/// then imports them (jobs unscheduled, snapshots as successful backups) and the escrowed identity with its passphrase.
struct RecoveryController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.post("recovery/scan", use: scan)
        group.post("recovery/import", use: importJobs)
    }

    struct ScanResult: ResponseEncodable {
        var jobs: [JobDTO]
    }

    struct JobDTO: ResponseEncodable {
        var jobId: String
        var name: String?
        var encrypted: Bool
        var keyName: String?
        var hasKeyFile: Bool
        var snapshots: [SnapshotDTO]
    }

    struct SnapshotDTO: ResponseEncodable {
        var runId: String
        var endedAt: Int64?
        var baseRunId: Omittable<String> = .absent
        var complete: Bool
        var problem: Omittable<String> = .absent
    }

    struct ImportResult: ResponseEncodable {
        var jobs: [ImportedJob]
        var keys: [String]
    }

    struct ImportedJob: ResponseEncodable {
        var jobId: String
        var name: String
        var created: Bool
        var snapshotsImported: Int
    }

    /// The `target` object of a request body, parsed as a job's target.
    static func target(_ body: [String: JSONValue]) throws -> JobSpec.Target {
        guard case .object(let object)? = body["target"], case .string(let type)? = object["type"] else {
            throw APIError(status: .badRequest, code: "invalid_spec", message: "target {type, ...} is required", details: ["field": "target"])
        }
        try RequestInput.refuseUnknownKeys(object, known: (JobSpec.targetKeys(type) ?? []).union(["type"]), at: "target")
        do {
            return try JobSpec.parseTarget(type: type, .object(object), field: "target")
        } catch let error as ValidationError {
            throw RequestInput.badRequest(error)
        }
    }

    func scanTarget(_ target: JobSpec.Target, only: Set<String>?, context: AppRequestContext) async throws -> RecoveryScan {
        do {
            let tree = try await TargetStores.tree(target, secrets: HubTargetSecrets(database: services.database), logger: context.logger)
            return try await RecoveryScan.scan(tree, only: only)
        } catch let error as TargetError {
            throw APIError(status: .badGateway, code: error.code, message: error.message)
        }
    }

    /// `POST /api/recovery/scan {"target"}`: the jobs and snapshots found under the target's base.
    @Sendable func scan(_ request: Request, context: AppRequestContext) async throws -> ScanResult {
        let body = try await RequestInput.object(request, known: ["target"])
        let found = try await scanTarget(try Self.target(body), only: nil, context: context)
        context.logger.info("Recovery scan", metadata: ["jobs": "\(found.jobs.count)"])
        return ScanResult(
            jobs: found.jobs.map { job in
                JobDTO(
                    jobId: job.id,
                    name: job.name,
                    encrypted: job.encrypted,
                    keyName: job.keyName,
                    hasKeyFile: job.keyFile != nil,
                    snapshots: job.snapshots.map { snapshot in
                        SnapshotDTO(
                            runId: snapshot.runId,
                            endedAt: snapshot.endedAt,
                            baseRunId: snapshot.manifest?.chain?.baseRunId.map(Omittable.present) ?? .absent,
                            complete: snapshot.complete,
                            problem: snapshot.problem.map(Omittable.present) ?? .absent
                        )
                    }
                )
            }
        )
    }

    /// `POST /api/recovery/import {"target", "job_ids"?, "passphrase"?}`: every key is opened first (a wrong
    /// passphrase changes nothing), then each job and its complete snapshots are imported.
    @Sendable func importJobs(_ request: Request, context: AppRequestContext) async throws -> ImportResult {
        let body = try await RequestInput.object(request, known: ["target", "job_ids", "passphrase"])
        let target = try Self.target(body)
        var only: Set<String>?
        switch body["job_ids"] {
        case nil, .null?: only = nil
        case .array(let ids)?:
            let strings = ids.compactMap(\.stringValue)
            guard strings.count == ids.count, strings.allSatisfy(SnapshotChain.isRunId) else {
                throw APIError(status: .badRequest, code: "invalid_job_ids", message: "job_ids must be job ids", details: ["field": "job_ids"])
            }
            only = Set(strings)
        default:
            throw APIError(status: .badRequest, code: "invalid_job_ids", message: "job_ids must be an array", details: ["field": "job_ids"])
        }
        var passphrase: String?
        switch body["passphrase"] {
        case nil, .null?: passphrase = nil
        case .string(let text)? where !text.isEmpty && text.utf8.count <= 1024: passphrase = text
        default:
            throw APIError(status: .badRequest, code: "invalid_passphrase", message: "passphrase must be a string", details: ["field": "passphrase"])
        }
        let found = try await scanTarget(target, only: only, context: context)
        guard !found.jobs.isEmpty else {
            throw APIError(status: .notFound, code: "nothing_found", message: "no Bastion job was found on this target")
        }

        // Keys first: every encrypted job's identity must be here already or open with the passphrase.
        var identities: [String: String] = [:]
        let box = try SecretBox.open(in: services.config.common.dataDirectory)
        for job in found.jobs {
            guard let keyName = job.keyName, identities[keyName] == nil else { continue }
            if try await services.database.backupIdentity(name: keyName, box: box, create: false) != nil { continue }
            guard let file = job.keyFile else {
                throw APIError(
                    status: .conflict,
                    code: "key_file_missing",
                    message: "job \(job.id) is encrypted with key \(keyName) and the target holds no bastion-key-\(keyName).age",
                    details: ["job_id": job.id]
                )
            }
            guard let passphrase else {
                throw APIError(
                    status: .badRequest,
                    code: "passphrase_required",
                    message: "the key \(keyName) is sealed with a passphrase: send it as passphrase",
                    details: ["field": "passphrase"]
                )
            }
            let opened: [UInt8]
            do {
                opened = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
                    DispatchQueue.global().async { continuation.resume(with: Result { try AgePassphrase.open(file, passphrase: passphrase) }) }
                }
            } catch let error as AgeError {
                throw APIError(
                    status: .badRequest,
                    code: "wrong_passphrase",
                    message: "the key file of \(keyName) does not open with this passphrase (\(error))",
                    details: ["field": "passphrase"]
                )
            }
            let identity = String(decoding: opened, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard (try? Age.recipient(ofIdentity: identity)) != nil else {
                throw APIError(status: .badRequest, code: "invalid_key_file", message: "the key file of \(keyName) holds no age identity")
            }
            identities[keyName] = identity
        }
        for (name, identity) in identities {
            guard let existing = try await services.database.backupIdentity(name: name, box: box, create: false) else { continue }
            guard existing.identity == identity else {
                throw APIError(
                    status: .conflict,
                    code: "key_conflict",
                    message: "this hub already has another key named \(name)",
                    details: ["key": name]
                )
            }
        }
        for (name, identity) in identities.sorted(by: { $0.key < $1.key }) {
            _ = try await services.database.importBackupIdentity(name: name, identity: identity)
            if let job = found.jobs.first(where: { $0.keyName == name }), let file = job.keyFile,
                try await services.database.keyEscrow(name: name) == nil
            {
                try await services.database.setKeyEscrow(name: name, KeyEscrow(file: file, setAt: unixNow(), targetsWritten: 1))
            }
        }

        var imported: [ImportedJob] = []
        for job in found.jobs {
            let recovered = Self.recovered(job, target: target)
            let outcome = try await services.database.importRecoveredJob(recovered)
            imported.append(ImportedJob(jobId: job.id, name: recovered.name, created: outcome.created, snapshotsImported: outcome.imported))
            context.logger.notice(
                "Job recovered from a target",
                metadata: ["job.id": "\(job.id)", "created": "\(outcome.created)", "snapshots": "\(outcome.imported)"]
            )
        }
        return ImportResult(jobs: imported, keys: identities.keys.sorted())
    }

    /// The job as this hub stores it: the spec from `bastion-job.json` when it validates (its target replaced by the one
    /// scanned, its hooks and pings dropped: a hub writes that file without them, so those there come from whoever
    /// could write to the target; hooks would run on this hub, pings would send each run's outcome to their URLs), else
    /// a filesystem job over `/` that only restores; its complete snapshots with summaries built from their manifests.
    static func recovered(_ job: RecoveryScan.Job, target: JobSpec.Target) -> RecoveredJob {
        var spec: JSONValue?
        if case .object(var object)? = job.document?["spec"] {
            object["target"] = target.json
            if var parsed = try? JobSpec.parse(.object(object)) {
                parsed.hooks = JobHooks()
                parsed.pings = JobPings()
                spec = parsed.storedJSON
            }
        }
        if spec == nil {
            var pipeline: [String: JSONValue] = [:]
            if let keyName = job.keyName { pipeline["encryption"] = .object(["type": .string("age_x25519"), "key_name": .string(keyName)]) }
            spec =
                (try? JobSpec.parse(
                    .object([
                        "type": .string("filesystem"), "source": .object(["paths": .array([.string("/")])]),
                        "target": target.json, "pipeline": .object(pipeline),
                    ])
                ))?.storedJSON
        }
        let snapshots = job.snapshots.compactMap { snapshot -> RecoveredSnapshot? in
            guard snapshot.complete, let manifest = snapshot.manifest, let started = snapshot.startedAt, let ended = snapshot.endedAt else {
                return nil
            }
            var summary = BackupSummary(
                location: RunLocation(target: target, jobId: job.id, runId: snapshot.runId),
                entriesCount: max(0, manifest.entriesCount),
                parts: manifest.payloadParts.count,
                source: .init(files: 0, dirs: 0, bytes: 0),
                transferBytes: manifest.payloadBytes,
                filesystemWarnings: 0,
                filesystemErrors: 0
            )
            summary.chain = manifest.chain
            return RecoveredSnapshot(runId: snapshot.runId, startedAt: started, endedAt: ended, summary: summary)
        }
        let timezone = job.document?["schedule_timezone"]?.stringValue.flatMap { TimeZone(identifier: $0) != nil ? $0 : nil } ?? "UTC"
        return RecoveredJob(
            id: job.id,
            name: job.name.map { String($0.prefix(200)) } ?? "Recovered \(job.id.prefix(8))",
            scheduleTimezone: timezone,
            spec: spec ?? .object([:]),
            snapshots: snapshots
        )
    }
}
