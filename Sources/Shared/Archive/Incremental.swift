import Core
import Foundation

/// What an incremental build knows of the job's previous snapshot (docs/formats.md, "Incremental snapshots").
public struct IncrementalBase: Sendable {
    /// This snapshot's level: 0 for a full one, n for the n-th after it.
    public var level: Int
    /// The snapshots this one builds on, oldest (the full one) first; empty for a full one.
    public var chain: [String]
    /// The previous snapshot's files by archive path; empty for a full one.
    public var prior: [[UInt8]: PriorEntry]
    /// Read and hash every file, and treat one as unchanged only when its content is (`rehash: true`).
    public var rehash: Bool

    public init(level: Int, chain: [String], prior: [[UInt8]: PriorEntry], rehash: Bool = false) {
        self.level = level
        self.chain = chain
        self.prior = prior
        self.rehash = rehash
    }

    /// A full snapshot that starts a chain: every directory carries its dumpdir, every file is in it.
    public static func full(rehash: Bool = false) -> IncrementalBase { IncrementalBase(level: 0, chain: [], prior: [:], rehash: rehash) }

    /// The previous snapshot's unchanged-file candidates, from its entries index: regular files with a hash and the
    /// identity fields (an index written before they existed gives none, so the next snapshot stores everything).
    /// `baseRunId` is the run that wrote the index: the snapshot holding the bytes of its own members.
    public static func loadPrior(entriesIndex path: String, identity: String? = nil, baseRunId: String) throws -> [[UInt8]: PriorEntry] {
        let reader = try EntriesIndexReader(path: path, identity: identity)
        var prior: [[UInt8]: PriorEntry] = [:]
        let file = Array("file".utf8)
        // Run ids as one string each, however many files name them.
        var runs: [[UInt8]: String] = [:]
        while let entry = try reader.nextFields() {
            guard entry.string("kind") == file, let path = entry.name("path", base64: "path_b64"), let hash = entry.string("hash"),
                let size = entry.int("size"),
                let mtime = entry.int("mtime"), let nanoseconds = entry.int("mtime_nsec"), (0..<1_000_000_000).contains(nanoseconds),
                let ctime = entry.int("ctime"), let ctimeNanoseconds = entry.int("ctime_nsec"), (0..<1_000_000_000).contains(ctimeNanoseconds),
                let inode = entry.int("ino"), let device = entry.int("dev")
            else { continue }
            prior[path] = PriorEntry(
                size: size,
                mtime: FileTime(seconds: mtime, nanoseconds: Int32(nanoseconds)),
                identity: FileIdentity(
                    inode: UInt64(bitPattern: inode),
                    device: UInt64(bitPattern: device),
                    ctime: FileTime(seconds: ctime, nanoseconds: Int32(ctimeNanoseconds))
                ),
                hash: String(decoding: hash, as: UTF8.self),
                storedIn: entry.string("stored_in").map { run in
                    if let known = runs[run] { return known }
                    let text = String(decoding: run, as: UTF8.self)
                    runs[run] = text
                    return text
                } ?? baseRunId,
                offset: entry.int("offset"),
                sparse: entry.bool("sparse") == true
            )
        }
        return prior
    }
}

/// A file as the previous snapshot's index recorded it, and where its bytes are.
public struct PriorEntry: Sendable, Equatable {
    public var size: Int64
    public var mtime: FileTime
    public var identity: FileIdentity
    /// BLAKE3 of the content.
    public var hash: String
    /// The run whose snapshot holds the bytes, and where the member starts in its tar stream.
    public var storedIn: String
    public var offset: Int64?
    public var sparse: Bool

    /// Unchanged as restic and GNU tar tell: same size, mtime and ctime to the nanosecond, same inode and device.
    public func isUnchanged(size: Int64, mtime: FileTime, identity: FileIdentity) -> Bool {
        self.size == size && self.mtime == mtime && self.identity == identity
    }
}
