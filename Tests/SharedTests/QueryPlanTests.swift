import GRDB
import TestClients
import Testing

@testable import Store

/// Hot queries must use their index: no full scan of the table, no temporary b-tree for ORDER BY.
@Suite struct QueryPlanTests {
    func plan(_ sql: String, _ arguments: StatementArguments = []) async throws -> [String] {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        return try await database.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
        }
    }

    func expectIndexed(_ details: [String], table: String, index: String) {
        #expect(details.contains { $0.contains(index) }, "expected \(index) in \(details)")
        #expect(!details.contains { $0.hasPrefix("SCAN \(table)") && !$0.contains("USING") }, "full scan of \(table): \(details)")
        #expect(!details.contains { $0.contains("TEMP B-TREE") }, "temp b-tree: \(details)")
    }

    @Test func claimQueryUsesNodeStatusStartedAtIndex() async throws {
        let details = try await plan(AppDatabase.nextQueuedRunSQL, ["hub"])
        expectIndexed(details, table: "runs", index: "idx_runs_node_id_status_started_at")
    }

    @Test func claimUpdateUsesNodeStatusStartedAtIndex() async throws {
        let details = try await plan(
            """
            UPDATE runs SET status = 'running', started_at = 1, worker_id = 'w', claim_token = 't', heartbeat_at = 1
            WHERE id = (\(AppDatabase.nextQueuedRunSQL)) RETURNING id
            """,
            ["hub"]
        )
        expectIndexed(details, table: "runs", index: "idx_runs_node_id_status_started_at")
    }

    @Test func retentionQueryUsesEndedAtIndex() async throws {
        let details = try await plan(AppDatabase.expiredRunsSQL, [0, 100])
        expectIndexed(details, table: "runs", index: "idx_runs_ended_at")
    }

    @Test func expiredSessionsUseExpiresAtIndex() async throws {
        let details = try await plan("SELECT id FROM sessions WHERE expires_at < ? LIMIT ?", [0, 10])
        expectIndexed(details, table: "sessions", index: "idx_sessions_expires_at")
    }

    @Test func staleThrottlesUseLastFailedAtIndex() async throws {
        let details = try await plan("SELECT ip FROM login_throttle WHERE last_failed_at < ? LIMIT ?", [0, 10])
        expectIndexed(details, table: "login_throttle", index: "idx_login_throttle_last_failed_at")
    }

    @Test func notificationClaimUsesStatusNextAttemptIndex() async throws {
        let details = try await plan(
            "UPDATE notifications SET status = 'sending', updated_at = 1 WHERE id = (\(AppDatabase.nextDueNotificationSQL)) RETURNING id",
            [1]
        )
        expectIndexed(details, table: "notifications", index: "idx_notifications_status_next_attempt_at")
        expectIndexed(
            try await plan("SELECT MIN(next_attempt_at) FROM notifications WHERE status = 'queued'"),
            table: "notifications",
            index: "idx_notifications_status_next_attempt_at"
        )
    }

    /// The claim and the loop's wake-up skip pings waiting for an earlier ping of their run: the wait is checked per
    /// candidate through an index on the run, never by scanning the queue.
    @Test func pingOrderChecksUseTheRunIndex() async throws {
        let claim = try await plan(AppDatabase.nextDueNotificationSQL, [1])
        expectIndexed(claim, table: "notifications", index: "idx_notifications_status_next_attempt_at")
        #expect(claim.contains { $0.contains("SEARCH earlier USING") && $0.contains("run_id=?") }, "\(claim)")
        let due = try await plan(AppDatabase.nextNotificationDueSQL)
        expectIndexed(due, table: "notifications", index: "idx_notifications_status_next_attempt_at")
        #expect(due.contains { $0.contains("SEARCH earlier USING") && $0.contains("run_id=?") }, "\(due)")
    }

    @Test func notificationQueuePagesUseCreatedAtIndex() async throws {
        let details = try await plan(
            "SELECT id FROM notifications WHERE (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT 21",
            [5, 5, "x"]
        )
        expectIndexed(details, table: "notifications", index: "idx_notifications_created_at_id")
    }
}
