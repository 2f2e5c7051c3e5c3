import Foundation
import Glibc

/// A PostgreSQL server of the test's own (Debian's `postgresql`): `initdb` into a directory of its own, `postgres` as
/// the `postgres` user (it refuses root) listening on 127.0.0.1 on a free port and on a socket in its directory,
/// stopped when `stop` is called or the value is released. Password logins over TCP (scram-sha-256); trust over the
/// socket, which only the test uses (`psql`) to set things up and compare. The `maria` harness mirrors it.
public final class PostgresServer: @unchecked Sendable {
    public let directory: String
    public let port: Int
    public var socketDirectory: String { directory + "/sock" }
    public let bin: String
    private var child: Child?
    public let logDir: String

    /// The newest `/usr/lib/postgresql/*/bin`.
    public static var binDirectory: String? {
        let base = "/usr/lib/postgresql"
        return ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init).max().map { "\(base)/\($0)/bin" }
    }

    public static var isAvailable: Bool { binDirectory != nil && getpwnam("postgres") != nil }

    /// `directory` must not exist yet; it is created and given to the `postgres` user.
    public init(directory: String, port: Int = freePort()) async throws {
        guard let bin = Self.binDirectory, let account = getpwnam("postgres") else { throw Failure(message: "PostgreSQL is not installed") }
        self.directory = directory
        self.port = port
        self.bin = bin
        logDir = directory + "/log"
        for path in [directory, directory + "/sock", logDir] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            chown(path, account.pointee.pw_uid, account.pointee.pw_gid)
            chmod(path, 0o755)
        }
        // Every directory above it must be enterable by postgres.
        var parent = (directory as NSString).deletingLastPathComponent
        while parent != "/" && !parent.isEmpty {
            var info = stat()
            if stat(parent, &info) == 0, info.st_mode & 0o001 == 0 { chmod(parent, info.st_mode & 0o7777 | 0o011) }
            parent = (parent as NSString).deletingLastPathComponent
        }
        let initdb = try Shell.run(
            "\(Self.asPostgres) \(bin)/initdb -D '\(directory)/data' -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256"
        )
        guard initdb.status == 0 else { throw Failure(message: "initdb failed: \(initdb.output)") }
        try await start()
    }

    /// `setpriv` runs the program as postgres in place (no process in between): signals reach `postgres` itself.
    static let asPostgres = "/usr/bin/setpriv --reuid=postgres --regid=postgres --init-groups --"

    public func start() async throws {
        let child = try Child(
            "/usr/bin/setpriv",
            [
                "--reuid=postgres", "--regid=postgres", "--init-groups", "--", "\(bin)/postgres", "-D", "\(directory)/data", "-p", "\(port)",
                "-k", socketDirectory, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=40",
            ],
            name: "postgres",
            logDir: logDir
        )
        self.child = child
        let ready = await eventually(timeout: .seconds(60)) {
            (try? Shell.run("\(bin)/pg_isready -q -h '\(socketDirectory)' -p \(port)").status) == 0
        }
        guard ready else { throw Failure(message: "postgres did not start: \(child.log)") }
    }

    /// Stops the server: `fast` (SIGINT, connections closed) or immediately (SIGQUIT, as a crash).
    public func stop(immediate: Bool = false) async {
        guard let child else { return }
        child.signal(immediate ? SIGQUIT : SIGINT)
        if await child.waitForExit(timeout: .seconds(30)) == nil { child.kill9() }
        self.child = nil
    }

    /// Runs SQL through psql over the socket as `postgres` (trust); the output (`-A -t`), or throws with psql's.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let result = try Shell.run(
            "\(bin)/psql -X -q -A -t -v ON_ERROR_STOP=1 -h '\(socketDirectory)' -p \(port) -U postgres -d '\(database)' -f -",
            input: Data(sql.utf8),
            stderr: true
        )
        guard result.status == 0 else { throw Failure(message: "psql failed: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    deinit {
        if let child {
            child.signal(SIGQUIT)
            Thread.sleep(forTimeInterval: 0.5)
            child.kill9()
        }
    }
}
