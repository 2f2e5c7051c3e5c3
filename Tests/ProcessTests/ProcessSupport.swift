import Foundation
import Glibc
import Synchronization
import TestClients

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where the built binaries are: `BASTION_BIN_DIR`, else next to this test bundle (`swift build` puts them there).
enum Binaries {
    static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["BASTION_BIN_DIR"] { return dir }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().path
    }()

    static func path(_ name: String) -> String { directory + "/" + name }
}

/// The repository root (for the Procfile).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A temporary data directory with a short path (Unix socket paths are limited to 108 bytes).
final class Scratch: @unchecked Sendable {
    let path: String

    init() {
        path = "/tmp/bpt-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var dataDir: String { path + "/data" }
    var socketPath: String { dataDir + "/bastion.sock" }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension Child {
    /// Starts one of the Bastion binaries on `dataDir`.
    static func bastion(
        _ binary: String,
        dataDir: String,
        logDir: String,
        _ extra: [String] = [],
        environment: [String: String] = [:]
    ) throws -> Child {
        try Child(Binaries.path(binary), ["--data-dir", dataDir] + extra, name: binary, logDir: logDir, environment: environment)
    }
}

/// A response as the tests look at it.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    var jsonArray: [[String: Any]]? { (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Minimal HTTP client over URLSession.
enum HTTP {
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        // Cookies are per API under test (see `credentials`), never shared through a jar: ports do not scope cookies.
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpCookieStorage = nil
        return URLSession(configuration: configuration)
    }()

    /// Session cookie and CSRF token of each API a test signed in to, by `host:port`; sent on every request to it
    /// unless the call is `anonymous`.
    static let credentials = Mutex<[String: (cookie: String, csrf: String)]>([:])

    static func authorize(_ request: inout URLRequest, anonymous: Bool) {
        guard !anonymous, let url = request.url, let host = url.host, let port = url.port,
            let credential = credentials.withLock({ $0["\(host):\(port)"] })
        else { return }
        request.setValue(credential.cookie, forHTTPHeaderField: "Cookie")
        request.setValue(credential.csrf, forHTTPHeaderField: "x-csrf-token")
    }

    static func get(_ url: String, headers: [String: String] = [:], anonymous: Bool = false) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: url)!)
        authorize(&request, anonymous: anonymous)
        for (key, value) in headers { request.setValue(value, forHTTPHeaderField: key) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields[String(describing: key).lowercased()] = String(describing: value) }
        return HTTPResult(status: http.statusCode, headers: fields, body: data)
    }

    /// Any method with an optional JSON body.
    static func send(
        _ method: String,
        _ url: String,
        json: Any? = nil,
        raw: String? = nil,
        headers: [String: String] = [:],
        anonymous: Bool = false
    ) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        authorize(&request, anonymous: anonymous)
        for (key, value) in headers { request.setValue(value, forHTTPHeaderField: key) }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "content-type")
        } else if let raw {
            request.httpBody = Data(raw.utf8)
            request.setValue("application/json", forHTTPHeaderField: "content-type")
        }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields[String(describing: key).lowercased()] = String(describing: value) }
        return HTTPResult(status: http.statusCode, headers: fields, body: data)
    }

    /// GET that answers nil instead of throwing while the server is not up yet.
    static func tryGet(_ url: String) async -> HTTPResult? {
        try? await get(url)
    }

    static let username = "admin"
    static let password = "correct horse battery staple"

    /// Creates the admin user (first run) and signs in to the API at `base`; later requests to it carry the session.
    static func signIn(_ base: String) async throws {
        let setup = try await send("POST", base + "/api/setup/initialize", json: ["username": username, "password": password], anonymous: true)
        guard setup.status == 204 || setup.status == 409 else { throw FixtureError("setup: \(setup.status)") }
        let login = try await send("POST", base + "/api/auth/login", json: ["username": username, "password": password], anonymous: true)
        guard login.status == 200, let csrf = login.json?["csrf_token"] as? String, let cookie = login.headers["set-cookie"],
            let url = URL(string: base), let host = url.host, let port = url.port
        else {
            throw FixtureError("login: \(login.status) \(String(decoding: login.body, as: UTF8.self))")
        }
        credentials.withLock { $0["\(host):\(port)"] = (String(cookie.split(separator: ";")[0]), csrf) }
    }

    /// `signIn` unless this process already holds a session for `base`.
    static func signInIfNeeded(_ base: String) async {
        guard let url = URL(string: base), let host = url.host, let port = url.port,
            credentials.withLock({ $0["\(host):\(port)"] }) == nil
        else { return }
        try? await signIn(base)
    }
}

/// The peers `/api/system` lists for a role.
func systemPeers(_ base: String, _ role: String) async -> [[String: Any]]? {
    // Only a signed-in caller sees the connected processes.
    await HTTP.signInIfNeeded(base)
    guard let result = await HTTP.tryGet(base + "/api/system"), result.status == 200,
        let bus = result.json?["bus"] as? [String: Any]
    else { return nil }
    return bus[role] as? [[String: Any]]
}

/// The value of the first sample of metric `name` in a Prometheus scrape whose labels contain every one of `labels`.
func sample(_ text: String, _ name: String, _ labels: [String] = []) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
        let head = line.split(separator: " ").first.map(String.init) ?? ""
        guard head == name || head.hasPrefix(name + "{"), labels.allSatisfy({ head.contains($0) }) else { continue }
        return line.split(separator: " ").last.flatMap { Double($0) }
    }
    return nil
}
