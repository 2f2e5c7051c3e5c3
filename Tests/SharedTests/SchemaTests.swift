import Foundation
import GRDB
import Synchronization
import TestClients
import Testing

@testable import Store

@Suite struct SchemaTests {
    @Test func freshFileHasEveryTableAndIndex() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let (tables, indexes) = try await database.pool.read { db in
            (
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"),
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index'")
            )
        }
        for table in AppDatabase.expectedTables {
            #expect(tables.contains(table), "missing table \(table)")
        }
        for index in AppDatabase.expectedIndexes {
            #expect(indexes.contains(index), "missing index \(index)")
        }
        let runColumns = try await database.pool.read { db in try db.columns(in: "runs").map(\.name) }
        for column in ["worker_id", "claim_token", "heartbeat_at", "scheduled_for", "progress_json", "cancel_requested_at", "cancel_reason"] {
            #expect(runColumns.contains(column), "runs lacks \(column)")
        }
    }

    @Test func connectionPragmas() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let (journal, synchronous, foreignKeys, busy) = try await database.pool.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
                try Int.fetchOne(db, sql: "PRAGMA busy_timeout")
            )
        }
        #expect(journal == "wal")
        #expect(synchronous == 1)  // NORMAL
        #expect(foreignKeys == 1)
        #expect(busy == 5000)
        let writerSynchronous = try await database.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writerSynchronous == 1)
    }

    @Test func writesBeginImmediate() async throws {
        let dir = TemporaryDirectory()
        let statements = Mutex<[String]>([])
        let database = try AppDatabase.open(
            in: dir.dataDirectory,
            configure: { configuration in
                configuration.prepareDatabase { db in
                    db.trace { event in
                        if case .statement(let statement) = event { statements.withLock { $0.append(statement.sql) } }
                    }
                }
            }
        )
        try await database.pool.write { db in
            try db.execute(sql: "INSERT INTO settings (key, value_json, updated_at) VALUES ('k', '{}', 0)")
        }
        #expect(statements.withLock { $0 }.contains { $0.hasPrefix("BEGIN IMMEDIATE") })
    }

    @Test func reopeningAppliesNothingTwice() async throws {
        let dir = TemporaryDirectory()
        _ = try AppDatabase.open(in: dir.dataDirectory)
        let again = try AppDatabase.open(in: dir.dataDirectory)
        let applied = try await again.pool.read { db in try AppDatabase.migrator.appliedIdentifiers(db) }
        #expect(
            applied == [
                "v1_schema", "v2_notification_destinations", "v3_run_kinds", "v4_run_warnings", "v5_run_list_indexes", "v6_dashboard_indexes",
                "v7_agents", "v8_incomplete_cleanup", "v9_incremental", "v10_agent_pending_key", "v11_run_crash_attempts",
                "v12_copies_locations", "v12_notify_channels_pings",
                "v12_drills_scheduled_kind",
                "v13_traces_run_trace_context",
            ]
        )
    }

    /// `v12_copies_locations` rebuilds `runs` (its kind CHECK gains `copy`): every row and column stays, nothing that
    /// references a run is cascaded away, every index is back, and foreign keys still hold.
    @Test func theCopiesMigrationKeepsEveryRunAndWhatReferencesIt() throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v11_run_crash_attempts")
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO jobs (id, name, overlap_policy, spec_json, created_at, updated_at) VALUES ('j', 'job', 'queue', '{}', 1, 1);
                    INSERT INTO runs (id, job_id, status, started_at, ended_at, kind, operation_json, warnings, node_id, crash_attempts, summary_json)
                      VALUES ('r', 'j', 'success', 10, 20, 'verify', '{"source_run_id":"b"}', 2, 'agent-1', 1, '{}');
                    INSERT INTO run_events (run_id, seq, ts, level, kind, message) VALUES ('r', 1, 10, 'info', 'queued', 'Run queued');
                    INSERT INTO run_artifacts (run_id, job_id, target_type, target_snapshot_json, artifact_format, status, started_at, ended_at,
                      created_at, updated_at) VALUES ('r', 'j', 'local_dir', '{}', 'archive_v1', 'present', 10, 20, 20, 20);
                    """
            )
        }
        try AppDatabase.migrator.migrate(queue)
        try queue.read { db in
            let row = try #require(
                try Row.fetchOne(db, sql: "SELECT kind, operation_json, warnings, node_id, crash_attempts, ended_at FROM runs WHERE id = 'r'")
            )
            #expect(row[0] as String == "verify" && row[1] as String == #"{"source_run_id":"b"}"# && row[2] as Int == 2)
            #expect(row[3] as String == "agent-1" && row[4] as Int == 1 && row[5] as Int64 == 20)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run_events WHERE run_id = 'r'") == 1)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run_artifacts WHERE run_id = 'r'") == 1)
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            let indexes = try String.fetchAll(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL"
            )
            for index in AppDatabase.expectedIndexes where index.hasPrefix("idx_runs_") {
                #expect(indexes.contains(index), "missing index \(index)")
            }
        }
        try queue.write { db in
            try db.execute(sql: "INSERT INTO runs (id, job_id, status, started_at, kind) VALUES ('c', 'j', 'queued', 30, 'copy')")
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO runs (id, job_id, status, started_at, kind) VALUES ('x', 'j', 'queued', 30, 'other')")
            }
            // Deleting the job still cascades to its runs and their events.
            try db.execute(sql: "DELETE FROM jobs WHERE id = 'j'")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run_events") == 0)
        }
    }

    /// `v12_notify_channels_pings` rebuilds `notification_destinations` (its channel CHECK widened): each switch stays,
    /// queued notifications keep their run, and the new channels are accepted.
    @Test func theNotifyMigrationKeepsEveryDestinationAndNotification() throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v11_run_crash_attempts")
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO jobs (id, name, overlap_policy, spec_json, created_at, updated_at) VALUES ('j', 'job', 'queue', '{}', 1, 1);
                    INSERT INTO runs (id, job_id, status, started_at) VALUES ('r', 'j', 'failed', 10);
                    INSERT INTO notification_destinations (channel, name, enabled, created_at, updated_at) VALUES ('webhook', 'ops', 0, 1, 2);
                    INSERT INTO notifications (id, run_id, channel, secret_name, status, next_attempt_at, created_at, updated_at)
                      VALUES ('n', 'r', 'webhook', 'ops', 'queued', 11, 10, 10);
                    """
            )
        }
        try AppDatabase.migrator.migrate(queue)
        try queue.write { db in
            #expect(try Int.fetchOne(db, sql: "SELECT enabled FROM notification_destinations WHERE channel = 'webhook' AND name = 'ops'") == 0)
            #expect(try String.fetchOne(db, sql: "SELECT run_id FROM notifications WHERE id = 'n'") == "r")
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            try db.execute(sql: "INSERT INTO notification_destinations (channel, name, created_at, updated_at) VALUES ('ntfy', 'phone', 1, 1)")
            try db.execute(sql: "DELETE FROM jobs WHERE id = 'j'")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notifications") == 0)
        }
    }

    @Test func concurrentOpensOnAFreshFileAllSucceed() async throws {
        for _ in 0..<5 {
            let dir = TemporaryDirectory()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask { _ = try AppDatabase.open(in: dir.dataDirectory) }
                }
                try await group.waitForAll()
            }
        }
    }
}
