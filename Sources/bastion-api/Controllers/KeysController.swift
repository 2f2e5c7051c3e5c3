import Core
import Foundation
import Hummingbird
import Secrets

/// Backup encryption keys (age X25519 identities, one per `pipeline.encryption.key_name`): list them, and export one
/// so a snapshot can be decrypted without Bastion (`age -d -i KEY`).
struct KeysController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("keys", use: list)
        group.get("keys/:name", use: export)
    }

    /// A key; `identity` only in the export.
    struct KeyDTO: ResponseEncodable {
        var name: String
        var recipient: String
        var identity: Omittable<String> = .absent
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> [KeyDTO] {
        let box = try SecretBox.open(in: services.config.common.dataDirectory)
        var keys: [KeyDTO] = []
        for name in try await services.database.backupKeyNames() {
            if let key = try await services.database.backupIdentity(name: name, box: box, create: false) {
                keys.append(KeyDTO(name: name, recipient: key.recipient))
            }
        }
        return keys
    }

    /// `GET /api/keys/{name}`: the identity itself (`AGE-SECRET-KEY-1…`), for `age -d -i`.
    @Sendable func export(_ request: Request, context: AppRequestContext) async throws -> KeyDTO {
        let name = try context.parameters.require("name").removingPercentEncoding ?? ""
        let box = try SecretBox.open(in: services.config.common.dataDirectory)
        guard let key = try await services.database.backupIdentity(name: name, box: box, create: false) else {
            throw APIError(status: .notFound, code: "key_not_found", message: "no backup key named \(name)")
        }
        context.logger.notice("Backup key exported", metadata: ["key": "\(name)"])
        return KeyDTO(name: name, recipient: key.recipient, identity: .present(key.identity))
    }
}
