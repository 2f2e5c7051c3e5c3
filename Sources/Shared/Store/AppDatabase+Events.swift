import Core
import Foundation
import GRDB

/// Run events: the one append path (docs/architecture.md, "Database"), and `write`, the transaction that leaves
/// work for after its COMMIT (docs/architecture.md, "After COMMIT"). `seq` is allocated inside the inserting IMMEDIATE
/// transaction; the events reach the publisher only after COMMIT, as one batch per transaction.
extension AppDatabase {
    /// Appends events to a run in its own transaction and publishes them after commit. Returns them with seq/ts.
    @discardableResult
    public func appendEvents(runId: String, _ events: [NewRunEvent], now: Int64 = unixNow()) async throws -> [RunEvent] {
        try await write { db, after in
            try Self.insertEvents(db, runId: runId, events, now: now, after: &after)
        }
    }

    /// Runs `body` in one IMMEDIATE transaction. What it adds to `after` (events, wakes, cancels, progress) goes to
    /// this process's `AfterCommitPublisher` once the transaction committed; nothing goes anywhere on rollback.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database, inout AfterCommit) throws -> T) async throws -> T {
        let (value, after) = try await pool.write { db in
            var after = AfterCommit()
            let value = try body(db, &after)
            return (value, after)
        }
        if !after.isEmpty { publisher.publish(after) }
        return value
    }

    /// Inserts events inside the caller's transaction, numbering them after the run's current last `seq`, and adds
    /// them to `after`. Each event is encoded once, here: its `fields_json` is part of its frame text.
    @discardableResult
    public static func insertEvents(_ db: Database, runId: String, _ events: [NewRunEvent], now: Int64, after: inout AfterCommit) throws -> [RunEvent]
    {
        guard !events.isEmpty else { return [] }
        // Both statements are prepared once per connection (the writer's): every flush of every run reuses them.
        let last = try db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM run_events WHERE run_id = ?")
        var seq = try Int64.fetchOne(last, arguments: [runId]) ?? 0
        let statement = try db.cachedStatement(
            sql: "INSERT INTO run_events (run_id, seq, ts, level, kind, message, fields_json) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        var appended: [RunEvent] = []
        appended.reserveCapacity(events.count)
        for event in events {
            seq += 1
            let fieldsJSON = event.fields?.jsonString()
            try statement.execute(arguments: [runId, seq, now, event.level.rawValue, event.kind, event.message, fieldsJSON])
            appended.append(
                RunEvent(
                    runId: runId,
                    seq: seq,
                    ts: now,
                    level: event.level,
                    kind: event.kind,
                    message: event.message,
                    fields: event.fields,
                    fieldsJSON: fieldsJSON
                )
            )
        }
        after.events += appended
        return appended
    }

    /// The query behind catch-up reads; tests check its plan.
    public static let eventsAfterSQL = """
        SELECT run_id, seq, ts, level, kind, message, fields_json FROM run_events
        WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?
        """

    /// Events of a run with `seq > afterSeq`, ascending, at most `limit`.
    public func events(runId: String, afterSeq: Int64, limit: Int) async throws -> [RunEvent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: Self.eventsAfterSQL, arguments: [runId, afterSeq, limit]).map(Self.runEvent)
        }
    }

    /// A stored event; its frame embeds the stored `fields_json` text as it is.
    static func runEvent(_ row: Row) -> RunEvent {
        let fieldsJSON: String? = row["fields_json"]
        let fields = fieldsJSON.flatMap { try? JSONValue.parse($0) }
        return RunEvent(
            runId: row["run_id"],
            seq: row["seq"],
            ts: row["ts"],
            level: RunEvent.Level(rawValue: row["level"]) ?? .info,
            kind: row["kind"],
            message: row["message"],
            fields: fields,
            fieldsJSON: fields == nil ? nil : fieldsJSON
        )
    }
}
