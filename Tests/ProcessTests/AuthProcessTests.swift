import Archive
import Foundation
import GRDB
import Secrets
import Synchronization
import TestClients
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Accounts, sessions, CSRF, throttle, the HTTPS rule and the WebSocket checks, against the real bastion-api.
@Suite(.serialized) struct AuthProcessTests {
    /// An API on a fresh data directory with no user yet.
    func freshAPI(_ args: [String] = []) async throws -> (Child, String, Int, Scratch) {
        let scratch = Scratch()
        let port = freePort()
        let api = try Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(port)"] + args)
        let base = "http://127.0.0.1:\(port)"
        guard await eventually({ await HTTP.tryGet(base + "/api/ready")?.status == 200 }) else { throw FixtureError("api not ready:\n\(api.log)") }
        return (api, base, port, scratch)
    }

    static func login(_ base: String, password: String = RunsFixture.password, headers: [String: String] = [:]) async throws -> HTTPResult {
        try await HTTP.send(
            "POST",
            base + "/api/auth/login",
            json: ["username": RunsFixture.username, "password": password],
            headers: headers,
            anonymous: true
        )
    }

    @Test func setupHappensOnceEvenWhenRacedAndNeedsALongPassword() async throws {
        let (api, base, _, scratch) = try await freshAPI()
        defer { withExtendedLifetime(scratch) {} }
        defer { api.kill9() }
        #expect(try await HTTP.get(base + "/api/setup/status").json?["needs_setup"] as? Bool == true)
        let short = try await HTTP.send("POST", base + "/api/setup/initialize", json: ["username": "admin", "password": "elevenbytes"])
        #expect(short.status == 400 && short.json?["error"] as? String == "invalid_password")
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<2 {
                group.addTask {
                    try await HTTP.send("POST", base + "/api/setup/initialize", json: ["username": "admin\(index)", "password": "twelve bytes!"])
                        .status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }.sorted()
        }
        #expect(statuses == [204, 409])
        #expect(try await HTTP.get(base + "/api/setup/status").json?["needs_setup"] as? Bool == false)
        let late = try await HTTP.send("POST", base + "/api/setup/initialize", json: ["username": "x", "password": "another long one"])
        #expect(late.status == 409 && late.json?["error"] as? String == "already_initialized")
    }

    @Test func sessionsCSRFAndLogout() async throws {
        let fixture = try await RunsFixture()
        let base = fixture.base
        // No session: 401 on every protected route; health stays public.
        for path in ["/api/jobs", "/api/runs", "/api/session", "/api/notifications/queue"] {
            let result = try await HTTP.get(base + path, anonymous: true)
            #expect(result.status == 401 && result.json?["error"] as? String == "unauthorized", "\(path)")
        }
        #expect(try await HTTP.get(base + "/api/health", anonymous: true).status == 200)

        let wrong = try await Self.login(base, password: "not the password")
        #expect(wrong.status == 401 && wrong.json?["error"] as? String == "invalid_credentials")
        let good = try await Self.login(base)
        let cookie = try #require(good.headers["set-cookie"])
        #expect(cookie.hasPrefix("bastion_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"))
        #expect(!cookie.contains("Secure"), "plain HTTP on loopback: no Secure flag")
        let pair = String(cookie.split(separator: ";")[0])
        let csrf = try #require(good.json?["csrf_token"] as? String)
        let session = try await HTTP.get(base + "/api/session", headers: ["Cookie": pair], anonymous: true)
        #expect(
            session.status == 200 && session.json?["username"] as? String == RunsFixture.username && session.json?["csrf_token"] as? String == csrf
        )

        // Mutations need the CSRF token.
        let job =
            ["name": "j", "spec": ["v": 1, "type": "sqlite", "source": ["path": "/x.db"], "target": ["type": "local_dir", "base_dir": "/t"]]]
            as [String: Any]
        for headers in [["Cookie": pair], ["Cookie": pair, "x-csrf-token": "wrong"]] {
            let result = try await HTTP.send("POST", base + "/api/jobs", json: job, headers: headers, anonymous: true)
            #expect(result.status == 401 && result.json?["error"] as? String == "invalid_csrf")
        }
        #expect(
            try await HTTP.send("POST", base + "/api/jobs", json: job, headers: ["Cookie": pair, "x-csrf-token": csrf], anonymous: true).status == 201
        )

        // Logout kills the session for good.
        let logout = try await HTTP.send("POST", base + "/api/auth/logout", headers: ["Cookie": pair, "x-csrf-token": csrf], anonymous: true)
        #expect(logout.status == 204 && logout.headers["set-cookie"]?.contains("Max-Age=0") == true)
        #expect(try await HTTP.get(base + "/api/session", headers: ["Cookie": pair], anonymous: true).status == 401)

        // An expired session reads as none.
        let expired = try await Self.login(base)
        let expiredPair = String(expired.headers["set-cookie"]!.split(separator: ";")[0])
        let token = String(expiredPair.dropFirst("bastion_session=".count))
        let hash = SessionToken.hash(token)
        let queue = try DatabaseQueue(path: fixture.dataDir + "/bastion.db")
        try await queue.write { db in try db.execute(sql: "UPDATE sessions SET expires_at = 1 WHERE id = ?", arguments: [hash]) }
        try queue.close()
        #expect(try await HTTP.get(base + "/api/session", headers: ["Cookie": expiredPair], anonymous: true).status == 401)
        // Passwords are stored as Argon2id PHC strings.
        let stored = try await fixture.readDatabase { db in try String.fetchOne(db, sql: "SELECT password_hash FROM users") }
        #expect(stored?.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$") == true)
    }

    @Test func theTenthFailureLocksTheAddress() async throws {
        let fixture = try await RunsFixture()
        for attempt in 1...9 {
            #expect(try await Self.login(fixture.base, password: "wrong \(attempt)").status == 401)
        }
        let tenth = try await Self.login(fixture.base, password: "wrong 10")
        #expect(tenth.status == 429 && tenth.json?["error"] as? String == "rate_limited")
        let retryAfter = ((tenth.json?["details"] as? [String: Any])?["params"] as? [String: Any])?["retry_after_seconds"] as? Int
        #expect(retryAfter.map { (890...900).contains($0) } == true, "\(String(describing: retryAfter))")
        #expect(tenth.headers["retry-after"] == retryAfter.map(String.init))
        let correct = try await Self.login(fixture.base)
        #expect(correct.status == 429, "locked even with the right password")
    }

    /// Loopback is a trusted proxy by default, so a local client (or a page that rebinds to the hub) names any
    /// address in `X-Forwarded-For`: guesses spread over forged addresses were never throttled. Failures from all
    /// addresses together now meet a limit too.
    @Test func guessesSpreadOverForgedAddressesAreThrottledToo() async throws {
        let fixture = try await RunsFixture()
        var statuses: [Int] = []
        for attempt in 1...100 {  // LoginThrottle.maxFailuresAllAddresses
            let forged = ["X-Forwarded-For": "10.9.\(attempt / 250).\(attempt % 250 + 1)"]
            statuses.append(try await Self.login(fixture.base, password: "wrong \(attempt)", headers: forged).status)
        }
        #expect(statuses.dropLast().allSatisfy { $0 == 401 } && statuses.last == 429, "\(statuses)")
        let fresh = try await Self.login(fixture.base, headers: ["X-Forwarded-For": "10.99.0.1"])
        #expect(fresh.status == 429, "locked for every address, the right password too")
    }

    @Test func theWebSocketNeedsASessionAndTheRightOrigin() async throws {
        let fixture = try await RunsFixture()
        let job = try await fixture.createJob(source: "/nonexistent.db")
        let run = try await fixture.enqueue(job).id
        let path = fixture.wsPath(run)
        for (headers, code) in [
            (["Origin": fixture.base], "unauthorized"), (["Cookie": fixture.credential.cookie, "Origin": "http://evil.example"], "invalid_origin"),
            (["Cookie": fixture.credential.cookie], "invalid_origin"),
        ] {
            do {
                _ = try await RawWebSocket.connect(port: fixture.port, path: path, headers: headers)
                Issue.record("upgrade with \(headers.keys.sorted()) should be refused")
            } catch let refused as RawWebSocket.Refused {
                #expect(refused.status == 401 && refused.body.contains("\"error\":\"\(code)\""), "\(refused.status) \(refused.body)")
            }
        }
        let noSession = try await HTTP.get(fixture.base + path, headers: ["Origin": fixture.base], anonymous: true)
        #expect(noSession.status == 401 && noSession.json?["error"] as? String == "unauthorized")
        let badOrigin = try await HTTP.get(fixture.base + path, headers: ["Origin": "http://evil.example"])
        #expect(badOrigin.status == 401 && badOrigin.json?["error"] as? String == "invalid_origin")
        let ws = try await fixture.webSocket(path)
        ws.shutdown()
    }

    @Test(.enabled(if: nonLoopbackIPv4() != nil)) func plainHTTPFromAnotherHostNeedsHTTPSOrTheInsecureFlag() async throws {
        let address = try #require(nonLoopbackIPv4())
        let (strict, _, port, strictScratch) = try await freshAPI(["--host", "0.0.0.0"])
        defer {
            strict.kill9()
            withExtendedLifetime(strictScratch) {}
        }
        let remote = "http://\(address):\(port)"
        #expect(try await HTTP.get(remote + "/api/health").status == 200, "health is always reachable")
        let refused = try await HTTP.get(remote + "/api/setup/initialize")
        #expect(refused.status == 400 && refused.json?["error"] as? String == "insecure_not_allowed")
        let spoofed = try await HTTP.get(remote + "/api/jobs", headers: ["X-Forwarded-Proto": "https"])
        #expect(spoofed.json?["error"] as? String == "insecure_not_allowed", "an untrusted peer cannot claim https")

        // Behind a trusted proxy that says https: allowed, and the cookie is Secure.
        let (proxied, _, proxiedPort, proxiedScratch) = try await freshAPI(["--host", "0.0.0.0", "--trusted-proxy", "\(address)/32"])
        defer {
            proxied.kill9()
            withExtendedLifetime(proxiedScratch) {}
        }
        let viaProxy = "http://\(address):\(proxiedPort)"
        let setup = try await HTTP.send(
            "POST",
            viaProxy + "/api/setup/initialize",
            json: ["username": RunsFixture.username, "password": RunsFixture.password],
            headers: ["X-Forwarded-Proto": "https"]
        )
        #expect(setup.status == 204)
        let signedIn = try await Self.login(viaProxy, headers: ["X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.23"])
        #expect(signedIn.status == 200 && signedIn.headers["set-cookie"]?.contains("; Secure") == true)
        #expect(proxied.log.contains("client.ip=198.51.100.23"), "the client IP comes from X-Forwarded-For")

        let (insecure, _, insecurePort, insecureScratch) = try await freshAPI(["--host", "0.0.0.0", "--insecure-http"])
        defer {
            insecure.kill9()
            withExtendedLifetime(insecureScratch) {}
        }
        #expect(try await HTTP.get("http://\(address):\(insecurePort)/api/jobs").json?["error"] as? String == "unauthorized")
    }

    @Test func healthKeepsAnsweringDuring50ConcurrentLogins() async throws {
        let fixture = try await RunsFixture()
        // Separate clients, so neither waits behind the other's connection limit: the loginers really run 50 at once.
        func client(_ connections: Int) -> URLSession {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = connections
            configuration.timeoutIntervalForRequest = 30
            configuration.httpShouldSetCookies = false
            return URLSession(configuration: configuration)
        }
        let loginClient = client(64)
        let healthClient = client(1)
        var login = URLRequest(url: URL(string: fixture.base + "/api/auth/login")!)
        login.httpMethod = "POST"
        login.httpBody = try JSONSerialization.data(withJSONObject: ["username": RunsFixture.username, "password": RunsFixture.password])
        login.setValue("application/json", forHTTPHeaderField: "content-type")
        let loginRequest = login
        final class Latencies: Sendable { let values = Mutex<[Double]>([]) }
        let latencies = Latencies()
        let start = ContinuousClock.now
        let statuses = try await withThrowingTaskGroup(of: Int?.self) { group in
            for _ in 0..<50 { group.addTask { (try await loginClient.data(for: loginRequest).1 as? HTTPURLResponse)?.statusCode } }
            group.addTask {
                for _ in 0..<60 {
                    let began = ContinuousClock.now
                    let (_, response) = try await healthClient.data(from: URL(string: fixture.base + "/api/health")!)
                    guard (response as? HTTPURLResponse)?.statusCode == 200 else { return -1 }
                    let elapsed = ContinuousClock.now - began
                    latencies.values.withLock { $0.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000) }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return nil
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let logins = ContinuousClock.now - start
        #expect(statuses.compactMap { $0 }.filter { $0 == 200 }.count == 50, "every login succeeded: \(statuses)")
        #expect(!statuses.contains(-1), "health always answered 200")
        let sorted = latencies.values.withLock { $0 }.sorted()
        #expect(sorted.count == 60)
        let p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
        print(
            "50 concurrent logins + 60 health probes took \(logins); /api/health: p50 \(sorted[sorted.count / 2]) ms, p99 \(p99) ms, max \(sorted.last!) ms"
        )
    }
}

/// An IPv4 address of this machine that is not loopback, if it has one.
func nonLoopbackIPv4() -> String? {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0, let first = list else { return nil }
    defer { freeifaddrs(list) }
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
        defer { cursor = entry.pointee.ifa_next }
        guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
        var ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &ipv4, &buffer, socklen_t(INET_ADDRSTRLEN))
        let text = String(cString: buffer)
        if !text.hasPrefix("127.") { return text }
    }
    return nil
}
