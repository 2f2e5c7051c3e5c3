import CFileSystem
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One hook's process (docs/hooks.md, "Processes"): spawned with `posix_spawn` in a process group of its own, stdin
/// `/dev/null`, no inherited descriptors, an empty signal mask and default dispositions; its stdout and stderr read line
/// by line. Past its timeout, or when `shouldStop` says so, the whole group gets SIGTERM, then SIGKILL after
/// `killGrace`. When the command itself has exited, whatever it left in its group is ended the same way, so nothing a
/// hook started keeps running after it (a daemon must leave the group with `setsid`).
///
/// Blocking: run it on a thread of its own (`runBlocking`).
struct HookProcess: Sendable {
    enum Stream: String, Sendable {
        case stdout, stderr
    }

    enum Output {
        /// One line, without its newline; a line longer than `maxLineBytes` comes in pieces.
        case line(Stream, String)
        /// The hook printed more than the run's log keeps; the rest is read and dropped.
        case truncated(lines: Int, bytes: Int)
    }

    struct Exit: Sendable {
        /// The exit status, when the command exited.
        var code: Int32?
        /// The signal that ended the command.
        var signal: Int32?
        var timedOut = false
        var stopped = false
        /// Why the command could not start (`posix_spawn`'s error, e.g. no such file, or a missing `cwd`).
        var spawnError: String?
        /// Processes of its group still alive after the command exited (they were ended).
        var leftovers = 0

        var succeeded: Bool { code == 0 && !timedOut && !stopped && spawnError == nil }
    }

    static let killGrace: Duration = .seconds(5)
    static let maxLineBytes = 4096
    static let maxOutputBytes = 256 * 1024
    static let maxOutputLines = 2000

    let argv: [String]
    let cwd: String
    /// `NAME=value` entries: the whole environment the command gets.
    let environment: [String]
    let timeout: Duration
    let shouldStop: @Sendable () -> Bool

    func run(output: @escaping (Output) -> Void) -> Exit {
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard bastion_pipe_cloexec(&outPipe) == 0 else { return Exit(spawnError: "pipe: \(String(cString: strerror(errno)))") }
        guard bastion_pipe_cloexec(&errPipe) == 0 else {
            let error = String(cString: strerror(errno))
            close(outPipe[0])
            close(outPipe[1])
            return Exit(spawnError: "pipe: \(error)")
        }
        let spawned = spawn(stdout: outPipe[1], stderr: errPipe[1])
        close(outPipe[1])
        close(errPipe[1])
        guard case .success(let pid) = spawned else {
            close(outPipe[0])
            close(errPipe[0])
            if case .failure(let error) = spawned { return Exit(spawnError: error.message) }
            return Exit(spawnError: "spawn failed")
        }
        var reader = OutputReader(fds: [(outPipe[0], .stdout), (errPipe[0], .stderr)], output: output)
        defer { reader.closeAll() }
        var exit = Exit()
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var termSentAt: ContinuousClock.Instant?
        var killed = false

        // 1. Until the command exits: read its output; past the deadline (or when stopped) end its group.
        while !Self.hasExited(pid) {
            reader.pump(timeoutMs: 50)
            if termSentAt == nil, clock.now >= deadline || shouldStop() {
                if clock.now >= deadline { exit.timedOut = true } else { exit.stopped = true }
                kill(-pid, SIGTERM)
                termSentAt = clock.now
            } else if let sent = termSentAt, !killed, clock.now - sent >= Self.killGrace {
                kill(-pid, SIGKILL)
                killed = true
            }
        }
        // 2. The command is a zombie (not yet reaped, so its pid still names the group): end what it left behind.
        var leftovers = Self.groupMembers(pid)
        exit.leftovers = leftovers
        if leftovers > 0 {
            if termSentAt == nil {
                kill(-pid, SIGTERM)
                termSentAt = clock.now
            }
            // A process stuck in the kernel (state D) may outlive SIGKILL for a while: stop waiting for it after a minute.
            let giveUp = clock.now + .seconds(60)
            while leftovers > 0, clock.now < giveUp {
                reader.pump(timeoutMs: 50)
                if !killed, let sent = termSentAt, clock.now - sent >= Self.killGrace {
                    kill(-pid, SIGKILL)
                    killed = true
                }
                leftovers = Self.groupMembers(pid)
            }
        }
        // 3. The rest of the output: only a process that left the group could still hold the pipes, so wait a moment.
        let drainDeadline = clock.now + .seconds(1)
        while reader.isOpen, clock.now < drainDeadline { reader.pump(timeoutMs: 50) }
        reader.finish()

        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let signal = status & 0x7f
        if signal == 0 { exit.code = (status >> 8) & 0xff } else { exit.signal = signal }
        return exit
    }

    private struct SpawnError: Error {
        var message: String
    }

    private func spawn(stdout: Int32, stderr: Int32) -> Result<pid_t, SpawnError> {
        let argv = argv.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = bastion_spawn_hook(&pid, self.argv[0], argv, envp, cwd, stdout, stderr)
        guard result == 0 else {
            let reason = String(cString: strerror(result))
            if access(cwd, X_OK) != 0 { return .failure(SpawnError(message: "cwd \(cwd): \(reason)")) }
            return .failure(SpawnError(message: "\(self.argv[0]): \(reason)"))
        }
        return .success(pid)
    }

    /// Whether `pid` has exited, leaving it unreaped (`WNOWAIT`): its zombie keeps the group id from being reused.
    static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if result == -1 { return errno != EINTR }
        return info._sifields._sigchld.si_pid == pid
    }

    /// Live processes (not zombies) of process group `group`, other than its leader.
    static func groupMembers(_ group: pid_t) -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var count = 0
        for entry in entries {
            guard let pid = pid_t(entry), pid != group,
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // `pid (comm) state ppid pgrp ...`: comm may hold spaces and parentheses, so read after the last `)`.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", pid_t(fields[2]) == group else { continue }
            count += 1
        }
        return count
    }
}

/// The hook's stdout and stderr, read as they come and cut into bounded lines.
private struct OutputReader {
    var fds: [(fd: Int32, stream: HookProcess.Stream)]
    let output: (HookProcess.Output) -> Void
    var pending: [HookProcess.Stream: [UInt8]] = [:]
    var lines = 0
    var bytes = 0
    var dropped = false

    init(fds: [(Int32, HookProcess.Stream)], output: @escaping (HookProcess.Output) -> Void) {
        self.fds = fds.map { (fd: $0.0, stream: $0.1) }
        self.output = output
    }

    var isOpen: Bool { !fds.isEmpty }

    mutating func pump(timeoutMs: Int32) {
        guard !fds.isEmpty else {
            usleep(UInt32(timeoutMs) * 1000)
            return
        }
        var polls = fds.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&polls, nfds_t(polls.count), timeoutMs)
        guard ready > 0 else { return }
        var closed: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        for (index, entry) in polls.enumerated() where entry.revents != 0 {
            let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
            if count > 0 {
                take(buffer[0..<count], from: fds[index].stream)
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                flush(fds[index].stream)
                closed.append(entry.fd)
            }
        }
        for fd in closed { Glibc.close(fd) }
        fds.removeAll { closed.contains($0.fd) }
    }

    private mutating func take(_ data: ArraySlice<UInt8>, from stream: HookProcess.Stream) {
        var line = pending[stream] ?? []
        for byte in data {
            if byte == UInt8(ascii: "\n") {
                emit(line, stream)
                line.removeAll(keepingCapacity: true)
            } else {
                line.append(byte)
                if line.count >= HookProcess.maxLineBytes {
                    emit(line, stream)
                    line.removeAll(keepingCapacity: true)
                }
            }
        }
        pending[stream] = line
    }

    private mutating func flush(_ stream: HookProcess.Stream) {
        if let line = pending[stream], !line.isEmpty { emit(line, stream) }
        pending[stream] = nil
    }

    private mutating func emit(_ line: [UInt8], _ stream: HookProcess.Stream) {
        guard !dropped else { return }
        if lines >= HookProcess.maxOutputLines || bytes + line.count > HookProcess.maxOutputBytes {
            dropped = true
            output(.truncated(lines: lines, bytes: bytes))
            return
        }
        lines += 1
        bytes += line.count
        var text = line
        if text.last == UInt8(ascii: "\r") { text.removeLast() }
        output(.line(stream, String(decoding: text, as: UTF8.self)))
    }

    /// Lines cut short when the pipes closed.
    mutating func finish() {
        for stream in [HookProcess.Stream.stdout, .stderr] { flush(stream) }
    }

    mutating func closeAll() {
        for entry in fds { Glibc.close(entry.fd) }
        fds.removeAll()
    }
}
