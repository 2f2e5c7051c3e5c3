import Foundation
import Glibc

/// A real MariaDB server (Debian's `mariadbd`) that a test or benchmark starts for itself: `mariadb-install-db` into
/// `directory/data`, its own socket file and a private port on 127.0.0.1, run as the test's own process (a `Child`)
/// with `--user=root` and no option files read (`--no-defaults`), stopped by `stop()` or when the value goes away.
///
/// `root` connects over the socket without a password (unix_socket authentication); `createUser` makes a password
/// user for the jobs under test, which connect over TCP like a remote client would.
public final class MariaDBServer: @unchecked Sendable {
    public let directory: String
    public let port: Int
    public var socket: String { directory + "/mysqld.sock" }
    private let child: Child

    /// Installs a fresh data directory and starts the server; returns once it answers queries.
    /// `bufferPoolMiB` sizes InnoDB's buffer pool (small for tests, larger for the benchmark's 1 GiB database).
    public init(directory: String, bufferPoolMiB: Int = 64) async throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let install = try await Child.shell(
            "mariadb-install-db --no-defaults --datadir='\(directory)/data' --user=root --skip-test-db "
                + "--auth-root-authentication-method=socket > '\(directory)/install.log' 2>&1",
            logDir: directory
        )
        guard install.status == 0 else {
            throw MariaDBError("mariadb-install-db failed: \((try? String(contentsOfFile: directory + "/install.log", encoding: .utf8)) ?? "")")
        }
        port = freePort()
        child = try Child(
            "/usr/sbin/mariadbd",
            [
                "--no-defaults", "--datadir=\(directory)/data", "--user=root", "--socket=\(directory)/mysqld.sock",
                "--port=\(port)", "--bind-address=127.0.0.1", "--pid-file=\(directory)/mysqld.pid", "--skip-log-bin",
                "--innodb-buffer-pool-size=\(bufferPoolMiB)M", "--innodb-log-file-size=256M", "--max-allowed-packet=256M",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            ],
            name: "mariadbd",
            logDir: directory
        )
        let ready = await eventually(timeout: .seconds(60)) {
            guard child.isRunning else { return false }
            return (try? await Child.shell(client + " -e 'SELECT 1' > /dev/null 2>&1", logDir: directory).status) == 0
        }
        guard ready else {
            child.kill9()
            throw MariaDBError("mariadbd did not start: \(child.log)")
        }
    }

    deinit { stop() }

    /// The `mariadb` client as root over the socket (no option files read), for a shell command line.
    public var client: String { "/usr/bin/mariadb --no-defaults --socket='\(socket)' --user=root" }

    /// The server's process id (a test kills it mid-dump).
    public var pid: pid_t { child.pid }
    public var isRunning: Bool { child.isRunning }
    public var log: String { child.log }

    /// Runs SQL as root (batch mode, no column names, tab-separated); throws with the client's output on failure.
    @discardableResult
    public func sql(_ statements: String, database: String? = nil) async throws -> String {
        let file = directory + "/query-\(UUID().uuidString.prefix(8)).sql"
        try Data(statements.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try await Child.shell(
            client + " --batch --skip-column-names --default-character-set=utf8mb4 \(database.map { "'\($0)'" } ?? "") < '\(file)' 2>&1",
            logDir: directory,
            timeout: .seconds(3600)
        )
        guard result.status == 0 else { throw MariaDBError("mariadb failed (\(result.status)): \(result.output)") }
        return result.output
    }

    /// A user that may connect from anywhere with a password and has every privilege (what a backup user needs at
    /// most: SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, and for `--system=users` SELECT on `mysql`).
    public func createUser(_ name: String, password: String) async throws {
        let literal = "'" + password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        try await sql("CREATE USER '\(name)'@'%' IDENTIFIED BY \(literal); GRANT ALL ON *.* TO '\(name)'@'%' WITH GRANT OPTION;")
    }

    /// SIGTERM (a clean shutdown), then SIGKILL of its process group after 30 s.
    public func stop() {
        guard child.isRunning else { return }
        child.signal(SIGTERM)
        for _ in 0..<600 where child.isRunning { usleep(50_000) }
        child.kill9()
    }

    /// SIGKILL: the server goes away at once, as in a crash.
    public func kill9() { child.kill9() }
}

public struct MariaDBError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
