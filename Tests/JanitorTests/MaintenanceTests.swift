import Foundation
import GRDB
import TestClients
import Testing

@testable import Store
@testable import bastion_janitor

@Suite struct MaintenanceTests {
    static let now: Int64 = 1_800_000_000
    static let day: Int64 = 86_400

    func seed(_ database: AppDatabase) async throws {
        let now = Self.now
        let day = Self.day
        try await database.pool.write { db in
            try db.execute(sql: "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'admin', 'x', 0)")
            for (id, expires) in [("s-expired", now - 1), ("s-live", now + 3600), ("s-edge", now)] {
                try db.execute(
                    sql: "INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at) VALUES (?, 1, 'c', 0, ?)",
                    arguments: [id, expires]
                )
            }
            for (hash, expires) in [("t-expired", now - 10), ("t-live", now + 10)] {
                try db.execute(
                    sql: "INSERT INTO enrollment_tokens (token_hash, created_at, expires_at) VALUES (?, 0, ?)",
                    arguments: [Data(hash.utf8), expires]
                )
            }
            for (ip, last) in [("10.0.0.1", now - 31 * day), ("10.0.0.2", now - 29 * day)] {
                try db.execute(
                    sql: "INSERT INTO login_throttle (ip, failures, first_failed_at, last_failed_at) VALUES (?, 3, ?, ?)",
                    arguments: [ip, last, last]
                )
            }
            try db.execute(
                sql: "INSERT INTO jobs (id, name, overlap_policy, spec_json, created_at, updated_at) VALUES ('j', 'job', 'queue', '{}', 0, 0)"
            )
            let runs: [(String, String, Int64, Int64?)] = [
                ("old-success", "success", now - 200 * day, now - 200 * day),
                ("old-failed", "failed", now - 181 * day, now - 181 * day),
                ("old-with-snapshot", "success", now - 300 * day, now - 300 * day),
                ("old-deleted-snapshot", "success", now - 300 * day, now - 300 * day),
                ("recent", "success", now - 10 * day, now - 10 * day),
                ("old-queued", "queued", now - 400 * day, nil),
                ("old-running", "running", now - 400 * day, nil),
            ]
            for (id, status, started, ended) in runs {
                try db.execute(
                    sql: "INSERT INTO runs (id, job_id, status, started_at, ended_at) VALUES (?, 'j', ?, ?, ?)",
                    arguments: [id, status, started, ended]
                )
                for seq in 1...25 {
                    try db.execute(
                        sql: "INSERT INTO run_events (run_id, seq, ts, level, kind, message) VALUES (?, ?, ?, 'info', 'k', 'm')",
                        arguments: [id, seq, started]
                    )
                }
            }
            for (run, status) in [("old-with-snapshot", "present"), ("old-deleted-snapshot", "deleted")] {
                try db.execute(
                    sql: """
                        INSERT INTO run_artifacts (run_id, job_id, target_type, target_snapshot_json, artifact_format, status,
                                                   started_at, ended_at, created_at, updated_at)
                        VALUES (?, 'j', 'local_dir', '{}', 'archive_v1', ?, 0, 0, 0, 0)
                        """,
                    arguments: [run, status]
                )
            }
        }
    }

    @Test func prunesExactlyWhatExpired() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        try await seed(database)
        // A batch size smaller than the data proves the batching loops terminate with everything removed.
        let pass = MaintenancePass(database: database, settings: .init(runRetentionDays: 180, batchSize: 2), logger: testLogger)
        let report = await pass.run(now: Self.now)
        #expect(report.failedSteps.isEmpty)

        let (sessions, tokens, throttles, runs, eventRuns) = try await database.pool.read { db in
            (
                try String.fetchAll(db, sql: "SELECT id FROM sessions ORDER BY id"),
                try Data.fetchAll(db, sql: "SELECT token_hash FROM enrollment_tokens").map { String(decoding: $0, as: UTF8.self) },
                try String.fetchAll(db, sql: "SELECT ip FROM login_throttle"),
                try String.fetchAll(db, sql: "SELECT id FROM runs ORDER BY id"),
                try String.fetchAll(db, sql: "SELECT DISTINCT run_id FROM run_events ORDER BY run_id")
            )
        }
        #expect(sessions == ["s-edge", "s-live"])
        #expect(tokens == ["t-live"])
        #expect(throttles == ["10.0.0.2"])
        #expect(runs == ["old-queued", "old-running", "old-with-snapshot", "recent"])
        #expect(eventRuns == runs)
        #expect(report.sessions == 1 && report.enrollmentTokens == 1 && report.loginThrottles == 1)
        #expect(report.runs == 3 && report.runEvents == 75)

        // A second pass finds nothing more.
        let again = await pass.run(now: Self.now)
        #expect(again.sessions == 0 && again.runs == 0 && again.runEvents == 0)
    }

    @Test func checkpointTruncatesALargeWAL() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        try await database.pool.write { db in
            for i in 0..<2000 {
                try db.execute(
                    sql: "INSERT INTO settings (key, value_json, updated_at) VALUES (?, ?, 0)",
                    arguments: ["k\(i)", String(repeating: "v", count: 500)]
                )
            }
        }
        let result = try await database.checkpoint(truncateAboveBytes: 1024)
        #expect(result.mode == "truncate" && !result.skipped)
        #expect(result.walBytesBefore > 1024)
        #expect(result.walBytesAfter == 0)
        let passive = try await database.checkpoint(truncateAboveBytes: 1 << 40)
        #expect(passive.mode == "passive")
    }
}
