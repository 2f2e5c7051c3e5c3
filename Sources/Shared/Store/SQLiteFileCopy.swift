import GRDB

/// Reading a user's SQLite database for a backup: the online backup API and `PRAGMA integrity_check`. It lives here
/// because this target is the one that speaks SQLite (through GRDB); the `sqlite` executor in Runs calls it.
public enum SQLiteFileCopy {
    /// Copies the database at `source` to a new file at `destination` with SQLite's online backup API, `pagesPerStep`
    /// pages at a time; `step(done, total)` runs after each step and may throw to stop the copy. Blocking.
    public static func onlineBackup(
        source: String,
        destination: String,
        pagesPerStep: Int32,
        step: @escaping (_ done: Int, _ total: Int, _ finished: Bool) throws -> Void
    ) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        let sourceDB = try DatabaseQueue(path: source, configuration: configuration)
        defer { try? sourceDB.close() }
        let target = try DatabaseQueue(path: destination)
        defer { try? target.close() }
        try sourceDB.backup(to: target, pagesPerStep: pagesPerStep) { progress in
            try step(progress.completedPageCount, progress.totalPageCount, progress.isCompleted)
        }
    }

    /// Like `onlineBackup`, but every step reads one snapshot of the source when it is in WAL mode: the copy runs in one
    /// read transaction, which in WAL mode never blocks a writer, so a database written to during the copy (Vaultwarden
    /// serving its users) is copied as of the moment the copy began, and never restarts because it was written to.
    /// A source in another journal mode is copied step by step as `onlineBackup` does (a read transaction held across
    /// the whole copy there would lock writers out). Returns the source's journal mode. Blocking.
    @discardableResult
    public static func onlineBackupAtOneSnapshot(
        source: String,
        destination: String,
        pagesPerStep: Int32,
        step: @escaping (_ done: Int, _ total: Int, _ finished: Bool) throws -> Void
    ) throws -> String {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        let sourceDB = try DatabaseQueue(path: source, configuration: configuration)
        defer { try? sourceDB.close() }
        let target = try DatabaseQueue(path: destination)
        defer { try? target.close() }
        let report = { (progress: DatabaseBackupProgress) in
            try step(progress.completedPageCount, progress.totalPageCount, progress.isCompleted)
        }
        let mode = try target.writeWithoutTransaction { destinationDB in
            try sourceDB.read { db in
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode")?.lowercased() ?? ""
                guard mode == "wal" else { return mode }
                // The first read starts the transaction's snapshot: every step below reads that one.
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
                try db.backup(to: destinationDB, pagesPerStep: pagesPerStep, progress: report)
                return mode
            }
        }
        if mode != "wal" { try sourceDB.backup(to: target, pagesPerStep: pagesPerStep, progress: report) }
        return mode
    }

    /// `PRAGMA integrity_check` on the database at `path` (a work copy: a WAL-mode copy needs its `-shm`, so it is not
    /// opened read-only), at most 64 lines; healthy is exactly `["ok"]`. Blocking.
    public static func integrityCheck(_ path: String) throws -> [String] {
        let database = try DatabaseQueue(path: path)
        defer { try? database.close() }
        return try database.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check(64)") }
    }

    /// The row count of each of `tables` in the database at `path` (a work copy), nil for a table it does not have;
    /// and its journal mode as stored in the file. Blocking.
    public static func rowCounts(_ path: String, tables: [String]) throws -> (counts: [String: Int64?], journalMode: String) {
        let database = try DatabaseQueue(path: path)
        defer { try? database.close() }
        return try database.read { db in
            var counts: [String: Int64?] = [:]
            for table in tables {
                counts[table] = try db.tableExists(table) ? Int64.fetchOne(db, sql: "SELECT count(*) FROM \(table.quotedDatabaseIdentifier)") : nil
            }
            return (counts, try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "")
        }
    }
}
