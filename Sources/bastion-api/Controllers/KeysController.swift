import Archive
import Core
import Foundation
import Hummingbird
import Secrets
import Store
import Targets

/// Backup encryption keys (age X25519 identities, one per `pipeline.encryption.key_name`): list them, and export one
/// so a snapshot can be decrypted without Bastion (`age -d -i KEY`).
struct KeysController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("keys", use: list)
        group.post("keys", use: create)
        group.get("keys/:name", use: export)
        group.put("keys/:name/escrow", use: escrow)
    }

    /// A key; `identity` only in the export.
    struct KeyDTO: ResponseEncodable {
        var name: String
        var recipient: String
        var identity: Omittable<String> = .absent
        var escrow: Omittable<EscrowDTO?> = .absent
    }

    /// When the key's passphrase copy was set, and on how many job collections it was written.
    struct EscrowDTO: ResponseEncodable {
        var setAt: Int64
        var targetsWritten: Int
    }

    struct EscrowResult: ResponseEncodable {
        var name: String
        var escrow: EscrowDTO
        /// The job collections that could not be written (the escrow is kept; the next backup of each job retries).
        var failures: [EscrowFailure]
    }

    struct EscrowFailure: ResponseEncodable {
        var jobId: String
        var target: String
        var code: String
        var message: String
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> [KeyDTO] {
        let box = try SecretBox.open(in: services.config.common.dataDirectory)
        var keys: [KeyDTO] = []
        for name in try await services.database.backupKeyNames() {
            if let key = try await services.database.backupIdentity(name: name, box: box, create: false) {
                let escrow = try await services.database.keyEscrow(name: name)
                keys.append(
                    KeyDTO(
                        name: name,
                        recipient: key.recipient,
                        escrow: .present(escrow.map { EscrowDTO(setAt: $0.setAt, targetsWritten: $0.targetsWritten) })
                    )
                )
            }
        }
        return keys
    }

    /// `POST /api/keys {"name"}`: creates a new key (a job may also create its key on its first backup); 409
    /// `key_exists` when the name is taken, so an existing key is never replaced.
    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<KeyDTO> {
        let body = try await RequestInput.object(request, known: ["name"])
        guard case .string(let name)? = body["name"], JobSpec.isValidKeyName(name) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_name",
                message: "name must be 1–64 letters, digits, . _ or - (not . or ..)",
                details: ["field": "name"]
            )
        }
        let box = try SecretBox.open(in: services.config.common.dataDirectory)
        if try await services.database.backupIdentity(name: name, box: box, create: false) != nil {
            throw APIError(status: .conflict, code: "key_exists", message: "a backup key named \(name) exists", details: ["field": "name"])
        }
        guard let key = try await services.database.backupIdentity(name: name, box: box, create: true) else {
            throw APIError(status: .internalServerError, code: "key_not_created", message: "the key was not stored")
        }
        context.logger.notice("Backup key created", metadata: ["key": "\(name)"])
        return EditedResponse(status: .created, response: KeyDTO(name: name, recipient: key.recipient, escrow: .present(nil)))
    }

    /// `GET /api/keys/{name}`: the identity itself (`AGE-SECRET-KEY-1…`), for `age -d -i`; `Cache-Control: no-store`, so
    /// no browser or proxy cache keeps a copy of the private key.
    @Sendable func export(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<KeyDTO> {
        let name = try context.parameters.require("name").removingPercentEncoding ?? ""
        let box = try SecretBox.open(in: services.config.common.dataDirectory)
        guard let key = try await services.database.backupIdentity(name: name, box: box, create: false) else {
            throw APIError(status: .notFound, code: "key_not_found", message: "no backup key named \(name)")
        }
        context.logger.notice("Backup key exported", metadata: ["key": "\(name)"])
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        return EditedResponse(headers: headers, response: KeyDTO(name: name, recipient: key.recipient, identity: .present(key.identity)))
    }

    /// `PUT /api/keys/{name}/escrow {"passphrase"}`: seals the identity with the passphrase (age's scrypt recipient,
    /// so `age -d` opens it), keeps the sealed file (never the passphrase), and writes it with `bastion-job.json` on
    /// every target holding the key's snapshots (docs/recovery.md).
    @Sendable func escrow(_ request: Request, context: AppRequestContext) async throws -> EscrowResult {
        let name = try context.parameters.require("name").removingPercentEncoding ?? ""
        let body = try await RequestInput.object(request, known: ["passphrase"])
        guard case .string(let passphrase)? = body["passphrase"], passphrase.count >= 12, passphrase.utf8.count <= 1024,
            !passphrase.utf8.contains(0)
        else {
            throw APIError(
                status: .badRequest,
                code: "invalid_passphrase",
                message: "passphrase must be a string of at least 12 characters (at most 1024 bytes)",
                details: ["field": "passphrase"]
            )
        }
        let box = try SecretBox.open(in: services.config.common.dataDirectory)
        guard let key = try await services.database.backupIdentity(name: name, box: box, create: false) else {
            throw APIError(status: .notFound, code: "key_not_found", message: "no backup key named \(name)")
        }
        // scrypt takes about a second and 256 MiB: off the cooperative pool and the event loops.
        let file = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try AgePassphrase.seal(Array((key.identity + "\n").utf8), passphrase: passphrase) })
            }
        }
        let now = unixNow()
        try await services.database.setKeyEscrow(name: name, KeyEscrow(file: file, setAt: now, targetsWritten: 0), now: now)
        var written = 0
        var failures: [EscrowFailure] = []
        let secrets = HubTargetSecrets(database: services.database)
        for (job, target) in try await services.database.escrowLocations(keyName: name) {
            do {
                try await services.database.ensureJobFiles(jobId: job.id, target: target, secrets: secrets, replaceKey: true, logger: context.logger)
                written += 1
            } catch {
                let failure = error as? TargetError ?? TargetError("target_write_failed", "\(error)")
                failures.append(EscrowFailure(jobId: job.id, target: target.type, code: failure.code, message: failure.message))
                context.logger.warning(
                    "Key escrow not written to a target",
                    metadata: ["key": "\(name)", "job.id": "\(job.id)", "error": "\(failure)"]
                )
            }
        }
        try await services.database.setKeyEscrow(name: name, KeyEscrow(file: file, setAt: now, targetsWritten: written), now: now)
        context.logger.notice("Backup key escrow set", metadata: ["key": "\(name)", "targets_written": "\(written)"])
        return EscrowResult(name: name, escrow: EscrowDTO(setAt: now, targetsWritten: written), failures: failures)
    }
}
