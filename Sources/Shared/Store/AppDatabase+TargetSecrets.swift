import Core
import Foundation
import GRDB
import Secrets
import Targets

/// A target credential as the API lists it: never its value.
public struct TargetSecretRecord: Sendable, Equatable {
    public var kind: String
    public var name: String
    public var createdAt: Int64
    public var updatedAt: Int64
}

/// The credentials of remote targets (docs/targets.md, "Credentials"): `secrets` rows of kind `webdav` or `rclone`,
/// sealed with the master key (`SecretBox`).
extension AppDatabase {
    public static let targetSecretKinds = ["webdav", "rclone"]
    /// The passwords of database jobs' servers (`{password}`, docs/databases.md): the same table and API.
    public static let databaseSecretKinds = ["postgres", "mariadb"]

    public func targetSecrets() async throws -> [TargetSecretRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT kind, name, created_at, updated_at FROM secrets WHERE node_id = 'hub' AND kind IN ('webdav', 'rclone', 'postgres', 'mariadb') ORDER BY kind, name"
            ).map { TargetSecretRecord(kind: $0[0], name: $0[1], createdAt: $0[2], updatedAt: $0[3]) }
        }
    }

    /// Creates or replaces a secret; whether it existed before.
    @discardableResult
    public func saveTargetSecret(kind: String, name: String, sealed: SecretBox.Sealed, now: Int64 = unixNow()) async throws -> Bool {
        try await pool.write { db in
            let existed = try Self.fetchSecret(db, kind: kind, name: name) != nil
            try Self.upsertSecret(db, kind: kind, name: name, sealed: sealed, now: now)
            return existed
        }
    }

    /// Deletes a secret; false when there was none.
    public func deleteTargetSecret(kind: String, name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM secrets WHERE node_id = 'hub' AND kind = ? AND name = ?", arguments: [kind, name])
            return db.changesCount > 0
        }
    }

    public func targetSecret(kind: String, name: String) async throws -> SecretBox.Sealed? {
        try await pool.read { db in try Self.fetchSecret(db, kind: kind, name: name) }
    }

    /// How many jobs' specs name the secret (a delete of a secret in use is refused).
    public func jobsUsingTargetSecret(kind: String, name: String) async throws -> [String] {
        try await pool.read { db in
            if Self.databaseSecretKinds.contains(kind) {
                return try String.fetchAll(
                    db,
                    sql: """
                        SELECT name FROM jobs WHERE json_extract(spec_json, '$.type') = ? AND json_extract(spec_json, '$.source.secret_name') = ?
                        ORDER BY name
                        """,
                    arguments: [kind, name]
                )
            }
            return try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM jobs WHERE json_extract(spec_json, '$.target.type') = ? AND json_extract(spec_json, '$.target.secret_name') = ?
                    ORDER BY name
                    """,
                arguments: [kind, name]
            )
        }
    }
}

/// The hub's target credentials: `secrets` rows opened with the master key.
public struct HubTargetSecrets: TargetSecretProvider {
    public let database: AppDatabase

    public init(database: AppDatabase) {
        self.database = database
    }

    public func secret(kind: String, name: String) async throws -> TargetSecret? {
        guard let sealed = try await database.targetSecret(kind: kind, name: name) else { return nil }
        let plain = try SecretBox.open(in: database.dataDirectory).open(sealed, kind: kind, name: name)
        return TargetSecret(try JSONValue.parse(bytes: plain), keyDirectory: database.dataDirectory.rcloneKeysPath)
    }
}
