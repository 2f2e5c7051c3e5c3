import Core
import Foundation

/// Checks a snapshot's payload against its entries index while the payload streams by (verify; nothing is
/// restored): every member must match its index entry (kind, size, mode, mtime to the nanosecond, link target, and a
/// file's BLAKE3), every index entry must have its member, and every name must be one Bastion's restore can write:
/// a path with `..`, an absolute path or a NUL fails; a name longer than NAME_MAX (255 bytes) is a warning. The index is
/// read alongside, one entry per tar member, so memory stays bounded when both are in the same order (always for
/// archives Bastion writes); members and entries that arrive out of order wait in maps until their other half shows
/// up. At most the one `extract` member, a sqlite snapshot's database, is copied to a work file for its integrity check.
public final class SnapshotVerifier: TarReaderDelegate {
    struct Digest: Equatable {
        var kind: String
        var size: Int64
        var hash: String?
        var mode: UInt32?
        var mtime: Int64?
        var nanoseconds: Int32?
        var target: [UInt8]?

        /// Equal where both sides say something (an older index has no `mtime_nsec`).
        func matches(_ other: Digest) -> Bool {
            kind == other.kind && size == other.size && hash == other.hash && target == other.target
                && (mode == nil || other.mode == nil || mode == other.mode)
                && (mtime == nil || other.mtime == nil || mtime == other.mtime)
                && (nanoseconds == nil || other.nanoseconds == nil || nanoseconds == other.nanoseconds)
        }
    }

    /// The index read alongside the payload; nil when the entries expected are given (`init(expected:)`).
    private let index: EntriesIndexReader?
    private let isCanceled: () -> Bool
    private let extract: (member: [UInt8], to: String)?
    private var extracting: FileSink?
    private var hasher: BLAKE3?
    private var pendingMembers: [[UInt8]: Digest] = [:]
    private var pendingEntries: [[UInt8]: Digest] = [:]

    /// `file` entries in the index, and those that matched.
    public private(set) var filesTotal = 0
    public private(set) var filesOK = 0
    /// Entries of other kinds that did not match (or had no member).
    public private(set) var otherFailures = 0
    /// Members Bastion's restore would refuse.
    public private(set) var unrestorable = 0
    /// Names longer than NAME_MAX: most file systems cannot hold them.
    public private(set) var warnings: [String] = []
    public private(set) var warningsTotal = 0
    /// The first ten paths that did not match, with why.
    public private(set) var samples: [String] = []
    /// The most members and entries that waited for their other half at once (0 when the orders agree).
    public private(set) var mostPending = 0
    /// True once the `extract` member was copied out completely.
    public private(set) var extracted = false
    /// Entries read from the index (compare with the manifest's `entry_index.count`).
    public var entriesCount: Int64 { index?.count ?? 0 }

    /// What a finished verification found.
    public struct Outcome: Sendable {
        public var filesTotal: Int
        public var filesOK: Int
        public var otherFailures: Int
        public var unrestorable: Int
        public var samples: [String]
        public var warningsTotal: Int
        public var warnings: [String]
        public var entriesCount: Int64

        /// Adds what the check of another payload of the same snapshot found (an earlier snapshot of its chain); the
        /// entry count stays this one's.
        public mutating func add(_ other: Outcome) {
            filesTotal += other.filesTotal
            filesOK += other.filesOK
            otherFailures += other.otherFailures
            unrestorable += other.unrestorable
            samples += other.samples.prefix(max(0, 10 - samples.count))
            warningsTotal += other.warningsTotal
            warnings += other.warnings.prefix(max(0, 10 - warnings.count))
        }
    }

    public var outcome: Outcome {
        Outcome(
            filesTotal: filesTotal,
            filesOK: filesOK,
            otherFailures: otherFailures,
            unrestorable: unrestorable,
            samples: samples,
            warningsTotal: warningsTotal,
            warnings: warnings,
            entriesCount: entriesCount
        )
    }

    public init(
        entriesIndex path: String,
        identity: String? = nil,
        isCanceled: @escaping () -> Bool = { false },
        extract: (member: String, to: String)? = nil
    ) throws {
        index = try EntriesIndexReader(path: path, identity: identity)
        self.isCanceled = isCanceled
        self.extract = extract.map { (Array($0.member.utf8), $0.to) }
    }

    /// Checks the members an earlier snapshot of a chain holds for a later one against what the later one's index
    /// promises (`ChainPlan`): every one must arrive and match.
    init(expected: [[UInt8]: Digest], isCanceled: @escaping () -> Bool) {
        index = nil
        self.isCanceled = isCanceled
        extract = nil
        pendingEntries = expected
    }

    /// The next index entry this payload holds: entries of an incremental snapshot stored in an earlier one
    /// (`stored_in`) are checked by reading that one.
    private func nextOwnEntry() throws -> IndexLine? {
        while let entry = try index?.nextFields() {
            if entry.string("stored_in") == nil { return entry }
        }
        return nil
    }

    public func begin(_ entry: TarEntry) throws {
        if isCanceled() { throw CancellationError() }
        checkRestorable(entry)
        guard entry.kind == .file else { return }
        hasher = BLAKE3()
        if let extract, entry.path == extract.member { extracting = try FileSink(path: extract.to) }
    }

    /// The same rules as `RestoreWriter`: a refused path fails the verify; an over-long name warns.
    private func checkRestorable(_ entry: TarEntry) {
        guard entry.path.first != UInt8(ascii: "/"), let components = RestoreWriter.components(entry.path), !components.isEmpty else {
            unrestorable += 1
            record(failure: "\(entry.displayPath): a path restore refuses (absolute, .. or NUL)")
            return
        }
        if let long = components.first(where: { $0.count > Int(NAME_MAX) }) {
            warningsTotal += 1
            if warnings.count < 10 {
                warnings.append("\(entry.displayPath): a name of \(long.count) bytes; most file systems allow \(NAME_MAX)")
            }
        }
    }

    public func content(_ bytes: UnsafeRawBufferPointer) throws {
        hasher?.update(bytes)
        try extracting?.write(bytes)
    }

    public func hole(_ count: Int64) throws {
        guard hasher != nil else { return }
        ArchiveBuilder.hashZeros(count, into: &hasher!)
        if let extracting {
            try ArchiveBuilder.zeroChunkBytes(count) { try extracting.write($0) }
        }
    }

    public func end(_ member: TarEntry) throws {
        let hash = member.kind == .file ? hasher?.finalizeHex() : nil
        hasher = nil
        let digest = Digest(
            kind: member.kind.rawValue,
            size: member.kind == .file ? member.size : 0,
            hash: hash,
            mode: member.mode & 0o7777,
            mtime: member.mtime.seconds,
            nanoseconds: member.mtime.nanoseconds,
            target: member.linkTarget
        )
        if let extracting {
            try extracting.finish()
            self.extracting = nil
            extracted = true
        }
        // The index entry written for this member, when the orders agree.
        let entry = try nextOwnEntry()
        let entryPath = entry.flatMap { $0.name("path", base64: "path_b64") }
        if let entry, let entryPath, entryPath == member.path {
            settle(member.path, expected: Self.digest(entry), actual: digest)
            return
        }
        if let expected = pendingEntries.removeValue(forKey: member.path) {
            settle(member.path, expected: expected, actual: digest)
        } else {
            pendingMembers[member.path] = digest
            mostPending = max(mostPending, pendingMembers.count + pendingEntries.count)
        }
        if let entry, let entryPath {
            let expected = Self.digest(entry)
            if let actual = pendingMembers.removeValue(forKey: entryPath) {
                settle(entryPath, expected: expected, actual: actual)
            } else {
                pendingEntries[entryPath] = expected
                mostPending = max(mostPending, pendingMembers.count + pendingEntries.count)
            }
        }
    }

    /// After the payload: the index entries no member answered are failures.
    public func finish() throws {
        while let entry = try nextOwnEntry() {
            guard let path = entry.name("path", base64: "path_b64") else { continue }
            settle(path, expected: Self.digest(entry), actual: pendingMembers.removeValue(forKey: path))
        }
        for (path, expected) in pendingEntries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            settle(path, expected: expected, actual: nil)
        }
        pendingEntries = [:]
        for path in pendingMembers.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            otherFailures += 1
            record(failure: "\(String(decoding: path, as: UTF8.self)): in the payload, not in the index")
        }
        pendingMembers = [:]
    }

    /// What an index line promises.
    static func digest(_ entry: IndexLine) -> Digest {
        let kind = entry.string("kind").map { String(decoding: $0, as: UTF8.self) } ?? ""
        let target =
            kind == "hardlink"
            ? entry.name("hardlink_target", base64: "hardlink_target_b64") : entry.name("symlink_target", base64: "symlink_target_b64")
        return Digest(
            kind: kind,
            size: kind == "file" ? entry.int("size") ?? -1 : 0,
            hash: kind == "file" ? entry.string("hash").map { String(decoding: $0, as: UTF8.self) } : nil,
            mode: entry.int("mode").map { UInt32(truncatingIfNeeded: $0) & 0o7777 },
            mtime: entry.int("mtime"),
            nanoseconds: entry.int("mtime_nsec").map { Int32(truncatingIfNeeded: $0) },
            target: kind == "symlink" || kind == "hardlink" ? target ?? [] : nil
        )
    }

    /// Settles one entry of the index against its member (nil: no member).
    private func settle(_ path: [UInt8], expected: Digest, actual: Digest?) {
        if expected.kind == "file" { filesTotal += 1 }
        if let actual, expected.matches(actual) {
            if expected.kind == "file" { filesOK += 1 }
            return
        }
        if expected.kind != "file" { otherFailures += 1 }
        let display = String(decoding: path, as: UTF8.self)
        guard let actual else { return record(failure: "\(display): in the index, not in the payload") }
        var differences: [String] = []
        if actual.kind != expected.kind { differences.append("kind") }
        if actual.size != expected.size { differences.append("size") }
        if actual.hash != expected.hash { differences.append("content") }
        if actual.target != expected.target { differences.append("link target") }
        if !(actual.mode == nil || expected.mode == nil || actual.mode == expected.mode) { differences.append("mode") }
        if !(actual.mtime == nil || expected.mtime == nil || actual.mtime == expected.mtime)
            || !(actual.nanoseconds == nil || expected.nanoseconds == nil || actual.nanoseconds == expected.nanoseconds)
        {
            differences.append("mtime")
        }
        record(failure: "\(display): \(differences.joined(separator: ", ")) differ")
    }

    private func record(failure: String) {
        if samples.count < 10 { samples.append(failure) }
    }
}
