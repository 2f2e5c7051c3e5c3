import Core
import Foundation

/// The previous snapshot's files as an incremental build asks for them (docs/formats.md, "Incremental snapshots",
/// "Walk order"): read from the base's entries index one line at a time while the walk goes, a merge of two sequences
/// sorted the same way, so memory does not grow with the tree. A base whose index is not in walk order (written
/// before it was, `entry_index.order` absent) is held as a dictionary by path instead, as before.
///
/// `@unchecked Sendable`: it travels inside the build's settings, but only the build's walk thread ever calls it.
public final class PriorIndex: @unchecked Sendable {
    private enum Source {
        case stream(EntriesIndexReader, baseRunId: String)
        case dictionary([[UInt8]: PriorEntry])
    }

    private var source: Source
    /// The stream's current line, not consumed yet: its path, whether it is a directory, its root, and the file it
    /// describes when it is a candidate.
    private var pending: (path: [UInt8], directory: Bool, root: Int, prior: PriorEntry?)?
    private var roots: [[UInt8]] = []
    private var runs: [[UInt8]: String] = [:]
    private var matched: Int64 = 0
    private var skipped: Int64 = 0
    private var finished = false
    /// Why the stream stopped before its end (a base that is corrupt past the part the build checked): the files
    /// after it are stored again, which is correct, only larger; the build says so.
    public private(set) var failure: String?

    /// A base held by path (tests, and a base not in walk order).
    public init(_ files: [[UInt8]: PriorEntry]) { source = .dictionary(files) }

    /// A base read as the walk goes: `entriesIndex` must be in walk order (`Manifest.entriesInWalkOrder`).
    public init(streaming entriesIndex: String, identity: String? = nil, baseRunId: String) throws {
        source = .stream(try EntriesIndexReader(path: entriesIndex, identity: identity), baseRunId: baseRunId)
    }

    /// No previous files (a full snapshot).
    public static var empty: PriorIndex { PriorIndex([:]) }

    /// Whether this base is read as the walk goes.
    public var isStreaming: Bool {
        if case .stream = source { return true }
        return false
    }

    /// The archive paths of the build's roots, in the order it walks them: a line is placed by its root first.
    func begin(roots: [[UInt8]]) { self.roots = roots }

    /// The previous record of the regular file at `path` (under root `root`), or nil. Asked in walk order, each path
    /// once; in a stream every line before it is passed over.
    func file(at path: [UInt8], root: Int) -> PriorEntry? {
        switch source {
        case .dictionary(let files):
            guard let found = files[path] else { return nil }
            matched += 1
            return found
        case .stream(let reader, let baseRunId):
            while true {
                if pending == nil {
                    guard !finished, let line = read(reader) else {
                        finished = true
                        return nil
                    }
                    pending = parse(line, baseRunId: baseRunId)
                    if pending == nil { continue }
                }
                let line = pending!
                let order = line.root != root ? (line.root < root ? -1 : 1) : WalkOrder.compare(line.path, line.directory, path, false)
                if order > 0 { return nil }
                pending = nil
                if order == 0 {
                    if line.prior != nil { matched += 1 }
                    return line.prior
                }
                if line.prior != nil { skipped += 1 }
            }
        }
    }

    /// The previous snapshot's files the walk did not meet (removed, or no longer a regular file), counted after the
    /// walk: the stream's remaining lines are read to their end.
    func removed() -> Int64 {
        switch source {
        case .dictionary(let files):
            return max(0, Int64(files.count) - matched)
        case .stream(let reader, let baseRunId):
            if pending?.prior != nil { skipped += 1 }
            pending = nil
            while !finished, let line = read(reader) {
                if parse(line, baseRunId: baseRunId)?.prior != nil { skipped += 1 }
            }
            finished = true
            return skipped
        }
    }

    private func read(_ reader: EntriesIndexReader) -> IndexLine? {
        do {
            return try reader.nextFields()
        } catch {
            failure = "line \(reader.count + 1): \(error)"
            finished = true
            return nil
        }
    }

    private func parse(_ entry: IndexLine, baseRunId: String) -> (path: [UInt8], directory: Bool, root: Int, prior: PriorEntry?)? {
        guard let path = entry.name("path", base64: "path_b64"), let kind = entry.string("kind") else { return nil }
        let root = roots.firstIndex { WalkOrder.isWithin(path, $0) } ?? -1
        return (path, kind.elementsEqual("dir".utf8), root, PriorEntry(entry, baseRunId: baseRunId, runs: &runs))
    }
}

extension PriorEntry {
    /// A line of an entries index as an unchanged-file candidate: a regular file with a hash and the identity fields
    /// (an index written before they existed gives none, so the next snapshot stores everything).
    init?(_ entry: IndexLine, baseRunId: String, runs: inout [[UInt8]: String]) {
        guard entry.string("kind")?.elementsEqual("file".utf8) == true, let hash = entry.string("hash"),
            let size = entry.int("size"),
            let mtime = entry.int("mtime"), let nanoseconds = entry.int("mtime_nsec"), (0..<1_000_000_000).contains(nanoseconds),
            let ctime = entry.int("ctime"), let ctimeNanoseconds = entry.int("ctime_nsec"), (0..<1_000_000_000).contains(ctimeNanoseconds),
            let inode = entry.int("ino"), let device = entry.int("dev")
        else { return nil }
        self.init(
            size: size,
            mtime: FileTime(seconds: mtime, nanoseconds: Int32(nanoseconds)),
            identity: FileIdentity(
                inode: UInt64(bitPattern: inode),
                device: UInt64(bitPattern: device),
                ctime: FileTime(seconds: ctime, nanoseconds: Int32(ctimeNanoseconds))
            ),
            hash: String(decoding: hash, as: UTF8.self),
            // Run ids as one string each, however many files name them (a hostile index names at most its lines).
            storedIn: entry.string("stored_in").map { run in
                if let known = runs[run] { return known }
                let text = String(decoding: run, as: UTF8.self)
                if runs.count < 4096 { runs[run] = text }
                return text
            } ?? baseRunId,
            offset: entry.int("offset"),
            sparse: entry.bool("sparse") == true
        )
    }
}

/// The order an incremental build walks a root in, and so writes its members and index lines (docs/formats.md,
/// "Walk order"): a directory, then the names in it that are not directories, bytewise, then each directory in it,
/// bytewise, with all it holds. Paths are compared component by component, so `a/b` and `a-c` fall where the walk puts
/// them, not where their bytes would.
public enum WalkOrder {
    /// -1, 0 or 1 as `a` (a directory when `aDirectory`) comes before, at or after `b`.
    public static func compare(_ a: [UInt8], _ aDirectory: Bool, _ b: [UInt8], _ bDirectory: Bool) -> Int {
        let slash = UInt8(ascii: "/")
        let shorter = min(a.count, b.count)
        var index = 0
        while index < shorter && a[index] == b[index] { index += 1 }
        if index == a.count && index == b.count { return aDirectory == bDirectory ? 0 : (aDirectory ? 1 : -1) }
        // One holds the other: the directory comes first.
        if index == a.count && b[index] == slash && (index > 0 || a.isEmpty) { return -1 }
        if index == b.count && a[index] == slash && (index > 0 || b.isEmpty) { return 1 }
        if a.isEmpty { return -1 }
        if b.isEmpty { return 1 }
        // The components the paths part in, from the last slash both share.
        var start = index
        while start > 0 && a[start - 1] != slash { start -= 1 }
        let aEnd = a[start...].firstIndex(of: slash) ?? a.count
        let bEnd = b[start...].firstIndex(of: slash) ?? b.count
        let aHolds = aEnd < a.count || aDirectory
        let bHolds = bEnd < b.count || bDirectory
        if aHolds != bHolds { return aHolds ? 1 : -1 }
        if index == aEnd { return -1 }
        if index == bEnd { return 1 }
        return a[index] < b[index] ? -1 : 1
    }

    /// Whether `path` is `root` or under it (component-wise; the empty root holds everything).
    public static func isWithin(_ path: [UInt8], _ root: [UInt8]) -> Bool {
        if root.isEmpty { return true }
        guard path.count >= root.count, path.starts(with: root) else { return false }
        return path.count == root.count || path[root.count] == UInt8(ascii: "/")
    }
}
