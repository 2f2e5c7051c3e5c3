import Core
import Foundation
import GRDB
import Store
import TestClients
import Testing

@Suite(.serialized) struct JanitorProcessTests {
    func insertSession(_ database: AppDatabase, id: String, expiresAt: Int64) async throws {
        try await database.pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO users (id, username, password_hash, created_at) VALUES (1, 'u', 'h', 0)")
            try db.execute(
                sql: "INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at) VALUES (?, 1, 'c', 0, ?)",
                arguments: [id, expiresAt]
            )
        }
    }

    func sessionIDs(_ database: AppDatabase) async throws -> [String] {
        try await database.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM sessions ORDER BY id") }
    }

    @Test func prunesAtStartAndAgainOnItsInterval() async throws {
        let scratch = Scratch()
        let database = try AppDatabase.open(in: DataDirectory(path: scratch.dataDir))
        let now = unixNow()
        try await insertSession(database, id: "expired-1", expiresAt: now - 60)
        try await insertSession(database, id: "live", expiresAt: now + 3600)

        let janitor = try Child.bastion("bastion-janitor", dataDir: scratch.dataDir, logDir: scratch.path, ["--maintenance-interval", "1"])
        defer { janitor.kill9() }
        #expect(try await eventually { try await sessionIDs(database) == ["live"] })

        // A row that expires later is removed by a later pass, without restarting anything.
        try await insertSession(database, id: "expired-2", expiresAt: now - 1)
        #expect(try await eventually(timeout: .seconds(5)) { try await sessionIDs(database) == ["live"] })
        #expect(janitor.count("Pruned expired sessions") >= 2)
        #expect(janitor.log.contains("Checkpointed WAL"))

        janitor.signal(SIGTERM)
        #expect(await janitor.waitForExit(timeout: .seconds(5)) == 0)
        #expect(!janitor.log.contains("database is locked"))
    }

    @Test(arguments: 0..<5) func twoJanitorsAreHarmless(_ round: Int) async throws {
        let scratch = Scratch()
        let database = try AppDatabase.open(in: DataDirectory(path: scratch.dataDir))
        let now = unixNow()
        for i in 0..<200 { try await insertSession(database, id: "expired-\(i)", expiresAt: now - 60) }
        try await insertSession(database, id: "live", expiresAt: now + 3600)
        let first = try Child.bastion("bastion-janitor", dataDir: scratch.dataDir, logDir: scratch.path, ["--maintenance-batch-size", "7"])
        let second = try Child.bastion("bastion-janitor", dataDir: scratch.dataDir, logDir: scratch.path, ["--maintenance-batch-size", "7"])
        defer {
            first.kill9()
            second.kill9()
        }
        #expect(try await eventually { try await sessionIDs(database) == ["live"] })
        #expect(await eventually { first.log.contains("Optimized database") && second.log.contains("Optimized database") })
        #expect(await eventually { first.count("Checkpoint") == 1 && second.count("Checkpoint") == 1 })
        for child in [first, second] {
            child.signal(SIGTERM)
            #expect(await child.waitForExit(timeout: .seconds(5)) == 0)
            #expect(!child.log.contains(" error "), "\(child.log)")
        }
    }
}
