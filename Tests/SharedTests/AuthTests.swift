import Foundation
import GRDB
import TestClients
import Testing

@testable import Secrets
@testable import Store

@Suite struct AuthTests {
    @Test func passwordsAreArgon2idPHCStrings() async throws {
        let hasher = PasswordHasher()
        let hash = try await hasher.hash("correct horse battery")
        #expect(hash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"), "\(hash)")
        #expect(await hasher.verify("correct horse battery", against: hash))
        #expect(!(await hasher.verify("correct horse batterx", against: hash)))
        #expect(!(await hasher.verify("anything", against: "not a phc string")))
        #expect(!(await hasher.verify("anything", againstUserHash: nil)), "an unknown user never matches")
        #expect(try await hasher.hash("correct horse battery") != hash, "fresh salt every time")
    }

    @Test func concurrentFirstUserCreationCreatesExactlyOne() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let created = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<8 { group.addTask { try await database.createFirstUser(username: "u\(index)", passwordHash: "h") } }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(created == 1)
        #expect(try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") } == 1)
    }

    @Test func sessionsExpireAfterTheirTTL() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        _ = try await database.createFirstUser(username: "admin", passwordHash: "h")
        let user = try #require(try await database.user(username: "admin"))
        try await database.createSession(userId: user.id, tokenHash: SessionToken.hash("t"), csrfToken: "c", ttl: 604_800, now: 1000)
        #expect(try await database.session(tokenHash: SessionToken.hash("t"), now: 1000 + 604_799)?.csrfToken == "c")
        #expect(try await database.session(tokenHash: SessionToken.hash("t"), now: 1000 + 604_800) == nil)
        #expect(try await database.session(tokenHash: SessionToken.hash("other"), now: 1001) == nil)
        let stored = try await database.pool.read { db in try String.fetchOne(db, sql: "SELECT id FROM sessions") }
        #expect(stored == SessionToken.hash("t") && stored != "t", "only the token's hash is stored")
    }

    @Test func tenFailuresLockFor15MinutesAndTheWindowIs10Minutes() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let ip = "203.0.113.7"
        for second in 0..<9 { #expect(try await database.recordLoginFailure(ip: ip, now: 1000 + Int64(second)) == nil) }
        #expect(try await database.loginLockedUntil(ip: ip, now: 1010) == nil)
        #expect(try await database.recordLoginFailure(ip: ip, now: 1010) == 1910, "the 10th failure locks for 900 s")
        #expect(try await database.loginLockedUntil(ip: ip, now: 1500) == 1910)
        #expect(try await database.recordLoginFailure(ip: ip, now: 1600) == 1910, "failures while locked do not extend the lock")
        #expect(try await database.loginLockedUntil(ip: ip, now: 1910) == nil, "unlocked when the lock ends")
        #expect(try await database.recordLoginFailure(ip: ip, now: 1911) == nil, "a new window starts at 1")
        // Failures spread wider than the 10-minute window never lock.
        let slow = "203.0.113.8"
        for index in 0..<30 { #expect(try await database.recordLoginFailure(ip: slow, now: 5000 + Int64(index) * 70) == nil || index >= 9) }
        #expect(try await database.loginLockedUntil(ip: slow, now: 5000 + 29 * 70) == nil)
        // A success clears the record.
        try await database.clearLoginFailures(ip: ip)
        #expect(
            try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM login_throttle WHERE ip = ?", arguments: [ip]) } == 0
        )
    }
}
