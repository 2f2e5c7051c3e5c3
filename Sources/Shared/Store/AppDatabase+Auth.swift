import Core
import Foundation
import GRDB

/// A signed-in session as the API sees it.
public struct AuthSession: Sendable, Equatable {
    public var userId: Int64
    public var username: String
    public var csrfToken: String
    public var createdAt: Int64
    public var expiresAt: Int64
}

/// A user row (with its PHC hash, for login).
public struct UserRecord: Sendable, Equatable {
    public var id: Int64
    public var username: String
    public var passwordHash: String
}

/// The login throttle (docs/architecture.md, "HTTP edge"): 10 failures within 10 minutes lock the IP for 15 minutes.
public enum LoginThrottle {
    public static let window: Int64 = 600
    public static let maxFailures = 10
    public static let lockSeconds: Int64 = 900
    /// The row that counts failures from every address together (docs/security.md, "The HTTP edge"): an address is
    /// what the client or a trusted proxy says it is, so spreading guesses over forged `X-Forwarded-For` addresses must
    /// still meet a limit. `maxFailuresAllAddresses` failures in a window lock every login for `lockSeconds`.
    public static let allAddresses = "*"
    public static let maxFailuresAllAddresses = 100
}

extension AppDatabase {
    // MARK: - Setup

    public func hasUsers() async throws -> Bool {
        try await pool.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM users)") ?? false }
    }

    /// Creates the first user, only if there is none, in one IMMEDIATE transaction: of any number of concurrent
    /// calls exactly one returns true.
    public func createFirstUser(username: String, passwordHash: String, now: Int64 = unixNow()) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO users (username, password_hash, created_at) SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users)",
                arguments: [username, passwordHash, now]
            )
            return db.changesCount == 1
        }
    }

    public func user(username: String) async throws -> UserRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, username, password_hash FROM users WHERE username = ?", arguments: [username])
                .map { UserRecord(id: $0[0], username: $0[1], passwordHash: $0[2]) }
        }
    }

    // MARK: - Sessions (the row id is the SHA-256 hex of the cookie token)

    public func createSession(userId: Int64, tokenHash: String, csrfToken: String, ttl: Int64, now: Int64 = unixNow()) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [tokenHash, userId, csrfToken, now, now + ttl]
            )
        }
    }

    /// The live session with this token hash; an expired one reads as none.
    public func session(tokenHash: String, now: Int64 = unixNow()) async throws -> AuthSession? {
        try await pool.read { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT sessions.user_id, users.username, sessions.csrf_token, sessions.created_at, sessions.expires_at
                    FROM sessions JOIN users ON users.id = sessions.user_id
                    WHERE sessions.id = ? AND sessions.expires_at > ?
                    """
            )
            return try Row.fetchOne(statement, arguments: [tokenHash, now]).map {
                AuthSession(userId: $0[0], username: $0[1], csrfToken: $0[2], createdAt: $0[3], expiresAt: $0[4])
            }
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM sessions WHERE id = ?", arguments: [tokenHash]) }
    }

    // MARK: - Login throttle

    /// Until when `ip` is locked out, if it is now.
    public func loginLockedUntil(ip: String, now: Int64 = unixNow()) async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT locked_until FROM login_throttle WHERE ip = ? AND locked_until > ?", arguments: [ip, now])
        }
    }

    /// Counts a failed login from `ip` (the original's rules: a window older than 10 min restarts at 1; the 10th
    /// failure in the window locks for 15 min; failures while locked only touch `last_failed_at`). Returns the lock's
    /// end when the IP is (now) locked.
    @discardableResult
    public func recordLoginFailure(ip: String, maxFailures: Int = LoginThrottle.maxFailures, now: Int64 = unixNow()) async throws -> Int64? {
        try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT failures, first_failed_at, locked_until FROM login_throttle WHERE ip = ?",
                    arguments: [ip]
                )
            else {
                try db.execute(
                    sql: "INSERT INTO login_throttle (ip, failures, first_failed_at, last_failed_at, locked_until) VALUES (?, 1, ?, ?, NULL)",
                    arguments: [ip, now, now]
                )
                return nil
            }
            let lockedUntil: Int64? = row[2]
            if let lockedUntil, lockedUntil > now {
                try db.execute(sql: "UPDATE login_throttle SET last_failed_at = ? WHERE ip = ?", arguments: [now, ip])
                return lockedUntil
            }
            var failures: Int = row[0]
            var firstFailedAt: Int64 = row[1]
            if now - firstFailedAt > LoginThrottle.window {
                failures = 1
                firstFailedAt = now
            } else {
                failures += 1
            }
            let lock: Int64? = failures >= maxFailures ? now + LoginThrottle.lockSeconds : nil
            try db.execute(
                sql: "UPDATE login_throttle SET failures = ?, first_failed_at = ?, last_failed_at = ?, locked_until = ? WHERE ip = ?",
                arguments: [lock == nil ? failures : 0, lock == nil ? firstFailedAt : now, now, lock, ip]
            )
            return lock
        }
    }

    /// A successful login clears the IP's record.
    public func clearLoginFailures(ip: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM login_throttle WHERE ip = ?", arguments: [ip]) }
    }
}
