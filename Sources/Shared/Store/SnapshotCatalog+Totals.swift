import Foundation
import GRDB

extension SnapshotCatalog {
    /// What a restore selection holds (the restore wizard shows it before it starts; docs/architecture.md, "Browsing
    /// snapshots"): entries that are not directories, directories, and the bytes of the regular files.
    public struct Totals: Sendable, Equatable {
        public var files: Int64 = 0
        public var dirs: Int64 = 0
        public var bytes: Int64 = 0

        public init(files: Int64 = 0, dirs: Int64 = 0, bytes: Int64 = 0) {
            self.files = files
            self.dirs = dirs
            self.bytes = bytes
        }
    }

    /// The totals of `dirs` (each with everything below it) and `files`, or of the whole snapshot when both are nil;
    /// a path under another selected directory counts once. Implied directories are not counted (they are not
    /// restored). Each directory is a range read of `dirs` joined to `entries` by key; nil when `timeout` passes
    /// first (the read is interrupted, so a million-entry selection costs at most that much time).
    public func totals(files: [[UInt8]]?, dirs: [[UInt8]]?, timeout: Duration) throws -> Totals? {
        // The interrupt stops a statement that runs; the loops between statements check the same deadline (an
        // interrupt that fires between two statements is lost: SQLite clears it when the next one starts).
        let deadline = ContinuousClock.now + timeout
        let interrupt = DispatchWorkItem { [queue] in queue.interrupt() }
        let (seconds, attoseconds) = timeout.components
        DispatchQueue.global().asyncAfter(deadline: .now() + Double(seconds) + Double(attoseconds) / 1e18, execute: interrupt)
        defer { interrupt.cancel() }
        let sum = """
            SELECT COALESCE(SUM(e.kind <> 'dir'), 0), COALESCE(SUM(e.kind = 'dir'), 0), COALESCE(SUM(CASE WHEN e.kind = 'file' THEN e.size END), 0)
            FROM dirs d JOIN entries e ON e.dir_id = d.id WHERE e.implied = 0
            """
        do {
            return try queue.read { db -> Totals? in
                var totals = Totals()
                // Saturating, and never below zero: the sizes come from an index the target (or an agent) wrote, and
                // an archive is not trusted to overflow a number (docs/security.md).
                func plus(_ total: inout Int64, _ value: Int64) {
                    let (sum, overflow) = total.addingReportingOverflow(max(0, value))
                    total = overflow ? .max : sum
                }
                func add(_ row: Row?) {
                    guard let row else { return }
                    plus(&totals.files, row[0] as Int64)
                    plus(&totals.dirs, row[1] as Int64)
                    plus(&totals.bytes, row[2] as Int64)
                }
                func count(_ entry: Entry) {
                    plus(&totals.dirs, entry.kind == "dir" ? 1 : 0)
                    plus(&totals.files, entry.kind == "dir" ? 0 : 1)
                    plus(&totals.bytes, entry.kind == "file" ? entry.size : 0)
                }
                guard files != nil || dirs != nil else {
                    add(try Row.fetchOne(db, sql: sum))
                    return totals
                }
                // Shortest first: a directory under one already counted is inside its range.
                var counted: [[UInt8]] = []
                func covered(_ path: [UInt8]) -> Bool {
                    counted.contains { path == $0 || (path.count > $0.count && path.starts(with: $0) && path[$0.count] == UInt8(ascii: "/")) }
                }
                for directory in (dirs ?? []).sorted(by: { $0.count < $1.count }) where !covered(directory) {
                    if ContinuousClock.now > deadline { return nil }
                    counted.append(directory)
                    if directory.isEmpty {
                        add(try Row.fetchOne(db, sql: sum))
                        continue
                    }
                    // The directory's own entry, then everything below it: `dir` and `dir/` up to `dir0`.
                    if let entry = try lookup(db, directory), !entry.implied { count(entry) }
                    add(
                        try Row.fetchOne(
                            db,
                            sql: sum + " AND (d.path = ? OR (d.path >= ? AND d.path < ?))",
                            arguments: [Data(directory), Data(directory + [UInt8(ascii: "/")]), Data(directory + [UInt8(ascii: "0")])]
                        )
                    )
                }
                for file in Set(files ?? []) {
                    if ContinuousClock.now > deadline { return nil }
                    guard !covered(file), let entry = try lookup(db, file), !entry.implied else { continue }
                    count(entry)
                }
                return totals
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
            return nil
        }
    }

    private func lookup(_ db: Database, _ path: [UInt8]) throws -> Entry? {
        let (directory, name) = Self.split(path)
        guard let id = try Self.directoryId(db, directory) else { return nil }
        return try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM entries e WHERE e.dir_id = ? AND e.name = ?", arguments: [id, Data(name)])
            .map { Self.entry($0, directory: directory) }
    }
}
