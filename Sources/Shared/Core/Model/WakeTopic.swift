/// What a wake-up is about: new runs to claim, changed jobs to reschedule, notifications to deliver (workers), or
/// snapshots queued for deletion (the janitor). A wake is only ever a hint to re-read the database
/// (docs/architecture.md, "After COMMIT").
public enum WakeTopic: String, Sendable, CaseIterable {
    case runs, jobs, notifications, snapshots

    /// The processes that act on it.
    public var isForJanitor: Bool { self == .snapshots }
}
