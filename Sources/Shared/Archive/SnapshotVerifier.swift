import Core
import Foundation

/// Checks a snapshot's payload against its entries index while the payload streams by (verify; nothing is
/// restored): every member must match its index entry (kind, size, mode, mtime to the nanosecond, link target, and a
/// file's BLAKE3), every index entry must have its member, and every name must be one Bastion's restore can write:
/// a path with `..`, an absolute path or a NUL fails; a name longer than NAME_MAX (255 bytes) is a warning. The index is
/// read alongside, one entry per tar member, so memory stays bounded when both are in the same order (always for
/// archives Bastion writes); members and entries that arrive out of order wait in maps until their other half shows
/// up. At most the one `extract` member, a sqlite snapshot's database, is copied to a work file for its integrity check.
///
/// A restore uses it `strict` (`CheckedMembers` in front of the writer): a member must be the next entry of the index
/// (or one of the entries expected), its header is compared as it begins and a file's content hash before the writer
/// renames it into place; the first difference throws `ArchiveError.corrupt` (docs/security.md, "Archives and restore").
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
    /// A restore's check: the first mismatch throws instead of being counted.
    private let strict: Bool
    /// In a strict check, what the member being read must be.
    private var strictExpected: Digest?

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

    /// `identity` decrypts an encrypted index; `strict`: a restore's check, members in the index's order, the first
    /// mismatch thrown.
    public init(
        entriesIndex path: String,
        identity: String? = nil,
        strict: Bool = false,
        isCanceled: @escaping () -> Bool = { false },
        extract: (member: String, to: String)? = nil
    ) throws {
        index = try EntriesIndexReader(path: path, identity: identity)
        self.strict = strict
        self.isCanceled = isCanceled
        self.extract = extract.map { (Array($0.member.utf8), $0.to) }
    }

    /// Checks the members an earlier snapshot of a chain holds for a later one (or those of a selection read by frame)
    /// against what the later one's index promises (`ChainPlan`): every one must arrive and match.
    init(expected: [[UInt8]: Digest], strict: Bool = false, isCanceled: @escaping () -> Bool) {
        index = nil
        self.strict = strict
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
        if strict { try checkHeader(entry) } else { checkRestorable(entry) }
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
        // A hostile map can announce exabytes of holes: hashed 64 MiB at a time, and a cancel is honoured between.
        var remaining = count
        while remaining > 0 {
            if isCanceled() { throw CancellationError() }
            let take = min(remaining, 64 << 20)
            ArchiveBuilder.hashZeros(take, into: &hasher!)
            if let extracting {
                try ArchiveBuilder.zeroChunkBytes(take) { try extracting.write($0) }
            }
            remaining -= take
        }
    }

    /// A strict check's start of a member: it must be the next index entry (or an expected one), with the same kind,
    /// size, mode, mtime and link target; its content hash is compared at its end.
    private func checkHeader(_ member: TarEntry) throws {
        let expected: Digest
        if index != nil {
            guard let entry = try nextOwnEntry(), let path = entry.name("path", base64: "path_b64"), path == member.path else {
                throw ArchiveError.corrupt("\(member.displayPath) is not the next entry of the entries index")
            }
            expected = Self.digest(entry)
        } else {
            guard let found = pendingEntries.removeValue(forKey: member.path) else {
                throw ArchiveError.corrupt("\(member.displayPath) is not in the entries index")
            }
            expected = found
        }
        var actual = Self.digest(member, hash: nil)
        actual.hash = expected.hash
        guard expected.matches(actual) else {
            throw ArchiveError.corrupt("\(member.displayPath): \(Self.differences(expected, actual)) differ from the entries index")
        }
        strictExpected = expected
    }

    static func digest(_ member: TarEntry, hash: String?) -> Digest {
        Digest(
            kind: member.kind.rawValue,
            size: member.kind == .file ? member.size : 0,
            hash: hash,
            mode: member.mode & 0o7777,
            mtime: member.mtime.seconds,
            nanoseconds: member.mtime.nanoseconds,
            target: member.linkTarget
        )
    }

    public func end(_ member: TarEntry) throws {
        let hash = member.kind == .file ? hasher?.finalizeHex() : nil
        hasher = nil
        let digest = Self.digest(member, hash: hash)
        if strict {
            guard let expected = strictExpected else { throw ArchiveError.corrupt("\(member.displayPath) ends without its start") }
            strictExpected = nil
            if expected.kind == "file" { filesTotal += 1 }
            guard expected.matches(digest) else {
                throw ArchiveError.corrupt("\(member.displayPath): \(Self.differences(expected, digest)) differ from the entries index")
            }
            if expected.kind == "file" { filesOK += 1 }
            return
        }
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
            try checkPending()
        }
        if let entry, let entryPath {
            let expected = Self.digest(entry)
            if let actual = pendingMembers.removeValue(forKey: entryPath) {
                settle(entryPath, expected: expected, actual: actual)
            } else {
                pendingEntries[entryPath] = expected
                mostPending = max(mostPending, pendingMembers.count + pendingEntries.count)
                try checkPending()
            }
        }
    }

    /// The most members and entries that may wait for their other half: Bastion's archives keep both in one order, so
    /// only a hostile or foreign one gets near it, and it must not hold the worker's memory.
    static let pendingLimit = 1_000_000

    private func checkPending() throws {
        guard pendingMembers.count + pendingEntries.count <= Self.pendingLimit || index == nil else {
            throw ArchiveError.corrupt("more than \(Self.pendingLimit) members and index entries are out of order")
        }
    }

    /// After the payload: the index entries no member answered are failures.
    public func finish() throws {
        if strict {
            if let entry = try nextOwnEntry() {
                let path = entry.name("path", base64: "path_b64").map { String(decoding: $0, as: UTF8.self) } ?? "?"
                throw ArchiveError.corrupt("\(path): in the entries index, not in the payload")
            }
            if let path = pendingEntries.keys.first {
                throw ArchiveError.corrupt("\(String(decoding: path, as: UTF8.self)): in the entries index, not in the payload")
            }
            return
        }
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
        record(failure: "\(display): \(Self.differences(expected, actual)) differ")
    }

    /// What differs between what the index promises and what a member is, for messages.
    static func differences(_ expected: Digest, _ actual: Digest) -> String {
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
        return differences.joined(separator: ", ")
    }

    private func record(failure: String) {
        if samples.count < 10 { samples.append(failure) }
    }
}

/// A restore's reader delegate: each member is checked by a strict `SnapshotVerifier` before `next` (the writer) sees
/// its start and again before it sees its end, so a member that differs from the entries index is never renamed into
/// place and stops the restore (docs/security.md, "Archives and restore").
public final class CheckedMembers: TarReaderDelegate {
    let check: SnapshotVerifier
    let next: any TarReaderDelegate

    public init(check: SnapshotVerifier, next: any TarReaderDelegate) {
        self.check = check
        self.next = next
    }

    public func begin(_ entry: TarEntry) throws {
        try check.begin(entry)
        try next.begin(entry)
    }

    public func content(_ bytes: UnsafeRawBufferPointer) throws {
        try check.content(bytes)
        try next.content(bytes)
    }

    public func hole(_ count: Int64) throws {
        try check.hole(count)
        try next.hole(count)
    }

    public func end(_ entry: TarEntry) throws {
        try check.end(entry)
        try next.end(entry)
    }
}
