import Foundation
import GRDB
import Testing

@testable import Shared

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

    @Test func cidrMatching() {
        #expect(CIDR("10.0.0.0/8")!.contains("10.200.3.4") && !CIDR("10.0.0.0/8")!.contains("11.0.0.1"))
        #expect(CIDR("192.168.1.128/25")!.contains("192.168.1.200") && !CIDR("192.168.1.128/25")!.contains("192.168.1.10"))
        #expect(CIDR("::1/128")!.contains("::1") && !CIDR("::1/128")!.contains("::2"))
        #expect(CIDR("fd00::/8")!.contains("fd12:3456::1"))
        #expect(CIDR("127.0.0.1")!.contains("::ffff:127.0.0.1"), "IPv4-mapped IPv6 counts as IPv4")
        #expect(CIDR("10.0.0.0/33") == nil && CIDR("nonsense") == nil && CIDR("10.0.0.0/x") == nil)
    }

    @Test func clientIPWalksTrustedHopsRightToLeft() {
        let policy = NetworkPolicy(trustedProxies: [CIDR("10.0.0.0/8")!])
        #expect(policy.clientIP(peer: "10.0.0.2", forwardedFor: "198.51.100.9, 10.0.0.5") == "198.51.100.9")
        #expect(
            policy.clientIP(peer: "10.0.0.2", forwardedFor: "6.6.6.6, 198.51.100.9, 10.0.0.5") == "198.51.100.9",
            "spoofed left entries are ignored"
        )
        #expect(policy.clientIP(peer: "198.51.100.1", forwardedFor: "6.6.6.6") == "198.51.100.1", "an untrusted peer is the client")
        #expect(policy.clientIP(peer: "10.0.0.2", forwardedFor: "6.6.6.6, garbage") == "10.0.0.2", "malformed → the peer")
        #expect(policy.clientIP(peer: "10.0.0.2", forwardedFor: nil) == "10.0.0.2")
    }

    @Test func httpsPolicy() {
        let policy = NetworkPolicy(trustedProxies: [CIDR("10.0.0.0/8")!])
        #expect(policy.allows(peer: "127.0.0.1", forwardedProto: nil) && policy.allows(peer: "::1", forwardedProto: nil))
        #expect(!policy.allows(peer: "198.51.100.1", forwardedProto: nil))
        #expect(!policy.allows(peer: "198.51.100.1", forwardedProto: "https"), "only a trusted proxy may say https")
        #expect(policy.allows(peer: "10.1.1.1", forwardedProto: "https, http") && !policy.allows(peer: "10.1.1.1", forwardedProto: "http"))
        #expect(NetworkPolicy(insecureHTTP: true).allows(peer: "198.51.100.1", forwardedProto: nil))
    }

    @Test func originMustMatchSchemeHostAndPort() {
        let policy = NetworkPolicy()
        func check(
            _ origin: String?,
            host: String? = "bastion.example:9876",
            fHost: String? = nil,
            fProto: String? = nil,
            peer: String = "127.0.0.1"
        ) -> Bool {
            policy.originMatches(origin: origin, host: host, forwardedHost: fHost, forwardedProto: fProto, peer: peer)
        }
        #expect(check("http://bastion.example:9876"))
        #expect(check("http://BASTION.example:9876"))
        #expect(!check(nil) && !check("null") && !check("http://evil.example:9876") && !check("http://bastion.example:9877"))
        #expect(!check("https://bastion.example:9876"))
        #expect(check("https://bastion.example", host: "internal:9876", fHost: "bastion.example", fProto: "https"), "through a trusted proxy")
        #expect(check("http://bastion.example", host: "bastion.example:80"), "default ports")
        #expect(
            !check("https://bastion.example", host: "internal:9876", fHost: "bastion.example", fProto: "https", peer: "198.51.100.1"),
            "an untrusted peer's X-Forwarded-* are ignored"
        )
    }
}
