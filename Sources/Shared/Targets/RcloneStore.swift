import Archive
import Core
import Foundation
import Logging
import Synchronization

/// A run's directory on any rclone remote (docs/targets.md, "rclone"): Debian's `rclone` binary, the remote's
/// configuration handed over as `RCLONE_CONFIG_<NAME>_<KEY>` environment variables (never written to disk in clear;
/// `RCLONE_CONFIG` points at no file, so the host's own rclone.conf plays no part). Files are streamed into
/// `rclone rcat` and out of `rclone cat`; `lsjson`, `deletefile`, `purge` and `mkdir` do the rest.
public struct RcloneStore: TargetStore {
    public let location: RunLocation
    /// `name:path/<job_id>/<run_id>`.
    let directory: String
    let environment: [String: String]
    let logger: Logger?
    /// The target's pacers (docs/targets.md, "Bandwidth"); nil: unlimited.
    let uploadPacer: BandwidthPacer?
    let downloadPacer: BandwidthPacer?
    public var executable = "/usr/bin/rclone"
    public var attempts = 3

    public init(location: RunLocation, target: RcloneTarget, secret: TargetSecret, logger: Logger?) throws {
        guard case .string(let text)? = secret.value["config"] else {
            throw TargetError("rclone_config", "the rclone secret \(target.secretName) has no config")
        }
        let options = try RcloneConfigPolicy.check(Self.parseConfig(text), keyDirectory: secret.keyDirectory)
        self.location = location
        let path = target.remotePath
        directory = "\(target.remoteName):\(path.isEmpty ? "" : path + "/")\(location.jobId)/\(location.runId)"
        var environment = Self.environment(ProcessInfo.processInfo.environment)
        let prefix = "RCLONE_CONFIG_\(target.remoteName.uppercased())_"
        for (key, value) in options { environment[prefix + key.uppercased()] = value }
        self.environment = environment
        self.logger = logger
        uploadPacer = BandwidthPacers.pacer(for: .rclone(target), .upload)
        // No catch-up for rclone: what crosses into its sockets is seen only through /proc, too late to bound one.
        downloadPacer = BandwidthPacers.pacer(for: .rclone(target), .download)
    }

    /// The only variables of the host's environment rclone sees: no `RCLONE_*` (flags, another config), no
    /// credentials (`AWS_*`, `SSH_AUTH_SOCK`, `GOOGLE_APPLICATION_CREDENTIALS`), no `HOME` or `XDG_CONFIG_HOME` (a user's
    /// rclone.conf); `RCLONE_CONFIG` names no file.
    static func environment(_ host: [String: String]) -> [String: String] {
        let kept = ["PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"]
        var environment = host.filter { kept.contains($0.key) }
        environment["RCLONE_CONFIG"] = "/nonexistent/bastion-rclone.conf"
        environment["HOME"] = "/nonexistent"
        environment["XDG_CONFIG_HOME"] = "/nonexistent"
        environment["XDG_CACHE_HOME"] = "/nonexistent"
        return environment
    }

    /// `key = value` lines as `rclone config show` prints them (a `[name]` header, blank lines and `#`/`;` comments are
    /// skipped). `type` is required.
    public static func parseConfig(_ text: String) throws -> [String: String] {
        var options: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") || (line.hasPrefix("[") && line.hasSuffix("]")) { continue }
            guard let equals = line.firstIndex(of: "=") else { throw TargetError("rclone_config", "config line without =: \(line.prefix(40))") }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw TargetError("rclone_config", "config key \(key.prefix(40)) is not letters, digits and _")
            }
            options[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard let type = options["type"], !type.isEmpty else { throw TargetError("rclone_config", "the config needs a type (e.g. type = sftp)") }
        return options
    }

    // MARK: TargetStore

    public func prepare() async throws {
        _ = try await run(["mkdir", directory])
    }

    public func upload(_ name: String, from path: String) async throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw TargetError("target_write_failed", POSIXFailure("stat \(path)").description) }
        _ = try await run(["rcat", "--size", "\(info.st_size)", "\(directory)/\(name)"], input: path)
    }

    public func download(_ name: String, to path: String, maxBytes: Int64) async throws -> Int64 {
        let partial = path + ".partial"
        defer { unlink(partial) }
        // `--count`: rclone stops after one byte more than allowed.
        // Paced: no read-ahead buffer in rclone, so the pipe's pace reaches the connection sooner.
        let buffer = downloadPacer == nil ? [] : ["--buffer-size", "0"]
        _ = try await run(["cat"] + buffer + ["--count", "\(maxBytes + 1)", "\(directory)/\(name)"], output: partial)
        var info = stat()
        guard stat(partial, &info) == 0 else { throw TargetError("staging_unavailable", POSIXFailure("stat \(partial)").description) }
        guard Int64(info.st_size) <= maxBytes else { throw TargetStores.tooLarge(name, maxBytes) }
        guard rename(partial, path) == 0 else {
            throw TargetError("staging_unavailable", POSIXFailure("rename \(partial)").description)
        }
        return Int64(info.st_size)
    }

    /// `rclone cat --offset --count`: every rclone backend answers it (those without ranged reads skip the bytes
    /// before the offset on rclone's side).
    public func readRange(_ name: String, offset: Int64, count: Int) async throws -> [UInt8]? {
        guard count > 0 else { return [] }
        let arguments = ["cat", "--offset", "\(offset)", "--count", "\(count)", "\(directory)/\(name)"]
        guard downloadPacer != nil else { return Array(try await run(arguments)) }
        // Paced like a part (docs/targets.md, "Bandwidth"): through the drained pipe into a file, then read back.
        let staged = NSTemporaryDirectory() + "/bastion-range-\(UUID().uuidString)"
        defer { unlink(staged) }
        _ = try await run(["cat", "--buffer-size", "0"] + arguments.dropFirst(), output: staged)
        guard let bytes = FileManager.default.contents(atPath: staged) else {
            throw TargetError("staging_unavailable", "cannot read \(staged)")
        }
        return Array(bytes)
    }

    /// One `lsjson` of the file itself (not of the whole run: a resume asks for every part).
    public func size(of name: String) async throws -> Int64? {
        try await listing("\(directory)/\(name)")[name]
    }

    public func list() async throws -> [String: Int64] {
        try await listing(directory)
    }

    /// `lsjson --files-only` of `path` (a directory, or one file): names and sizes; empty when it does not exist.
    func listing(_ path: String) async throws -> [String: Int64] {
        let output: Data
        do {
            output = try await run(["lsjson", "--files-only", path])
        } catch let error as TargetError where error.code == "rclone_not_found" {
            return [:]
        }
        guard case .array(let items)? = try? JSONValue.parse(bytes: output) else {
            throw TargetError("rclone_failed", "rclone lsjson printed no JSON list")
        }
        var files: [String: Int64] = [:]
        for item in items {
            if case .string(let name)? = item["Name"], let size = item["Size"]?.int64Value, size >= 0 { files[name] = size }
        }
        return files
    }

    public func delete(_ name: String) async throws {
        do {
            _ = try await run(["deletefile", "\(directory)/\(name)"])
        } catch let error as TargetError where error.code == "rclone_not_found" {}
    }

    public func removeJobIfEmpty() async {
        // rmdir removes a directory only when it is empty.
        _ = try? await runOnce(["rmdir", String(directory.dropLast(location.runId.count + 1))], input: nil, output: nil)
    }

    public func removeRun() async throws {
        do {
            _ = try await run(["purge", directory])
        } catch let error as TargetError where error.code == "rclone_not_found" {}
    }

    // MARK: Running rclone

    /// Runs rclone with `arguments`, stdin from the file `input`, stdout into the file `output` (else returned);
    /// retries what rclone calls temporary and what looks like a network failure.
    func run(_ arguments: [String], input: String? = nil, output: String? = nil) async throws -> Data {
        var attempt = 1
        while true {
            do {
                return try await runOnce(arguments, input: input, output: output, inputPacer: uploadPacer, outputPacer: downloadPacer)
            } catch let error as TargetError where error.retryable && attempt < attempts {
                logger?.warning("rclone failed; retrying", metadata: ["command": "\(arguments[0])", "error": "\(error)", "attempt": "\(attempt)"])
                try await Task.sleep(for: .seconds(1 << (attempt - 1)))
                attempt += 1
            }
        }
    }

    /// With a pacer, rclone's stdin (`input`) or stdout (`output`) is a pipe this process feeds or drains one slice
    /// at a time (docs/targets.md, "Bandwidth"); else the file itself.
    func runOnce(
        _ arguments: [String],
        input: String?,
        output: String?,
        inputPacer: BandwidthPacer? = nil,
        outputPacer: BandwidthPacer? = nil
    ) async throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--retries", "1", "--low-level-retries", "3", "--contimeout", "10s", "--timeout", "60s", "-q"] + arguments
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        let stdout = Pipe()
        var outputHandle: FileHandle?
        let pacedOutput = output != nil && outputPacer != nil ? Pipe() : nil
        if let pacedOutput, let outputPacer {
            Self.widen(pacedOutput, limit: outputPacer.bandwidth.limitBps)
            process.standardOutput = pacedOutput
        } else if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil), let handle = FileHandle(forWritingAtPath: output) else {
                throw TargetError("staging_unavailable", "cannot create \(output)")
            }
            outputHandle = handle
            process.standardOutput = handle
        } else {
            process.standardOutput = stdout
        }
        defer { try? outputHandle?.close() }
        var inputHandle: FileHandle?
        let pacedInput = input != nil && inputPacer != nil ? Pipe() : nil
        if let pacedInput {
            process.standardInput = pacedInput
        } else if let input {
            guard let handle = FileHandle(forReadingAtPath: input) else { throw TargetError("target_write_failed", "cannot open \(input)") }
            inputHandle = handle
            process.standardInput = handle
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        defer { try? inputHandle?.close() }
        let finished = AsyncStream<Int32>.makeStream()
        // Set when rclone has ended (and been reaped): a cancel after that signals no pid, which may be another's now.
        let ended = Mutex(false)
        process.terminationHandler = {
            ended.withLock { $0 = true }
            finished.continuation.yield($0.terminationStatus)
        }
        do {
            try process.run()
        } catch {
            throw TargetError("rclone_missing", "cannot start \(executable): \(error)", hint: "install rclone")
        }
        // Read both pipes while rclone runs, so a full pipe never blocks it.
        async let stderrBytes = runBlocking { errors.fileHandleForReading.readDataToEndOfFile() }
        async let stdoutBytes = runBlocking { output == nil ? stdout.fileHandleForReading.readDataToEndOfFile() : Data() }
        async let fed: Void = runBlocking {
            if let pacedInput, let input, let inputPacer { try Self.feed(pacedInput, from: input, pacer: inputPacer) }
        }
        async let drained: Void = runBlocking {
            if let pacedOutput, let output, let outputPacer {
                try Self.drain(pacedOutput, into: output, pacer: outputPacer, received: ReceiveQueues(pid: process.processIdentifier))
            }
        }
        // A cancelled transfer (a run cancelled, a browser gone from a download) ends rclone rather than waiting for it:
        // a target that trickles bytes would otherwise hold the transfer for as long as it likes.
        let pid = process.processIdentifier
        var status: Int32 = -1
        await withTaskCancellationHandler {
            for await code in finished.stream {
                status = code
                break
            }
        } onCancel: {
            ended.withLock { if !$0 { kill(pid, SIGTERM) } }
        }
        if status == -1 {
            // Cancelled before rclone ended: it was asked to stop. Wait for it off the cooperative threads (so its
            // pipes close and the readers end), killing it after 10 s.
            _ = try? await runBlocking {
                for _ in 0..<200 where !ended.withLock({ $0 }) { usleep(50_000) }
                ended.withLock { if !$0 { kill(pid, SIGKILL) } }
                for _ in 0..<200 where !ended.withLock({ $0 }) { usleep(50_000) }
            }
            throw CancellationError()
        }
        let (message, printed) = try await (stderrBytes, stdoutBytes)
        var pacedError: (any Error)?
        do { try await fed } catch { pacedError = error }
        do { try await drained } catch { pacedError = pacedError ?? error }
        guard status == 0 else { throw Self.classify(status: status, stderr: String(decoding: message, as: UTF8.self), command: arguments[0]) }
        if let pacedError { throw pacedError }
        return printed
    }

    /// Gives a paced download's pipe room for a twentieth of a second at the limit (64 KiB to 1 MiB; docs/targets.md,
    /// "Bandwidth"): rclone keeps it filled while this process sleeps between slices, so a slice is read at once
    /// instead of waiting on rclone's next writes of 32 KiB (which held a download near 15 of 20 MiB/s). What waits in
    /// the pipe is counted with the receive queues and charged when it grows.
    static func widen(_ pipe: Pipe, limit: Int64?) {
        let wanted = min(max((limit ?? 0) / 20, 65536), 1 << 20)
        // F_SETPIPE_SZ (<linux/fcntl.h>: F_LINUX_SPECIFIC_BASE + 7), which Glibc does not export to Swift.
        _ = fcntl(pipe.fileHandleForReading.fileDescriptor, 1031, Int32(wanted))
    }

    /// Writes the file at `path` into `pipe` one paced slice at a time, then closes it. rclone gone (EPIPE) ends it
    /// quietly: rclone's exit status says why.
    static func feed(_ pipe: Pipe, from path: String, pacer: BandwidthPacer) throws {
        signal(SIGPIPE, SIG_IGN)
        let sink = pipe.fileHandleForWriting
        defer { try? sink.close() }
        let source = open(path, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw TargetError("target_write_failed", POSIXFailure("open \(path)").description) }
        defer { close(source) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let wanted = pacer.paceBlocking(buffer.count)
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, wanted) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw TargetError("target_write_failed", POSIXFailure("read \(path)").description) }
            if count == 0 { return }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(sink.fileDescriptor, $0.baseAddress! + offset, count - offset) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// Reads `pipe` (rclone's stdout) into the file at `path` one paced slice at a time, until end of file, and paces
    /// what rclone has received beyond that (docs/targets.md, "Bandwidth"): rclone's connection takes in more than is
    /// read (its socket's receive buffer fills at once when the download starts, and grows later), so before each
    /// slice, what waits unread (in the pipe and in rclone's sockets' receive queues, `received`) is looked at, and
    /// whenever it is more than it ever was in this download, the difference is charged to the pacer: those bytes
    /// crossed the network without a slice. When the receive queues cannot be seen, the first bytes are taken for
    /// `burst` bytes at once instead.
    static func drain(
        _ pipe: Pipe,
        into path: String,
        pacer: BandwidthPacer,
        received: ReceiveQueues? = nil,
        burst: Int64 = BandwidthPacer.downloadBurst
    ) throws {
        let source = pipe.fileHandleForReading.fileDescriptor
        defer { try? pipe.fileHandleForReading.close() }
        let sink = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard sink >= 0 else { throw TargetError("staging_unavailable", POSIXFailure("create \(path)").description) }
        defer { close(sink) }
        var ready = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
        while poll(&ready, 1, -1) < 0 && errno == EINTR {}
        let seen = received.flatMap { $0.queued() } != nil ? received : nil
        if seen == nil, ready.revents & Int16(POLLIN) != 0 { pacer.charge(burst) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var highest: Int64 = 0
        // The sockets' queues are read from /proc at most every 50 ms: a read of /proc/<pid>/net/tcp costs the kernel a
        // walk of every socket (15 ms measured on a busy host), which, before every slice, held a download at 15 of
        // 20 MiB/s. The pipe (FIONREAD, cheap, and where most unread bytes wait) is looked at every time.
        var socketQueues: Int64 = 0
        var socketsLooked = -Double.infinity
        var ended = false
        while !ended {
            if let seen {
                var inPipe: Int32 = 0
                _ = ioctl(source, UInt(FIONREAD), &inPipe)
                let now = BandwidthPacer.monotonicSeconds()
                if now - socketsLooked >= 0.05 {
                    socketQueues = seen.queued() ?? socketQueues
                    socketsLooked = now
                }
                let unread = Int64(max(0, inPipe)) + socketQueues
                if unread > highest {
                    pacer.charge(unread - highest)
                    highest = unread
                }
            }
            let wanted = pacer.paceBlocking(buffer.count)
            // A slice is read whole (a pipe gives at most 64 KiB a read) before the next one.
            var filled = 0
            while filled < wanted {
                let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress! + filled, wanted - filled) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else {
                    ended = true
                    break
                }
                filled += count
            }
            var offset = 0
            while offset < filled {
                let written = buffer.withUnsafeBytes { write(sink, $0.baseAddress! + offset, filled - offset) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw TargetError("staging_unavailable", POSIXFailure("write \(path)").description) }
                offset += written
            }
        }
    }

    /// rclone's exit status and message as a code (docs/targets.md, "Error codes"). Exit 3 and 4 are "directory" and
    /// "file not found", 5 a temporary error, 7 fatal, 8 a transfer limit.
    static func classify(status: Int32, stderr: String, command: String) -> TargetError {
        let lines = stderr.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        let message = "rclone \(command) exited with \(status): " + (lines.last ?? "no message").suffix(400)
        let text = stderr.lowercased()
        if status == 3 || status == 4 || text.contains("doesn't exist") || text.contains("object not found") || text.contains("directory not found")
            || text.contains("file does not exist")
        {
            return TargetError("rclone_not_found", message)
        }
        if text.contains("unable to authenticate") || text.contains("permission denied (publickey") || text.contains("authentication failed")
            || text.contains("401") || text.contains("invalid_grant") || text.contains("accessdenied") || text.contains("signaturedoesnotmatch")
        {
            return TargetError("rclone_auth_failed", message, hint: "check the remote's credentials in its rclone secret")
        }
        if text.contains("no space left") || text.contains("quota") || text.contains("insufficient storage") || text.contains("disk full") {
            return TargetError("rclone_storage_full", message, hint: "the remote has no space left")
        }
        if text.contains("permission denied") || text.contains("403") || text.contains("forbidden") {
            return TargetError("rclone_permission_denied", message)
        }
        if text.contains("didn't find section") || text.contains("unknown backend") || text.contains("config") && status == 1 {
            return TargetError("rclone_config", message, hint: "check the remote's configuration")
        }
        if status == 5 || text.contains("connection refused") || text.contains("i/o timeout") || text.contains("connection reset")
            || text.contains("broken pipe") || text.contains("no route to host") || text.contains("eof")
        {
            return TargetError("rclone_network", message, retryable: true, hint: "is the remote reachable?")
        }
        return TargetError("rclone_failed", message)
    }
}

/// The bytes a process (rclone) has received on its TCP connections and not read yet (docs/targets.md, "Bandwidth"):
/// the receive queues of the sockets among its descriptors (`/proc/<pid>/fd`), from `/proc/<pid>/net/tcp` and
/// `tcp6`. Linux only; nil where those cannot be read (and 0 once rclone has exited: its last bytes are in the pipe).
struct ReceiveQueues: Sendable {
    let pid: Int32

    /// The sum of the receive queues of the process's established TCP sockets; nil when /proc does not tell.
    func queued() -> Int64? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return nil }
        var inodes = Set<Substring>()
        for entry in entries {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(entry)"),
                target.hasPrefix("socket:["), target.hasSuffix("]")
            else { continue }
            inodes.insert(Substring(target.dropFirst(8).dropLast()))
        }
        var total: Int64 = 0
        var readable = false
        for table in ["tcp", "tcp6"] {
            guard let text = Self.read("/proc/\(pid)/net/\(table)") else { continue }
            readable = true
            guard !inodes.isEmpty else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                // sl local remote st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …; st 01 is ESTABLISHED.
                guard fields.count > 9, fields[3] == "01", inodes.contains(fields[9]),
                    let colon = fields[4].firstIndex(of: ":"), let queue = Int64(fields[4][fields[4].index(after: colon)...], radix: 16)
                else { continue }
                total += queue
            }
        }
        return readable ? total : nil
    }

    /// A /proc file's text (its size is 0 to stat: read to the end).
    static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
