import Foundation
import TestClients
import Testing

/// PostgreSQL jobs against real servers the tests start (docs/databases.md): Debian's `postgresql`, each server in a
/// directory of its own on a private port (`PostgresServer`), driven through the real API, worker and agent.
@Suite(.serialized, .enabled(if: PostgresServer.isAvailable)) struct PostgresJobTests {
    static let password = "pg-secret-Ω-\(UUID().uuidString.prefix(6))"

    /// The schema of `app`: tables, a sequence, a view, a function, a procedure that writes one row per transaction,
    /// bytea and non-ASCII text, owned by a role of its own (`app_owner`), so the globals matter on another server.
    static let schema = """
        CREATE ROLE app_owner LOGIN PASSWORD 'owner-pw';
        CREATE ROLE backup LOGIN SUPERUSER PASSWORD '\(password)';
        CREATE DATABASE app OWNER app_owner;
        \\c app
        SET ROLE app_owner;
        CREATE SEQUENCE ticket_seq START 1000;
        CREATE TABLE items (
            id bigserial PRIMARY KEY, name text NOT NULL, payload bytea, ticket bigint NOT NULL DEFAULT nextval('ticket_seq'));
        CREATE TABLE notes (id bigserial PRIMARY KEY, item_id bigint NOT NULL REFERENCES items(id), body text NOT NULL);
        CREATE VIEW item_names AS SELECT id, upper(name) AS name FROM items;
        CREATE FUNCTION item_total() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM items $$;
        CREATE PROCEDURE live_writer(n int) LANGUAGE plpgsql AS $$
        DECLARE new_id bigint;
        BEGIN
            FOR i IN 1..n LOOP
                INSERT INTO items (name, payload) VALUES ('live ✓ ' || i, decode(md5(i::text), 'hex')) RETURNING id INTO new_id;
                INSERT INTO notes (item_id, body) VALUES (new_id, 'note für ' || i);
                COMMIT;
                PERFORM pg_sleep(0.002);
            END LOOP;
        END $$;
        INSERT INTO items (name, payload)
            SELECT 'zürich 名前 ' || g, decode(repeat(md5(g::text), 16) || '00ff00', 'hex') FROM generate_series(1, 40000) g;
        INSERT INTO notes (item_id, body) SELECT id, 'première ' || id FROM items;
        """

    func createJob(_ fixture: RunsFixture, _ server: PostgresServer, agent: String? = nil, secret: String = "pg-main") async throws -> String {
        var body: [String: Any] = [
            "name": "pg-\(UUID().uuidString.prefix(4))",
            "spec": [
                "v": 1, "type": "postgres",
                "source": [
                    "host": "127.0.0.1", "port": server.port, "user": "backup", "secret_name": secret, "databases": ["app"], "globals": true,
                ],
                "target": ["type": "local_dir", "base_dir": fixture.targetDir],
            ],
        ]
        if let agent { body["agent_id"] = agent }
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: body)
        return try #require(created.json?["id"] as? String, "\(created.status) \(String(decoding: created.body, as: UTF8.self))")
    }

    func saveSecret(_ fixture: RunsFixture, _ name: String, _ password: String) async throws {
        let saved = try await HTTP.send("PUT", fixture.base + "/api/secrets/postgres/\(name)", json: ["password": password])
        #expect(saved.status == 200, "\(String(decoding: saved.body, as: UTF8.self))")
    }

    func waitFor(_ fixture: RunsFixture, _ run: String, timeout: Duration = .seconds(240)) async throws -> [String: Any] {
        _ = await eventually(timeout: timeout) { ["success", "failed", "canceled"].contains(await fixture.status(run) ?? "") }
        return try await fixture.run(run)
    }

    func log(_ fixture: RunsFixture, _ run: String) async -> [String] {
        ((try? await fixture.events(run)) ?? []).compactMap { $0["message"] as? String }
    }

    func restoreIntoDatabase(_ fixture: RunsFixture, _ backup: String, _ destination: [String: Any]) async throws -> [String: Any] {
        let queued = try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/restore", json: ["destination": destination])
        let run = try #require(queued.json?["run_id"] as? String, "\(queued.status) \(String(decoding: queued.body, as: UTF8.self))")
        return try await waitFor(fixture, run)
    }

    /// One text per table: every row, every column, in id order (bytea as hex), so two databases compare exactly.
    static func rows(_ server: PostgresServer, _ database: String, upTo id: Int? = nil) throws -> String {
        let bound = id.map { "WHERE id <= \($0)" } ?? ""
        let itemBound = id.map { "WHERE item_id <= \($0)" } ?? ""
        return try server.psql(
            """
            SELECT md5(string_agg(format('%s|%s|%s|%s', id, name, encode(payload, 'hex'), ticket), E'\\n' ORDER BY id)), count(*)
                FROM items \(bound);
            SELECT md5(string_agg(format('%s|%s|%s', id, item_id, body), E'\\n' ORDER BY id)), count(*) FROM notes \(itemBound);
            """,
            database: database
        )
    }

    /// The backup reads `app` while a procedure commits a row into `items` and its `notes` row every few milliseconds.
    /// pg_dump reads every table in one transaction (one snapshot): the dump must hold exactly the rows committed
    /// before that snapshot. The writer commits one transaction at a time, ids in commit order, so the rows a snapshot
    /// sees are those with `id <= K` for some K, in both tables together. So: the restored database's largest id is
    /// K; the source's rows with `id <= K` (and their notes) are the copy at the dump's snapshot point, compared with
    /// the restored rows column by column; K lies strictly between the counts before and after the backup (the writer
    /// was writing while the dump ran), and every restored item has its note (the tables are from one snapshot, not
    /// two moments).
    @Test func aDatabaseWrittenDuringItsBackupRestoresAsOfTheDumpsSnapshotAndVerifies() async throws {
        let fixture = try await RunsFixture()
        let server = try await PostgresServer(directory: fixture.scratch.path + "/pg1")
        defer { Task { await server.stop() } }
        try server.psql(Self.schema)
        try await fixture.startWorker("w0", ["--dump-chunk-mib", "1"])
        try await saveSecret(fixture, "pg-main", Self.password)
        let job = try await createJob(fixture, server)

        let writer = try Child(
            "\(server.bin)/psql",
            ["-X", "-q", "-h", server.socketDirectory, "-p", "\(server.port)", "-U", "app_owner", "-d", "app", "-c", "CALL live_writer(1000000)"],
            name: "pg-writer",
            logDir: fixture.scratch.path
        )
        defer { writer.kill9() }
        let base = 40000
        #expect(await eventually { (Int((try? server.psql("SELECT max(id) FROM items", database: "app")) ?? "") ?? 0) > base + 20 })
        let before = Int(try server.psql("SELECT max(id) FROM items", database: "app"))!
        let backup = try await fixture.enqueue(job).id
        let run = try await waitFor(fixture, backup)
        let after = Int(try server.psql("SELECT max(id) FROM items", database: "app"))!
        let log1 = await log(fixture, backup)
        #expect(run["status"] as? String == "success", "\(run) \(log1)")
        #expect(writer.isRunning, "the writer was still writing after the backup")

        // What is stored: members of at most 1 MiB in the order of the dump, the server version, restore commands.
        let runDir = "\(fixture.targetDir)/\(job)/\(backup)"
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: runDir + "/manifest.json"))) as? [String: Any]
        )
        let database = try #require(manifest["database"] as? [String: Any])
        let dumps = try #require(database["dumps"] as? [[String: Any]])
        let app = try #require(dumps.first { $0["database"] as? String == "app" })
        let members = try #require(app["members"] as? [String])
        #expect(members.count > 1 && members.first == "postgres/app.dump.000001", "\(members)")
        #expect(dumps.contains { $0["kind"] as? String == "globals" && ($0["members"] as? [String]) == ["postgres/globals.sql"] })
        #expect((database["server_version"] as? String)?.hasPrefix("15") == true, "\(database)")
        let commands = try #require(database["restore_commands"] as? [String])
        #expect(commands.contains { $0.contains("pg_restore") && $0.contains("app.dump.000001") }, "\(commands)")
        // The password is nowhere in what Bastion wrote or logged.
        let everything = try String(contentsOfFile: runDir + "/manifest.json", encoding: .utf8) + "\(await log(fixture, backup))" + "\(run)"
        #expect(!everything.contains(Self.password))

        // GNU tar extracts the members and pg_restore reads them joined, as the manifest's commands say (`--list` reads
        // only the table of contents and may exit while cat still writes: cat's broken pipe is not the test's concern).
        let extracted = fixture.scratch.path + "/extracted"
        let tar = try Shell.run(
            "mkdir -p '\(extracted)' && cat '\(runDir)'/payload.part* | zstd -dq | tar -x -C '\(extracted)' && "
                + "cat '\(extracted)'/postgres/app.dump.0* 2>/dev/null | \(server.bin)/pg_restore --list | grep -c 'TABLE DATA'"
        )
        #expect(tar.status == 0 && tar.trimmed == "2", "\(tar.output)")

        // Restored into a new database on the same server: exactly the rows of the dump's snapshot point.
        let restored = try await restoreIntoDatabase(
            fixture,
            backup,
            [
                "type": "database", "host": "127.0.0.1", "port": server.port, "user": "backup", "secret_name": "pg-main",
                "databases": ["app": "app_copy"],
            ]
        )
        let log2 = await log(fixture, restored["id"] as? String ?? "")
        #expect(restored["status"] as? String == "success", "\(restored) \(log2)")
        let k = Int(try server.psql("SELECT max(id) FROM items", database: "app_copy"))!
        #expect(k > before && k < after, "the snapshot point \(k) is between \(before) and \(after)")
        #expect(try Self.rows(server, "app_copy") == Self.rows(server, "app", upTo: k))
        #expect(
            try server.psql("SELECT count(*) FROM items i WHERE NOT EXISTS (SELECT 1 FROM notes n WHERE n.item_id = i.id)", database: "app_copy")
                == "0"
        )
        // The view, the function, the sequence and the owner came along.
        #expect(try server.psql("SELECT name FROM item_names WHERE id = 1", database: "app_copy") == "ZÜRICH 名前 1")
        #expect(try server.psql("SELECT item_total()", database: "app_copy") == "\(k)")
        #expect(try Int(server.psql("SELECT last_value FROM ticket_seq", database: "app_copy"))! >= 1000 + k - 1)
        #expect(try server.psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app_copy'") == "backup")
        #expect(try server.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'items'", database: "app_copy") == "app_owner")

        // The same name again is refused: nothing is dropped unless asked.
        let again = try await restoreIntoDatabase(
            fixture,
            backup,
            [
                "type": "database", "host": "127.0.0.1", "port": server.port, "user": "backup", "secret_name": "pg-main",
                "databases": ["app": "app_copy"],
            ]
        )
        #expect(again["status"] as? String == "failed" && again["error"] as? String == "database_exists", "\(again)")
        #expect(try server.psql("SELECT max(id) FROM items", database: "app_copy") == "\(k)")

        // Verify reads every member and pg_restore --list reads the joined dump.
        let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify").json?["run_id"] as? String)
        let verified = try await waitFor(fixture, verify)
        let log3 = await log(fixture, verify)
        #expect(verified["status"] as? String == "success", "\(verified) \(log3)")
        let checks = ((verified["summary"] as? [String: Any])?["database"] as? [String: Any])?["dumps"] as? [[String: Any]]
        #expect(checks?.count == 1 && checks?.first?["ok"] as? Bool == true, "\(String(describing: checks))")

        // Roles from the globals restore too: into a second server that has only `backup`.
        let second = try await PostgresServer(directory: fixture.scratch.path + "/pg2")
        defer { Task { await second.stop() } }
        try second.psql("CREATE ROLE backup LOGIN SUPERUSER PASSWORD '\(Self.password)'")
        let moved = try await restoreIntoDatabase(
            fixture,
            backup,
            [
                "type": "database", "host": "127.0.0.1", "port": second.port, "user": "backup", "secret_name": "pg-main", "databases": ["app": "app"],
                "globals": true,
            ]
        )
        let log4 = await log(fixture, moved["id"] as? String ?? "")
        #expect(moved["status"] as? String == "success", "\(moved) \(log4)")
        #expect(try second.psql("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_owner'") == "t")
        #expect(try second.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'items'", database: "app") == "app_owner")
        #expect(try Self.rows(second, "app") == Self.rows(server, "app", upTo: k))

        // A byte changed in a stored part: verify fails.
        let part = runDir + "/payload.part000001"
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: part))
        try handle.seek(toOffset: 4000)
        let byte = try handle.read(upToCount: 1)!
        try handle.seek(toOffset: 4000)
        try handle.write(contentsOf: Data([byte[0] ^ 0xff]))
        try handle.close()
        let verifyBad = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify").json?["run_id"] as? String)
        let failedVerify = try await waitFor(fixture, verifyBad)
        #expect(failedVerify["status"] as? String == "failed" && failedVerify["error"] as? String == "verify_failed", "\(failedVerify)")
    }

    /// A wrong password is `postgres_auth_failed` before anything is written; a cancel stops a pg_dump blocked on a
    /// table's lock; a server that goes away while pg_dump waits for the lock fails the run with `dump_failed`, and its
    /// snapshot is never complete.
    @Test func aWrongPasswordWritesNothingAndAServerGoneMidDumpFailsCleanly() async throws {
        let fixture = try await RunsFixture()
        let server = try await PostgresServer(directory: fixture.scratch.path + "/pg")
        defer { Task { await server.stop() } }
        try server.psql(Self.schema)
        try await fixture.startWorker("w0")
        try await saveSecret(fixture, "wrong", "not-the-password")
        let wrongJob = try await createJob(fixture, server, secret: "wrong")
        let wrong = try await waitFor(fixture, try await fixture.enqueue(wrongJob).id)
        #expect(wrong["status"] as? String == "failed" && wrong["error"] as? String == "postgres_auth_failed", "\(wrong)")
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(wrongJob)"), "nothing written to the target")

        // A session holds an exclusive lock on items: pg_dump, connected and mid-way, waits for it.
        try await saveSecret(fixture, "pg-main", Self.password)
        let job = try await createJob(fixture, server)
        let locker = try Child(
            "\(server.bin)/psql",
            [
                "-X", "-q", "-h", server.socketDirectory, "-p", "\(server.port)", "-U", "postgres", "-d", "app", "-c",
                "BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600);",
            ],
            name: "pg-locker",
            logDir: fixture.scratch.path
        )
        defer { locker.kill9() }
        #expect(await eventually { (try? server.psql("SELECT count(*) FROM pg_locks WHERE relation = 'items'::regclass", database: "app")) == "1" })
        // A cancel stops a pg_dump that is blocked: the run ends canceled, not when the lock is released.
        let canceled = try await fixture.enqueue(job).id
        let blocked = await eventually(timeout: .seconds(60)) {
            (try? server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bastion' AND wait_event_type = 'Lock'")) == "1"
        }
        #expect(blocked)
        _ = try await HTTP.send("POST", fixture.base + "/api/runs/\(canceled)/cancel")
        let stopped = try await waitFor(fixture, canceled, timeout: .seconds(60))
        #expect(stopped["status"] as? String == "canceled", "\(stopped)")
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(canceled)/complete.json"))

        // The killed pg_dump's server process still waits for the lock (until it is granted or the server stops): the
        // next run's pg_dump is the second one waiting.
        let backup = try await fixture.enqueue(job).id
        let waiting = await eventually(timeout: .seconds(60)) {
            (try? server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bastion' AND wait_event_type = 'Lock'")) == "2"
        }
        let log5 = await log(fixture, backup)
        #expect(waiting, "pg_dump is waiting for the lock: \(log5)")
        await server.stop(immediate: true)
        let run = try await waitFor(fixture, backup)
        let log6 = await log(fixture, backup)
        #expect(run["status"] as? String == "failed" && run["error"] as? String == "dump_failed", "\(run) \(log6)")
        let runDir = "\(fixture.targetDir)/\(job)/\(backup)"
        #expect(!FileManager.default.fileExists(atPath: runDir + "/complete.json"))
        #expect(!FileManager.default.fileExists(atPath: runDir + "/manifest.json"))
        #expect(await log(fixture, backup).contains { $0.contains("pg_dump app") }, "pg_dump's stderr is in the run's log")
    }

    /// The globals restored into a server where some roles exist (the job's own server, the default): the missing
    /// roles are created with their attributes and passwords, the existing ones are left as they are (a password
    /// rotated since the backup stays, so does an attribute).
    @Test func restoredGlobalsLeaveExistingRolesAsTheyAre() async throws {
        let fixture = try await RunsFixture()
        let server = try await PostgresServer(directory: fixture.scratch.path + "/pg")
        defer { Task { await server.stop() } }
        try server.psql(Self.schema)
        try server.psql("CREATE ROLE extra_role LOGIN PASSWORD 'extra-pw' CONNECTION LIMIT 4;")
        try await fixture.startWorker("w0")
        try await saveSecret(fixture, "pg-main", Self.password)
        let job = try await createJob(fixture, server)
        let backup = try await fixture.enqueue(job).id
        try #require(try await waitFor(fixture, backup)["status"] as? String == "success")
        let extra = try server.psql("SELECT rolpassword || ' ' || rolconnlimit FROM pg_authid WHERE rolname = 'extra_role'")
        try server.psql("DROP ROLE extra_role; ALTER ROLE app_owner PASSWORD 'rotated' CONNECTION LIMIT 9;")
        let owner = try server.psql("SELECT rolpassword || ' ' || rolconnlimit FROM pg_authid WHERE rolname = 'app_owner'")

        let restored = try await restoreIntoDatabase(fixture, backup, ["type": "database", "databases": ["app": "app_g"], "globals": true])
        let restoreLog = await log(fixture, restored["id"] as? String ?? "")
        #expect(restored["status"] as? String == "success", "\(restored) \(restoreLog)")
        #expect(try server.psql("SELECT rolpassword || ' ' || rolconnlimit FROM pg_authid WHERE rolname = 'app_owner'") == owner)
        #expect(try server.psql("SELECT rolpassword || ' ' || rolconnlimit FROM pg_authid WHERE rolname = 'extra_role'") == extra)
    }

    /// A restore into a database whose tool is blocked (psql restoring the globals creates a role another session
    /// is creating, uncommitted, and waits for it): a cancel stops the tool and the run ends canceled, not when the
    /// lock is released.
    @Test func aCancelStopsARestoreBlockedOnALock() async throws {
        let fixture = try await RunsFixture()
        let server = try await PostgresServer(directory: fixture.scratch.path + "/pg")
        defer { Task { await server.stop() } }
        try server.psql(Self.schema)
        try server.psql("CREATE ROLE blocker_role LOGIN;")
        try await fixture.startWorker("w0")
        try await saveSecret(fixture, "pg-main", Self.password)
        let job = try await createJob(fixture, server)
        let backup = try await fixture.enqueue(job).id
        try #require(try await waitFor(fixture, backup)["status"] as? String == "success")
        try server.psql("DROP ROLE blocker_role;")

        let locker = try Child(
            "\(server.bin)/psql",
            [
                "-X", "-q", "-h", server.socketDirectory, "-p", "\(server.port)", "-U", "postgres", "-d", "postgres", "-c",
                "BEGIN; CREATE ROLE blocker_role; SELECT pg_sleep(600);",
            ],
            name: "pg-locker",
            logDir: fixture.scratch.path
        )
        defer { locker.kill9() }
        #expect(
            await eventually {
                (try? server.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()")) == "1"
            }
        )
        let queued = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(backup)/restore",
            json: ["destination": ["type": "database", "databases": ["app": "app_blocked"], "globals": true]]
        )
        let restore = try #require(queued.json?["run_id"] as? String, "\(String(decoding: queued.body, as: UTF8.self))")
        let blocked = await eventually(timeout: .seconds(60)) {
            (try? server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bastion' AND wait_event_type = 'Lock'")) == "1"
        }
        let restoreLog = await log(fixture, restore)
        #expect(blocked, "\(restoreLog)")
        _ = try await HTTP.send("POST", fixture.base + "/api/runs/\(restore)/cancel")
        let stopped = try await waitFor(fixture, restore, timeout: .seconds(60))
        let stoppedLog = await log(fixture, restore)
        #expect(stopped["status"] as? String == "canceled", "\(stopped) \(stoppedLog)")
    }

    /// The same job on an agent: the password travels in the agent's task only; the agent dumps, verifies and
    /// restores into a database.
    @Test func theSameJobRunsOnAnAgent() async throws {
        let fixture = try await RunsFixture()
        let server = try await PostgresServer(directory: fixture.scratch.path + "/pg")
        defer { Task { await server.stop() } }
        try server.psql(Self.schema)
        try await fixture.startWorker("w0")
        let links = AgentLinkTests()
        _ = try links.startAgent(fixture, "a1", token: try await links.token(fixture))
        #expect(await eventually { await links.connected(fixture, "a1") })
        let agent = try #require(await links.agents(fixture)["a1"]?["id"] as? String)
        try await saveSecret(fixture, "pg-main", Self.password)
        let job = try await createJob(fixture, server, agent: agent)
        let backup = try await fixture.enqueue(job).id
        let run = try await waitFor(fixture, backup)
        let log7 = await log(fixture, backup)
        #expect(run["status"] as? String == "success" && run["node_id"] as? String == agent, "\(run) \(log7)")
        let restored = try await restoreIntoDatabase(
            fixture,
            backup,
            ["type": "database", "databases": ["app": "app_from_agent"]]
        )
        #expect(restored["status"] as? String == "success" && restored["node_id"] as? String == agent, "\(restored)")
        #expect(try Self.rows(server, "app_from_agent") == Self.rows(server, "app"))
    }
}
