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
            ]
        )
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
