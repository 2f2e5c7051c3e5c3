import Core
import Foundation
import GRDB

/// What `POST /agent/enroll` found for a token.
public enum EnrollmentResult: Sendable, Equatable {
    case enrolled(Agent)
    case notFound
    case expired
    case exhausted
}

/// Enrolment tokens and agents (docs/agents.md, "Enrolment").
extension AppDatabase {
    static let agentColumns = "id, name, created_at, revoked_at, last_seen_at, info_json, key_rotated_at"

    static func agent(_ row: Row) -> Agent {
        Agent(
            id: row[0],
            name: row[1],
            createdAt: row[2],
            revokedAt: row[3],
            lastSeenAt: row[4],
            info: (row[5] as String?).flatMap { try? JSONValue.parse($0) },
            keyRotatedAt: row[6]
        )
    }

    /// Stores a token's hash, valid until `expiresAt`, for `remainingUses` enrolments (nil: any number).
    public func createEnrollmentToken(hash: Data, expiresAt: Int64, remainingUses: Int?, now: Int64 = unixNow()) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO enrollment_tokens (token_hash, created_at, expires_at, remaining_uses) VALUES (?, ?, ?, ?)",
                arguments: [hash, now, expiresAt, remainingUses]
            )
        }
    }

    /// Spends one use of the token and creates the agent, in one IMMEDIATE transaction: the token's last use deletes
    /// it (a later use is `notFound`); an expired token is deleted and refused.
    public func enroll(tokenHash: Data, name: String, keyHash: Data, now: Int64 = unixNow()) async throws -> EnrollmentResult {
        try await pool.write { db in
            guard
                let token = try Row.fetchOne(
                    db,
                    sql: "SELECT expires_at, remaining_uses FROM enrollment_tokens WHERE token_hash = ?",
                    arguments: [tokenHash]
                )
            else { return .notFound }
            if (token[0] as Int64) <= now {
                try db.execute(sql: "DELETE FROM enrollment_tokens WHERE token_hash = ?", arguments: [tokenHash])
                return .expired
            }
            if let remaining = token[1] as Int64? {
                guard remaining > 0 else { return .exhausted }
                if remaining == 1 {
                    try db.execute(sql: "DELETE FROM enrollment_tokens WHERE token_hash = ?", arguments: [tokenHash])
                } else {
                    try db.execute(
                        sql: "UPDATE enrollment_tokens SET remaining_uses = remaining_uses - 1 WHERE token_hash = ?",
                        arguments: [tokenHash]
                    )
                }
            }
            let agent = Agent(id: UUID().uuidString.lowercased(), name: name, createdAt: now)
            try db.execute(
                sql: "INSERT INTO agents (id, name, key_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [agent.id, agent.name, keyHash, now]
            )
            return .enrolled(agent)
        }
    }

    /// The agent whose key hashes to `keyHash` (revoked ones included: the caller refuses them with their own code).
    public func agent(keyHash: Data) async throws -> Agent? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.agentColumns) FROM agents WHERE key_hash = ?", arguments: [keyHash]).map(Self.agent)
        }
    }

    public func agent(id: String) async throws -> Agent? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT \(Self.agentColumns) FROM agents WHERE id = ?", arguments: [id]).map(Self.agent)
        }
    }

    /// Every agent, by name.
    public func agents() async throws -> [Agent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.agentColumns) FROM agents ORDER BY name COLLATE NOCASE, id").map(Self.agent)
        }
    }

    /// Revokes an agent (its key no longer authenticates); nil when there is no such agent.
    public func revokeAgent(id: String, now: Int64 = unixNow()) async throws -> Agent? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE agents SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [now, id])
            return try Row.fetchOne(db, sql: "SELECT \(Self.agentColumns) FROM agents WHERE id = ?", arguments: [id]).map(Self.agent)
        }
    }

    /// Records that the agent was heard from, and what it said of itself when `info` is given.
    public func agentSeen(id: String, info: JSONValue? = nil, now: Int64 = unixNow()) async throws {
        try await pool.write { db in
            if let info {
                try db.execute(sql: "UPDATE agents SET last_seen_at = ?, info_json = ? WHERE id = ?", arguments: [now, info.jsonString(), id])
            } else {
                try db.execute(sql: "UPDATE agents SET last_seen_at = ? WHERE id = ?", arguments: [now, id])
            }
        }
    }
}
