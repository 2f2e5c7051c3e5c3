/// A run as stored and as the API shows it.
public struct Run: Sendable, Equatable {
    public var id: String
    public var jobId: String
    public var status: RunStatus
    public var startedAt: Int64
    public var endedAt: Int64?
    public var summary: JSONValue?
    public var error: String?
    public var progress: JSONValue?
    public var cancelRequestedAt: Int64?
    public var cancelRequestedByUserId: Int64?
    public var cancelReason: String?
    public var workerId: String?
    public var heartbeatAt: Int64?
    public var scheduledFor: Int64?
    /// `backup`, or an operation on a finished backup: `restore`, `verify`.
    public var kind: RunKind = .backup
    /// An operation's parameters (`source_run_id`, destination, ...); nil for backups.
    public var operation: JSONValue?
    /// What the run reported without failing (`summary.warnings` of the finished run; `docs/architecture.md`).
    public var warnings: Int = 0
    /// Where it runs: `hub` (the hub's workers) or an agent's id (docs/agents.md).
    public var nodeId: String = "hub"

    public init(
        id: String,
        jobId: String,
        status: RunStatus,
        startedAt: Int64,
        endedAt: Int64? = nil,
        summary: JSONValue? = nil,
        error: String? = nil,
        progress: JSONValue? = nil,
        cancelRequestedAt: Int64? = nil,
        cancelRequestedByUserId: Int64? = nil,
        cancelReason: String? = nil,
        workerId: String? = nil,
        heartbeatAt: Int64? = nil,
        scheduledFor: Int64? = nil,
        kind: RunKind = .backup,
        operation: JSONValue? = nil,
        warnings: Int = 0,
        nodeId: String = "hub"
    ) {
        self.id = id
        self.jobId = jobId
        self.status = status
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.summary = summary
        self.error = error
        self.progress = progress
        self.cancelRequestedAt = cancelRequestedAt
        self.cancelRequestedByUserId = cancelRequestedByUserId
        self.cancelReason = cancelReason
        self.workerId = workerId
        self.heartbeatAt = heartbeatAt
        self.scheduledFor = scheduledFor
        self.kind = kind
        self.operation = operation
        self.warnings = warnings
        self.nodeId = nodeId
    }
}

/// What a run does. Restores and verifies are runs too, so they share the claim, heartbeat, events, WebSocket,
/// cancel and recovery paths; they belong to the source snapshot's job.
public enum RunKind: String, Sendable, Codable, CaseIterable {
    case backup, restore, verify, copy
}

/// An event about to be appended (its `seq` and `ts` are assigned inside the inserting transaction).
public struct NewRunEvent: Sendable, Equatable {
    public var level: RunEvent.Level
    public var kind: String
    public var message: String
    public var fields: JSONValue?

    public init(_ level: RunEvent.Level = .info, kind: String, message: String, fields: JSONValue? = nil) {
        self.level = level
        self.kind = kind
        self.message = message
        self.fields = fields
    }
}
