/// Lifecycle of a run (docs/architecture.md, "Database"): `queued → running → success | failed | canceled`; `rejected` is inserted terminal.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case queued, running, success, failed, rejected, canceled

    /// Terminal runs never change status again.
    public var isTerminal: Bool { self != .queued && self != .running }
}
