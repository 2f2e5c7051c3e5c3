import Foundation
import GRDB

/// Run events: the one append path (docs/architecture.md, "Database"). `seq` is allocated inside the inserting IMMEDIATE transaction,
/// and events are handed to the publisher only after COMMIT.
extension AppDatabase {
    /// Appends events to a run in its own transaction and publishes them after commit. Returns them with seq/ts.
    @discardableResult
    public func appendEvents(runId: String, _ events: [NewRunEvent], now: Int64 = unixNow()) async throws -> [RunEvent] {
        try await writePublishing { db in
            let appended = try Self.insertEvents(db, runId: runId, events, now: now)
            return (appended, appended)
        }
    }

    /// Runs `body` in one IMMEDIATE transaction; the events it returns are published after COMMIT (never on rollback).
    public func writePublishing<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> (T, [RunEvent])) async throws -> T {
        let (value, events) = try await pool.write(body)
        if !events.isEmpty { eventPublisher?(events) }
        return value
    }

    /// Inserts events inside the caller's transaction, numbering them after the run's current last `seq`.
    public static func insertEvents(_ db: Database, runId: String, _ events: [NewRunEvent], now: Int64) throws -> [RunEvent] {
        guard !events.isEmpty else { return [] }
        var seq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM run_events WHERE run_id = ?", arguments: [runId]) ?? 0
        let statement = try db.cachedStatement(
            sql: "INSERT INTO run_events (run_id, seq, ts, level, kind, message, fields_json) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        var appended: [RunEvent] = []
        appended.reserveCapacity(events.count)
        for event in events {
            seq += 1
            try statement.execute(arguments: [runId, seq, now, event.level.rawValue, event.kind, event.message, event.fields.map { $0.jsonString() }])
            appended.append(
                RunEvent(runId: runId, seq: seq, ts: now, level: event.level, kind: event.kind, message: event.message, fields: event.fields)
            )
        }
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

    static func runEvent(_ row: Row) -> RunEvent {
        RunEvent(
            runId: row["run_id"],
            seq: row["seq"],
            ts: row["ts"],
            level: RunEvent.Level(rawValue: row["level"]) ?? .info,
            kind: row["kind"],
            message: row["message"],
            fields: (row["fields_json"] as String?).flatMap { try? JSONValue.parse($0) }
        )
    }
}
