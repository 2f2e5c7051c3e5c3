import Foundation
import Glibc
import Synchronization

/// One child process whose stdout+stderr go to a log file.
///
/// Spawned with `posix_spawn`, an empty signal mask and default signal dispositions: the test runner blocks most
/// signals on its threads, and a child that inherited that mask (Foundation's `Process` passes it on) would never
/// see the SIGTERM a user's Ctrl-C or honcho sends.
public final class Child: @unchecked Sendable {
    public let name: String
    public let logPath: String
    public let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    public init(_ executable: String, _ arguments: [String], name: String, logDir: String, environment: [String: String] = [:]) throws {
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

    /// Reaps the child if it has exited; returns its raw wait status.
    private func reap() -> Int32? {
        exitStatus.withLock { stored in
            if let stored { return stored }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { stored = status }
            return stored
        }
    }

    public var isRunning: Bool { reap() == nil }
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for exit; returns the exit code (128+signal when killed by a signal), or nil if still running.
    public func waitForExit(timeout: Duration) async -> Int32? {
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
    public func kill9() {
        kill(-pid, SIGKILL)
        guard isRunning else { return }
        kill(pid, SIGKILL)
        _ = exitStatus.withLock { stored -> Int32? in
            var status: Int32 = 0
            if stored == nil, waitpid(pid, &status, 0) == pid { stored = status }
            return stored
        }
    }

    public func count(_ needle: String) -> Int { log.components(separatedBy: needle).count - 1 }
}

extension Child {
    /// Runs `command` with `/bin/sh -c` as a `Child` and waits for it: its exit status and output (stdout and stderr).
    /// The target tests use this instead of `Shell` (Foundation's `Process`), whose monitor thread can block in
    /// `waitpid` on a process it did not start once servers are spawned beside it.
    public static func shell(_ command: String, logDir: String, timeout: Duration = .seconds(120)) async throws -> (status: Int32, output: String) {
        let child = try Child("/bin/sh", ["-c", command], name: "shell", logDir: logDir)
        guard let status = await child.waitForExit(timeout: timeout) else {
            child.kill9()
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "timed out: \(command)"])
        }
        let output = child.log
        try? FileManager.default.removeItem(atPath: child.logPath)
        return (status, output)
    }
}
