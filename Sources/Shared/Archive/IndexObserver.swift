/// An entry of the index at the moment the builder writes its line (docs/architecture.md, "One pass"): what the
/// snapshot's catalog needs, taken from the member itself instead of from `entries.jsonl.zst` read back afterwards.
public struct IndexedEntry: Sendable {
    /// The archive path, as in the index's `path`.
    public var path: [UInt8]
    /// `file`, `dir`, `symlink`, `hardlink`, `fifo`, `char`, `block`.
    public var kind: String
    public var size: Int64
    public var mtime: Int64
    public var mtimeNsec: Int64
    public var mode: Int64
    public var uid: Int64
    public var gid: Int64
    /// A file's BLAKE3, as the index writes it (hex).
    public var hash: String?
    /// A symlink's or hardlink's target.
    public var link: [UInt8]?

    public init(
        path: [UInt8],
        kind: String,
        size: Int64,
        mtime: Int64,
        mtimeNsec: Int64,
        mode: Int64,
        uid: Int64,
        gid: Int64,
        hash: String?,
        link: [UInt8]?
    ) {
        self.path = path
        self.kind = kind
        self.size = size
        self.mtime = mtime
        self.mtimeNsec = mtimeNsec
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.hash = hash
        self.link = link
    }
}

/// Receives the index's entries while the archive is built (the catalog, `SnapshotCatalog.LiveBuild` in Store, which
/// Archive cannot see). Called on the build's writer thread, in index order, in batches; it must not throw and
/// should not block for long (its own thread does the work).
public protocol IndexObserver: AnyObject, Sendable {
    func indexed(_ entries: [IndexedEntry])
}
