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

/// One child process whose stdout+stderr go to a log file.
///
/// Spawned with `posix_spawn`, an empty signal mask and default signal dispositions: the test runner blocks most
/// signals on its threads, and a child that inherited that mask (Foundation's `Process` passes it on) would never
/// see the SIGTERM a user's Ctrl-C or honcho sends.
final class Child: @unchecked Sendable {
    let name: String
    let logPath: String
    let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    init(_ executable: String, _ arguments: [String], name: String, logDir: String, environment: [String: String] = [:]) throws {
        self.name = name
        logPath = logDir + "/\(name)-\(UUID().uuidString.prefix(4)).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        // Its own process group, so cleanup can take down whatever it started (honcho's children).
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "spawn \(executable): \(String(cString: strerror(result)))"])
        }
        self.pid = pid
    }

    /// Starts one of the Bastion binaries on `dataDir`.
    static func bastion(_ binary: String, dataDir: String, logDir: String, _ extra: [String] = []) throws -> Child {
        try Child(Binaries.path(binary), ["--data-dir", dataDir] + extra, name: binary, logDir: logDir)
    }

    /// Reaps the child if it has exited; returns its raw wait status.
    private func reap() -> Int32? {
        exitStatus.withLock { stored in
            if let stored { return stored }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { stored = status }
            return stored
        }
    }

    var isRunning: Bool { reap() == nil }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for exit; returns the exit code (128+signal when killed by a signal), or nil if still running.
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = reap() {
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Stops the process and its process group for good (test cleanup).
    func kill9() {
        kill(-pid, SIGKILL)
        guard isRunning else { return }
        kill(pid, SIGKILL)
        _ = exitStatus.withLock { stored -> Int32? in
            var status: Int32 = 0
            if stored == nil, waitpid(pid, &status, 0) == pid { stored = status }
            return stored
        }
    }

    func count(_ needle: String) -> Int { log.components(separatedBy: needle).count - 1 }
}

/// A response as the tests look at it.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
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
