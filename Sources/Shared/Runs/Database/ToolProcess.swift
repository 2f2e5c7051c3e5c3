import Archive
import Core
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A database tool to run (docs/databases.md): the executable, its arguments (never a password), and the whole
/// environment it gets (the host's is not passed on, except `PATH`, `LANG`, `LC_ALL`, `TZ`).
public struct ToolCommand: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    /// What the run's log calls it (`pg_dump app`).
    public var label: String

    public init(executable: String, arguments: [String], environment: [String: String], label: String) {
        self.executable = executable
        self.arguments = arguments
        self.environment = ToolCommand.baseEnvironment.merging(environment) { $1 }
        self.label = label
    }

    /// The host variables a tool sees.
    static var baseEnvironment: [String: String] {
        let kept = ["PATH", "LANG", "LC_ALL", "TZ"]
        var environment = ProcessInfo.processInfo.environment.filter { kept.contains($0.key) }
        if environment["PATH"] == nil { environment["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        return environment
    }
}

/// A running tool: its stdout through a pipe (read by the caller), its stderr as run events of kind `dump_log`
/// (at most 200 lines of at most 1000 bytes each; the last 20 kept for the failure message).
final class ToolProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` is started once and then only waited for; `lines` is behind a mutex.
    let command: ToolCommand
    private let process = Process()
    private let errors = Pipe()
    let output = Pipe()
    private let lines = LastLines()
    private let stderrDone = DispatchSemaphore(value: 0)

    init(_ command: ToolCommand, events: (any RunEvents)?, input: FileHandle? = nil) throws {
        self.command = command
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        process.environment = command.environment
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input ?? FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw RunFailure(code: "database_tool_missing", message: "cannot start \(command.executable): \(error)")
        }
        let reading = errors.fileHandleForReading
        let label = command.label
        let thread = Thread { [lines, stderrDone] in
            var pending: [UInt8] = []
            var logged = 0
            func line(_ bytes: ArraySlice<UInt8>) {
                let text = String(decoding: bytes.prefix(1000), as: UTF8.self)
                guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return }
                lines.add(text)
                if logged < 200 {
                    events?.emit(.warn, kind: "dump_log", message: "\(label): \(text)", fields: .object(["tool": .string(label)]))
                }
                logged += 1
            }
            while true {
                let chunk = reading.availableData
                if chunk.isEmpty { break }
                pending.append(contentsOf: chunk)
                while let newline = pending.firstIndex(of: 10) {
                    line(pending[..<newline])
                    pending.removeSubrange(...newline)
                }
                // A line without an end is cut at 64 KiB.
                if pending.count > 64 << 10 {
                    line(pending[...])
                    pending.removeAll()
                }
            }
            if !pending.isEmpty { line(pending[...]) }
            stderrDone.signal()
        }
        thread.name = "bastion-tool-stderr"
        thread.start()
        (events as? ToolTrackingEvents)?.running.add(self)
    }

    /// Waits for the exit; the exit status (a signal's number + 128).
    func wait() -> Int32 {
        process.waitUntilExit()
        stderrDone.wait()
        stderrDone.signal()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// The last lines the tool wrote to stderr.
    var lastLines: [String] { lines.all }

    /// SIGKILL if it still runs; does not wait. Not SIGTERM: a child started by Foundation's `Process` inherits the
    /// signal mask of the thread that started it, and the services block SIGTERM and SIGINT on theirs (a tool would
    /// never see them).
    func terminate() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Stops it (SIGKILL) if it still runs, and waits.
    func stop() {
        terminate()
        _ = wait()
    }

    /// What `<executable> --version` prints (for the manifest), or `unknown`.
    static func version(of executable: String, label: String) -> String {
        let command = ToolCommand(executable: executable, arguments: ["--version"], environment: [:], label: label)
        guard let (status, output, _) = try? capture(command, limit: 4096), status == 0 else { return "unknown" }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `command` to its end; its exit status, stdout (at most `limit` bytes kept) and last stderr lines.
    static func capture(_ command: ToolCommand, limit: Int = 16 << 20) throws -> (status: Int32, output: [UInt8], errors: [String]) {
        let tool = try ToolProcess(command, events: nil)
        var output: [UInt8] = []
        let reading = tool.output.fileHandleForReading
        while true {
            let chunk = reading.availableData
            if chunk.isEmpty { break }
            if output.count < limit { output.append(contentsOf: chunk.prefix(limit - output.count)) }
        }
        let status = tool.wait()
        return (status, output, tool.lastLines)
    }
}

/// A dump tool's stdout as a streamed archive member: read through the pipe as it arrives; at the end the tool's exit
/// is checked, and a non-zero exit (or a signal) fails the run with `dump_failed` (or the engine's auth code).
final class ToolStreamSource: StreamedSource {
    private let tool: ToolProcess
    private let source: DescriptorSource
    private let classify: (Int32, [String]) -> RunFailure
    private var finished = false

    private let cancellation: RunCancellation?

    init(
        _ command: ToolCommand,
        events: any RunEvents,
        running: RunningTools? = nil,
        cancellation: RunCancellation? = nil,
        classify: @escaping (Int32, [String]) -> RunFailure
    ) throws {
        tool = try ToolProcess(command, events: events)
        self.cancellation = cancellation
        running?.add(tool)
        // A descriptor of its own: the pipe's handle closes its copy when released.
        source = DescriptorSource(descriptor: dup(tool.output.fileHandleForReading.fileDescriptor))
        self.classify = classify
    }

    deinit {
        // The build stopped before the end (a failure, a cancel): the tool must not outlive it.
        if !finished { tool.stop() }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try source.read(into: buffer) }

    func finish() throws {
        try source.finish()
        finished = true
        let status = tool.wait()
        // Stopped because the run was canceled: a cancel, not a failed dump.
        if cancellation?.reason != nil { throw CancellationError() }
        if status != 0 { throw classify(status, tool.lastLines) }
    }
}

/// The tools a run started, so a cancel stops one that is blocked (waiting for a lock, a silent server) instead of
/// waiting for its next byte.
final class RunningTools: Sendable {
    private let tools = Mutex<[ToolProcess]>([])

    func add(_ tool: ToolProcess) { tools.withLock { $0.append(tool) } }

    /// SIGKILL to each that still runs.
    func terminateAll() {
        for tool in tools.withLock({ $0 }) { tool.terminate() }
    }
}

/// A run's events that also collect every tool started with them (`ToolProcess`), so a cancel can stop one that is
/// blocked where the tool is started deep in an engine (a restore into a database).
struct ToolTrackingEvents: RunEvents {
    let base: any RunEvents
    let running: RunningTools

    func emit(_ event: NewRunEvent) { base.emit(event) }
}

/// The last 20 lines a tool wrote to stderr.
private final class LastLines: Sendable {
    private let lines = Mutex<[String]>([])

    func add(_ line: String) {
        lines.withLock {
            $0.append(line)
            if $0.count > 20 { $0.removeFirst() }
        }
    }

    var all: [String] { lines.withLock { $0 } }
}
