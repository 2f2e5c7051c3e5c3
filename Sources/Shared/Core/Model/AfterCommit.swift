/// What a transaction leaves to be done once its COMMIT succeeded (docs/architecture.md, "After COMMIT"): run events to
/// publish, wakes to send, workers to tell about a cancel, live progress to forward. A write fills it in inside the
/// transaction; `AppDatabase` hands it to the process's one `AfterCommitPublisher` after COMMIT, never on rollback.
public struct AfterCommit: Sendable, Equatable {
    /// Committed run events, in commit order, each already encoded once (`RunEvent.json`).
    public var events: [RunEvent] = []
    /// Loops that have new work: a hint to re-read the database.
    public var wakes: Set<WakeTopic> = []
    /// Running runs whose worker should stop now (the database already holds the request).
    public var cancels: [String] = []
    /// Progress just written to `runs.progress_json`, for live subscribers (not stored per update).
    public var progress: [RunProgress.Update] = []

    public init() {}

    public var isEmpty: Bool { events.isEmpty && wakes.isEmpty && cancels.isEmpty && progress.isEmpty }

    public mutating func wake(_ topic: WakeTopic) { wakes.insert(topic) }
}

/// Carries out what committed transactions left behind. Each process has exactly one: the API feeds its WebSocket hub
/// and tells workers over the bus; a worker and the janitor send it to the API over the bus and wake their own loops.
/// `publish` must not block: it runs right after the COMMIT on the writer's task.
public protocol AfterCommitPublisher: Sendable {
    func publish(_ work: AfterCommit)
}

/// For processes and tests that have nobody to tell.
public struct NoAfterCommitPublisher: AfterCommitPublisher {
    public init() {}
    public func publish(_ work: AfterCommit) {}
}
