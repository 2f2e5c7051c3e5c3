import Core
import Foundation

/// The one live process that may use a worker id (docs/architecture.md, "Workers"): an exclusive `flock` on
/// `<data-dir>/workers/<id>.lock`, held for the life of the process and released by the kernel when it ends, however
/// it ends. A second worker started with a live id refuses to start; one restarted after a crash gets the lock and
/// takes back its runs.
final class WorkerIdentityLock: Sendable {
    let descriptor: Int32

    /// Takes the lock of `workerID`, or throws naming the process that holds it.
    init(workerID: String, dataDirectory: DataDirectory) throws {
        let directory = dataDirectory.path + "/workers"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = "\(directory)/\(workerID).lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw ConfigError.invalidValue(option: "--worker-id", value: workerID, reason: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw WorkerIdentityError(workerID: workerID, holder: holder)
        }
        // Who holds it, for the next one's message.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}

/// A worker id already held by a live process.
struct WorkerIdentityError: Error, CustomStringConvertible {
    var workerID: String
    var holder: String

    var description: String {
        "worker id \(workerID) is in use by a live worker\(holder.isEmpty ? "" : " (pid \(holder))"): give each worker its own --worker-id"
    }
}
