import Core
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Random access into a snapshot's payload (docs/formats.md, "Frames"): the members that start at given offsets of the
/// tar stream are read by decoding only the frames that hold them. Each part a byte is taken from is checked whole
/// (size and BLAKE3) before any of it is used, once; a remote part is fetched only when a wanted member is in it.
extension Snapshot {
    /// A member to read: where it starts in the uncompressed tar stream, and its archive path.
    public struct Wanted: Sendable, Equatable {
        public var offset: Int64
        public var path: [UInt8]

        public init(offset: Int64, path: [UInt8]) {
            self.offset = offset
            self.path = path
        }
    }

    /// The largest frame table read (docs/security.md, "Targets and secrets").
    public static let maxFrameTableBytes: Int64 = 256 << 20

    /// The frame table, checked against the manifest; nil when the payload has none.
    public func frameTable() throws -> FrameTable? {
        guard manifest.frameBytes != nil, let artifact = manifest.framesArtifact else { return nil }
        // Read whole into memory: bounded first (a 1 TiB payload in 64 KiB frames needs ~200 MiB of offsets at most),
        // then read once, checked against the manifest's size and BLAKE3 as it is read.
        guard artifact.size <= Self.maxFrameTableBytes else {
            throw ArchiveError.corrupt("\(Manifest.framesName) is larger than \(Self.maxFrameTableBytes) bytes")
        }
        var data: [UInt8] = []
        data.reserveCapacity(Int(artifact.size))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let part = Part(name: artifact.name, size: artifact.size, hash: artifact.hash)
        try Snapshot.readPart(directory + "/" + Manifest.framesName, part, buffer: &buffer) { data.append(contentsOf: $0) }
        guard let json = try? JSONValue.parse(bytes: data),
            let table = FrameTable(json: json), table.frameBytes == manifest.frameBytes
        else { throw ArchiveError.corrupt("\(Manifest.framesName) is not a frame table") }
        if encryptionKey != nil && table.ageHeader == nil { throw ArchiveError.corrupt("\(Manifest.framesName) lacks the age header") }
        return table
    }

    /// Reads the `wanted` members into `delegate`, decoding from the frame that holds each one (or on from the member
    /// before when it is in the same or the next frame). Members of other paths that share those frames are skipped.
    /// An encrypted payload is decrypted from the age chunk that holds the frame's start (`identity`). `progress`
    /// counts the stored bytes of the parts used.
    public func readMembers(
        _ wanted: [Wanted],
        frames: FrameTable,
        identity: String?,
        into delegate: any TarReaderDelegate,
        progress: BuildProgress? = nil,
        check: () throws -> Void = {}
    ) throws {
        let sorted = wanted.sorted { $0.offset < $1.offset }
        let filter = MemberFilter(paths: Set(sorted.map(\.path)), next: delegate)
        // With per-frame hashes only the frames' own bytes are read, each checked against its hash before use; without
        // (older snapshots, or a remote store read only whole), each part used is read and checked whole first.
        let parts: any StoredCursor =
            if frames.hashes != nil && (fetchPart == nil || fetchRange != nil) {
                FrameCursor(snapshot: self, frames: frames, progress: progress)
            } else {
                PartCursor(snapshot: self, progress: progress)
            }
        defer { parts.close() }
        // Where decoding is: the window counting the uncompressed position (it holds the tar reader), the sink the
        // part bytes go into, and the age decryptor when the payload is encrypted.
        var position: (window: Window, input: any ByteSink, decryptor: AgeDecryptor?)?
        for member in sorted {
            if filter.delivered.contains(member.path) { continue }
            guard let (frame, compressedOffset, skip) = frames.frame(holding: member.offset) else {
                throw ArchiveError.corrupt("an entry's offset \(member.offset) is past the last frame")
            }
            // Decoding on is cheaper than seeking when the member starts in the frame being decoded or the next one (or
            // has begun already: its header may still be arriving).
            let decodedFrame = position.map { Int($0.window.position / frames.frameBytes) }
            if position == nil || decodedFrame! + 1 < frame {
                let window = Window(skip: skip, next: TarReader(delegate: filter))
                let decoder = try ZstdDecompressor(next: window)
                window.position = Int64(frame) * frames.frameBytes
                if let header = frames.ageHeader {
                    // The age chunk holding the frame's start, decrypted alone; its bytes before the frame dropped.
                    guard let identity else { throw ArchiveError.corrupt("the snapshot is encrypted and no identity was given") }
                    let chunk = compressedOffset / Int64(Age.chunkSize)
                    let decryptor = try AgeDecryptor(identity: identity, next: Window(skip: compressedOffset % Int64(Age.chunkSize), next: decoder))
                    try decryptor.start(header: header, atChunk: UInt64(chunk))
                    try parts.seek(frame: frame, to: AgeDecryptor.offset(ofChunk: chunk, headerBytes: header.count))
                    position = (window, decryptor, decryptor)
                } else {
                    try parts.seek(frame: frame, to: compressedOffset)
                    position = (window, decoder, nil)
                }
            }
            var ended = false
            while !filter.delivered.contains(member.path) {
                try check()
                guard let chunk = try parts.next() else {
                    // An age stream's last chunk is opened only at its end.
                    if let decryptor = position!.decryptor, !ended {
                        ended = true
                        try decryptor.endOfStream()
                        continue
                    }
                    throw ArchiveError.corrupt("the payload ends before \(String(decoding: member.path, as: UTF8.self))")
                }
                try chunk.withUnsafeBytes { try position!.input.write($0) }
            }
        }
        let missing = filter.paths.subtracting(filter.delivered)
        if let first = missing.first {
            throw ArchiveError.corrupt("\(missing.count) member(s) are not where the index says, e.g. \(String(decoding: first, as: UTF8.self))")
        }
    }
}

extension Snapshot {
    /// Streams the whole payload and hands on only the members at `paths` (a snapshot without a frame table, or
    /// encrypted); each must be there.
    public func readMembers(
        paths: Set<[UInt8]>,
        into delegate: any TarReaderDelegate,
        identity: String?,
        progress: BuildProgress? = nil,
        betweenParts: () throws -> Void = {}
    ) throws {
        let filter = MemberFilter(paths: paths, next: delegate)
        try readMembers(into: filter, identity: identity, progress: progress, betweenParts: betweenParts)
        let missing = paths.subtracting(filter.delivered)
        if let first = missing.first {
            throw ArchiveError.corrupt(
                "\(missing.count) member(s) are not in the payload of run \(manifest.runId), e.g. \(String(decoding: first, as: UTF8.self))"
            )
        }
    }
}

/// Passes a stream on from where a seek aimed (dropping the first `skip` bytes: a frame's bytes before the member, or
/// a decrypted age chunk's before the frame), counting the position reached.
private final class Window: ByteSink {
    let next: any ByteSink
    var skip: Int64
    var position: Int64 = 0

    init(skip: Int64, next: any ByteSink) {
        self.skip = skip
        self.next = next
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var bytes = bytes
        position += Int64(bytes.count)
        if skip > 0 {
            let dropped = Int(min(skip, Int64(bytes.count)))
            skip -= Int64(dropped)
            bytes = UnsafeRawBufferPointer(rebasing: bytes[dropped...])
        }
        if !bytes.isEmpty { try next.write(bytes) }
    }

    func finish() throws {}
}

/// Hands on the wanted paths' members, each once; everything else the decoded frames hold is skipped.
private final class MemberFilter: TarReaderDelegate {
    let paths: Set<[UInt8]>
    let next: any TarReaderDelegate
    private(set) var delivered = Set<[UInt8]>()
    /// True while a wanted member is being handed on.
    private(set) var inside = false

    init(paths: Set<[UInt8]>, next: any TarReaderDelegate) {
        self.paths = paths
        self.next = next
    }

    func begin(_ entry: TarEntry) throws {
        inside = paths.contains(entry.path) && !delivered.contains(entry.path)
        if inside { try next.begin(entry) }
    }

    func content(_ bytes: UnsafeRawBufferPointer) throws { if inside { try next.content(bytes) } }

    func hole(_ count: Int64) throws { if inside { try next.hole(count) } }

    func end(_ entry: TarEntry) throws {
        guard inside else { return }
        inside = false
        try next.end(entry)
        delivered.insert(entry.path)
    }
}

/// The stored payload read from where a frame starts, onwards.
private protocol StoredCursor: AnyObject {
    /// Reads from the start of frame `frame`, which is at `offset` of the stored payload.
    func seek(frame: Int, to offset: Int64) throws
    /// The next bytes, nil after the last.
    func next() throws -> ArraySlice<UInt8>?
    func close()
}

/// Reads the stored payload frame by frame (docs/formats.md, "Frames"): only each frame's stored bytes, from the local
/// parts or by a ranged read of a remote one (`Snapshot.fetchRange`), each frame checked against its BLAKE3 in
/// `frames.json` before a byte of it is handed on. Holds one frame's bytes at a time. Two frames of an encrypted
/// payload may share an age chunk: the next frame's bytes are handed on from where the last ones ended.
private final class FrameCursor: StoredCursor {
    let snapshot: Snapshot
    let frames: FrameTable
    let progress: BuildProgress?
    private var frame = -1
    private var bytes: [UInt8] = []
    private var from = 0
    /// Where the bytes handed on so far end in the stored payload.
    private var handedOn: Int64 = 0
    private var descriptors: [Int: Int32] = [:]

    init(snapshot: Snapshot, frames: FrameTable, progress: BuildProgress?) {
        self.snapshot = snapshot
        self.frames = frames
        self.progress = progress
    }

    func seek(frame: Int, to offset: Int64) throws {
        let range = try load(frame)
        guard range.lowerBound == offset else { throw ArchiveError.corrupt("frame \(frame) does not start where the frame table says") }
        from = 0
        handedOn = range.upperBound
    }

    func next() throws -> ArraySlice<UInt8>? {
        while from >= bytes.count {
            guard frame >= 0, frame + 1 < frames.offsets.count else { return nil }
            let range = try load(frame + 1)
            guard range.lowerBound <= handedOn, handedOn <= range.upperBound else {
                throw ArchiveError.corrupt("frame \(frame) does not follow the one before")
            }
            from = Int(handedOn - range.lowerBound)
            handedOn = range.upperBound
        }
        defer { from = bytes.count }
        return bytes[from...]
    }

    /// Reads frame `index`'s stored bytes and checks them against its hash; its stored range.
    private func load(_ index: Int) throws -> Range<Int64> {
        guard let hashes = frames.hashes, index < hashes.count,
            let range = frames.storedRange(ofFrame: index, storedBytes: snapshot.payloadBytes)
        else { throw ArchiveError.corrupt("frame \(index) is not in the stored payload") }
        // Bastion's frames are at most `frame_bytes` compressed (and sealed); a larger one is not Bastion's.
        let limit = min(Int64(64 << 20), frames.frameBytes + frames.frameBytes / 64 + (1 << 18))
        guard range.count <= limit else { throw ArchiveError.corrupt("frame \(index) has \(range.count) stored bytes") }
        bytes = try read(range)
        var hasher = BLAKE3()
        hasher.update(bytes)
        guard hasher.finalizeHex() == hashes[index] else {
            throw ArchiveError.corrupt("frame \(index) of the payload does not match its BLAKE3 hash")
        }
        progress?.add(bytes: Int64(bytes.count))
        frame = index
        return range
    }

    /// The stored bytes of `range`, from the parts that hold them.
    private func read(_ range: Range<Int64>) throws -> [UInt8] {
        let split = snapshot.manifest.splitBytes
        guard split > 0 else { throw ArchiveError.corrupt("the manifest has no split_bytes") }
        var out = [UInt8](repeating: 0, count: range.count)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let index = Int(offset / split)
            guard index < snapshot.parts.count else { throw ArchiveError.corrupt("an offset past the last part") }
            let part = snapshot.parts[index]
            guard index == snapshot.parts.count - 1 || part.size == split else { throw ArchiveError.corrupt("\(part.name) is not split_bytes long") }
            let within = offset - Int64(index) * split
            let count = Int(min(range.upperBound - offset, part.size - within))
            guard count > 0 else { throw ArchiveError.corrupt("\(part.name) ends before the frame") }
            let at = Int(offset - range.lowerBound)
            if let fetchRange = snapshot.fetchRange {
                let fetched = try fetchRange(part, within, count)
                guard fetched.count == count else { throw ArchiveError.corrupt("\(part.name): \(fetched.count) bytes at \(within), not \(count)") }
                out.replaceSubrange(at..<(at + count), with: fetched)
            } else {
                let descriptor = try descriptor(index)
                var done = 0
                while done < count {
                    let got = out.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + at + done, count - done, off_t(within) + off_t(done)) }
                    if got < 0 && errno == EINTR { continue }
                    guard got > 0 else { throw ArchiveError.corrupt("\(part.name) ends before the frame") }
                    done += got
                }
            }
            offset += Int64(count)
        }
        return out
    }

    private func descriptor(_ index: Int) throws -> Int32 {
        if let known = descriptors[index] { return known }
        let part = snapshot.parts[index]
        let descriptor = try Snapshot.openRegularFile("\(snapshot.directory)/\(part.name)", name: part.name)
        descriptors[index] = descriptor
        return descriptor
    }

    func close() {
        for descriptor in descriptors.values { Glibc.close(descriptor) }
        descriptors = [:]
    }
}

/// Reads the compressed payload from any offset, part by part; each part is checked whole before its first byte is
/// used (fetched first when remote, and kept until the read moves past it).
private final class PartCursor: StoredCursor {
    let snapshot: Snapshot
    let progress: BuildProgress?
    private var checked: [Int: String] = [:]
    private var part = 0
    private var descriptor: Int32 = -1
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    init(snapshot: Snapshot, progress: BuildProgress?) {
        self.snapshot = snapshot
        self.progress = progress
    }

    func seek(frame: Int, to offset: Int64) throws {
        let split = snapshot.manifest.splitBytes
        guard split > 0 else { throw ArchiveError.corrupt("the manifest has no split_bytes") }
        part = Int(offset / split)
        try open(part, at: offset - Int64(part) * split)
    }

    /// The next bytes, nil after the last part.
    func next() throws -> ArraySlice<UInt8>? {
        while true {
            guard descriptor >= 0 else { return nil }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw ArchiveError.corrupt("\(snapshot.parts[part].name): \(String(cString: strerror(errno)))") }
            if count > 0 { return buffer[0..<count] }
            part += 1
            guard part < snapshot.parts.count else {
                Glibc.close(descriptor)
                descriptor = -1
                return nil
            }
            try open(part, at: 0)
        }
    }

    private func open(_ index: Int, at offset: Int64) throws {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        guard index < snapshot.parts.count else { throw ArchiveError.corrupt("an offset past the last part") }
        let part = snapshot.parts[index]
        guard index == snapshot.parts.count - 1 || part.size == snapshot.manifest.splitBytes else {
            throw ArchiveError.corrupt("\(part.name) is not split_bytes long")
        }
        // A read only moves forward (members in offset order), so a fetched part before this one is not read again:
        // removed now, a remote read stages one part at a time however many a file spans.
        if snapshot.fetchPart != nil {
            for (earlier, path) in checked where earlier < index {
                unlink(path)
                checked[earlier] = nil
            }
        }
        let path: String
        if let known = checked[index] {
            path = known
        } else {
            path = try snapshot.fetchPart?(part, false) ?? "\(snapshot.directory)/\(part.name)"
            var scratch = [UInt8](repeating: 0, count: 1 << 20)
            try Snapshot.readPart(path, part, buffer: &scratch) { _ in }
            checked[index] = path
            progress?.add(bytes: part.size)
        }
        descriptor = try Snapshot.openRegularFile(path, name: part.name)
        guard lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset) else {
            throw ArchiveError.corrupt("\(part.name) cannot be read at \(offset)")
        }
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        if snapshot.fetchPart != nil { for path in checked.values { unlink(path) } }
    }
}
