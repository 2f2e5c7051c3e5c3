import CFileSystem
import Core
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A finished `archive_v1` snapshot on a `local_dir` target: its manifest and parts, readable only when
/// `complete.json` exists.
public struct Snapshot: Sendable {
    public struct Part: Sendable, Equatable {
        public var name: String
        public var size: Int64
        public var hash: String
    }

    public let directory: String
    public let manifest: Manifest
    public let parts: [Part]
    public let entriesCount: Int64?
    /// The age key name when the payload is encrypted.
    public let encryptionKey: String?
    /// A remote snapshot: fetches a part into a local file and returns its path (checked before use, removed once
    /// read); `sequential` says the read goes on through the parts in order (the next may be fetched meanwhile). Nil:
    /// the parts are in `directory`.
    public let fetchPart: (@Sendable (Part, _ sequential: Bool) throws -> String)?
    /// A remote snapshot: `count` bytes of a part from `offset` (a ranged read; docs/targets.md, "Reading a
    /// snapshot"), for a read by frame whose frame table has hashes. Nil: read from `directory`, or (remote) only whole
    /// parts through `fetchPart`.
    public let fetchRange: (@Sendable (Part, _ offset: Int64, _ count: Int) throws -> [UInt8])?

    /// The payload decoder chain: [age decrypt →] zstd → `next`.
    public func decoder(identity: String?, next: any ByteSink) throws -> any ByteSink {
        let decompressor = try ZstdDecompressor(next: next)
        guard encryptionKey != nil else { return decompressor }
        guard let identity else { throw ArchiveError.corrupt("the snapshot is encrypted and no identity was given") }
        return try AgeDecryptor(identity: identity, next: decompressor)
    }

    /// Why a snapshot cannot be read.
    public enum OpenError: Error, CustomStringConvertible, Sendable {
        case notComplete(String)
        case unreadable(String)

        public var description: String {
            switch self {
            case .notComplete(let directory): return "\(directory) has no complete.json: the snapshot never finished"
            case .unreadable(let message): return message
            }
        }
    }

    /// The largest manifest read: it lists one line per part (a 1 TiB payload in 1 MiB parts is about 130 MiB).
    public static let maxManifestBytes: Int = 256 << 20

    /// `directory` holds `manifest.json` and `complete.json` (for a remote snapshot, the copies fetched into staging).
    public init(
        directory: String,
        fetchPart: (@Sendable (Part, _ sequential: Bool) throws -> String)? = nil,
        fetchRange: (@Sendable (Part, _ offset: Int64, _ count: Int) throws -> [UInt8])? = nil
    ) throws {
        self.directory = directory
        self.fetchPart = fetchPart
        self.fetchRange = fetchRange
        guard access(directory + "/complete.json", F_OK) == 0 else { throw OpenError.notComplete(directory) }
        // Read whole into memory: bounded, and only when it is a regular file (a target may serve anything).
        let data: [UInt8]
        do {
            data = try Self.readRegularFile(directory + "/manifest.json", limit: Self.maxManifestBytes)
        } catch {
            throw OpenError.unreadable("\(directory)/manifest.json: \(error)")
        }
        guard let json = try? JSONValue.parse(bytes: data) else { throw OpenError.unreadable("\(directory)/manifest.json is not a manifest") }
        do {
            manifest = try Manifest(json: json)
        } catch {
            throw OpenError.unreadable("\(directory)/manifest.json: \(error)")
        }
        encryptionKey = manifest.encryptionKey
        parts = manifest.payloadParts.map { Part(name: $0.name, size: $0.size, hash: $0.hash) }
        entriesCount = manifest.entriesCount >= 0 ? manifest.entriesCount : nil
    }

    /// Streams the payload (parts in order) into `sink`, checking each part's size and BLAKE3 as it is read; a missing,
    /// short, long or altered part stops the stream with `ArchiveError.corrupt`. A fetched part (a remote snapshot) is
    /// checked whole before any of it reaches `sink`, and removed once read. `betweenParts` runs after each part;
    /// `progress` counts the stored bytes read (its total is `payloadBytes`).
    public func streamPayload(into sink: any ByteSink, progress: BuildProgress? = nil, betweenParts: () throws -> Void = {}) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for part in parts {
            let path = try fetchPart?(part, true) ?? "\(directory)/\(part.name)"
            defer { if fetchPart != nil { unlink(path) } }
            if fetchPart != nil { try Self.readPart(path, part, buffer: &buffer) { _ in } }
            try Self.readPart(path, part, buffer: &buffer) { chunk in
                try sink.write(chunk)
                progress?.add(bytes: Int64(chunk.count))
            }
            try betweenParts()
        }
        try sink.finish()
    }

    /// Streams the payload's tar members to `delegate`: the parts are read, checked, decrypted and decompressed on this
    /// thread, and the members parsed and handed to `delegate` on another (`PipelinedSink`), as `zstd -d | tar -x` uses
    /// two processes. `identity` decrypts an encrypted payload.
    public func readMembers(
        into delegate: any TarReaderDelegate,
        identity: String?,
        progress: BuildProgress? = nil,
        betweenParts: () throws -> Void = {}
    ) throws {
        try PipelinedSink.run(next: TarReader(delegate: delegate)) { members in
            try streamPayload(into: try decoder(identity: identity, next: members), progress: progress, betweenParts: betweenParts)
        }
    }

    /// Reads the part at `path` chunk by chunk into `body`, checking its size and BLAKE3 against the manifest's; a
    /// missing, short, long or altered part is `ArchiveError.corrupt` (after the chunks read so far).
    static func readPart(_ path: String, _ part: Part, buffer: inout [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let descriptor = try openRegularFile(path, name: part.name)
        defer { close(descriptor) }
        var hasher = BLAKE3()
        var size: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.corrupt("\(part.name): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            size += Int64(count)
            guard size <= part.size else { throw ArchiveError.corrupt("\(part.name) is larger than the manifest says") }
            try buffer.withUnsafeBytes { raw in
                let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<count])
                hasher.update(chunk)
                try body(chunk)
            }
        }
        guard size == part.size else { throw ArchiveError.corrupt("\(part.name) has \(size) bytes, the manifest says \(part.size)") }
        guard hasher.finalizeHex() == part.hash else { throw ArchiveError.corrupt("\(part.name) does not match its BLAKE3 hash") }
    }

    /// Checks a non-payload artifact (the entries index, the frame table) at `path` against the manifest.
    public func checkArtifact(_ name: String, at path: String) throws {
        guard let artifact = manifest.artifacts.first(where: { $0.name == name }) else {
            throw ArchiveError.corrupt("the manifest lists no \(name)")
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        try Self.readPart(path, Part(name: name, size: artifact.size, hash: artifact.hash), buffer: &buffer) { _ in }
    }

    /// The stored size of the payload (all parts; `Manifest` refuses a total past `Int64.max`).
    public var payloadBytes: Int64 { manifest.payloadBytes }

    /// Opens a file of a snapshot for reading only when it is a regular file (docs/security.md, "Archives and
    /// restore"): the name is first opened `O_PATH | O_NOFOLLOW`, which opens nothing for reading (a symlink is not
    /// followed, a FIFO cannot block, a device sees no open), and `fstat`ed; only a regular file is then opened for
    /// reading, through `/proc/self/fd`, so it is the very file that was checked.
    public static func openRegularFile(_ path: String, name: String) throws -> Int32 {
        let handle = open(path, bastion_o_path() | O_NOFOLLOW | O_CLOEXEC)
        guard handle >= 0 else { throw ArchiveError.corrupt("\(name) is missing (\(String(cString: strerror(errno))))") }
        defer { close(handle) }
        var info = stat()
        guard fstat(handle, &info) == 0 else { throw ArchiveError.corrupt("\(name): \(String(cString: strerror(errno)))") }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK: throw ArchiveError.corrupt("\(name) is a symlink (never followed)")
        default: throw ArchiveError.corrupt("\(name) is not a regular file")
        }
        let descriptor = open("/proc/self/fd/\(handle)", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ArchiveError.corrupt("\(name) cannot be opened (\(String(cString: strerror(errno))))") }
        return descriptor
    }

    /// A regular file's bytes (`openRegularFile`), at most `limit` of them (more is an error).
    public static func readRegularFile(_ path: String, limit: Int) throws -> [UInt8] {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let descriptor = try openRegularFile(path, name: name)
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.corrupt("\(name): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else { throw ArchiveError.corrupt("\(name) is larger than \(limit) bytes") }
            bytes += buffer[0..<count]
        }
    }

    /// The path of the entries index once its size and BLAKE3 matched the manifest's: read from a target, it is used
    /// only after this check (docs/security.md, "Targets and secrets").
    public func checkedEntriesIndex() throws -> String {
        let path = directory + "/" + Manifest.entriesIndexName
        try checkArtifact(Manifest.entriesIndexName, at: path)
        return path
    }

    /// The size the manifest records for the artifact `name` (0 when it lists none): the most a download of it takes.
    public func recordedSize(of name: String) -> Int64 { manifest.artifacts.first { $0.name == name }?.size ?? 0 }

    /// The identity that reads the entries index: `identity` when the index is encrypted, nil when it is plain; an
    /// encrypted index and no identity is an error.
    public func indexIdentity(_ identity: String?) throws -> String? {
        guard manifest.entriesIndexEncrypted else { return nil }
        guard let identity else { throw ArchiveError.corrupt("the entries index is encrypted and no identity was given") }
        return identity
    }

    /// Checks that every part exists with its size and hash, without decoding anything.
    public func checkParts(progress: BuildProgress? = nil, betweenParts: () throws -> Void = {}) throws {
        final class Discard: ByteSink {
            func write(_ bytes: UnsafeRawBufferPointer) throws {}
            func finish() throws {}
        }
        try streamPayload(into: Discard(), progress: progress, betweenParts: betweenParts)
    }
}
