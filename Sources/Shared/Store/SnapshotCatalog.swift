import Archive
import Core
import Foundation
import GRDB

/// A snapshot's catalog (docs/formats.md, "The snapshot catalog"): its entries index as a small SQLite file of its
/// own, `<data-dir>/catalog/<run_id>.sqlite`, so that one directory level, a name search, a path's lookup and an
/// ordered walk are index range reads instead of a scan of `entries.jsonl.zst`. Built once from the entries index
/// (streamed, so memory stays bounded) and never changed: a snapshot is immutable. Not in `bastion.db`: a
/// million-file snapshot's catalog is ~100 MB, and it is derived data that can be deleted and rebuilt.
public final class SnapshotCatalog: Sendable {
    /// Bumped when the layout changes; an older file is rebuilt.
    public static let formatVersion: Int64 = 1

    /// One entry of a snapshot, as the browser, search and diff see it.
    public struct Entry: Sendable, Equatable {
        /// The directory holding it (archive path, no leading or trailing `/`; empty at the top).
        public var directory: [UInt8]
        public var name: [UInt8]
        /// `file`, `dir`, `symlink`, `hardlink`, `fifo`, `char`, `block`.
        public var kind: String
        public var size: Int64
        public var mtime: Int64?
        public var mtimeNsec: Int64?
        public var mode: Int64?
        public var uid: Int64?
        public var gid: Int64?
        /// BLAKE3 of a file's content (32 bytes).
        public var hash: [UInt8]?
        /// A symlink's or hardlink's target.
        public var link: [UInt8]?
        /// A directory above the backed-up paths: not an archive member, listed so the tree can be walked from the top.
        public var implied: Bool

        public var path: [UInt8] { directory.isEmpty ? name : directory + [UInt8(ascii: "/")] + name }
        public var hashHex: String? { hash.map { $0.map { String(format: "%02x", $0) }.joined() } }
    }

    /// Where a listing or search stops; opaque to clients (base64url).
    public struct Cursor: Sendable, Equatable {
        public var directory: [UInt8]
        public var directoriesDone: Bool
        public var name: [UInt8]

        public var token: String {
            var bytes: [UInt8] = [directoriesDone ? 1 : 0]
            let length = UInt32(directory.count)
            bytes += [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
            bytes += directory + name
            return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }

        public init(directory: [UInt8], directoriesDone: Bool, name: [UInt8]) {
            self.directory = directory
            self.directoriesDone = directoriesDone
            self.name = name
        }

        public init?(token: String) {
            guard token.count <= 16_384 else { return nil }
            var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            guard let data = Data(base64Encoded: base64), data.count >= 5, data[data.startIndex] <= 1 else { return nil }
            let bytes = [UInt8](data)
            let length = Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4])
            guard length <= bytes.count - 5 else { return nil }
            self.init(directory: Array(bytes[5..<(5 + length)]), directoriesDone: bytes[0] == 1, name: Array(bytes[(5 + length)...]))
        }
    }

    public struct Page: Sendable {
        public var items: [Entry]
        public var nextCursor: Cursor?
    }

    public struct BuildError: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }
    }

    let queue: DatabaseQueue
    public let path: String

    /// Opens a built catalog read-only; nil when the file is missing or of another format version.
    public static func open(path: String) throws -> SnapshotCatalog? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "catalog"
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let version = try? queue.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format_version'") }
        guard version == formatVersion else { return nil }
        return SnapshotCatalog(queue: queue, path: path)
    }

    init(queue: DatabaseQueue, path: String) {
        self.queue = queue
        self.path = path
    }

    /// Entries counted when the catalog was built (implied directories excluded).
    public func entriesCount() throws -> Int64 {
        try queue.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'entries'") ?? 0 }
    }

    // MARK: Reading

    static let columns = "e.name, e.kind, e.size, e.mtime, e.mtime_nsec, e.mode, e.uid, e.gid, e.hash, e.link, e.implied, e.dir_first"

    static func entry(_ row: Row, directory: [UInt8], offset: Int = 0) -> Entry {
        Entry(
            directory: directory,
            name: [UInt8](row[offset] as Data),
            kind: row[offset + 1],
            size: row[offset + 2],
            mtime: row[offset + 3],
            mtimeNsec: row[offset + 4],
            mode: row[offset + 5],
            uid: row[offset + 6],
            gid: row[offset + 7],
            hash: (row[offset + 8] as Data?).map { [UInt8]($0) },
            link: (row[offset + 9] as Data?).map { [UInt8]($0) },
            implied: row[offset + 10]
        )
    }

    static func directoryId(_ db: Database, _ directory: [UInt8]) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM dirs WHERE path = ?"), arguments: [Data(directory)])
    }

    /// One directory level, directories first, then everything else, each by name (bytewise); nil when the snapshot
    /// has no such directory.
    public func list(directory: [UInt8], after cursor: Cursor?, limit: Int, kind: String? = nil) throws -> Page? {
        try queue.read { db in
            guard let id = try Self.directoryId(db, directory) else { return nil }
            var sql = "SELECT \(Self.columns) FROM entries e WHERE e.dir_id = ?"
            var arguments: StatementArguments = [id]
            if let kind {
                sql += " AND e.kind = ?"
                arguments += [kind]
            }
            if let cursor {
                sql += " AND (e.dir_first, e.name) > (?, ?)"
                arguments += [cursor.directoriesDone ? 1 : 0, Data(cursor.name)]
            }
            sql += " ORDER BY e.dir_first, e.name LIMIT ?"
            arguments += [limit + 1]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let items = rows.prefix(limit).map { Self.entry($0, directory: directory) }
            // The last row shown: its place in the (directories first, name) order is where the next page starts.
            let next =
                rows.count > limit
                ? Cursor(directory: directory, directoriesDone: (rows[limit - 1][11] as Int64) == 1, name: items[limit - 1].name) : nil
            return Page(items: items, nextCursor: next)
        }
    }

    /// The most rows one glob search request examines (`search`).
    public static let globScanRows = 200_000

    /// Entries under `directory` (at any depth) whose name contains `query` (ASCII case-insensitive), or matches it
    /// when it is a glob (`NameGlob.isGlob`: `*`, `?` or `[`; docs/ui.md, "Snapshot browser"), in path order; nil when
    /// the snapshot has no such directory.
    public func search(under directory: [UInt8], query: String, after cursor: Cursor?, limit: Int, kind: String? = nil) throws -> Page? {
        let glob = NameGlob.isGlob(query) ? NameGlob(query) : nil
        return try queue.read { db in
            guard try Self.directoryId(db, directory) != nil else { return nil }
            var sql = "SELECT d.path, \(Self.columns) FROM dirs d JOIN entries e ON e.dir_id = d.id WHERE "
            var arguments: StatementArguments = []
            if directory.isEmpty {
                sql += "1"
            } else {
                // The directory itself and every path below it: `dir/` up to (not including) `dir0` ('0' follows '/').
                sql += "(d.path = ? OR (d.path >= ? AND d.path < ?))"
                arguments += [Data(directory), Data(directory + [UInt8(ascii: "/")]), Data(directory + [UInt8(ascii: "0")])]
            }
            if glob == nil {
                sql += " AND instr(lower(CAST(e.name AS TEXT)), ?) > 0"
                arguments += [query.lowercased()]
            }
            if let kind {
                sql += " AND e.kind = ?"
                arguments += [kind]
            }
            if let cursor {
                sql += " AND (d.path, e.name) > (?, ?)"
                arguments += [Data(cursor.directory), Data(cursor.name)]
            }
            sql += " ORDER BY d.path, e.name"
            var rows: [Row] = []
            if let glob {
                // SQL cannot run the glob: the rows in path order are matched here, one by one, until the page is full
                // (each match costs at most name bytes × pattern tokens: NameGlob).
                // One request examines at most `globScanRows` rows: a pattern that matches little in a big snapshot
                // answers the matches so far and a cursor at the last row examined (the next page goes on from
                // there), so no request holds the catalog for long. A subject longer than PATH_MAX matches nothing.
                let all = try Row.fetchCursor(db, sql: sql, arguments: arguments)
                var examined = 0
                while rows.count <= limit, let row = try all.next() {
                    examined += 1
                    let name = [UInt8](row[1] as Data)
                    let subject = glob.matchesPath ? Self.relative([UInt8](row[0] as Data), to: directory) + name : name
                    if subject.count <= 4096, glob.matches(subject) { rows.append(row.copy()) }
                    if examined >= Self.globScanRows, rows.count <= limit {
                        let items = rows.map { Self.entry($0, directory: [UInt8]($0[0] as Data), offset: 1) }
                        return Page(items: items, nextCursor: Cursor(directory: [UInt8](row[0] as Data), directoriesDone: true, name: name))
                    }
                }
            } else {
                sql += " LIMIT ?"
                arguments += [limit + 1]
                rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            }
            let items = rows.prefix(limit).map { Self.entry($0, directory: [UInt8]($0[0] as Data), offset: 1) }
            let next = rows.count > limit ? items.last.map { Cursor(directory: $0.directory, directoriesDone: true, name: $0.name) } : nil
            return Page(items: items, nextCursor: next)
        }
    }

    /// `path` below `directory`, with a trailing `/` when not empty (`a/b/c` below `a` → `b/c/`; `a` below `a` → ``).
    static func relative(_ path: [UInt8], to directory: [UInt8]) -> [UInt8] {
        let rest = directory.isEmpty ? path[...] : path.dropFirst(min(path.count, directory.count + 1))
        return rest.isEmpty ? [] : Array(rest) + [UInt8(ascii: "/")]
    }

    /// The entry at `path`, if the snapshot holds it.
    public func lookup(_ path: [UInt8]) throws -> Entry? {
        let (directory, name) = Self.split(path)
        return try queue.read { db in
            guard let id = try Self.directoryId(db, directory) else { return nil }
            return try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM entries e WHERE e.dir_id = ? AND e.name = ?", arguments: [id, Data(name)])
                .map { Self.entry($0, directory: directory) }
        }
    }

    /// Every entry in (directory, name) order, bytewise: the order two catalogs are merged in.
    public func walk(_ body: (Entry) throws -> Void) throws {
        try queue.read { db in
            let entries = try OrderedEntries(db)
            while let entry = try entries.next() { try body(entry) }
        }
    }

    /// `a/b/c` → (`a/b`, `c`); `c` → (``, `c`).
    static func split(_ path: [UInt8]) -> (directory: [UInt8], name: [UInt8]) {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return ([], path) }
        return (Array(path[..<slash]), Array(path[(slash + 1)...]))
    }

    // MARK: Building

    /// Builds the catalog of the entries index at `entriesIndex` into `path`: into a temporary file first, renamed
    /// into place when complete, so a reader never sees half a catalog and concurrent builders do not collide.
    /// A backup builds it in the same pass as the archive instead (`LiveBuild`), through the same `Fill`.
    @discardableResult
    public static func build(entriesIndex: String, identity: String? = nil, into path: String, maxEntries: Int64? = nil) throws -> SnapshotCatalog {
        let temporary = try temporaryPath(for: path)
        defer { removeTemporary(temporary) }
        let queue = try createFile(temporary)
        try queue.inDatabase { db in
            try db.inTransaction {
                let reader = try EntriesIndexReader(path: entriesIndex, identity: identity, maxEntries: maxEntries)
                let fill = try Fill(db)
                while let entry = try reader.next() {
                    guard let path = IndexJSON.bytes(entry, "path") else { continue }
                    let kind = entry["kind"]?.stringValue ?? "file"
                    func integer(_ key: String) -> Int64? { entry[key]?.int64Value }
                    try fill.add(
                        path: path,
                        kind: kind,
                        size: integer("size"),
                        mtime: integer("mtime"),
                        mtimeNsec: integer("mtime_nsec"),
                        mode: integer("mode"),
                        uid: integer("uid"),
                        gid: integer("gid"),
                        hash: entry["hash"]?.stringValue,
                        link: IndexJSON.bytes(entry, kind == "symlink" ? "symlink_target" : "hardlink_target")
                    )
                }
                try fill.finish()
                return .commit
            }
            try createListingIndex(db)
        }
        return try moveIntoPlace(queue, temporary, path)
    }

    /// `<path>.<pid>.<random>.tmp` in the catalog's directory (created): where a catalog is built before its rename.
    static func temporaryPath(for path: String) throws -> String {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return "\(path).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
    }

    static func removeTemporary(_ temporary: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temporary + suffix) }
    }

    /// A new, empty catalog file with its tables (no listing index yet).
    static func createFile(_ temporary: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.label = "catalog-build"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536")
        }
        let queue = try DatabaseQueue(path: temporary, configuration: configuration)
        try queue.inDatabase { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                    CREATE TABLE dirs (id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE);
                    CREATE TABLE entries (
                      dir_id INTEGER NOT NULL,
                      name BLOB NOT NULL,
                      dir_first INTEGER NOT NULL,
                      kind TEXT NOT NULL,
                      size INTEGER NOT NULL,
                      mtime INTEGER, mtime_nsec INTEGER, mode INTEGER, uid INTEGER, gid INTEGER,
                      hash BLOB, link BLOB,
                      implied INTEGER NOT NULL DEFAULT 0,
                      PRIMARY KEY (dir_id, name)
                    ) WITHOUT ROWID;
                    """
            )
        }
        return queue
    }

    /// Built after the rows: one sorted pass instead of a random insert per row.
    static func createListingIndex(_ db: Database) throws {
        try db.execute(sql: "CREATE INDEX entries_listing ON entries (dir_id, dir_first, name)")
    }

    /// Closes the built file, syncs it and renames it to `path`; the catalog opened from there.
    static func moveIntoPlace(_ queue: DatabaseQueue, _ temporary: String, _ path: String) throws -> SnapshotCatalog {
        try queue.close()
        let descriptor = Glibc.open(temporary, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
        guard rename(temporary, path) == 0 else { throw BuildError(description: "cannot move the catalog into \(path): errno \(errno)") }
        guard let catalog = try open(path: path) else { throw BuildError(description: "the catalog at \(path) did not open after its build") }
        return catalog
    }

    /// Removes the temporary files of catalog builds whose process is gone (a worker killed during a backup leaves
    /// one; it is never at a catalog's path, so nobody reads it). Each worker runs it when it starts.
    public static func sweepTemporaries(in data: DataDirectory) {
        for directory in [data.catalogPath, data.catalogPath + "/diff"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                // `<run>.sqlite.<pid>.<random>.tmp`, perhaps with a `-journal` suffix.
                let parts = name.split(separator: ".")
                guard let tmp = parts.lastIndex(where: { $0.hasPrefix("tmp") }), tmp >= 3, parts[tmp - 3] == "sqlite",
                    let pid = Int32(parts[tmp - 2]), pid > 0,
                    kill(pid, 0) != 0, errno == ESRCH
                else { continue }
                unlink(directory + "/" + name)
            }
        }
    }

    /// Fills a catalog's tables from the entries of an index, in index order: the one code both builds go through
    /// (from `entries.jsonl.zst`, and in the same pass as the archive), so their catalogs are the same.
    final class Fill {
        let db: Database
        let insertDirectory: Statement
        let findDirectory: Statement
        let insertEntry: Statement
        /// Recently used directories: archive order keeps a directory's members together, so this stays small.
        var recent: [[UInt8]: Int64] = [:]
        private(set) var count: Int64 = 0

        init(_ db: Database) throws {
            self.db = db
            insertDirectory = try db.makeStatement(sql: "INSERT INTO dirs (path) VALUES (?)")
            findDirectory = try db.makeStatement(sql: "SELECT id FROM dirs WHERE path = ?")
            insertEntry = try db.makeStatement(
                sql: """
                    INSERT OR REPLACE INTO entries (dir_id, name, dir_first, kind, size, mtime, mtime_nsec, mode, uid, gid, hash, link)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            _ = try directoryId([])
        }

        func directoryId(_ path: [UInt8]) throws -> Int64 {
            if let id = recent[path] { return id }
            if recent.count > 4096 { recent.removeAll(keepingCapacity: true) }
            let id: Int64
            if let found = try Int64.fetchOne(findDirectory, arguments: [Data(path)]) {
                id = found
            } else {
                if !path.isEmpty { _ = try directoryId(SnapshotCatalog.split(path).directory) }
                try insertDirectory.execute(arguments: [Data(path)])
                id = db.lastInsertedRowID
            }
            recent[path] = id
            return id
        }

        /// One entry; numbers as the index's JSON gives them (nil when unknown). A path that is empty once its
        /// slashes are trimmed is left out.
        func add(
            path: [UInt8],
            kind: String,
            size: Int64?,
            mtime: Int64?,
            mtimeNsec: Int64?,
            mode: Int64?,
            uid: Int64?,
            gid: Int64?,
            hash: String?,
            link: [UInt8]?
        ) throws {
            var path = path
            while path.last == UInt8(ascii: "/") { path.removeLast() }
            while path.first == UInt8(ascii: "/") { path.removeFirst() }
            guard !path.isEmpty else { return }
            let (directory, name) = SnapshotCatalog.split(path)
            if kind == "dir" { _ = try directoryId(path) }
            try insertEntry.execute(arguments: [
                try directoryId(directory), Data(name), kind == "dir" ? 0 : 1, kind, size ?? 0, mtime, mtimeNsec, mode, uid, gid,
                hash.flatMap(SnapshotCatalog.hexBytes).map { Data($0) }, link.map { Data($0) },
            ])
            count += 1
        }

        /// The implied directories and the meta rows.
        func finish() throws {
            // Directories above the backed-up paths are not archive members: list them so the top can be walked.
            let directories = try Row.fetchAll(db, sql: "SELECT id, path FROM dirs WHERE path != x''")
            for row in directories {
                let (parent, name) = SnapshotCatalog.split([UInt8](row[1] as Data))
                try db.execute(
                    sql: "INSERT OR IGNORE INTO entries (dir_id, name, dir_first, kind, size, implied) VALUES (?, ?, 0, 'dir', 0, 1)",
                    arguments: [try directoryId(parent), Data(name)]
                )
            }
            try db.execute(
                sql: "INSERT INTO meta (key, value) VALUES ('format_version', ?), ('entries', ?)",
                arguments: [SnapshotCatalog.formatVersion, count]
            )
        }
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}

extension SnapshotCatalog {
    /// `<data-dir>/catalog/<run_id>.sqlite`.
    public static func path(in data: DataDirectory, runId: String) -> String { "\(data.catalogPath)/\(runId).sqlite" }

    /// Removes the catalog of `runId` and every cached diff it is a side of (the snapshot was deleted).
    public static func removeFiles(in data: DataDirectory, runId: String) {
        unlink(path(in: data, runId: runId))
        let diffs = data.catalogPath + "/diff"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: diffs)) ?? []
        where name.hasPrefix(runId + "_") || name.hasSuffix("_" + runId + ".sqlite") {
            unlink(diffs + "/" + name)
        }
    }
}

extension SnapshotDiff {
    /// `<data-dir>/catalog/diff/<from>_<to>.sqlite`.
    public static func path(in data: DataDirectory, from: String, to: String) -> String { "\(data.catalogPath)/diff/\(from)_\(to).sqlite" }
}
