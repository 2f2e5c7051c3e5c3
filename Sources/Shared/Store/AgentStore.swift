import Core
import Foundation
import GRDB

/// An agent's own small database, `<agent-data>/agent.db` (docs/agents.md, "Runs on agents"): the tasks it acked
/// (stored before the ack, so a task is never lost and never run twice), each run's event outbox numbered by `aseq`
/// (kept until the hub acks it), and each finished run's result (kept until `result_ack`). Not the hub's database.
public final class AgentStore: Sendable {
    public struct Task: Sendable, Equatable {
        public var runId: String
        public var claimToken: String
        /// The `task` message as the hub sent it.
        public var message: JSONValue
        public var finished: Bool
        public var result: JSONValue?

        public init(runId: String, claimToken: String, message: JSONValue, finished: Bool, result: JSONValue?) {
            self.runId = runId
            self.claimToken = claimToken
            self.message = message
            self.finished = finished
            self.result = result
        }
    }

    public struct Pending: Sendable, Equatable {
        public var runId: String
        public var aseq: Int64
        public var event: JSONValue
    }

    let queue: DatabaseQueue

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        // A task may carry secrets for its run (an age identity, a target's credentials: docs/agents.md, "Keys"):
        // deleted rows are overwritten, and the file is the agent's alone, as agent.json is.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        chmod(path, 0o600)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_agent_store") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tasks (
                        run_id TEXT PRIMARY KEY NOT NULL,
                        claim_token TEXT NOT NULL,
                        message_json TEXT NOT NULL,
                        next_aseq INTEGER NOT NULL DEFAULT 1,
                        finished INTEGER NOT NULL DEFAULT 0,
                        result_json TEXT,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE outbox (
                        run_id TEXT NOT NULL,
                        aseq INTEGER NOT NULL,
                        event_json TEXT NOT NULL,
                        PRIMARY KEY (run_id, aseq)
                    ) WITHOUT ROWID;
                    """
            )
        }
        try migrator.migrate(queue)
    }

    /// Stores a task durably; false when this run's task was already stored (a second delivery: ack, do not run).
    public func store(runId: String, claimToken: String, message: JSONValue) throws -> Bool {
        try queue.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO tasks (run_id, claim_token, message_json, created_at) VALUES (?, ?, ?, ?)",
                arguments: [runId, claimToken, message.jsonString(), unixNow()]
            )
            return db.changesCount == 1
        }
    }

    /// Appends an event to the run's outbox with the next `aseq`; nil when the run is not a stored task.
    @discardableResult
    public func append(runId: String, event: JSONValue) throws -> Int64? {
        try queue.write { db in
            guard let aseq = try Int64.fetchOne(db, sql: "SELECT next_aseq FROM tasks WHERE run_id = ?", arguments: [runId]) else { return nil }
            var numbered = event
            if case .object(var object) = event {
                object["aseq"] = .number(Double(aseq))
                numbered = .object(object)
            }
            try db.execute(sql: "INSERT INTO outbox (run_id, aseq, event_json) VALUES (?, ?, ?)", arguments: [runId, aseq, numbered.jsonString()])
            try db.execute(sql: "UPDATE tasks SET next_aseq = next_aseq + 1 WHERE run_id = ?", arguments: [runId])
            return aseq
        }
    }

    /// Events not yet acked by the hub, oldest first.
    public func pending(limit: Int = 500) throws -> [Pending] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT run_id, aseq, event_json FROM outbox ORDER BY run_id, aseq LIMIT ?", arguments: [limit]).compactMap {
                row in
                guard let event = try? JSONValue.parse(row[2] as String) else { return nil }
                return Pending(runId: row[0], aseq: row[1], event: event)
            }
        }
    }

    /// The hub committed the run's events up to `aseq`.
    public func acked(runId: String, upTo aseq: Int64) throws {
        try queue.write { db in try db.execute(sql: "DELETE FROM outbox WHERE run_id = ? AND aseq <= ?", arguments: [runId, aseq]) }
    }

    /// Records the run's result (sent until acked).
    public func finish(runId: String, result: JSONValue) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE tasks SET finished = 1, result_json = ? WHERE run_id = ?", arguments: [result.jsonString(), runId])
        }
    }

    /// The hub committed the result: the task is done, on both sides. The WAL is checkpointed and truncated, so the
    /// task (and any secret it carried) is left in no file.
    public func resultAcked(runId: String) throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE run_id = ?", arguments: [runId])
            try db.execute(sql: "DELETE FROM tasks WHERE run_id = ?", arguments: [runId])
        }
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// The tasks held (running or finished with a result not yet acked).
    public func tasks() throws -> [Task] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT run_id, claim_token, message_json, finished, result_json FROM tasks ORDER BY created_at").compactMap {
                row in
                guard let message = try? JSONValue.parse(row[2] as String) else { return nil }
                return Task(
                    runId: row[0],
                    claimToken: row[1],
                    message: message,
                    finished: row[3],
                    result: (row[4] as String?).flatMap { try? JSONValue.parse($0) }
                )
            }
        }
    }
}
