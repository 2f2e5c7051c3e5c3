import Core
import Foundation
import GRDB

/// What changed between two snapshots of a job (docs/formats.md, "Snapshot diffs"): one ordered merge of their two
/// catalogs (both walk in (directory, name) order, so this is a merge, not a restore), written once into
/// `<data-dir>/catalog/diff/<from>_<to>.sqlite` and paged from there. Two snapshots never change, so neither does
/// their diff.
public final class SnapshotDiff: Sendable {
    public static let formatVersion: Int64 = 1

    public enum Kind: String, Sendable, CaseIterable {
        case added, removed, changed
    }

    /// One side of a change.
    public struct Side: Sendable, Equatable {
        public var kind: String
        public var size: Int64
        public var hash: [UInt8]?
        public var mode: Int64?
        public var mtime: Int64?
        public var mtimeNsec: Int64?
        public var link: [UInt8]?

        init(_ entry: SnapshotCatalog.Entry) {
            kind = entry.kind
            size = entry.size
            hash = entry.hash
            mode = entry.mode
            mtime = entry.mtime
            mtimeNsec = entry.mtimeNsec
            link = entry.link
        }

        init(kind: String, size: Int64, hash: [UInt8]?, mode: Int64?, mtime: Int64?, mtimeNsec: Int64?, link: [UInt8]?) {
            self.kind = kind
            self.size = size
            self.hash = hash
            self.mode = mode
            self.mtime = mtime
            self.mtimeNsec = mtimeNsec
            self.link = link
        }

        public var hashHex: String? { hash.map { $0.map { String(format: "%02x", $0) }.joined() } }
    }

    public struct Change: Sendable, Equatable {
        public var sequence: Int64
        public var kind: Kind
        public var path: [UInt8]
        /// For `changed`: which of `kind`, `content`, `size`, `mode`, `mtime`, `target` differ.
        public var fields: [String]
        public var old: Side?
        public var new: Side?
    }

    public struct Totals: Sendable, Equatable {
        public var added: Int64
        public var removed: Int64
        public var changed: Int64
        /// Entries compared on each side.
        public var oldEntries: Int64
        public var newEntries: Int64
    }

    let queue: DatabaseQueue

    init(queue: DatabaseQueue) {
        self.queue = queue
    }

    public static func open(path: String) throws -> SnapshotDiff? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let version = try? queue.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format_version'") }
        return version == formatVersion ? SnapshotDiff(queue: queue) : nil
    }

    public func totals() throws -> Totals {
        try queue.read { db in
            let values = Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT key, value FROM meta").map { ($0[0] as String, $0[1] as Int64) }
            )
            return Totals(
                added: values["added"] ?? 0,
                removed: values["removed"] ?? 0,
                changed: values["changed"] ?? 0,
                oldEntries: values["old_entries"] ?? 0,
                newEntries: values["new_entries"] ?? 0
            )
        }
    }

    /// Changes after `sequence` in path order, optionally of one kind and with `query` in the path (ASCII
    /// case-insensitive); the next page's start when there is more.
    public func page(after sequence: Int64?, limit: Int, kind: Kind? = nil, query: String? = nil) throws -> (items: [Change], next: Int64?) {
        try queue.read { db in
            var sql = "SELECT seq, change, path, fields, \(Self.sideColumns("old")), \(Self.sideColumns("new")) FROM changes WHERE seq > ?"
            var arguments: StatementArguments = [sequence ?? 0]
            if let kind {
                sql += " AND change = ?"
                arguments += [kind.rawValue]
            }
            if let query, !query.isEmpty {
                sql += " AND instr(lower(CAST(path AS TEXT)), ?) > 0"
                arguments += [query.lowercased()]
            }
            sql += " ORDER BY seq LIMIT ?"
            arguments += [limit + 1]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let items = rows.prefix(limit).map { row in
                Change(
                    sequence: row[0],
                    kind: Kind(rawValue: row[1]) ?? .changed,
                    path: [UInt8](row[2] as Data),
                    fields: (row[3] as String).split(separator: ",").map(String.init),
                    old: Self.side(row, at: 4),
                    new: Self.side(row, at: 11)
                )
            }
            return (items, rows.count > limit ? items.last?.sequence : nil)
        }
    }

    static func sideColumns(_ prefix: String) -> String {
        ["kind", "size", "hash", "mode", "mtime", "mtime_nsec", "link"].map { "\(prefix)_\($0)" }.joined(separator: ", ")
    }

    static func side(_ row: Row, at offset: Int) -> Side? {
        guard let kind = row[offset] as String? else { return nil }
        return Side(
            kind: kind,
            size: row[offset + 1] ?? 0,
            hash: (row[offset + 2] as Data?).map { [UInt8]($0) },
            mode: row[offset + 3],
            mtime: row[offset + 4],
            mtimeNsec: row[offset + 5],
            link: (row[offset + 6] as Data?).map { [UInt8]($0) }
        )
    }

    /// What differs between two entries at the same path; empty when nothing a user would call a change does.
    /// Directories are not `changed` by their mtime (it moves whenever their content does, which the diff already
    /// lists) and implied directories (above the backed-up paths) carry nothing to compare.
    public static func differences(_ old: SnapshotCatalog.Entry, _ new: SnapshotCatalog.Entry) -> [String] {
        if old.kind != new.kind { return ["kind"] }
        if old.implied || new.implied { return [] }
        var fields: [String] = []
        if old.kind == "file" {
            if let a = old.hash, let b = new.hash, a != b { fields.append("content") }
            if old.size != new.size { fields.append("size") }
        }
        if let a = old.mode, let b = new.mode, a != b { fields.append("mode") }
        if old.kind != "dir", let a = old.mtime, let b = new.mtime, a != b || (old.mtimeNsec ?? 0) != (new.mtimeNsec ?? 0) {
            fields.append("mtime")
        }
        if old.link != new.link { fields.append("target") }
        return fields
    }

    /// Merges the two catalogs into `path` (a temporary file renamed into place when complete).
    @discardableResult
    public static func build(from old: SnapshotCatalog, to new: SnapshotCatalog, into path: String) throws -> SnapshotDiff {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let temporary = "\(path).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        defer { unlink(temporary) }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF") }
        let output = try DatabaseQueue(path: temporary, configuration: configuration)
        try output.inDatabase { db in
            // One connection reads both catalogs (GRDB connections do not nest), attached; nothing writes to them.
            try db.execute(sql: "ATTACH DATABASE ? AS old", arguments: [old.path])
            try db.execute(sql: "ATTACH DATABASE ? AS new", arguments: [new.path])
            try db.execute(
                sql: """
                    CREATE TABLE main.meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                    CREATE TABLE main.changes (
                      seq INTEGER PRIMARY KEY, change TEXT NOT NULL, path BLOB NOT NULL, fields TEXT NOT NULL,
                      old_kind TEXT, old_size INTEGER, old_hash BLOB, old_mode INTEGER, old_mtime INTEGER, old_mtime_nsec INTEGER, old_link BLOB,
                      new_kind TEXT, new_size INTEGER, new_hash BLOB, new_mode INTEGER, new_mtime INTEGER, new_mtime_nsec INTEGER, new_link BLOB
                    );
                    """
            )
            // Deferred: only `main` is written; an immediate transaction would want every attached file's write lock.
            try db.inTransaction(.deferred) {
                let insert = try db.makeStatement(
                    sql:
                        "INSERT INTO main.changes (change, path, fields, \(sideColumns("old")), \(sideColumns("new"))) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                )
                var totals = Totals(added: 0, removed: 0, changed: 0, oldEntries: 0, newEntries: 0)
                func record(_ kind: Kind, _ path: [UInt8], _ fields: [String], _ a: SnapshotCatalog.Entry?, _ b: SnapshotCatalog.Entry?) throws {
                    func values(_ entry: SnapshotCatalog.Entry?) -> [(any DatabaseValueConvertible)?] {
                        guard let entry else { return [nil, nil, nil, nil, nil, nil, nil] }
                        return [
                            entry.kind, entry.size, entry.hash.map { Data($0) }, entry.mode, entry.mtime, entry.mtimeNsec,
                            entry.link.map { Data($0) },
                        ]
                    }
                    try insert.execute(
                        arguments: StatementArguments([kind.rawValue, Data(path), fields.joined(separator: ",")] + values(a) + values(b))
                    )
                    switch kind {
                    case .added: totals.added += 1
                    case .removed: totals.removed += 1
                    case .changed: totals.changed += 1
                    }
                }
                try merge(db, "old", "new") { a, b in
                    if a != nil { totals.oldEntries += 1 }
                    if b != nil { totals.newEntries += 1 }
                    switch (a, b) {
                    case (let a?, nil): if !a.implied { try record(.removed, a.path, [], a, nil) }
                    case (nil, let b?): if !b.implied { try record(.added, b.path, [], nil, b) }
                    case (let a?, let b?):
                        let fields = differences(a, b)
                        if !fields.isEmpty { try record(.changed, b.path, fields, a, b) }
                    case (nil, nil): break
                    }
                }
                try db.execute(
                    sql:
                        "INSERT INTO main.meta (key, value) VALUES ('format_version', ?), ('added', ?), ('removed', ?), ('changed', ?), ('old_entries', ?), ('new_entries', ?)",
                    arguments: [formatVersion, totals.added, totals.removed, totals.changed, totals.oldEntries, totals.newEntries]
                )
                return .commit
            }
            try db.execute(sql: "CREATE INDEX main.changes_by_kind ON changes (change, seq)")
            try db.execute(sql: "DETACH DATABASE old; DETACH DATABASE new")
        }
        try output.close()
        guard rename(temporary, path) == 0 else { throw SnapshotCatalog.BuildError(description: "cannot move the diff into \(path): errno \(errno)") }
        guard let diff = try open(path: path) else { throw SnapshotCatalog.BuildError(description: "the diff at \(path) did not open") }
        return diff
    }

    /// Calls `body` with each path of either catalog (attached to `db` as `old` and `new`) once, in (directory,
    /// name) order: both entries when both hold it.
    static func merge(
        _ db: Database,
        _ old: String,
        _ new: String,
        _ body: (SnapshotCatalog.Entry?, SnapshotCatalog.Entry?) throws -> Void
    ) throws {
        let left = try SnapshotCatalog.OrderedEntries(db, schema: old)
        let right = try SnapshotCatalog.OrderedEntries(db, schema: new)
        var a = try left.next()
        var b = try right.next()
        while a != nil || b != nil {
            let order = a == nil ? 1 : b == nil ? -1 : SnapshotCatalog.compare(a!, b!)
            try body(order <= 0 ? a : nil, order >= 0 ? b : nil)
            if order <= 0 { a = try left.next() }
            if order >= 0 { b = try right.next() }
        }
    }
}

extension SnapshotCatalog {
    /// The catalog's entries in (directory, name) order, one at a time (a SQLite cursor: bounded memory).
    final class OrderedEntries {
        private let rows: RowCursor
        private var directory: [UInt8] = []
        private var directoryData = Data()

        init(_ db: Database, schema: String = "main") throws {
            rows = try Row.fetchCursor(
                db,
                sql:
                    "SELECT d.path, \(SnapshotCatalog.columns) FROM \(schema).dirs d JOIN \(schema).entries e ON e.dir_id = d.id ORDER BY d.path, e.name"
            )
        }

        func next() throws -> Entry? {
            guard let row = try rows.next() else { return nil }
            let data = row[0] as Data
            if data != directoryData {
                directoryData = data
                directory = [UInt8](data)
            }
            return SnapshotCatalog.entry(row, directory: directory, offset: 1)
        }
    }

    /// The walk order: by directory bytes, then by name bytes.
    static func compare(_ a: Entry, _ b: Entry) -> Int {
        if a.directory != b.directory { return a.directory.lexicographicallyPrecedes(b.directory) ? -1 : 1 }
        if a.name == b.name { return 0 }
        return a.name.lexicographicallyPrecedes(b.name) ? -1 : 1
    }
}
