import Foundation
import GRDB
import TestClients
import Testing

/// `vaultwarden` jobs through the real binaries (docs/vaultwarden.md): a data directory made like Vaultwarden's, its
/// `db.sqlite3` in WAL mode written to by another process (a Python writer committing numbered transactions) during
/// the backup, restored into a new directory, by hand with tar, over an old database, verified; on an agent too.
@Suite(.serialized) struct VaultwardenTests {
    static let liveNames: Set<String> = ["db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-journal"]

    /// One writer transaction: a cipher numbered `seq`, its attachment row, and the user's revision set to `seq`.
    /// Committed in order 1, 2, 3, ..., so a database state that is one moment of the writer's history holds exactly
    /// ciphers 1...N, N attachment rows, and revision N.
    static let writerScript = """
        import os, sqlite3, sys
        db, stop, progress = sys.argv[1:4]
        con = sqlite3.connect(db, isolation_level=None, timeout=30)
        seq = con.execute("SELECT COALESCE(MAX(seq), 0) FROM ciphers").fetchone()[0]
        blob = os.urandom(3000)
        while not os.path.exists(stop):
            seq += 1
            cid = "cipher-%08d" % seq
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT INTO ciphers (uuid, user_uuid, atype, name, data, seq) VALUES (?, 'user-1', 1, ?, ?, ?)",
                        (cid, "chiffré %d ✓" % seq, blob, seq))
            con.execute("INSERT INTO attachments (id, cipher_uuid, file_name, file_size) VALUES (?, ?, ?, ?)",
                        ("att-%08d" % seq, cid, "f%d.bin" % seq, seq))
            con.execute("UPDATE users SET revision = ? WHERE uuid = 'user-1'", (seq,))
            con.execute("COMMIT")
            with open(progress + ".tmp", "w") as f:
                f.write(str(seq))
            os.replace(progress + ".tmp", progress)
        con.close()
        """

    /// A Vaultwarden-like data directory: `db.sqlite3` in WAL mode with Vaultwarden's main tables and 600 ciphers
    /// (about 500 pages: the copy takes several steps), attachments, sends, RSA keys, config.json, icon_cache.
    static func makeDataDirectory(at path: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        let queue = try DatabaseQueue(path: path + "/db.sqlite3")
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(
                sql: """
                    CREATE TABLE users (uuid TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, revision INTEGER NOT NULL);
                    CREATE TABLE organizations (uuid TEXT PRIMARY KEY, name TEXT NOT NULL);
                    CREATE TABLE folders (uuid TEXT PRIMARY KEY, user_uuid TEXT NOT NULL REFERENCES users (uuid), name TEXT NOT NULL);
                    CREATE TABLE ciphers (uuid TEXT PRIMARY KEY, user_uuid TEXT REFERENCES users (uuid), atype INTEGER NOT NULL,
                                          name TEXT NOT NULL, data BLOB NOT NULL, seq INTEGER NOT NULL UNIQUE);
                    CREATE TABLE attachments (id TEXT PRIMARY KEY, cipher_uuid TEXT NOT NULL REFERENCES ciphers (uuid),
                                              file_name TEXT NOT NULL, file_size INTEGER NOT NULL);
                    CREATE TABLE sends (uuid TEXT PRIMARY KEY, user_uuid TEXT REFERENCES users (uuid), atype INTEGER NOT NULL, data TEXT);
                    INSERT INTO users VALUES ('user-1', 'alice@example.org', 0);
                    INSERT INTO organizations VALUES ('org-1', 'Family');
                    INSERT INTO folders VALUES ('folder-1', 'user-1', 'Bank'), ('folder-2', 'user-1', 'Work');
                    INSERT INTO sends VALUES ('send-1', 'user-1', 1, 'file'), ('send-2', 'user-1', 0, 'text');
                    """
            )
            try db.inTransaction {
                for seq in 1...600 {
                    try db.execute(
                        sql: "INSERT INTO ciphers VALUES (?, 'user-1', 1, ?, randomblob(3000), ?)",
                        arguments: [Self.padded("cipher-", seq), "chiffré \(seq) ✓", seq]
                    )
                    try db.execute(
                        sql: "INSERT INTO attachments VALUES (?, ?, ?, ?)",
                        arguments: [Self.padded("att-", seq), Self.padded("cipher-", seq), "f\(seq).bin", seq]
                    )
                }
                try db.execute(sql: "UPDATE users SET revision = 600")
                return .commit
            }
        }
        try queue.close()
        func write(_ relative: String, _ bytes: Int) throws {
            let url = URL(fileURLWithPath: path + "/" + relative)
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            var data = Data(count: bytes)
            data.withUnsafeMutableBytes { for index in $0.indices { $0[index] = UInt8.random(in: 0...255) } }
            try data.write(to: url)
        }
        try write("attachments/cipher-00000007/att-00000007", 70_000)
        try write("attachments/cipher-00000008/att-00000008", 1)
        try write("attachments/cipher-00000008/att-00000009", 300_000)
        try write("sends/send-1/6a0bc1d9", 12_345)
        try write("icon_cache/example.org.png", 900)
        try write("icon_cache/bank.example.miss", 0)
        try Data("-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n".utf8).write(to: URL(fileURLWithPath: path + "/rsa_key.pem"))
        try Data("-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n".utf8).write(
            to: URL(fileURLWithPath: path + "/rsa_key.pub.pem")
        )
        try Data(#"{"domain": "https://vault.example.org", "signups_allowed": false}"#.utf8).write(
            to: URL(fileURLWithPath: path + "/config.json")
        )
        _ = chmod(path + "/rsa_key.pem", 0o600)
    }

    /// The regular files under `root` by relative path, with their bytes (minus `excluding` at the top level).
    static func files(under root: String, excluding: Set<String> = []) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let walk = try #require(FileManager.default.enumerator(atPath: root))
        while let relative = walk.nextObject() as? String {
            guard walk.fileAttributes?[.type] as? FileAttributeType == .typeRegular, !excluding.contains(relative) else { continue }
            result[relative] = try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative))
        }
        return result
    }

    /// The restored database: integrity, journal mode, and whether it is one moment of the writer's history.
    struct DatabaseState {
        var integrity: [String]
        var journalMode: String
        var seqs: [Int]
        var attachments: Int
        var orphanAttachments: Int
        var revision: Int
        var sends: Int

        init(_ path: String) throws {
            let queue = try DatabaseQueue(path: path)
            defer { try? queue.close() }
            (integrity, journalMode, seqs, attachments, orphanAttachments, revision, sends) = try queue.read { db in
                (
                    try String.fetchAll(db, sql: "PRAGMA integrity_check"),
                    try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                    try Int.fetchAll(db, sql: "SELECT seq FROM ciphers ORDER BY seq"),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM attachments") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM attachments WHERE cipher_uuid NOT IN (SELECT uuid FROM ciphers)") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT revision FROM users WHERE uuid = 'user-1'") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM sends") ?? -1
                )
            }
        }

        /// Ciphers exactly 1...N with their N attachments and revision N: the writer's state after its N-th commit.
        var isAPrefixOfTheWriter: Bool {
            seqs == Array(1...max(1, seqs.count)) && attachments == seqs.count && orphanAttachments == 0 && revision == seqs.count
        }
    }

    /// `prefix` and `seq` in 8 digits, as the writer names its rows.
    static func padded(_ prefix: String, _ seq: Int) -> String {
        let digits = String(seq)
        return prefix + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    static func committed(_ progress: String) -> Int {
        (try? String(contentsOfFile: progress, encoding: .utf8)).flatMap { Int($0) } ?? 0
    }

    func spec(_ dataDir: String, _ target: String) -> [String: Any] {
        ["v": 1, "type": "vaultwarden", "source": ["data_dir": dataDir], "target": ["type": "local_dir", "base_dir": target]]
    }

    func finish(_ fixture: RunsFixture, _ run: String, _ status: String = "success", timeout: Duration = .seconds(120)) async throws -> [String: Any]
    {
        let done = await eventually(timeout: timeout) { ["success", "failed", "canceled"].contains(await fixture.status(run) ?? "") }
        let log = try await fixture.events(run).map { "\($0["kind"] ?? ""): \($0["message"] ?? "")" }
        let result = try await fixture.run(run)
        #expect(done && result["status"] as? String == status, "\(result)\n\(log.joined(separator: "\n"))")
        return result
    }

    func restore(_ fixture: RunsFixture, _ backup: String, into directory: String, _ extra: [String: Any] = [:]) async throws -> [String: Any] {
        var body: [String: Any] = ["destination": ["type": "local_fs", "directory": directory]]
        body.merge(extra) { $1 }
        let started = try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/restore", json: body)
        let run = try #require(started.json?["run_id"] as? String, "\(started.status) \(String(decoding: started.body, as: UTF8.self))")
        return try await finish(fixture, run)
    }

    @Test func aLiveDataDirectoryBacksUpAtOneMomentOfItsWriterAndRestoresToWhatVaultwardenOpens() async throws {
        let fixture = try await RunsFixture()
        let dataDir = fixture.scratch.path + "/vw-data"
        try Self.makeDataDirectory(at: dataDir)
        try await fixture.startWorker("w0")
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "vault", "spec": spec(dataDir, fixture.targetDir)])
        let job = try #require(created.json?["id"] as? String, "\(created.status) \(String(decoding: created.body, as: UTF8.self))")

        // Another process commits numbered transactions for the whole backup.
        let script = fixture.scratch.path + "/writer.py"
        try Data(Self.writerScript.utf8).write(to: URL(fileURLWithPath: script))
        let stop = fixture.scratch.path + "/writer.stop"
        let progress = fixture.scratch.path + "/writer.progress"
        let writer = try Child("/usr/bin/python3", [script, dataDir + "/db.sqlite3", stop, progress], name: "writer", logDir: fixture.scratch.path)
        fixture.children.append(writer)
        let writing = await eventually(timeout: .seconds(30)) { Self.committed(progress) >= 650 }
        #expect(writing, "\(writer.log)")
        let before = Self.committed(progress)
        let backup = try await fixture.enqueue(job).id
        let run = try await finish(fixture, backup)
        let after = Self.committed(progress)
        // The live database was in use (its WAL beside it) while it was copied.
        #expect(FileManager.default.fileExists(atPath: dataDir + "/db.sqlite3-wal"))
        #expect(writer.isRunning, "\(writer.log)")
        try Data().write(to: URL(fileURLWithPath: stop))
        #expect(await writer.waitForExit(timeout: .seconds(30)) == 0, "\(writer.log)")
        #expect(after > before, "the writer committed during the backup: \(before) → \(after)")

        let summary = try #require(run["summary"] as? [String: Any])
        let vaultwarden = try #require(summary["vaultwarden"] as? [String: Any], "\(summary)")
        let rows = try #require(vaultwarden["rows"] as? [String: Any])
        #expect((vaultwarden["integrity_check"] as? [String: Any])?["ok"] as? Bool == true)
        #expect(vaultwarden["journal_mode"] as? String == "wal" && (vaultwarden["db_bytes"] as? Int ?? 0) > 1_000_000, "\(vaultwarden)")
        #expect(vaultwarden["attachment_files"] as? Int == 3 && vaultwarden["send_files"] as? Int == 1, "\(vaultwarden)")
        #expect(rows["users"] as? Int == 1 && rows["sends"] as? Int == 2 && rows["folders"] as? Int == 2, "\(rows)")
        #expect(vaultwarden["rsa_keys"] as? [String] == ["rsa_key.pem", "rsa_key.pub.pem"] && vaultwarden["config_json"] as? Bool == true)

        // The archive: the copy as db.sqlite3 first, then the data directory under its own names, none of the live files.
        let runDir = "\(fixture.targetDir)/\(job)/\(backup)"
        let listing = try Shell.run("cat '\(runDir)'/payload.part* | zstd -dc | tar -tf -", stderr: false).output.split(separator: "\n").map(
            String.init
        )
        #expect(listing.first == "db.sqlite3", "\(listing)")
        #expect(listing.filter { $0.hasPrefix("db.sqlite3") } == ["db.sqlite3"], "\(listing)")
        #expect(listing.contains("attachments/cipher-00000008/att-00000009") && listing.contains("icon_cache/example.org.png"), "\(listing)")
        let index = try Shell.run("zstd -dc '\(runDir)/entries.jsonl.zst'").output
        #expect(!index.contains("db.sqlite3-wal") && !index.contains("db.sqlite3-shm"))

        // Restore into a new directory: a database Vaultwarden opens, at one moment of the writer, every other file the same.
        let out = fixture.scratch.path + "/restored"
        _ = try await restore(fixture, backup, into: out)
        let restored = try DatabaseState(out + "/db.sqlite3")
        #expect(restored.integrity == ["ok"])
        #expect(restored.journalMode == "wal", "Vaultwarden's database stays in WAL mode")
        #expect(
            restored.isAPrefixOfTheWriter,
            "ciphers \(restored.seqs.first ?? 0)...\(restored.seqs.last ?? 0) (\(restored.seqs.count)), attachments \(restored.attachments), revision \(restored.revision)"
        )
        #expect(restored.seqs.count >= before && restored.seqs.count <= after, "\(before) ≤ \(restored.seqs.count) ≤ \(after)")
        #expect(restored.sends == 2)
        print("FIGURES before=\(before) restored=\(restored.seqs.count) after=\(after)")
        #expect(rows["ciphers"] as? Int == restored.seqs.count, "the summary counted the copy: \(rows)")
        let source = try Self.files(under: dataDir, excluding: Self.liveNames)
        let back = try Self.files(under: out, excluding: ["db.sqlite3"])
        #expect(source.keys.sorted() == back.keys.sorted())
        #expect(source == back, "every file of the data directory byte for byte")
        #expect(source.count == 9, "\(source.keys.sorted())")
        #expect(!FileManager.default.fileExists(atPath: out + "/db.sqlite3-wal") && !FileManager.default.fileExists(atPath: out + "/db.sqlite3-shm"))
        let keyMode = try FileManager.default.attributesOfItem(atPath: out + "/rsa_key.pem")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)

        // By hand, as docs/vaultwarden.md says: the same tree.
        let manual = fixture.scratch.path + "/manual"
        try FileManager.default.createDirectory(atPath: manual, withIntermediateDirectories: true)
        let extracted = try Shell.run("cat '\(runDir)'/payload.part* | zstd -dc | tar -xf - -C '\(manual)'")
        #expect(extracted.status == 0, "\(extracted.output)")
        #expect(try Self.files(under: manual) == (try Self.files(under: out)))

        // Over an old data directory: the stale WAL and shm of the database it replaces are removed, not replayed.
        let over = fixture.scratch.path + "/over"
        try FileManager.default.createDirectory(atPath: over, withIntermediateDirectories: true)
        for (name, size) in [("db.sqlite3", 8192), ("db.sqlite3-wal", 33_000), ("db.sqlite3-shm", 32_768)] {
            try Data(repeating: 0x5a, count: size).write(to: URL(fileURLWithPath: over + "/" + name))
        }
        _ = try await restore(fixture, backup, into: over, ["conflict_policy": "overwrite", "selection": ["files": ["db.sqlite3"]]])
        #expect(
            !FileManager.default.fileExists(atPath: over + "/db.sqlite3-wal") && !FileManager.default.fileExists(atPath: over + "/db.sqlite3-shm")
        )
        let replaced = try DatabaseState(over + "/db.sqlite3")
        #expect(replaced.integrity == ["ok"] && replaced.seqs == restored.seqs)

        // Verify: every file, and integrity_check of the snapshot's db.sqlite3.
        let verify = try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify", json: [:])
        let verified = try await finish(fixture, try #require(verify.json?["run_id"] as? String))
        let verifySummary = try #require(verified["summary"] as? [String: Any])
        #expect(verifySummary["ok"] as? Bool == true && verifySummary["sqlite_ok"] as? Bool == true, "\(verifySummary)")
        #expect((verifySummary["sqlite"] as? [String: Any])?["name"] as? String == "db.sqlite3")
    }

    @Test func aMissingDataDirectoryOrDatabaseFailsClearly() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let empty = fixture.scratch.path + "/empty"
        try FileManager.default.createDirectory(atPath: empty + "/attachments", withIntermediateDirectories: true)
        for (dataDir, code, words) in [
            (fixture.scratch.path + "/nowhere", "source_not_found", "does not exist"),
            (empty, "vaultwarden_db_missing", "has no db.sqlite3"),
        ] {
            let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": code, "spec": spec(dataDir, fixture.targetDir)])
            let job = try #require(created.json?["id"] as? String, "\(created.status)")
            let backup = try await fixture.enqueue(job).id
            let run = try await finish(fixture, backup, "failed")
            #expect(run["error"] as? String == code, "\(run)")
            let failed = try await fixture.events(backup).last(where: { $0["kind"] as? String == "failed" })
            let message = failed?["message"] as? String ?? ""
            #expect(message.contains(dataDir) && message.contains(words), "\(message)")
            #expect(!FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(backup)/complete.json"))
        }
        // A spec the API refuses, by field.
        let relative = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "r", "spec": spec("vw-data", fixture.targetDir)])
        #expect(relative.status == 400 && relative.json?["error"] as? String == "invalid_spec", "\(relative.status)")
        var misspelt = spec("/srv/vw", fixture.targetDir)
        misspelt["source"] = ["data_dir": "/srv/vw", "consistency_polcy": "fail"]
        let unknown = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "u", "spec": misspelt])
        #expect(unknown.status == 400 && unknown.json?["error"] as? String == "unknown_field", "\(unknown.status)")
    }

    @Test func anAgentRunsTheSameBackup() async throws {
        let fixture = try await RunsFixture()
        let links = AgentLinkTests()
        _ = try links.startAgent(fixture, "a1", token: try await links.token(fixture))
        #expect(await eventually { await links.connected(fixture, "a1") })
        let agent = try #require(await links.agents(fixture)["a1"]?["id"] as? String)
        let dataDir = fixture.scratch.path + "/vw-agent"
        try Self.makeDataDirectory(at: dataDir)
        let target = fixture.scratch.path + "/target-a1"
        let created = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: ["name": "vault-a1", "agent_id": agent, "spec": spec(dataDir, target)]
        )
        let job = try #require(created.json?["id"] as? String, "\(created.status) \(String(decoding: created.body, as: UTF8.self))")
        let backup = try await fixture.enqueue(job).id
        let run = try await finish(fixture, backup)
        #expect(run["node_id"] as? String == agent)
        let vaultwarden = try #require((run["summary"] as? [String: Any])?["vaultwarden"] as? [String: Any])
        #expect((vaultwarden["rows"] as? [String: Any])?["ciphers"] as? Int == 600, "\(vaultwarden)")
        let out = fixture.scratch.path + "/restored-a1"
        let restored = try await restore(fixture, backup, into: out)
        #expect(restored["node_id"] as? String == agent)
        let state = try DatabaseState(out + "/db.sqlite3")
        #expect(state.integrity == ["ok"] && state.seqs.count == 600 && state.isAPrefixOfTheWriter)
        #expect(try Self.files(under: dataDir, excluding: Self.liveNames) == (try Self.files(under: out, excluding: ["db.sqlite3"])))
    }
}
