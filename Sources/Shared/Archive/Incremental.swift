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
    public static func loadPrior(entriesIndex path: String, baseRunId: String) throws -> [[UInt8]: PriorEntry] {
        let reader = try EntriesIndexReader(path: path)
        var prior: [[UInt8]: PriorEntry] = [:]
        while let entry = try reader.next() {
            guard case .string("file")? = entry["kind"], let path = IndexJSON.bytes(entry, "path"),
                case .string(let hash)? = entry["hash"], let size = entry["size"]?.intValue,
                let mtime = entry["mtime"]?.intValue, let nanoseconds = entry["mtime_nsec"]?.intValue,
                let ctime = entry["ctime"]?.intValue, let ctimeNanoseconds = entry["ctime_nsec"]?.intValue,
                let inode = entry["ino"]?.doubleValue, let device = entry["dev"]?.doubleValue
            else { continue }
            prior[path] = PriorEntry(
                size: Int64(size),
                mtime: FileTime(seconds: Int64(mtime), nanoseconds: Int32(nanoseconds)),
                identity: FileIdentity(
                    inode: UInt64(inode),
                    device: UInt64(device),
                    ctime: FileTime(seconds: Int64(ctime), nanoseconds: Int32(ctimeNanoseconds))
                ),
                hash: hash,
                storedIn: entry["stored_in"]?.stringValue ?? baseRunId,
                offset: entry["offset"]?.intValue.map(Int64.init),
                sparse: entry["sparse"] == .bool(true)
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
