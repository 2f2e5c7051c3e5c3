import Core
import Foundation
import Secrets
import Store
import Synchronization
import Targets

/// Executes runs of one job type (docs/architecture.md, "Runs": the seam new job types plug into).
///
/// `execute` returns the run's summary, throws `RunFailure` for a failure with a code, and throws
/// `CancellationError` when `context.cancellation` fired (checked between steps: between pages, files, parts).
public protocol JobExecutor: Sendable {
    /// The spec `type` this executor runs (`sqlite`, `filesystem`).
    var jobType: String { get }
    func execute(_ context: RunContext) async throws -> JSONValue
}

/// A failure with a stable code (stored in `runs.error`) and, optionally, a summary of what was done.
public struct RunFailure: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var summary: JSONValue?

    public init(code: String, message: String, summary: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.summary = summary
    }

    public var description: String { "\(code): \(message)" }
}

/// Where an executor's events go: the hub's database in batches (`RunEventSink`, a worker) or an agent's durable
/// outbox (docs/agents.md). Executors only emit; they never know which.
public protocol RunEvents: Sendable {
    func emit(_ event: NewRunEvent)
}

extension RunEvents {
    public func emit(_ level: RunEvent.Level = .info, kind: String, message: String, fields: JSONValue? = nil) {
        emit(NewRunEvent(level, kind: kind, message: message, fields: fields))
    }
}

/// Where an executor's progress goes: `runs.progress_json` (`ProgressReporter`, a worker) or the agent's link.
public protocol RunProgressSink: Sendable {
    func update(_ progress: RunProgress) async
}

/// Everything an executor gets for one run.
public struct RunContext: Sendable {
    public let run: Run
    public let job: Job
    public let spec: JobSpec
    public let events: any RunEvents
    public let progress: any RunProgressSink
    public let cancellation: RunCancellation
    /// Backup encryption keys: the hub's key store for a worker, the keys handed over with its task for an agent
    /// (nil where a run has none, e.g. benchmarks).
    public var keys: (any BackupKeyProvider)? = nil
    /// Where a backup writes its snapshot's catalog (docs/formats.md, "The snapshot catalog"); nil: not written here.
    public var catalogs: DataDirectory? = nil
    /// The credentials of remote targets: the hub's `secrets` for a worker, the one its task carries for an agent.
    public var targetSecrets: (any TargetSecretProvider)? = nil

    public init(
        run: Run,
        job: Job,
        spec: JobSpec,
        events: any RunEvents,
        progress: any RunProgressSink,
        cancellation: RunCancellation,
        keys: (any BackupKeyProvider)? = nil,
        catalogs: DataDirectory? = nil,
        targetSecrets: (any TargetSecretProvider)? = nil
    ) {
        self.run = run
        self.job = job
        self.spec = spec
        self.events = events
        self.progress = progress
        self.cancellation = cancellation
        self.keys = keys
        self.catalogs = catalogs
        self.targetSecrets = targetSecrets
    }

    /// Throws `CancellationError` once the run was asked to stop.
    public func checkCancellation() throws {
        if cancellation.reason != nil { throw CancellationError() }
    }
}

/// Why a run is being stopped, settable from any thread (bus handler, heartbeat, shutdown) and readable from
/// synchronous code (a backup step on a dispatch queue).
public final class RunCancellation: Sendable {
    public enum Reason: String, Sendable {
        /// A user asked (cancel_requested_at is set in the database).
        case requested
        /// The worker is shutting down gracefully: the run goes back to the queue.
        case shutdown
        /// The heartbeat found the run is no longer ours: write nothing.
        case leaseLost
    }

    private let state = Mutex<Reason?>(nil)

    public init() {}

    public var reason: Reason? { state.withLock { $0 } }

    /// Records the first reason; later ones are ignored.
    public func cancel(_ reason: Reason) {
        state.withLock { current in
            if current == nil { current = reason }
        }
    }
}

/// The age key of `pipeline.encryption.key_name`: its recipient encrypts a backup, its identity decrypts a restore or
/// verify.
public protocol BackupKeyProvider: Sendable {
    /// The identity and recipient named `name`, created when `create` and missing; nil when missing.
    func identity(named name: String, create: Bool) async throws -> (identity: String, recipient: String)?
}

/// Access to the age identities of `pipeline.encryption.key_name`, for executors on the hub.
public struct BackupKeys: BackupKeyProvider {
    public let database: AppDatabase
    public let dataDirectory: DataDirectory

    public init(database: AppDatabase, dataDirectory: DataDirectory) {
        self.database = database
        self.dataDirectory = dataDirectory
    }

    public func identity(named name: String, create: Bool) async throws -> (identity: String, recipient: String)? {
        try await database.backupIdentity(name: name, box: try SecretBox.open(in: dataDirectory), create: create)
    }
}

/// The one key an agent's task carries (docs/agents.md, "Keys"): a backup gets the recipient only; a restore or
/// verify gets the identity too, for that task only.
public struct TaskKeys: BackupKeyProvider {
    public let name: String
    public let recipient: String
    public let identity: String?

    public init(name: String, recipient: String, identity: String?) {
        self.name = name
        self.recipient = recipient
        self.identity = identity
    }

    public func identity(named name: String, create: Bool) async throws -> (identity: String, recipient: String)? {
        guard name == self.name else { return nil }
        return (identity ?? "", recipient)
    }
}
