import ArgumentParser
import Core
import Foundation
import GRDB
import Runs
import Secrets
import Store
import TestClients

/// A fresh data directory for one benchmark, removed afterwards.
struct BenchDirectory {
    let path: String

    init(_ name: String) throws {
        path = "/tmp/bb-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var dataDirectory: DataDirectory { DataDirectory(path: path + "/data") }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A release `bastion-worker` beside this binary on `data`, polling often; stopped with `terminate()`.
func startBenchWorker(_ data: DataDirectory) async throws -> Process {
    let binDir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
    let worker = Process()
    worker.executableURL = URL(fileURLWithPath: binDir + "/bastion-worker")
    worker.arguments = ["--data-dir", data.path, "--safety-poll-seconds", "0.05", "--log-level", "warning"]
    try worker.run()
    try await Task.sleep(for: .milliseconds(500))
    return worker
}

/// A filesystem job of `paths` to `target`, with `pipeline`.
func createBenchJob(
    _ database: AppDatabase,
    name: String,
    paths: [String],
    target: JSONValue,
    pipeline: JSONValue = .object([:])
) async throws -> String {
    let spec: JSONValue = .object([
        "v": 1, "type": "filesystem", "source": .object(["paths": .array(paths.map(JSONValue.string))]), "target": target, "pipeline": pipeline,
    ])
    return try await database.createJob(
        JobInput(name: name, schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
    ).id
}

/// Seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Creates a job and `count` queued runs, as the API would (one enqueue transaction each).
func seedQueuedRuns(_ database: AppDatabase, count: Int) async throws -> String {
    let spec: JSONValue = .object([
        "v": .number(1), "type": .string("sqlite"), "source": .object(["path": .string("/dev/null")]),
        "target": .object(["type": .string("local_dir"), "base_dir": .string("/tmp/none")]),
    ])
    let job = try await database.createJob(
        JobInput(name: "bench", schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
    )
    for _ in 0..<count { _ = try await database.enqueueRun(jobId: job.id, source: "manual") }
    return job.id
}

/// Executes nothing: isolates the cost of claiming, heartbeating and completing.
struct NoopExecutor: JobExecutor {
    let jobType = "sqlite"

    func execute(_ context: RunContext) async throws -> JSONValue {
        .object([:])
    }
}

/// Spawns this executable with `arguments`, stdout to a pipe; returns the pid and the read end.
func spawnSelf(_ arguments: [String]) throws -> (pid_t, FileHandle) {
    let pipe = Pipe()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    process.arguments = arguments
    process.standardOutput = pipe
    try process.run()
    return (process.processIdentifier, pipe.fileHandleForReading)
}

func formatRate(_ value: Double) -> String {
    String(format: "%10.0f", value)
}

/// A release bastion-api (next to this binary) on `data`, with a signed-in session made directly in the database, and
/// requests timed by curl on one kept-alive connection (`%{time_total}`: request sent to last byte received).
final class TimedAPI {
    let base: String
    private let process = Process()
    /// The session's token (cookie `bastion_session`).
    let token = SessionToken.generate()
    let port: Int
    /// The API's process id (the fleet benchmark reads its CPU time and memory from /proc).
    var pid: Int32 { process.processIdentifier }

    init(data: DataDirectory, database: AppDatabase, arguments: [String] = []) async throws {
        port = freePort()
        base = "http://127.0.0.1:\(port)"
        let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        process.executableURL = URL(fileURLWithPath: binaries + "/bastion-api")
        process.arguments = ["--data-dir", data.path, "--port", "\(port)", "--log-level", "warning"] + arguments
        try process.run()
        _ = try await database.createFirstUser(username: "bench", passwordHash: "unused")
        let userId = try await database.user(username: "bench")!.id
        try await database.createSession(userId: userId, tokenHash: SessionToken.hash(token), csrfToken: "unused", ttl: 3600)
        for _ in 0..<100 {
            if (try? curl(["/api/ready"])) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("bastion-api did not become ready")
    }

    deinit { process.terminate() }

    /// Milliseconds per request, in order; a status other than 200 is an error.
    func curl(_ paths: [String]) throws -> [Double] { try Self.curl(base: base, session: token, paths) }

    /// `curl(_:)` without the instance, for a thread of its own: requests on one kept-alive curl connection.
    static func curl(base: String, session: String, _ paths: [String]) throws -> [Double] {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments =
            ["-s", "-H", "Cookie: bastion_session=\(session)", "-w", "%{http_code} %{time_total}\\n"]
            + paths.flatMap { ["-o", "/dev/null", base + $0] }
        let pipe = Pipe()
        curl.standardOutput = pipe
        try curl.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        return try output.split(separator: "\n").map { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, parts[0] == "200", let seconds = Double(parts[1]) else { throw ValidationError("the API answered \(line)") }
            return seconds * 1000
        }
    }

    /// p50 and p99 of `repeats` requests of `path` after one warm-up.
    func timed(_ path: String, repeats: Int) throws -> (p50: Double, p99: Double) {
        let samples = try curl([String](repeating: path, count: repeats + 1)).dropFirst().sorted()
        return (samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)])
    }
}

/// An agent enrolled directly in the database with a job on it and a queued run, linked to the API's `/agent/ws`,
/// that said hello, took the run's task and acknowledged it: what the agent benchmarks drive.
struct BenchAgent {
    let link: RawWebSocket
    let runId: String
    let claimToken: String

    static func connect(_ name: String, database: AppDatabase, port: Int) async throws -> BenchAgent {
        let token = AgentCredential.generate()
        try await database.createEnrollmentToken(hash: token.hash, expiresAt: unixNow() + 3600, remainingUses: 1)
        let key = AgentCredential.generate()
        guard case .enrolled(let agent) = try await database.enroll(tokenHash: token.hash, name: name, keyHash: key.hash) else {
            throw ValidationError("enrolment failed")
        }
        var input = try JobInput(
            name: name,
            schedule: nil,
            scheduleTimezone: nil,
            overlapPolicy: "queue",
            spec: .object([
                "v": 1, "type": "sqlite", "source": .object(["path": "/dev/null"]),
                "target": .object(["type": "local_dir", "base_dir": "/tmp/none"]),
            ]),
            defaultTimezone: "UTC"
        )
        input.agentId = agent.id
        let job = try await database.createJob(input)
        guard let run = try await database.enqueueRun(jobId: job.id, source: "manual") else { throw ValidationError("enqueue failed") }
        let link = try await RawWebSocket.connect(port: port, path: "/agent/ws", headers: ["Authorization": "Bearer \(key.text)"])
        try await link.send(#"{"v":1,"type":"hello","heartbeat_seconds":60,"info":{"version":"bench"}}"#)
        while true {
            guard case .text(let text) = try await link.next(timeout: 20), let message = try? JSONValue.parse(text),
                message["type"]?.stringValue == "task", message["task_id"]?.stringValue == run.id,
                let claimToken = message["claim_token"]?.stringValue
            else { continue }
            try await link.send(#"{"v":1,"type":"ack","task_id":"\#(run.id)"}"#)
            return BenchAgent(link: link, runId: run.id, claimToken: claimToken)
        }
    }
}
