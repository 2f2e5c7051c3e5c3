import Core
import Foundation
import Hummingbird
import Secrets
import Store
import Targets

/// Remote targets (docs/targets.md): their credentials as encrypted secrets (never returned in clear), the test
/// connection, and the cleanup of incomplete runs (the maintenance view).
struct TargetsController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("secrets/:kind", use: secrets)
        group.put("secrets/:kind/:name", use: saveSecret)
        group.delete("secrets/:kind/:name", use: deleteSecret)
        group.post("targets/test", use: test)
        group.get("maintenance/incomplete-cleanup", use: cleanups)
        group.get("maintenance/incomplete-cleanup/:run_id", use: cleanup)
        group.post("maintenance/incomplete-cleanup/:run_id/:action", use: cleanupAction)
    }

    // MARK: - Secrets

    struct SecretDTO: ResponseEncodable {
        var kind: String
        var name: String
        var createdAt: Int64
        var updatedAt: Int64
        /// The jobs whose target names it.
        var usedBy: [String]
    }

    static func secretKey(_ context: AppRequestContext) throws -> (kind: String, name: String) {
        let kind = try context.parameters.require("kind")
        guard AppDatabase.targetSecretKinds.contains(kind) || AppDatabase.databaseSecretKinds.contains(kind) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_kind",
                message: "unknown secret kind \(kind) (webdav, rclone, postgres, mariadb)",
                details: ["field": "kind"]
            )
        }
        guard let name = context.parameters.get("name").map({ $0.removingPercentEncoding ?? "" }) else { return (kind, "") }
        guard JobSpec.isValidSecretName(name) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_name",
                message: "a secret's name is 1-128 letters, digits, '.', '_' or '-'",
                details: ["field": "name"]
            )
        }
        return (kind, name)
    }

    /// `GET /api/secrets/{webdav|rclone}`: names and dates only.
    @Sendable func secrets(_ request: Request, context: AppRequestContext) async throws -> [SecretDTO] {
        let (kind, _) = try Self.secretKey(context)
        var list: [SecretDTO] = []
        for secret in try await services.database.targetSecrets() where secret.kind == kind {
            let jobs = try await services.database.jobsUsingTargetSecret(kind: kind, name: secret.name)
            list.append(SecretDTO(kind: kind, name: secret.name, createdAt: secret.createdAt, updatedAt: secret.updatedAt, usedBy: jobs))
        }
        return list
    }

    /// `PUT /api/secrets/webdav/{name}` `{username, password, url}` (the secret is bound to the URL's origin) or `PUT /api/secrets/rclone/{name}` `{config}` (the remote's
    /// section as `rclone config show` prints it): creates or replaces the secret, sealed under `master.key`.
    @Sendable func saveSecret(_ request: Request, context: AppRequestContext) async throws -> SecretDTO {
        let (kind, name) = try Self.secretKey(context)
        let known: Set<String> =
            kind == "webdav" ? ["url", "username", "password"] : AppDatabase.databaseSecretKinds.contains(kind) ? ["password"] : ["config"]
        let body = try await RequestInput.object(request, known: known)
        let value: JSONValue
        switch kind {
        case "postgres", "mariadb":
            // A database job's password (docs/databases.md): handed to the dump tool in its environment, never in argv.
            guard case .string(let password)? = body["password"], !password.isEmpty, password.utf8.count <= 1024,
                !password.utf8.contains(0)
            else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_password",
                    message: "password must be a non-empty string (at most 1024 bytes, no NUL)",
                    details: ["field": "password"]
                )
            }
            value = .object(["password": .string(password)])
        case "webdav":
            guard case .string(let username)? = body["username"], !username.isEmpty, !username.contains(":"), username.utf8.count <= 256 else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_username",
                    message: "username must be a non-empty string without ':'",
                    details: ["field": "username"]
                )
            }
            guard case .string(let password)? = body["password"], password.utf8.count <= 1024 else {
                throw APIError(status: .badRequest, code: "invalid_password", message: "password must be a string", details: ["field": "password"])
            }
            // The secret is bound to one server: it is never sent to another origin (docs/security.md).
            guard case .string(let url)? = body["url"], !url.contains("@"), let origin = WebDAVStore.origin(of: url) else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_url",
                    message: "url must be the server's http(s) URL, without credentials (the secret is sent to it only)",
                    details: ["field": "url"]
                )
            }
            value = .object(["username": .string(username), "password": .string(password), "origin": .string(origin)])
        default:
            guard case .string(let config)? = body["config"], config.utf8.count <= 64 << 10 else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_config",
                    message: "config must be a string (at most 64 KiB)",
                    details: ["field": "config"]
                )
            }
            do {
                let options = try RcloneStore.parseConfig(config)
                _ = try RcloneConfigPolicy.check(options, keyDirectory: services.config.common.dataDirectory.rcloneKeysPath)
            } catch let error as TargetError {
                throw APIError(
                    status: .badRequest,
                    code: error.code == "rclone_config_refused" ? error.code : "invalid_config",
                    message: error.message,
                    details: ["field": "config"]
                )
            }
            value = .object(["config": .string(config)])
        }
        let sealed = try SecretBox.open(in: services.config.common.dataDirectory).seal(Data(value.jsonString().utf8), kind: kind, name: name)
        try await services.database.saveTargetSecret(kind: kind, name: name, sealed: sealed)
        context.logger.info("Target secret saved", metadata: ["kind": "\(kind)", "secret": "\(name)"])
        let saved = try await services.database.targetSecrets().first { $0.kind == kind && $0.name == name }
        return SecretDTO(
            kind: kind,
            name: name,
            createdAt: saved?.createdAt ?? unixNow(),
            updatedAt: saved?.updatedAt ?? unixNow(),
            usedBy: try await services.database.jobsUsingTargetSecret(kind: kind, name: name)
        )
    }

    /// `DELETE /api/secrets/{kind}/{name}`: refused with 409 `secret_in_use` while a job's target names it.
    @Sendable func deleteSecret(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (kind, name) = try Self.secretKey(context)
        let jobs = try await services.database.jobsUsingTargetSecret(kind: kind, name: name)
        guard jobs.isEmpty else {
            throw APIError(
                status: .conflict,
                code: "secret_in_use",
                message: "the secret is used by \(jobs.count) job(s): \(jobs.prefix(5).joined(separator: ", "))"
            )
        }
        guard try await services.database.deleteTargetSecret(kind: kind, name: name) else {
            throw APIError(status: .notFound, code: "secret_not_found", message: "no \(kind) secret named \(name)")
        }
        return Response(status: .noContent)
    }

    // MARK: - Test connection

    struct TestStep: ResponseEncodable {
        var step: String
        var ok: Bool
        var ms: Double
        var code: String?
        var message: String?
        var hint: String?
    }

    struct TestResult: ResponseEncodable {
        var ok: Bool
        var steps: [TestStep]
    }

    /// `POST /api/targets/test` with a target as a job spec has it: connects, creates `<base>/.bastion-test/<id>/`, writes
    /// a small object, reads it back and compares, deletes it; each step's outcome and time. From the hub.
    @Sendable func test(_ request: Request, context: AppRequestContext) async throws -> TestResult {
        let body = try await RequestInput.object(
            request,
            known: ["type", "base_dir", "base_url", "remote", "secret_name", "part_size_bytes", "bandwidth"]
        )
        guard case .string(let type)? = body["type"] else {
            throw APIError(status: .badRequest, code: "invalid_spec", message: "type is required", details: ["field": "type"])
        }
        try RequestInput.refuseUnknownKeys(body, known: (JobSpec.targetKeys(type) ?? []).union(["type"]), at: "")
        let target: JobSpec.Target
        do {
            target = try JobSpec.parseTarget(type: type, .object(body), field: "target")
        } catch let error as ValidationError {
            throw RequestInput.badRequest(error)
        }
        let steps = await TargetStores.test(
            target,
            secrets: HubTargetSecrets(database: services.database),
            scratch: services.config.common.dataDirectory.runsPath
        )
        let dtos = steps.map {
            TestStep(
                step: $0.step,
                ok: $0.error == nil,
                ms: ($0.milliseconds * 10).rounded() / 10,
                code: $0.error?.code,
                message: $0.error?.message,
                hint: $0.error?.hint
            )
        }
        context.logger.info("Target tested", metadata: ["type": "\(type)", "ok": "\(dtos.allSatisfy(\.ok))"])
        return TestResult(ok: dtos.count == 5 && dtos.allSatisfy(\.ok), steps: dtos)
    }

    // MARK: - Incomplete runs

    struct CleanupDTO: ResponseEncodable {
        var runId: String
        var jobId: String
        var jobName: String?
        var nodeId: String
        var target: String?
        var targetType: String?
        var status: String
        var attempts: Int
        var nextAttemptAt: Int64
        var lastError: String?
        var createdAt: Int64
        var updatedAt: Int64
        var runStatus: String
        var runEndedAt: Int64?

        init(_ cleanup: IncompleteCleanup) {
            runId = cleanup.runId
            jobId = cleanup.jobId
            jobName = cleanup.jobName
            nodeId = cleanup.nodeId
            target = cleanup.location?.display
            targetType = cleanup.location?.target.type
            status = cleanup.status.rawValue
            attempts = cleanup.attempts
            nextAttemptAt = cleanup.nextAttemptAt
            lastError = cleanup.lastError
            createdAt = cleanup.createdAt
            updatedAt = cleanup.updatedAt
            runStatus = cleanup.runStatus
            runEndedAt = cleanup.runEndedAt
        }
    }

    /// `GET /api/maintenance/incomplete-cleanup[?status=]`: newest first.
    @Sendable func cleanups(_ request: Request, context: AppRequestContext) async throws -> [CleanupDTO] {
        let status: IncompleteCleanup.Status? = try RequestInput.filter(request, "status")
        return try await services.database.incompleteCleanups(status: status).map(CleanupDTO.init)
    }

    @Sendable func cleanup(_ request: Request, context: AppRequestContext) async throws -> CleanupDTO {
        let runId = try context.parameters.require("run_id")
        guard let cleanup = try await services.database.incompleteCleanup(runId: runId) else { throw Self.cleanupNotFound }
        return CleanupDTO(cleanup)
    }

    /// `POST …/{run_id}/retry-now|ignore|unignore`.
    @Sendable func cleanupAction(_ request: Request, context: AppRequestContext) async throws -> CleanupDTO {
        let runId = try context.parameters.require("run_id")
        let action = try context.parameters.require("action")
        guard ["retry-now", "ignore", "unignore"].contains(action) else {
            throw APIError(status: .notFound, code: "not_found", message: "unknown action \(action) (retry-now, ignore, unignore)")
        }
        switch try await services.database.setIncompleteCleanup(runId: runId, action: action) {
        case nil: throw Self.cleanupNotFound
        case false?: throw APIError(status: .conflict, code: "invalid_state", message: "\(action) does not apply to this cleanup's status")
        case true?: break
        }
        guard let cleanup = try await services.database.incompleteCleanup(runId: runId) else { throw Self.cleanupNotFound }
        return CleanupDTO(cleanup)
    }

    static let cleanupNotFound = APIError(status: .notFound, code: "cleanup_not_found", message: "this run has no incomplete-run cleanup")
}
