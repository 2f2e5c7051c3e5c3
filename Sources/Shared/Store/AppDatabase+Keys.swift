import Archive
import Core
import Foundation
import GRDB
import Secrets

/// Backup encryption keys: one age X25519 identity per `key_name`, created on first use and stored encrypted in
/// `secrets` (kind `backup_age_identity`, as the original).
extension AppDatabase {
    static let backupKeyKind = "backup_age_identity"

    /// The identity named `name`; with `create`, a new one is made when none exists (racing creators agree on the
    /// first one stored). Nil when it does not exist and `create` is false.
    public func backupIdentity(
        name: String,
        box: SecretBox,
        create: Bool,
        now: Int64 = unixNow()
    ) async throws -> (identity: String, recipient: String)? {
        if let sealed = try await pool.read({ db in try Self.fetchSecret(db, kind: Self.backupKeyKind, name: name) }) {
            return try Self.openIdentity(sealed, name: name, box: box)
        }
        guard create else { return nil }
        let fresh = Age.generateIdentity()
        let sealed = try box.seal(Data(fresh.identity.utf8), kind: Self.backupKeyKind, name: name)
        let stored = try await pool.write { db -> SecretBox.Sealed in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO secrets (id, node_id, kind, name, kid, nonce, ciphertext, created_at, updated_at)
                    VALUES (?, 'hub', ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [UUID().uuidString.lowercased(), Self.backupKeyKind, name, sealed.kid, sealed.nonce, sealed.ciphertext, now, now]
            )
            return try Self.fetchSecret(db, kind: Self.backupKeyKind, name: name)!
        }
        return try Self.openIdentity(stored, name: name, box: box)
    }

    /// Names of the stored backup keys, sorted.
    public func backupKeyNames() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM secrets WHERE kind = ? AND node_id = 'hub' ORDER BY name", arguments: [Self.backupKeyKind])
        }
    }

    static func openIdentity(_ sealed: SecretBox.Sealed, name: String, box: SecretBox) throws -> (identity: String, recipient: String) {
        let identity = String(decoding: try box.open(sealed, kind: backupKeyKind, name: name), as: UTF8.self)
        return (identity, try Age.recipient(ofIdentity: identity))
    }
}
