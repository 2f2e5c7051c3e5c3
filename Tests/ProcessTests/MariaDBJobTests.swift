import Foundation
import TestClients
import Testing

@testable import Runs

/// `mariadb` jobs (docs/databases.md, "MariaDB") against a real MariaDB server each test starts in its own directory
/// on a private port (`MariaDBServer`), through the real API and worker.
@Suite(.serialized) struct MariaDBJobTests {
    static let user = "backup"
    static let password = "s3cret \"pw\" \\ é"

    func waitFor(_ fixture: RunsFixture, _ run: String, timeout: Duration = .seconds(180)) async throws -> [String: Any] {
        _ = await eventually(timeout: timeout) { ["success", "failed", "canceled"].contains(await fixture.status(run) ?? "") }
        return try await fixture.run(run)
    }

    func log(_ fixture: RunsFixture, _ run: String) async throws -> [String] {
        try await fixture.events(run).compactMap { $0["message"] as? String }
    }

    /// A server with the backup user and database `app`: two tables written together (items, ledger), a view, a
    /// function, a procedure, a trigger, an event, AUTO_INCREMENT keys, BLOBs and utf8mb4 text; `rows` rows to start.
    /// Database `ctl` holds the writer (a procedure inserting one item and its ledger line per transaction until
    /// `ctl.stop` has a row): it is not dumped.
    func makeServer(_ fixture: RunsFixture, rows: Int) async throws -> MariaDBServer {
        let server = try await MariaDBServer(directory: fixture.scratch.path + "/mariadb")
        try await server.createUser(Self.user, password: Self.password)
        try await server.sql(
            """
            CREATE DATABASE app CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
            USE app;
            CREATE TABLE items (
              id BIGINT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL, label VARCHAR(100) NOT NULL, data BLOB NOT NULL,
              label_length INT NULL
            ) ENGINE=InnoDB;
            CREATE TABLE ledger (id BIGINT AUTO_INCREMENT PRIMARY KEY, item_id BIGINT NOT NULL, note VARCHAR(50) NOT NULL) ENGINE=InnoDB;
            CREATE VIEW item_summary AS SELECT n % 10 AS bucket, COUNT(*) AS items FROM items GROUP BY n % 10;
            CREATE FUNCTION doubled(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
            CREATE PROCEDURE count_items(OUT total BIGINT) SELECT COUNT(*) INTO total FROM items;
            CREATE TRIGGER items_length BEFORE INSERT ON items FOR EACH ROW SET NEW.label_length = CHAR_LENGTH(NEW.label);
            CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM ledger WHERE 1 = 0;
            INSERT INTO items (n, label, data)
              SELECT seq, CONCAT('ligne ', seq, ' — 数据 😀 naïve'), CONCAT(UNHEX('00FF0A0D27225C'), RANDOM_BYTES(200))
              FROM seq_1_to_\(rows);
            INSERT INTO ledger (item_id, note) SELECT id, 'seed' FROM items;
            CREATE DATABASE ctl;
            CREATE TABLE ctl.stop (x INT);
            DELIMITER //
            CREATE PROCEDURE ctl.writer()
            BEGIN
              DECLARE i INT DEFAULT 0;
              WHILE i < 2000000 AND (SELECT COUNT(*) FROM ctl.stop) = 0 DO
                START TRANSACTION;
                INSERT INTO app.items (n, label, data) VALUES (i, CONCAT('écrit ', i, ' 🚀'), RANDOM_BYTES(64));
                INSERT INTO app.ledger (item_id, note) VALUES (LAST_INSERT_ID(), 'live');
                COMMIT;
                SET i = i + 1;
              END WHILE;
            END //
            DELIMITER ;
            """
        )
        return server
    }

    func saveSecret(_ fixture: RunsFixture, _ name: String, password: String) async throws {
        let saved = try await HTTP.send("PUT", fixture.base + "/api/secrets/mariadb/\(name)", json: ["password": password])
        guard saved.status == 200 else { throw FixtureError("save secret: \(saved.status) \(String(decoding: saved.body, as: UTF8.self))") }
    }

    func createJob(
        _ fixture: RunsFixture,
        _ server: MariaDBServer,
        secret: String,
        extra: [String: Any] = [:],
        agent: String? = nil
    ) async throws -> String {
        var source: [String: Any] = [
            "host": "127.0.0.1", "port": server.port, "user": Self.user, "secret_name": secret, "databases": ["app"], "globals": true,
        ]
        for (key, value) in extra { source[key] = value }
        let spec: [String: Any] = ["v": 1, "type": "mariadb", "source": source, "target": ["type": "local_dir", "base_dir": fixture.targetDir]]
        var body: [String: Any] = ["name": "mariadb", "spec": spec]
        if let agent { body["agent_id"] = agent }
        let result = try await HTTP.send("POST", fixture.base + "/api/jobs", json: body)
        guard result.status == 201, let id = result.json?["id"] as? String else {
            throw FixtureError("create job: \(result.status) \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    /// The rows of `database`'s tables as text (every column, BLOBs in hex), in key order, up to item `upTo`.
    func rows(_ server: MariaDBServer, _ database: String, upTo: Int64) async throws -> String {
        try await server.sql(
            """
            SELECT id, n, label, HEX(data), label_length FROM items WHERE id <= \(upTo) ORDER BY id;
            SELECT id, item_id, note FROM ledger WHERE item_id <= \(upTo) ORDER BY id;
            """,
            database: database
        )
    }

    func number(_ server: MariaDBServer, _ sql: String) async throws -> Int64 {
        Int64(try await server.sql(sql).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Backed up while a writer inserts (one item and its ledger line per transaction): the run succeeds, the dump
    /// passes the parse check, and restored into a new database with the manifest's commands it equals, row by row,
    /// the source as it was at the dump's snapshot point.
    ///
    /// The snapshot point: `--single-transaction` dumps inside one `START TRANSACTION WITH CONSISTENT SNAPSHOT`, so the
    /// dump holds exactly the transactions committed before it. The writer only appends, one transaction at a time,
    /// with increasing AUTO_INCREMENT keys, and never updates or deletes: the source's rows with `id <= N` (N the
    /// dump's highest item) are, after the run, exactly the rows that existed at that point. So that copy is taken
    /// from the live source afterwards by `WHERE id <= N`, and the ledger (written in the same transactions) must end
    /// at the same item: a dump that was not one snapshot would show a torn pair. Rows past N must exist (the writer
    /// ran during the dump).
    @Test func backupWhileWritingRestoresToTheSnapshotPoint() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w1")
        let server = try await makeServer(fixture, rows: 60000)
        defer { server.stop() }
        try await saveSecret(fixture, "main", password: Self.password)
        let job = try await createJob(fixture, server, secret: "main", extra: ["verify_scratch_restore": true])

        let writer = try Child("/bin/sh", ["-c", server.client + " -e 'CALL ctl.writer()'"], name: "writer", logDir: fixture.scratch.path)
        defer { writer.kill9() }
        let before = try await number(server, "SELECT COUNT(*) FROM app.ledger")
        #expect(await eventually { (try? await number(server, "SELECT COUNT(*) FROM app.ledger")) ?? 0 > before + 100 }, "the writer runs")
        let (runId, _) = try await fixture.enqueue(job)
        let run = try await waitFor(fixture, runId)
        try await server.sql("INSERT INTO ctl.stop VALUES (1)")
        _ = await writer.waitForExit(timeout: .seconds(30))
        let runLog = try await log(fixture, runId)
        try #require(run["status"] as? String == "success", "\(run) \(runLog)")

        // The manifest: engine, versions, the dumps and the exact restore commands.
        let manifestPath = try #require(
            try await Child.shell("find '\(fixture.targetDir)' -name manifest.json", logDir: fixture.scratch.path).output
                .split(separator: "\n").first.map(String.init)
        )
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as? [String: Any])
        let section = try #require(manifest["database"] as? [String: Any], "\(manifest)")
        #expect(section["engine"] as? String == "mariadb")
        #expect((section["server_version"] as? String)?.contains("MariaDB") == true, "\(section)")
        let dumps = try #require(section["dumps"] as? [[String: Any]])
        #expect(dumps.compactMap { $0["path"] as? String } == ["mariadb/app.sql", "mariadb/users.sql"], "\(dumps)")
        #expect(
            section["restore_commands"] as? [String] == [
                "mariadb < mariadb/users.sql", "mariadb -e 'CREATE DATABASE `app`' && mariadb --database=app < mariadb/app.sql",
            ],
            "\(section)"
        )

        // The files back through the API.
        let out = fixture.scratch.path + "/restored"
        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(runId)/restore",
            json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String, "\(String(decoding: restore.body, as: UTF8.self))")
        #expect(try await waitFor(fixture, restoreRun)["status"] as? String == "success")
        let dump = out + "/mariadb/app.sql"
        #expect(try MariaDBDumpCheck.check(file: dump) == nil)
        let users = try String(contentsOfFile: out + "/mariadb/users.sql", encoding: .utf8)
        #expect(users.contains("CREATE USER IF NOT EXISTS `backup`@`%`"), "\(users.prefix(2000))")

        // Into a new database with the manifest's command (the name changed), as root over the socket.
        let command =
            "cd '\(out)' && mariadb --no-defaults --socket='\(server.socket)' --user=root -e 'CREATE DATABASE `app_copy`' "
            + "&& mariadb --no-defaults --socket='\(server.socket)' --user=root --database=app_copy < mariadb/app.sql"
        let restored = try await Child.shell(command, logDir: fixture.scratch.path)
        try #require(restored.status == 0, "\(restored.output)")

        let last = try await number(server, "SELECT MAX(id) FROM app_copy.items")
        #expect(try await number(server, "SELECT MAX(item_id) FROM app_copy.ledger") == last, "one snapshot: items and ledger agree")
        #expect(last > 60000, "rows the writer committed before the snapshot are in the dump")
        #expect(try await number(server, "SELECT MAX(id) FROM app.items") > last, "the writer went on during and after the dump")
        let copy = try await rows(server, "app_copy", upTo: last)
        let original = try await rows(server, "app", upTo: last)
        #expect(copy == original, "row by row at the snapshot point")
        #expect(copy.contains("数据 😀 naïve") && copy.contains("00FF0A0D27225C"))

        // The objects came along: view, function, procedure, trigger, event, AUTO_INCREMENT.
        #expect(try await number(server, "SELECT app_copy.doubled(21)") == 42)
        // Bulk inserts leave gaps in AUTO_INCREMENT keys: counts are compared with counts.
        let count = try await number(server, "SELECT COUNT(*) FROM app.items WHERE id <= \(last)")
        #expect(try await number(server, "CALL app_copy.count_items(@t); SELECT @t") == count)
        #expect(try await number(server, "SELECT SUM(items) FROM app_copy.item_summary") == count)
        #expect(try await number(server, "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = 'app_copy'") == 1)
        #expect(try await number(server, "SELECT COUNT(*) FROM information_schema.events WHERE event_schema = 'app_copy'") == 1)
        try await server.sql("INSERT INTO app_copy.items (n, label, data) VALUES (1, 'après', '')")
        #expect(try await number(server, "SELECT MAX(id) FROM app_copy.items") > last)
        #expect(try await number(server, "SELECT label_length FROM app_copy.items ORDER BY id DESC LIMIT 1") == 5, "the trigger fires")

        // Verify: the parse check and a restore into a scratch database (verify_scratch_restore), dropped after.
        // The server's statement counters show the scratch database created and dropped (one dumped database).
        func counter(_ name: String) async throws -> Int64 {
            Int64(
                try await server.sql("SHOW GLOBAL STATUS LIKE '\(name)'").split(separator: "\t").last?.trimmingCharacters(in: .whitespacesAndNewlines)
                    ?? ""
            ) ?? -1
        }
        let (created, dropped) = (try await counter("Com_create_db"), try await counter("Com_drop_db"))
        let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(runId)/verify").json?["run_id"] as? String)
        let verified = try await waitFor(fixture, verify)
        let verifyLog = try await log(fixture, verify)
        #expect(verified["status"] as? String == "success", "\(verified) \(verifyLog)")
        let checks = ((verified["summary"] as? [String: Any])?["database"] as? [String: Any])?["dumps"] as? [[String: Any]]
        #expect(checks?.map { $0["ok"] as? Bool } == [true], "\(verified)")
        #expect(try await number(server, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'bastion\\_verify\\_%'") == 0)
        let (createdAfter, droppedAfter) = (try await counter("Com_create_db"), try await counter("Com_drop_db"))
        #expect(createdAfter == created + 1 && droppedAfter == dropped + 1, "a scratch restore ran")

        // Restore into a database through the API: a new name, then the same name again is refused.
        func restoreInto(_ name: String, dropExisting: Bool = false) async throws -> [String: Any] {
            let destination: [String: Any] = [
                "type": "database", "host": "127.0.0.1", "port": server.port, "user": Self.user, "secret_name": "main",
                "databases": ["app": name], "globals": true, "drop_existing": dropExisting,
            ]
            let queued = try await HTTP.send("POST", fixture.base + "/api/runs/\(runId)/restore", json: ["destination": destination])
            let id = try #require(queued.json?["run_id"] as? String, "\(String(decoding: queued.body, as: UTF8.self))")
            var run = try await waitFor(fixture, id)
            run["log"] = try await log(fixture, id)
            return run
        }
        let intoDatabase = try await restoreInto("app_restored")
        #expect(intoDatabase["status"] as? String == "success", "\(intoDatabase)")
        #expect(try await rows(server, "app_restored", upTo: last) == original, "restored through the API, row by row")
        #expect(try await number(server, "SELECT MAX(id) FROM app_restored.items") == last)
        let again = try await restoreInto("app_restored")
        #expect(again["status"] as? String == "failed" && again["error"] as? String == "database_exists", "\(again)")
        try await server.sql("DELETE FROM app_restored.ledger")
        let replaced = try await restoreInto("app_restored", dropExisting: true)
        #expect(replaced["status"] as? String == "success", "\(replaced)")
        #expect(try await rows(server, "app_restored", upTo: last) == original, "drop_existing replaced it")

        // A dump cut short anywhere fails the parse check.
        let whole = try Data(contentsOf: URL(fileURLWithPath: dump))
        for fraction in [0.1, 0.5, 0.9, 0.999] {
            let cut = fixture.scratch.path + "/cut.sql"
            try whole.prefix(Int(Double(whole.count) * fraction)).write(to: URL(fileURLWithPath: cut))
            #expect(try MariaDBDumpCheck.check(file: cut) != nil, "cut at \(fraction)")
        }
    }

    /// A database named `users` next to the users and grants (`mariadb/users.sql`): its dump takes another member
    /// name (`%75sers.sql`), so the run succeeds and both come back.
    @Test func aDatabaseNamedUsersIsDumpedNextToTheUsersAndGrants() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w1")
        let server = try await makeServer(fixture, rows: 10)
        defer { server.stop() }
        try await server.sql("CREATE DATABASE users; CREATE TABLE users.accounts (id INT PRIMARY KEY); INSERT INTO users.accounts VALUES (7);")
        try await saveSecret(fixture, "main", password: Self.password)
        let job = try await createJob(fixture, server, secret: "main", extra: ["databases": ["users", "app"]])
        let (runId, _) = try await fixture.enqueue(job)
        let run = try await waitFor(fixture, runId)
        let runLog = try await log(fixture, runId)
        try #require(run["status"] as? String == "success", "\(run) \(runLog)")
        let summary = try #require(run["summary"] as? [String: Any])
        let dumps = try #require((summary["database"] as? [String: Any])?["dumps"] as? [[String: Any]], "\(summary)")
        #expect(dumps.compactMap { $0["path"] as? String } == ["mariadb/%75sers.sql", "mariadb/app.sql", "mariadb/users.sql"], "\(dumps)")
        #expect(dumps.compactMap { $0["database"] as? String } == ["users", "app"], "\(dumps)")

        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(runId)/restore",
            json: ["destination": ["type": "database", "databases": ["users": "users_copy"]]]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String, "\(String(decoding: restore.body, as: UTF8.self))")
        let restored = try await waitFor(fixture, restoreRun)
        let restoreLog = try await log(fixture, restoreRun)
        #expect(restored["status"] as? String == "success", "\(restored) \(restoreLog)")
        #expect(try await number(server, "SELECT id FROM users_copy.accounts") == 7)
    }

    /// A restore into a database never replaces one of the server's own schemas (`mysql` holds every account): asked
    /// to, even with `drop_existing`, it fails with `invalid_operation` and drops nothing.
    @Test func aRestoreNeverDropsTheServersOwnSchemas() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w1")
        let server = try await makeServer(fixture, rows: 10)
        defer { server.stop() }
        try await saveSecret(fixture, "main", password: Self.password)
        let job = try await createJob(fixture, server, secret: "main", extra: ["globals": false])
        let (runId, _) = try await fixture.enqueue(job)
        let run = try await waitFor(fixture, runId)
        try #require(run["status"] as? String == "success", "\(run)")
        let users = try await number(server, "SELECT COUNT(*) FROM mysql.global_priv")
        for name in ["mysql", "MySQL", "sys"] {
            let restore = try await HTTP.send(
                "POST",
                fixture.base + "/api/runs/\(runId)/restore",
                json: ["destination": ["type": "database", "databases": ["app": name], "drop_existing": true]]
            )
            let restoreRun = try #require(restore.json?["run_id"] as? String, "\(String(decoding: restore.body, as: UTF8.self))")
            let restored = try await waitFor(fixture, restoreRun)
            #expect(restored["status"] as? String == "failed" && restored["error"] as? String == "invalid_operation", "\(name): \(restored)")
            #expect(try await number(server, "SELECT COUNT(*) FROM mysql.global_priv") == users, "\(name)")
            #expect(try await number(server, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'sys'") == 1)
        }
    }

    /// A user whose password is right but who may not create the database: the restore fails with `restore_failed`
    /// (the server's "Access denied ... to database"), not with `mariadb_auth_failed`, which sends an admin after the
    /// password.
    @Test func aRestoreWithoutThePrivilegeIsNotReportedAsAWrongPassword() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w1")
        let server = try await makeServer(fixture, rows: 10)
        defer { server.stop() }
        try await saveSecret(fixture, "main", password: Self.password)
        try await server.sql("CREATE USER 'limited'@'%' IDENTIFIED BY 'limited-pw';")
        try await saveSecret(fixture, "limited", password: "limited-pw")
        let job = try await createJob(fixture, server, secret: "main", extra: ["globals": false])
        let (runId, _) = try await fixture.enqueue(job)
        let run = try await waitFor(fixture, runId)
        try #require(run["status"] as? String == "success", "\(run)")
        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(runId)/restore",
            json: ["destination": ["type": "database", "user": "limited", "secret_name": "limited", "databases": ["app": "app_copy"]]]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String, "\(String(decoding: restore.body, as: UTF8.self))")
        let restored = try await waitFor(fixture, restoreRun)
        let restoreLog = try await log(fixture, restoreRun)
        #expect(restored["status"] as? String == "failed" && restored["error"] as? String == "restore_failed", "\(restored) \(restoreLog)")
    }

    /// A wrong password: `mariadb_auth_failed`, and nothing written to the target.
    @Test func wrongPasswordFailsWithNothingWritten() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w1")
        let server = try await makeServer(fixture, rows: 10)
        defer { server.stop() }
        try await saveSecret(fixture, "wrong", password: "not-the-password")
        let job = try await createJob(fixture, server, secret: "wrong")
        let (runId, _) = try await fixture.enqueue(job)
        let run = try await waitFor(fixture, runId)
        #expect(run["status"] as? String == "failed" && run["error"] as? String == "mariadb_auth_failed", "\(run)")
        let written = try await Child.shell("find '\(fixture.targetDir)' -type f 2>/dev/null | wc -l", logDir: fixture.scratch.path)
        #expect(written.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(written.output)")
        let messages = try await log(fixture, runId).joined(separator: "\n")
        #expect(!messages.contains("not-the-password"), "the password is never logged")
    }

    /// The server killed (SIGKILL) while the dump streams: the run fails with `dump_failed`, no snapshot is
    /// complete, and the worker goes on (a second job runs).
    @Test func serverKilledMidDumpFailsCleanly() async throws {
        let fixture = try await RunsFixture()
        let worker = try await fixture.startWorker("w1")
        let server = try await makeServer(fixture, rows: 400000)
        defer { server.stop() }
        try await saveSecret(fixture, "main", password: Self.password)
        let job = try await createJob(fixture, server, secret: "main")
        let (runId, _) = try await fixture.enqueue(job)
        #expect(
            await eventually(timeout: .seconds(60)) { (try? await log(fixture, runId))?.contains { $0.hasPrefix("Dumping database app") } == true }
        )
        server.kill9()
        let run = try await waitFor(fixture, runId)
        let messages = try await log(fixture, runId)
        #expect(run["status"] as? String == "failed" && run["error"] as? String == "dump_failed", "\(run) \(messages)")
        let complete = try await Child.shell("find '\(fixture.targetDir)' -name complete.json 2>/dev/null | wc -l", logDir: fixture.scratch.path)
        #expect(complete.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(worker.isRunning)
    }

    /// The same job on an agent: the password travels in the agent's task only; the agent dumps, verifies (with the
    /// scratch restore) and restores into a database.
    @Test func theSameJobRunsOnAnAgent() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let server = try await makeServer(fixture, rows: 2000)
        defer { server.stop() }
        let links = AgentLinkTests()
        _ = try links.startAgent(fixture, "a1", token: try await links.token(fixture))
        #expect(await eventually { await links.connected(fixture, "a1") })
        let agent = try #require(await links.agents(fixture)["a1"]?["id"] as? String)
        try await saveSecret(fixture, "main", password: Self.password)
        let job = try await createJob(fixture, server, secret: "main", extra: ["verify_scratch_restore": true], agent: agent)
        let backup = try await fixture.enqueue(job).id
        let run = try await waitFor(fixture, backup)
        let backupLog = try await log(fixture, backup)
        try #require(run["status"] as? String == "success" && run["node_id"] as? String == agent, "\(run) \(backupLog)")

        let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify").json?["run_id"] as? String)
        let verified = try await waitFor(fixture, verify)
        #expect(verified["status"] as? String == "success" && verified["node_id"] as? String == agent, "\(verified)")

        let destination: [String: Any] = [
            "type": "database", "host": "127.0.0.1", "port": server.port, "user": Self.user, "secret_name": "main",
            "databases": ["app": "app_from_agent"], "globals": false,
        ]
        let queued = try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/restore", json: ["destination": destination])
        let restoreId = try #require(queued.json?["run_id"] as? String, "\(String(decoding: queued.body, as: UTF8.self))")
        let restored = try await waitFor(fixture, restoreId)
        #expect(restored["status"] as? String == "success" && restored["node_id"] as? String == agent, "\(restored)")
        #expect(try await rows(server, "app_from_agent", upTo: Int64.max) == rows(server, "app", upTo: Int64.max))
    }
}
