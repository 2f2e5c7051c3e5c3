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

    /// `PRAGMA integrity_check` on the database at `path` (a work copy: a WAL-mode copy needs its `-shm`, so it is not
    /// opened read-only), at most 64 lines; healthy is exactly `["ok"]`. Blocking.
    public static func integrityCheck(_ path: String) throws -> [String] {
        let database = try DatabaseQueue(path: path)
        defer { try? database.close() }
        return try database.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check(64)") }
    }
}
