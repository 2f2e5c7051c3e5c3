import Core
import Foundation

/// What an incremental build knows of the job's previous snapshot (docs/formats.md, "Incremental snapshots").
public struct IncrementalBase: Sendable {
    /// This snapshot's level: 0 for a full one, n for the n-th after it.
    public var level: Int
    /// The snapshots this one builds on, oldest (the full one) first; empty for a full one.
    public var chain: [String]
    /// The previous snapshot's files, asked for in walk order (`PriorIndex`); none for a full one.
    public var prior: PriorIndex
    /// Read and hash every file, and treat one as unchanged only when its content is (`rehash: true`).
    public var rehash: Bool

    public init(level: Int, chain: [String], prior: PriorIndex, rehash: Bool = false) {
        self.level = level
        self.chain = chain
        self.prior = prior
        self.rehash = rehash
    }

    /// A base held by path (tests, and a base whose index is not in walk order).
    public init(level: Int, chain: [String], prior: [[UInt8]: PriorEntry], rehash: Bool = false) {
        self.init(level: level, chain: chain, prior: PriorIndex(prior), rehash: rehash)
    }

    /// A full snapshot that starts a chain: every directory carries its dumpdir, every file is in it.
    public static func full(rehash: Bool = false) -> IncrementalBase { IncrementalBase(level: 0, chain: [], prior: .empty, rehash: rehash) }

    /// The previous snapshot's unchanged-file candidates by path, from its entries index: regular files with a hash
    /// and the identity fields (an index written before they existed gives none, so the next snapshot stores
    /// everything). `baseRunId` is the run that wrote the index: the snapshot holding the bytes of its own members.
    /// Holds every file of the base: only for a base whose index is not in walk order (`PriorIndex`).
    public static func loadPrior(entriesIndex path: String, identity: String? = nil, baseRunId: String) throws -> [[UInt8]: PriorEntry] {
        let reader = try EntriesIndexReader(path: path, identity: identity)
        var prior: [[UInt8]: PriorEntry] = [:]
        var runs: [[UInt8]: String] = [:]
        while let entry = try reader.nextFields() {
            guard let path = entry.name("path", base64: "path_b64"), let found = PriorEntry(entry, baseRunId: baseRunId, runs: &runs) else {
                continue
            }
            prior[path] = found
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
