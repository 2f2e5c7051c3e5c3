import Core
import Foundation
import GRDB
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The one owner of every database transaction (docs/architecture.md, "Database").
///
/// A GRDB `DatabasePool` over `<data-dir>/bastion.db`: WAL, `synchronous=NORMAL`, `foreign_keys=ON`, a 5 s busy
/// timeout, and every writing transaction `BEGIN IMMEDIATE` (GRDB 7's default for writes; a test pins it).
public final class AppDatabase: Sendable {
    /// The underlying pool. Prefer the named methods in the `AppDatabase+*.swift` extensions.
    public let pool: DatabasePool
    public let path: String
    /// Carries out what each `write` transaction left for after its COMMIT (docs/architecture.md, "After COMMIT").
    let publisher: any AfterCommitPublisher

    /// Opens (creating if needed) the database in `dataDirectory` and applies pending migrations.
    ///
    /// Migrations are serialized across processes with an exclusive `flock` on a lock file next to the database, so
    /// any number of processes may start at the same moment on a fresh data directory.
    public static func open(
        in dataDirectory: DataDirectory,
        traceLogger: Logger? = nil,
        publisher: any AfterCommitPublisher = NoAfterCommitPublisher(),
        configure: (inout Configuration) -> Void = { _ in }
    ) throws -> AppDatabase {
        try dataDirectory.create()
        let lock = try FileLock(path: dataDirectory.migrationLockPath)
        defer { lock.unlock() }
        var configuration = makeConfiguration()
        if let traceLogger, traceLogger.logLevel <= .trace {
            // At trace level every statement is logged: how tests (and operators) see what a process asks SQLite.
            configuration.prepareDatabase { db in
                db.trace { event in
                    if case .statement(let statement) = event {
                        traceLogger.trace("SQL", metadata: ["sql": "\(statement.sql)"])
                    }
                }
            }
        }
        configure(&configuration)
        let pool = try DatabasePool(path: dataDirectory.databasePath, configuration: configuration)
        try migrator.migrate(pool)
        return AppDatabase(pool: pool, path: dataDirectory.databasePath, publisher: publisher)
    }

    /// The data directory this database lives in.
    public var dataDirectory: DataDirectory { DataDirectory(path: (path as NSString).deletingLastPathComponent) }

    init(pool: DatabasePool, path: String, publisher: any AfterCommitPublisher) {
        self.pool = pool
        self.path = path
        self.publisher = publisher
    }

    /// Connection settings shared by every process (docs/architecture.md, "Database").
    public static func makeConfiguration() -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        configuration.journalMode = .wal
        configuration.maximumReaderCount = 8
        configuration.label = "bastion"
        configuration.prepareDatabase { db in
            // GRDB sets synchronous=NORMAL when it enables WAL on the writer, and gives readers a 10 s busy
            // timeout; pin both on every connection (this runs after GRDB's own setup).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA busy_timeout = 5000")
        }
        return configuration
    }

    /// `SELECT 1` through a reader: what `/api/ready` checks.
    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Facts `/api/system` reports.
    public func describe() async throws -> DatabaseDescription {
        try await pool.read { db in
            DatabaseDescription(
                path: self.path,
                sqliteVersion: try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "",
                journalMode: try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
            )
        }
    }
}

/// What the API reports about the database.
public struct DatabaseDescription: Sendable, Codable, Equatable {
    public var path: String
    public var sqliteVersion: String
    public var journalMode: String
}

/// An exclusive advisory lock on a file, held until `unlock()`.
struct FileLock {
    private let descriptor: Int32

    init(path: String) throws {
        descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        while flock(descriptor, LOCK_EX) != 0 {
            if errno != EINTR {
                let message = String(cString: strerror(errno))
                Glibc.close(descriptor)
                throw CocoaError(.fileLocking, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: message])
            }
        }
    }

    func unlock() {
        flock(descriptor, LOCK_UN)
        Glibc.close(descriptor)
    }
}
