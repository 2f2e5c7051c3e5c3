import Archive
import Core
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A database job's snapshot read back (docs/databases.md, "Verify" and "Restore into a database"): its dumps from the
/// manifest's `database` section, and every member checked against the entries index while the chosen dumps' members
/// are joined, in order, into one file each in a private work directory (for `pg_restore`).
enum DatabaseSnapshot {
    /// The dumps the manifest lists; nil when it has no `database` section.
    static func dumps(_ manifest: Manifest) throws -> [DumpRecord]? {
        guard let section = manifest.database else { return nil }
        guard case .array(let items)? = section["dumps"], items.count <= 100_000 else {
            throw RunFailure(code: "snapshot_corrupt", message: "the manifest's database section lists no dumps")
        }
        return try items.map { item in
            guard let dump = DumpRecord(json: item) else {
                throw RunFailure(code: "snapshot_corrupt", message: "the manifest's database section has a dump it cannot use")
            }
            return dump
        }
    }

    /// Reads the whole snapshot through a (non-strict) `SnapshotVerifier` and joins each of `dumps`' members into
    /// `<directory>/dump-<n>`; the verifier's outcome and each dump's file by archive path. A member missing or out of
    /// order is `ArchiveError.corrupt`.
    static func extract(
        _ snapshot: Snapshot,
        identity: String?,
        dumps: [DumpRecord],
        into directory: String,
        progress: BuildProgress,
        isCanceled: @escaping () -> Bool
    ) throws -> (SnapshotVerifier.Outcome, [String: String]) {
        var files: [String: String] = [:]
        for (index, dump) in dumps.enumerated() { files[dump.archivePath] = "\(directory)/dump-\(index)" }
        let joiner = DumpJoiner(dumps: dumps, files: files)
        let verifier = try SnapshotVerifier(
            entriesIndex: snapshot.directory + "/" + Manifest.entriesIndexName,
            identity: snapshot.indexIdentity(identity),
            isCanceled: isCanceled
        )
        try snapshot.readMembers(into: Tee(first: verifier, second: joiner), identity: identity, progress: progress) {
            if isCanceled() { throw CancellationError() }
        }
        try verifier.finish()
        try joiner.finish()
        return (verifier.outcome, files)
    }
}

/// Both delegates see every member (the verifier first).
final class Tee: TarReaderDelegate {
    let first: any TarReaderDelegate
    let second: any TarReaderDelegate

    init(first: any TarReaderDelegate, second: any TarReaderDelegate) {
        self.first = first
        self.second = second
    }

    func begin(_ entry: TarEntry) throws {
        try first.begin(entry)
        try second.begin(entry)
    }

    func content(_ bytes: UnsafeRawBufferPointer) throws {
        try first.content(bytes)
        try second.content(bytes)
    }

    func hole(_ count: Int64) throws {
        try first.hole(count)
        try second.hole(count)
    }

    func end(_ entry: TarEntry) throws {
        try first.end(entry)
        try second.end(entry)
    }
}

/// Appends each dump's members, in the manifest's order, to the dump's file (created 0600, never through a link).
final class DumpJoiner: TarReaderDelegate, @unchecked Sendable {
    // @unchecked Sendable: made on the executor's task, then used by the one thread that reads the snapshot.
    /// Member path → (archive path of its dump, its position among the dump's members).
    private var owners: [[UInt8]: (dump: String, index: Int)] = [:]
    private var nextIndex: [String: Int] = [:]
    private let counts: [String: Int]
    private let files: [String: String]
    private var descriptor: Int32 = -1

    init(dumps: [DumpRecord], files: [String: String]) {
        for dump in dumps {
            for (index, member) in dump.members.enumerated() { owners[Array(member.utf8)] = (dump.archivePath, index) }
        }
        counts = Dictionary(dumps.map { ($0.archivePath, $0.members.count) }, uniquingKeysWith: { first, _ in first })
        self.files = files
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func begin(_ entry: TarEntry) throws {
        guard entry.kind == .file, let owner = owners[entry.path], let path = files[owner.dump] else { return }
        guard nextIndex[owner.dump, default: 0] == owner.index else {
            throw ArchiveError.corrupt("\(entry.displayPath) is not the next member of \(owner.dump)")
        }
        nextIndex[owner.dump] = owner.index + 1
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ArchiveError.corrupt(POSIXFailure("open \(path)").description) }
    }

    func content(_ bytes: UnsafeRawBufferPointer) throws {
        guard descriptor >= 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw RunFailure(code: "staging_unavailable", message: POSIXFailure("write a dump").description) }
            offset += written
        }
    }

    func hole(_ count: Int64) throws {
        guard descriptor >= 0 else { return }
        try ArchiveBuilder.zeroChunkBytes(count) { try content($0) }
    }

    func end(_ entry: TarEntry) throws {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
    }

    /// Every member of every dump arrived.
    func finish() throws {
        for (dump, count) in counts where nextIndex[dump, default: 0] != count {
            throw ArchiveError.corrupt("\(dump): \(nextIndex[dump, default: 0]) of its \(count) member(s) are in the snapshot")
        }
    }
}
