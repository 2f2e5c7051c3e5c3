import Core
import Foundation
import Synchronization
import TestClients
import Testing

@testable import Runs

/// A dump restored into a database is input from outside (docs/databases.md, "Security"): the SQL in it reaches the
/// server, but no client command in it (`\!` runs a shell in both `psql` and `mariadb`) runs on the host restoring.
@Suite(.serialized) struct DatabaseRestoreInputTests {
    final class Events: RunEvents {
        let all = Mutex<[String]>([])
        func emit(_ event: NewRunEvent) { all.withLock { $0.append(event.message) } }
    }

    @Test func aMariaDBDumpCannotRunAShellCommandWhereItIsRestored() async throws {
        let scratch = Scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        let server = try await MariaDBServer(directory: scratch.path + "/mariadb")
        defer { server.stop() }
        let marker = scratch.path + "/shell-ran"
        let file = scratch.path + "/app.sql"
        try Data(
            """
            CREATE TABLE t (id INT PRIMARY KEY);
            \\! touch \(marker)
            INSERT INTO t VALUES (1);
            system touch \(marker)
            INSERT INTO t VALUES (2);

            """.utf8
        ).write(to: URL(fileURLWithPath: file))
        var source = DatabaseSource(engine: .mariadb)
        source.host = server.socket
        source.user = "root"
        let work = scratch.path + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let dump = DumpRecord(kind: .database, database: "app", archivePath: "mariadb/app.sql", members: [], size: 0, format: "sql")
        // The restore fails at the client command (it is refused) or goes on without it: either way no shell ran.
        try? MariaDBEngine().restore(
            dump,
            file: file,
            into: "copy",
            connection: DatabaseConnection(source: source, password: nil, workDirectory: work),
            dropExisting: false,
            events: Events()
        )
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test(.enabled(if: PostgresServer.isAvailable)) func aPostgresGlobalsFileCannotRunAShellCommandWhereItIsRestored() async throws {
        let scratch = Scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        let server = try await PostgresServer(directory: scratch.path + "/pg")
        let marker = scratch.path + "/shell-ran"
        let file = scratch.path + "/globals.sql"
        try Data(
            """
            CREATE ROLE before_shell;
            \\! touch \(marker)
            SELECT 1; \\! touch \(marker)
            \\unrestrict x
            \\! touch \(marker)
            CREATE ROLE after_shell;

            """.utf8
        ).write(to: URL(fileURLWithPath: file))
        var source = DatabaseSource(engine: .postgres)
        source.host = server.socketDirectory
        source.port = server.port
        source.user = "postgres"
        let work = scratch.path + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let dump = DumpRecord(kind: .globals, database: nil, archivePath: "postgres/globals.sql", members: [], size: 0, format: "sql")
        try? PostgresEngine().restore(
            dump,
            file: file,
            into: nil,
            connection: DatabaseConnection(source: source, password: nil, workDirectory: work),
            dropExisting: false,
            events: Events()
        )
        #expect(!FileManager.default.fileExists(atPath: marker))
        // The SQL around it still ran (roles that exist already are reported and skipped, as before).
        #expect(try server.psql("SELECT count(*) FROM pg_roles WHERE rolname IN ('before_shell', 'after_shell')") == "2")
        await server.stop()
    }
}
