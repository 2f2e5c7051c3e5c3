import Core
import Foundation
import Logging

/// One run's files on a target: `<base>/<job_id>/<run_id>/` (docs/targets.md). Every method is idempotent, so a step
/// retried after a crash or a dropped connection does no harm. Errors are `TargetError`s with a stable code.
public protocol TargetStore: Sendable {
    var location: RunLocation { get }
    /// Creates the run's collection (and its parents).
    func prepare() async throws
    /// Uploads the local file at `path` as `name`, streamed, replacing what is there.
    func upload(_ name: String, from path: String) async throws
    /// Downloads `name` into the local file `path` (written as `.partial`, then renamed); its size. More than
    /// `maxBytes` (the size the manifest records, or a bound) is `target_object_too_large`, and stops the download
    /// there: a target cannot fill the hub's disk (docs/security.md, "Targets and secrets").
    @discardableResult
    func download(_ name: String, to path: String, maxBytes: Int64) async throws -> Int64
    /// `count` bytes of `name` from `offset` (a ranged read: WebDAV's Range GET, `rclone cat --offset --count`); nil
    /// when the store reads only whole files. Fewer bytes than asked is the caller's to refuse.
    func readRange(_ name: String, offset: Int64, count: Int) async throws -> [UInt8]?
    /// The stored size of `name`; nil when it is not there.
    func size(of name: String) async throws -> Int64?
    /// Every file of the run's collection and its size; empty when the collection does not exist.
    func list() async throws -> [String: Int64]
    /// Deletes one file; one already gone is not an error.
    func delete(_ name: String) async throws
    /// Deletes the run's collection and everything in it; one already gone is not an error.
    func removeRun() async throws
    /// Deletes the job's collection when it holds nothing (the test connection's `.bastion-test`); best effort.
    func removeJobIfEmpty() async
}

/// A target failure with a stable code (`webdav_auth_failed`, `rclone_storage_full`, `target_write_failed`, …),
/// whether retrying may help, and a hint for the user.
public struct TargetError: Error, CustomStringConvertible, Sendable {
    public var code: String
    public var message: String
    public var retryable: Bool
    public var hint: String?

    public init(_ code: String, _ message: String, retryable: Bool = false, hint: String? = nil) {
        self.code = code
        self.message = message
        self.retryable = retryable
        self.hint = hint
    }

    public var description: String { hint.map { "\(code): \(message) (\($0))" } ?? "\(code): \(message)" }
}

/// The decrypted credentials of a remote target: a `webdav` secret `{username, password, origin}` or an `rclone` secret
/// `{config: "type = sftp\n…"}`. Never logged, never returned by the API.
public struct TargetSecret: Sendable {
    public var value: JSONValue
    /// Where an rclone secret's key files may be (`<data-dir>/rclone-keys` on the hub); nil: inline keys only.
    public var keyDirectory: String?

    public init(_ value: JSONValue, keyDirectory: String? = nil) {
        self.value = value
        self.keyDirectory = keyDirectory
    }
}

/// Where an executor finds a target's secret: the hub's `secrets` table (a worker, the janitor, the API) or the one
/// secret an agent's task carries.
public protocol TargetSecretProvider: Sendable {
    func secret(kind: String, name: String) async throws -> TargetSecret?
}

/// The one secret an agent's task carries (docs/agents.md).
public struct TaskTargetSecret: TargetSecretProvider {
    public let kind: String
    public let name: String
    public let secret: TargetSecret

    public init(kind: String, name: String, secret: TargetSecret) {
        self.kind = kind
        self.name = name
        self.secret = secret
    }

    public func secret(kind: String, name: String) async throws -> TargetSecret? {
        kind == self.kind && name == self.name ? secret : nil
    }
}

/// The secrets an agent's task carries: its target's and, for a database job, its server's (docs/agents.md).
public struct TaskSecrets: TargetSecretProvider {
    public let secrets: [TaskTargetSecret]

    public init(secrets: [TaskTargetSecret]) {
        self.secrets = secrets
    }

    public func secret(kind: String, name: String) async throws -> TargetSecret? {
        secrets.first { $0.kind == kind && $0.name == name }?.secret
    }
}

extension TargetStore {
    /// No ranged reads unless the store has them.
    public func readRange(_ name: String, offset: Int64, count: Int) async throws -> [UInt8]? { nil }

    /// A download bounded only by `TargetStores.maxObjectBytes`.
    @discardableResult
    public func download(_ name: String, to path: String) async throws -> Int64 {
        try await download(name, to: path, maxBytes: TargetStores.maxObjectBytes)
    }
}

public enum TargetStores {
    /// The largest object any download takes when the caller knows no smaller bound (a manifest, a probe).
    public static let maxObjectBytes: Int64 = 256 << 20

    static func tooLarge(_ name: String, _ maxBytes: Int64) -> TargetError {
        TargetError("target_object_too_large", "\(name) on the target is larger than the \(maxBytes) bytes expected")
    }

    /// The store of `location`, its secret looked up in `secrets` for remote targets.
    public static func open(_ location: RunLocation, secrets: (any TargetSecretProvider)?, logger: Logger? = nil) async throws -> any TargetStore {
        switch location.target {
        case .localDir:
            return LocalDirStore(location: location)
        case .webdav(let webdav):
            let secret = try await lookUp(kind: "webdav", name: webdav.secretName, in: secrets)
            return try WebDAVStore(location: location, target: webdav, secret: secret, logger: logger)
        case .rclone(let rclone):
            let secret = try await lookUp(kind: "rclone", name: rclone.secretName, in: secrets)
            return try RcloneStore(location: location, target: rclone, secret: secret, logger: logger)
        }
    }

    static func lookUp(kind: String, name: String, in secrets: (any TargetSecretProvider)?) async throws -> TargetSecret {
        guard let secrets, let secret = try await secrets.secret(kind: kind, name: name) else {
            throw TargetError("target_secret_missing", "the \(kind) secret \(name) does not exist", hint: "add it under Settings → Targets")
        }
        return secret
    }

    /// Test connection: writes a small object into `<base>/.bastion-test/<random>/`, reads it back, compares, and
    /// deletes it. Each step's outcome and time, in order; a failed step ends the test.
    public static func test(
        _ target: JobSpec.Target,
        secrets: (any TargetSecretProvider)?,
        scratch: String
    ) async -> [(step: String, error: TargetError?, milliseconds: Double)] {
        var steps: [(String, TargetError?, Double)] = []
        let probe = UUID().uuidString.lowercased()
        // The test connection is not paced (docs/targets.md, "Bandwidth").
        let location = RunLocation(target: target.withoutBandwidth, jobId: ".bastion-test", runId: probe)
        let payload = "bastion connection test \(probe)\n"
        let local = "\(scratch)/target-test-\(probe)"
        defer {
            unlink(local)
            unlink(local + ".back")
        }
        func step(_ name: String, _ body: () async throws -> Void) async -> Bool {
            let started = ContinuousClock.now
            var failure: TargetError?
            do {
                try await body()
            } catch let error as TargetError {
                failure = error
            } catch {
                failure = TargetError("target_test_failed", "\(error)")
            }
            let elapsed = ContinuousClock.now - started
            steps.append((name, failure, Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15))
            return failure == nil
        }
        var store: (any TargetStore)?
        let connected = await step("connect") {
            // A local base directory must exist already: the test creates nothing but its own probe.
            if case .localDir(let local) = target {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: local.baseDir, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw TargetError("target_unavailable", "\(local.baseDir) is not a directory", hint: "create it, writable by Bastion")
                }
            }
            store = try await open(location, secrets: secrets)
        }
        guard connected, let store else { return steps }
        guard await step("create", { try await store.prepare() }) else { return steps }
        guard
            await step(
                "write",
                {
                    try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
                    guard FileManager.default.createFile(atPath: local, contents: Data(payload.utf8)) else {
                        throw TargetError("target_test_failed", "cannot write the probe to \(scratch)")
                    }
                    try await store.upload("probe.txt", from: local)
                }
            )
        else { return steps }
        let read = await step("read") {
            try await store.download("probe.txt", to: local + ".back")
            guard FileManager.default.contents(atPath: local + ".back") == Data(payload.utf8) else {
                throw TargetError("target_test_failed", "the object read back differs from the one written")
            }
        }
        // Delete even after a failed read: the test leaves nothing behind.
        _ = await step("delete") {
            try await store.removeRun()
            await store.removeJobIfEmpty()
        }
        _ = read
        return steps
    }
}
