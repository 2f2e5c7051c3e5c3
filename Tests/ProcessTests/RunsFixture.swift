import Bus
import Core
import Foundation
import GRDB
import Logging
import Store
import Synchronization
import TestClients

/// A running API (plus whatever the test adds) on a scratch data directory, with helpers to drive runs.
final class RunsFixture: @unchecked Sendable {
    let scratch: Scratch
    let port = freePort()
    var base: String { "http://127.0.0.1:\(port)" }
    var children: [Child] = []
    private(set) var api: Child!

    var dataDir: String { scratch.dataDir }
    var targetDir: String { scratch.path + "/target" }

    /// `apiEnvironment`: added to the API's environment (the `OTEL_*` of TracesTests).
    init(apiArgs: [String] = [], scratch: Scratch = Scratch(), apiEnvironment: [String: String] = [:]) async throws {
        self.scratch = scratch
        try startAPI(apiArgs, environment: apiEnvironment)
        guard await eventually(timeout: .seconds(15), { await HTTP.tryGet(self.base + "/api/ready")?.status == 200 }) else {
            throw FixtureError("api not ready:\n\(api.log)")
        }
        try await signIn()
    }

    static let username = HTTP.username
    static let password = HTTP.password

    /// Creates the admin user (first run) and signs in; later requests to this API carry the session.
    func signIn() async throws {
        try await HTTP.signIn(base)
    }

    /// The session cookie and CSRF token this fixture signed in with.
    var credential: (cookie: String, csrf: String) { HTTP.credentials.withLock { $0["127.0.0.1:\(port)"]! } }

    /// Headers a browser on this origin sends with a WebSocket upgrade.
    var wsHeaders: [String: String] { ["Cookie": credential.cookie, "Origin": "http://127.0.0.1:\(port)"] }

    func webSocket(_ path: String) async throws -> RawWebSocket {
        try await RawWebSocket.connect(port: port, path: path, headers: wsHeaders)
    }

    deinit {
        for child in children { child.kill9() }
    }

    func startAPI(_ args: [String] = [], environment: [String: String] = [:]) throws {
        api = try Child.bastion("bastion-api", dataDir: dataDir, logDir: scratch.path, ["--port", "\(port)"] + args, environment: environment)
        children.append(api)
    }

    @discardableResult
    func startWorker(_ id: String, _ args: [String] = [], environment: [String: String] = [:]) async throws -> Child {
        let worker = try Child(
            Binaries.path("bastion-worker"),
            ["--data-dir", dataDir, "--worker-id", id] + args,
            name: "bastion-worker",
            logDir: scratch.path,
            environment: environment
        )
        children.append(worker)
        guard await eventually({ await systemPeers(self.base, "workers")?.contains { $0["id"] as? String == id } == true }) else {
            throw FixtureError("worker \(id) never joined:\n\(worker.log)")
        }
        return worker
    }

    /// An SQLite database of roughly `pages` 4 KiB pages, to back up.
    func makeSourceDatabase(pages: Int, name: String = "source.db") throws -> String {
        let path = scratch.path + "/" + name
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (x BLOB)")
            for _ in 0..<pages { try db.execute(sql: "INSERT INTO t VALUES (randomblob(3500))") }
        }
        try queue.close()
        return path
    }

    /// Creates an `sqlite` job through the API and returns its id.
    func createJob(source: String, overlap: String = "queue", name: String = "db", schedule: String? = nil) async throws -> String {
        let result = try await HTTP.send(
            "POST",
            base + "/api/jobs",
            json: [
                "name": name, "overlap_policy": overlap, "schedule": schedule.map { $0 as Any } ?? NSNull(),
                "spec": [
                    "v": 1, "type": "sqlite", "source": ["path": source, "integrity_check": true],
                    "target": ["type": "local_dir", "base_dir": targetDir],
                ],
            ]
        )
        guard result.status == 201, let id = result.json?["id"] as? String else {
            throw FixtureError("create job: \(result.status) \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    func enqueue(_ jobId: String) async throws -> (id: String, status: String) {
        let result = try await HTTP.send("POST", base + "/api/jobs/\(jobId)/run")
        guard let id = result.json?["run_id"] as? String, let status = result.json?["status"] as? String else {
            throw FixtureError("enqueue: \(result.status)")
        }
        return (id, status)
    }

    func run(_ id: String) async throws -> [String: Any] {
        try await HTTP.get(base + "/api/runs/\(id)").json ?? [:]
    }

    func status(_ id: String) async -> String? {
        try? await run(id)["status"] as? String
    }

    func events(_ id: String) async throws -> [[String: Any]] {
        let result = try await HTTP.get(base + "/api/runs/\(id)/events")
        return (try JSONSerialization.jsonObject(with: result.body) as? [[String: Any]]) ?? []
    }

    /// Opens the database the way a worker does, publishing its committed events over the bus.
    func writer(id: String = "test-writer") -> (AppDatabase, BusClient)? {
        var logger = Logger(label: "test-writer")
        logger.logLevel = .critical
        let client = BusClient(socketPath: scratch.socketPath, peer: BusPeer(role: .worker, id: id), logger: logger)
        client.start()
        guard
            let database = try? AppDatabase.open(
                in: DataDirectory(path: dataDir),
                publisher: BusClientPublisher(client: client, relayed: [.runs])
            )
        else { return nil }
        return (database, client)
    }

    /// Reads the data directory's database directly, read-only (what the processes committed).
    func readDatabase<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: dataDir + "/bastion.db", configuration: configuration)
        defer { try? queue.close() }
        return try await queue.read(body)
    }

    func wsPath(_ runId: String, after: Int? = nil) -> String {
        "/api/runs/\(runId)/events/ws" + (after.map { "?after_seq=\($0)" } ?? "")
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Appends `count` events, one transaction each, numbered in their message.
func appendEvents(_ database: AppDatabase, runId: String, count: Int, batch: Int = 1) async throws {
    var remaining = count
    while remaining > 0 {
        let size = min(batch, remaining)
        try await database.appendEvents(runId: runId, (0..<size).map { _ in NewRunEvent(kind: "log", message: "line") })
        remaining -= size
    }
}
