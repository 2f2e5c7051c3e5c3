import Foundation

/// Checks a snapshot's payload against its entries index while the payload streams by (verify; nothing is
/// restored): every `file` entry must come back with its size and BLAKE3. The index is read alongside, one entry per
/// tar member, so memory stays bounded when both are in the same order (always for archives Bastion writes); members
/// and entries that arrive out of order wait in maps until their other half shows up. At most the one `extract`
/// member, a sqlite snapshot's database, is copied to a work file for its integrity check.
public final class SnapshotVerifier: TarReaderDelegate {
    struct Digest: Equatable {
        var size: Int64
        var hash: String?
    }

    private let index: EntriesIndexReader
    private let isCanceled: () -> Bool
    private let extract: (member: String, to: String)?
    private var extracting: FileSink?
    private var hasher: BLAKE3?
    private var pendingMembers: [String: Digest] = [:]
    private var pendingEntries: [String: Digest] = [:]

    /// `file` entries in the index, and those that matched.
    public private(set) var filesTotal = 0
    public private(set) var filesOK = 0
    /// The first ten paths that did not match.
    public private(set) var samples: [String] = []
    /// The most members and entries that waited for their other half at once (0 when the orders agree).
    public private(set) var mostPending = 0
    /// True once the `extract` member was copied out completely.
    public private(set) var extracted = false
    /// Entries read from the index (compare with the manifest's `entry_index.count`).
    public var entriesCount: Int64 { index.count }

    /// What a finished verification found.
    public struct Outcome: Sendable {
        public var filesTotal: Int
        public var filesOK: Int
        public var samples: [String]
        public var entriesCount: Int64
    }

    public var outcome: Outcome { Outcome(filesTotal: filesTotal, filesOK: filesOK, samples: samples, entriesCount: entriesCount) }

    public init(entriesIndex path: String, isCanceled: @escaping () -> Bool = { false }, extract: (member: String, to: String)? = nil) throws {
        index = try EntriesIndexReader(path: path)
        self.isCanceled = isCanceled
        self.extract = extract
    }

    public func begin(_ entry: TarEntry) throws {
        if isCanceled() { throw CancellationError() }
        guard entry.kind == .file else { return }
        hasher = BLAKE3()
        if let extract, entry.path == extract.member { extracting = try FileSink(path: extract.to) }
    }

    public func content(_ bytes: UnsafeRawBufferPointer) throws {
        hasher?.update(bytes)
        try extracting?.write(bytes)
    }

    public func end(_ member: TarEntry) throws {
        var digest: Digest?
        if member.kind == .file, let hasher {
            digest = Digest(size: member.size, hash: hasher.finalizeHex())
            self.hasher = nil
        }
        if let extracting {
            try extracting.finish()
            self.extracting = nil
            extracted = true
        }
        // The index entry written for this member, when the orders agree.
        let entry = try index.next()
        let entryPath = entry.flatMap { if case .string(let path)? = $0["path"] { path } else { nil } }
        if let entry, entryPath == member.path {
            if let expected = Self.fileDigest(entry) {
                filesTotal += 1
                check(member.path, expected: expected, actual: digest)
            }
            return
        }
        if let digest {
            if let expected = pendingEntries.removeValue(forKey: member.path) {
                check(member.path, expected: expected, actual: digest)
            } else {
                pendingMembers[member.path] = digest
                mostPending = max(mostPending, pendingMembers.count + pendingEntries.count)
            }
        }
        if let entry, let entryPath, let expected = Self.fileDigest(entry) {
            filesTotal += 1
            if let actual = pendingMembers.removeValue(forKey: entryPath) {
                check(entryPath, expected: expected, actual: actual)
            } else {
                pendingEntries[entryPath] = expected
                mostPending = max(mostPending, pendingMembers.count + pendingEntries.count)
            }
        }
    }

    /// After the payload: the index entries no member answered are failures.
    public func finish() throws {
        while let entry = try index.next() {
            guard let expected = Self.fileDigest(entry), case .string(let path)? = entry["path"] else { continue }
            filesTotal += 1
            check(path, expected: expected, actual: pendingMembers.removeValue(forKey: path))
        }
        for path in pendingEntries.keys.sorted() { record(failure: path) }
        pendingEntries = [:]
    }

    /// What a `file` entry promises; nil for other kinds.
    static func fileDigest(_ entry: JSONValue) -> Digest? {
        guard entry["kind"] == .string("file") else { return nil }
        let hash: String? = if case .string(let value)? = entry["hash"] { value } else { nil }
        return Digest(size: Int64(entry["size"]?.intValue ?? -1), hash: hash)
    }

    /// Settles one file entry (already counted in `filesTotal`).
    private func check(_ path: String, expected: Digest, actual: Digest?) {
        if actual == expected { filesOK += 1 } else { record(failure: path) }
    }

    private func record(failure path: String) {
        if samples.count < 10 { samples.append(path) }
    }
}
