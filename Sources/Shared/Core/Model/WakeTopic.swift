/// What a wake-up is about: new runs to claim, changed jobs to reschedule, notifications to deliver. A wake is
/// only ever a hint to re-read the database (docs/architecture.md, "After COMMIT").
public enum WakeTopic: String, Sendable, CaseIterable {
    case runs, jobs, notifications
}
