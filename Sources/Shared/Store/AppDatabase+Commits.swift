import GRDB

/// Commits counted as they happen (docs/agents.md, "The hub at fleet size": the API shows them on `/metrics` as
/// `bastion_db_commits_total`, the database writes per second its budget is stated in).
extension AppDatabase {
    /// Calls `body` after each transaction this process commits, on the writer's queue (keep it short).
    public func onCommit(_ body: @escaping @Sendable () -> Void) {
        pool.add(transactionObserver: CommitObserver(body: body), extent: .databaseLifetime)
    }
}

/// Sees commits only: no change events are asked for, so the writer pays nothing per row.
private final class CommitObserver: TransactionObserver {
    let body: @Sendable () -> Void

    init(body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) { body() }
    func databaseDidRollback(_ db: Database) {}
}
