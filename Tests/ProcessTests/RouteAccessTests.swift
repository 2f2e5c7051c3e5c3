import Foundation
import GRDB
import TestClients
import Testing

/// Deny by default, decided once (docs/security.md, "The access list" and "Canonical paths"), against the real
/// bastion-api over raw TCP (URLSession would normalise the paths under test): every route the router knows
/// (`--print-routes`) refuses an anonymous caller unless it is in the one public list, refuses a mutation without the
/// CSRF token or with a body that is not JSON, and every other spelling of its path is a `400 non_canonical_path`.
@Suite(.serialized) struct RouteAccessTests {
    /// The public list, written out here independently of `RouteAccess.publicRoutes`: a route made public by accident
    /// fails this test.
    static let expectedPublic: Set<String> = [
        "GET /api/health", "GET /api/ready", "GET /api/system", "GET /api/setup/status", "POST /api/setup/initialize",
        "POST /api/auth/login", "GET /api/openapi.json", "POST /agent/enroll", "GET /metrics", "GET /", "HEAD /", "GET /**",
        "HEAD /**",
    ]

    struct Route: CustomStringConvertible {
        var method: String
        var pattern: String
        var access: String
        var description: String { "\(method) \(pattern)" }
        var isMutation: Bool { !["GET", "HEAD", "OPTIONS"].contains(method) }

        /// The pattern with every parameter filled in (`{id}` → `p1`, `**` → `some/page`).
        var path: String {
            let segments = pattern.split(separator: "/").map { segment -> String in
                if segment == "**" { return "some/page" }
                return segment.hasPrefix("{") ? "p1" : String(segment)
            }
            return "/" + segments.joined(separator: "/")
        }
    }

    static func routes(_ scratch: Scratch) async throws -> [Route] {
        let printer = try Child(
            Binaries.path("bastion-api"),
            ["--data-dir", scratch.dataDir, "--print-routes"],
            name: "routes",
            logDir: scratch.path
        )
        _ = await printer.waitForExit(timeout: .seconds(15))
        return printer.log.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 3 || fields.count == 2, fields[1].hasPrefix("/") else { return nil }
            return Route(method: fields[0], pattern: fields[1], access: fields.count == 3 ? fields[2] : "unlisted")
        }
    }

    /// Every other spelling of `path`: an empty, `.`, `..` or encoded-dot segment at every position, an encoded `/` or
    /// `\` (any case) or a backslash in place of every separator and at both ends, a trailing slash. (No leading
    /// slash: `missingLeadingSlashIsNeverServed`.)
    static func spellings(_ path: String) -> [String] {
        let segments = path.split(separator: "/").map(String.init)
        var result = [path + "/", "/%2f" + path.dropFirst(), path + "%2F", path + "%5c"]
        for position in 0...segments.count {
            for inserted in ["", ".", "..", "%2e", "%2E%2e", "x/.."] {
                result.append("/" + (segments[..<position] + [inserted] + segments[position...]).joined(separator: "/"))
            }
        }
        for position in segments.indices.dropFirst() {
            for separator in ["%2f", "%2F", "%5c", "%5C", "\\"] {
                result.append("/" + segments[..<position].joined(separator: "/") + separator + segments[position...].joined(separator: "/"))
            }
        }
        return result.filter { $0 != path }
    }

    @Test func everyRouteRefusesWhomItShouldInEverySpelling() async throws {
        let fixture = try await RunsFixture()
        let port = fixture.port
        let routes = try await Self.routes(fixture.scratch)
        #expect(routes.count >= 60, "\(routes.count) routes")
        let publicRoutes = Set(routes.filter { $0.access == "public" }.map(\.description))
        #expect(publicRoutes == Self.expectedPublic, "public: \(publicRoutes.sorted())")
        for route in routes where route.pattern.hasPrefix("/agent/") {
            #expect(route.access == "agent" || publicRoutes.contains(route.description), "\(route) is \(route.access)")
        }
        let cookie = ("Cookie", fixture.credential.cookie)
        let csrf = ("x-csrf-token", fixture.credential.csrf)
        let json = ("Content-Type", "application/json")
        var spellingsTried = 0
        var refusedByParser = 0
        for route in routes {
            let body: String? = route.isMutation ? "{}" : nil
            // Anonymous.
            let anonymous = try RawHTTP.send(port: port, route.method, route.path, headers: route.isMutation ? [json] : [], body: body)
            if route.access == "public" {
                // (`POST /agent/enroll` answers `401 invalid_token` itself: its credential is in the body.)
                #expect(anonymous.code != "unauthorized" && anonymous.status < 500, "\(route) anonymous: \(anonymous.status) \(anonymous.body)")
            } else {
                #expect(anonymous.status == 401, "\(route) anonymous: \(anonymous.status) \(anonymous.body)")
                if route.method != "HEAD" { #expect(anonymous.code == "unauthorized", "\(route): \(anonymous.body)") }
            }
            if route.isMutation {
                // Signed in without the CSRF token.
                if route.access == "session" {
                    let noToken = try RawHTTP.send(port: port, route.method, route.path, headers: [cookie, json], body: body)
                    #expect(noToken.status == 401 && noToken.code == "invalid_csrf", "\(route) without CSRF: \(noToken.status) \(noToken.body)")
                }
                // Signed in with the token, but a body a cross-site form could send.
                for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                    let headers = route.access == "agent" ? [("Content-Type", type)] : [cookie, csrf, ("Content-Type", type)]
                    let form = try RawHTTP.send(port: port, route.method, route.path, headers: headers, body: body)
                    let expected = route.access == "agent" ? 401 : 415
                    #expect(form.status == expected, "\(route) as \(type): \(form.status) \(form.body)")
                }
            }
            // Every other spelling, anonymous and fully signed in: refused before anything else looks at it.
            for spelling in Self.spellings(route.path) {
                for headers in [route.isMutation ? [json] : [], route.isMutation ? [cookie, csrf, json] : [cookie]] {
                    let response = try RawHTTP.send(port: port, route.method, spelling, headers: headers, body: body)
                    spellingsTried += 1
                    #expect(response.status == 400, "\(route.method) \(spelling): \(response.status) \(response.body)")
                    if response.code == nil && route.method != "HEAD" { refusedByParser += 1 }
                    if route.method != "HEAD" && response.code != nil {
                        #expect(response.code == "non_canonical_path", "\(route.method) \(spelling): \(response.body)")
                    }
                }
            }
        }
        print("route access: \(routes.count) routes, \(spellingsTried) other spellings refused (\(refusedByParser) by the HTTP parser)")
        // Nothing was created by any of it.
        let jobs = try await HTTP.get(fixture.base + "/api/jobs")
        #expect((jobs.json?["items"] as? [Any])?.isEmpty ?? ((jobs.json?["jobs"] as? [Any])?.isEmpty ?? false), "\(jobs.text)")
        #expect(!fixture.api.log.contains("Unhandled error"))
    }

    /// A target without its leading slash (`GET api/jobs HTTP/1.1`, `*`, absolute-form) never reaches a route: the
    /// gate answers `400` for `*` and absolute-form; a relative target is refused by NIO's HTTP parser itself, which
    /// answers nothing (the request never becomes a request: no answer, and nothing served).
    @Test func missingLeadingSlashIsNeverServed() async throws {
        let fixture = try await RunsFixture()
        let signedIn = [("Cookie", fixture.credential.cookie), ("x-csrf-token", fixture.credential.csrf)]
        for target in ["api/jobs", "*", "http://127.0.0.1:\(fixture.port)/api/jobs", "agent/status", "api/agents/enrollment-tokens"] {
            for method in ["GET", "POST"] {
                let response = try RawHTTP.send(
                    port: fixture.port,
                    method,
                    target,
                    headers: signedIn + [("Content-Type", "application/json")],
                    body: method == "POST" ? "{}" : nil,
                    timeout: 2
                )
                let parserRefuses = !target.hasPrefix("*") && !target.hasPrefix("http")
                #expect(
                    response.status == 400 || (parserRefuses && response.status == 0),
                    "\(method) \(target): \(response.status) \(response.body)"
                )
                #expect(!response.body.contains("\"token\""))
            }
        }
    }

    // MARK: - The findings of issue 24, each as it was tried

    /// `curl --path-as-is http://127.0.0.1:PORT//api/jobs` answered 200 with every job without signing in.
    @Test func doubleSlashReadsNothingWithoutASession() async throws {
        let fixture = try await RunsFixture()
        let job = try await fixture.createJob(source: "/nonexistent.db")
        let run = try await fixture.enqueue(job).id
        for path in ["//api/jobs", "//api/runs/\(run)", "//api/keys", "//api/secrets/webdav", "/api//jobs", "/./api/jobs", "/api/jobs/"] {
            let response = try RawHTTP.send(port: fixture.port, "GET", path)
            #expect(response.status == 400 && response.code == "non_canonical_path", "\(path): \(response.status) \(response.body)")
            #expect(!response.body.contains(job), "\(path) leaked the job")
        }
    }

    /// `POST //api/jobs` with `Content-Type: text/plain`, no cookie and no CSRF token created a job (201): what any web
    /// page the admin visits can send without a preflight.
    @Test func crossSiteTextPlainPostCreatesNoJob() async throws {
        let fixture = try await RunsFixture()
        let spec =
            #"{"name":"evil","spec":{"v":1,"type":"filesystem","source":{"paths":["/etc"]},"target":{"type":"local_dir","base_dir":"/tmp/x"}}}"#
        let text = [("Content-Type", "text/plain")]
        let doubled = try RawHTTP.send(port: fixture.port, "POST", "//api/jobs", headers: text, body: spec)
        #expect(doubled.status == 400 && doubled.code == "non_canonical_path", "\(doubled.status) \(doubled.body)")
        let plain = try RawHTTP.send(port: fixture.port, "POST", "/api/jobs", headers: text, body: spec)
        #expect(plain.status == 401, "\(plain.status) \(plain.body)")
        // Even with the session and the token (a same-origin mistake), a body that is not declared JSON is refused.
        let signedIn = [("Cookie", fixture.credential.cookie), ("x-csrf-token", fixture.credential.csrf)]
        let declared = try RawHTTP.send(port: fixture.port, "POST", "/api/jobs", headers: signedIn + text, body: spec)
        #expect(declared.status == 415 && declared.code == "unsupported_media_type", "\(declared.status) \(declared.body)")
        let undeclared = try RawHTTP.send(port: fixture.port, "POST", "/api/jobs", headers: signedIn, body: spec)
        #expect(undeclared.status == 415, "\(undeclared.status) \(undeclared.body)")
        // An empty cross-site form POST to an action (`/run` takes no body) carries a form type: refused too.
        let job = try await fixture.createJob(source: "/nonexistent.db")
        let form = try RawHTTP.send(
            port: fixture.port,
            "POST",
            "/api/jobs/\(job)/run",
            headers: [("Cookie", fixture.credential.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
            body: ""
        )
        #expect(form.status == 401 && form.code == "invalid_csrf", "\(form.status) \(form.body)")
        let formWithToken = try RawHTTP.send(
            port: fixture.port,
            "POST",
            "/api/jobs/\(job)/run",
            headers: signedIn + [("Content-Type", "application/x-www-form-urlencoded")],
            body: ""
        )
        #expect(formWithToken.status == 415, "\(formWithToken.status) \(formWithToken.body)")
        let jobs = try await HTTP.get(fixture.base + "/api/jobs")
        #expect(jobs.status == 200 && !jobs.text.contains("evil"), "\(jobs.status)")
        let runs = try await HTTP.get(fixture.base + "/api/runs")
        #expect(runs.status == 200 && !runs.text.contains("\"queued\""), "a run was enqueued: \(runs.status) \(runs.text)")
        // The same run with JSON (or no body at all) works.
        let good = try RawHTTP.send(port: fixture.port, "POST", "/api/jobs/\(job)/run", headers: signedIn, body: nil)
        #expect(good.status == 201 || good.status == 200 || good.status == 202, "\(good.status) \(good.body)")
    }

    /// `POST //api/agents/enrollment-tokens` handed out an enrolment token without signing in.
    @Test func noEnrolmentTokenWithoutASession() async throws {
        let fixture = try await RunsFixture()
        for path in ["//api/agents/enrollment-tokens", "/api/agents//enrollment-tokens", "/api/agents/enrollment-tokens"] {
            let response = try RawHTTP.send(port: fixture.port, "POST", path, headers: [("Content-Type", "application/json")], body: "{}")
            #expect(response.status == 400 || response.status == 401, "\(path): \(response.status) \(response.body)")
            #expect(!response.body.contains("\"token\""), "\(path) handed out a token")
        }
    }

    /// `Upgrade: websocket, x` (a token list) with no cookie and no Origin got `101 Switching Protocols` on a run's
    /// event stream: the gate compared the whole header value.
    @Test func noUpgradeSpellingOpensASocketWithoutSessionAndOrigin() async throws {
        let fixture = try await RunsFixture()
        let job = try await fixture.createJob(source: "/nonexistent.db")
        let run = try await fixture.enqueue(job).id
        let key = ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        let version = ("Sec-WebSocket-Version", "13")
        let origin = ("Origin", "http://127.0.0.1:\(fixture.port)")
        let cookie = ("Cookie", fixture.credential.cookie)
        let spellings: [[(String, String)]] = [
            [("Upgrade", "websocket, x"), ("Connection", "Upgrade")],
            [("Upgrade", "x, websocket"), ("Connection", "Upgrade")],
            [("Upgrade", "WebSocket"), ("Connection", "keep-alive, Upgrade")],
            [("Upgrade", "websocket"), ("Upgrade", "x"), ("Connection", "upgrade")],
            [("Upgrade", " websocket "), ("Connection", "Upgrade, HTTP2-Settings")],
        ]
        for upgrade in spellings {
            for (who, extra) in [
                ("anonymous", [(String, String)]()), ("no Origin", [cookie]), ("foreign Origin", [cookie, ("Origin", "http://evil.test")]),
            ] {
                let response = try RawHTTP.send(port: fixture.port, "GET", "/api/runs/\(run)/events/ws", headers: upgrade + [key, version] + extra)
                #expect(response.status == 401, "\(upgrade) \(who): \(response.status) \(response.body)")
            }
            for path in ["//api/runs/\(run)/events/ws", "/api/runs/\(run)/events/ws/", "/api/runs/\(run)/./events/ws"] {
                let response = try RawHTTP.send(port: fixture.port, "GET", path, headers: upgrade + [key, version, cookie, origin])
                #expect(response.status == 400, "\(path) \(upgrade): \(response.status) \(response.body)")
            }
            let agent = try RawHTTP.send(port: fixture.port, "GET", "/agent/ws", headers: upgrade + [key, version])
            #expect(agent.status == 401, "/agent/ws \(upgrade): \(agent.status) \(agent.body)")
            // With a session and this origin, each spelling is a real upgrade.
            let allowed = try RawHTTP.send(
                port: fixture.port,
                "GET",
                "/api/runs/\(run)/events/ws",
                headers: upgrade + [key, version, cookie, origin]
            )
            #expect(allowed.status == 101, "\(upgrade) signed in: \(allowed.status) \(allowed.body)")
        }
    }

    /// `"pipline": {"encryption": …}` and `"source": {"exlude": […]}` were accepted and ignored: the backups were
    /// written unencrypted and the excluded files backed up.
    /// DNS rebinding: a page on another site points its own name at 127.0.0.1 and, same-origin with itself, sets up
    /// the admin account before the admin did (or uses the API). Its requests name its host: refused before routing,
    /// upgrades too; localhost, IP literals and `--allowed-host` names are served.
    @Test func aHostNameTheAPIDoesNotAnswerToIsRefused() async throws {
        let scratch = Scratch()
        let port = freePort()
        let api = try Child(
            Binaries.path("bastion-api"),
            ["--data-dir", scratch.dataDir, "--port", "\(port)", "--allowed-host", "backups.example.org"],
            name: "api",
            logDir: scratch.path
        )
        defer { api.kill9() }
        let ready = await eventually(timeout: .seconds(15)) { await HTTP.tryGet("http://127.0.0.1:\(port)/api/ready")?.status == 200 }
        #expect(ready, "\(api.log)")
        func post(host: String) throws -> RawHTTP.Response {
            let body = #"{"username":"attacker","password":"attacker password 123"}"#
            return try RawHTTP.raw(
                port: port,
                "POST /api/setup/initialize HTTP/1.1\r\nHost: \(host)\r\nOrigin: http://\(host)\r\nContent-Type: application/json\r\n"
                    + "Connection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            )
        }
        for host in ["rebind.attacker.example:\(port)", "rebind.attacker.example", "evil.com.", "a_b:\(port)x"] {
            let refused = try post(host: host)
            #expect(refused.status == 400 && refused.code == "host_not_allowed", "\(host): \(refused.status) \(refused.body)")
        }
        let upgrade = try RawHTTP.raw(
            port: port,
            "GET /api/runs/x/events/ws HTTP/1.1\r\nHost: evil.com\r\nOrigin: http://evil.com\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        #expect(upgrade.status == 400 && upgrade.code == "host_not_allowed", "\(upgrade.status) \(upgrade.body)")
        for host in ["localhost:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)", "BACKUPS.example.org", "backups.example.org."] {
            let response = try RawHTTP.raw(port: port, "GET /api/health HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
            #expect(response.status == 200, "\(host): \(response.status) \(response.body)")
        }
        #expect(try post(host: "127.0.0.1:\(port)").status == 204)
    }

    @Test func typosInAJobAreRefusedByName() async throws {
        let fixture = try await RunsFixture()
        let target = ["type": "local_dir", "base_dir": fixture.targetDir]
        let cases: [([String: Any], String)] = [
            (
                [
                    "v": 1, "type": "filesystem", "source": ["paths": ["/etc"]], "target": target,
                    "pipline": ["encryption": ["type": "age_x25519", "key_name": "k"]],
                ], "spec.pipline"
            ),
            (["v": 1, "type": "filesystem", "source": ["paths": ["/etc"], "exlude": ["*.iso"]], "target": target], "spec.source.exlude"),
            (
                [
                    "v": 2, "source": ["type": "filesystem", "config": ["paths": ["/etc"], "exlude": ["*.iso"]]],
                    "target": ["type": "local_dir", "config": ["base_dir": fixture.targetDir]],
                ], "spec.source.config.exlude"
            ),
            (
                [
                    "v": 1, "type": "filesystem", "source": ["paths": ["/etc"]], "target": target,
                    "pipeline": ["encryption": ["type": "age_x25519", "key_name": "k", "recipient": "x"]],
                ], "spec.pipeline.encryption.recipient"
            ),
            (
                ["v": 1, "type": "filesystem", "source": ["paths": ["/etc"]], "target": ["type": "local_dir", "base_dir": "/t", "part_size": 1]],
                "spec.target.part_size"
            ),
        ]
        for (spec, field) in cases {
            let response = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "typo", "spec": spec])
            #expect(response.status == 400, "\(field): \(response.status) \(response.text)")
            #expect(response.json?["error"] as? String == "unknown_field", "\(field): \(response.text)")
            #expect((response.json?["details"] as? [String: Any])?["field"] as? String == field, "\(response.text)")
        }
        let body = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "x", "shedule": "0 * * * *", "spec": cases[1].0])
        #expect(body.status == 400 && (body.json?["details"] as? [String: Any])?["field"] as? String == "shedule", "\(body.text)")
        let jobs = try await HTTP.get(fixture.base + "/api/jobs")
        #expect(jobs.status == 200 && !jobs.text.contains("typo"), "\(jobs.status)")
    }

    /// A relative source or target path, or a key name no key could have, is refused when the job is saved.
    @Test func relativePathsAndOddKeyNamesAreRefusedAtSave() async throws {
        let fixture = try await RunsFixture()
        let target = ["type": "local_dir", "base_dir": fixture.targetDir]
        let cases: [([String: Any], String)] = [
            (["v": 1, "type": "filesystem", "source": ["paths": ["home/me"]], "target": target], "spec.source.paths"),
            (["v": 1, "type": "sqlite", "source": ["path": "db.sqlite"], "target": target], "spec.source.path"),
            (
                ["v": 1, "type": "filesystem", "source": ["paths": ["/etc"]], "target": ["type": "local_dir", "base_dir": "backups"]],
                "spec.target.base_dir"
            ),
            (
                [
                    "v": 1, "type": "filesystem", "source": ["paths": ["/etc"]], "target": target,
                    "pipeline": ["encryption": ["type": "age_x25519", "key_name": "my key/../x"]],
                ], "spec.pipeline.encryption.key_name"
            ),
        ]
        for (spec, field) in cases {
            let response = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "bad", "spec": spec])
            #expect(response.status == 400, "\(field): \(response.status) \(response.text)")
            #expect((response.json?["details"] as? [String: Any])?["field"] as? String == field, "\(response.text)")
        }
    }

    /// A job stored before unknown keys were refused is reported when the API starts (one warning naming its keys),
    /// and is neither changed nor dropped.
    @Test func storedJobsWithUnknownKeysAreReportedAtStartUp() async throws {
        let fixture = try await RunsFixture()
        let job = try await fixture.createJob(source: "/nonexistent.db")
        fixture.api.signal(SIGTERM)
        _ = await fixture.api.waitForExit(timeout: .seconds(20))
        let queue = try DatabaseQueue(path: fixture.dataDir + "/bastion.db")
        try await queue.write { db in
            try db.execute(
                sql: "UPDATE jobs SET spec_json = json_set(spec_json, '$.pipline', json('{}'), '$.source.exlude', json('[]')) WHERE id = ?",
                arguments: [job]
            )
        }
        try fixture.startAPI()
        #expect(await eventually(timeout: .seconds(20)) { await HTTP.tryGet(fixture.base + "/api/ready")?.status == 200 })
        let warning = fixture.api.log.split(separator: "\n").first { $0.contains("Stored job has fields the server does not know") }
        #expect(warning?.contains(job) == true && warning?.contains("spec.pipline") == true, "\(fixture.api.log.suffix(3000))")
        #expect(warning?.contains("spec.source.exlude") == true)
        let stored = try await HTTP.get(fixture.base + "/api/jobs/\(job)")
        #expect(stored.status == 200 && stored.text.contains("pipline"), "\(stored.text)")
    }
}
