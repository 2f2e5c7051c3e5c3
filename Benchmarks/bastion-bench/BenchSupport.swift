import Core
import Foundation
import GRDB
import Runs
import Store

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
