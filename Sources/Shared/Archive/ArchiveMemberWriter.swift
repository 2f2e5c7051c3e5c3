import Foundation

/// The consumer side of a backup's build: receives the walk's members in batches through a `Handoff` on a thread of
/// its own and
/// writes them: tar headers and data (into the payload's zstd stage), each file's BLAKE3, and one line per member in
/// `entries.jsonl.zst` (`docs/formats.md`).
final class ArchiveMemberWriter: @unchecked Sendable {
    // @unchecked Sendable: handed to the consumer thread at start and used by it alone until `Handoff.run` returns.

    /// What the walk sends: a member without content; or a file's header, its data and holes, then its end.
    enum Item {
        case member(TarEntry)
        case file(TarEntry)
        case data([UInt8])
        /// A pooled buffer's first `count` bytes; the writer gives the buffer back.
        case buffer(ReadBuffer, count: Int)
        case hole(Int64)
        case end
        /// A file of an incremental snapshot that has not changed since an earlier one: an index line pointing to the
        /// snapshot that holds its bytes, nothing in tar.
        case reference(TarEntry, PriorEntry)

        var weight: Int {
            switch self {
            case .data(let bytes): return bytes.count + 64
            case .buffer(_, let count): return count + 64
            default: return 512
            }
        }
    }

    private let tar: TarWriter
    private let index: ZstdCompressor
    private let readBuffers: ReadBuffer.Pool
    /// Index lines not yet handed to the index's compressor.
    private var indexLines: [UInt8] = []
    private(set) var entriesCount: Int64 = 0
    /// Where the file being written starts in the tar stream.
    private var fileOffset: Int64 = 0
    /// Who builds the catalog beside the archive, and the entries not handed to it yet.
    private let observer: (any IndexObserver)?
    private var observed: [IndexedEntry] = []

    init(tar: TarWriter, index: ZstdCompressor, readBuffers: ReadBuffer.Pool, observer: (any IndexObserver)? = nil) {
        self.tar = tar
        self.index = index
        self.readBuffers = readBuffers
        self.observer = observer
    }

    /// Writes every item until the walk is done, then ends the tar stream and the index.
    func consume(_ batches: Handoff<[Item]>) throws {
        var file: TarEntry?
        var hasher = BLAKE3()
        while let batch = try batches.next() {
            for item in batch { try write(item, file: &file, hasher: &hasher) }
        }
        try tar.finish()
        try index.write(indexLines)
        try index.finish()
        if !observed.isEmpty { observer?.indexed(observed) }
        observed = []
    }

    private func write(_ item: Item, file: inout TarEntry?, hasher: inout BLAKE3) throws {
        switch item {
        case .member(let entry):
            let offset = tar.offset
            try tar.begin(entry)
            try appendIndex(entry, hash: nil, offset: offset)
        case .file(let entry):
            fileOffset = tar.offset
            try tar.begin(entry)
            file = entry
            hasher = BLAKE3()
        case .reference(let entry, let prior):
            try appendIndex(entry, hash: prior.hash, offset: prior.offset, storedIn: prior.storedIn)
        case .data(let bytes):
            hasher.update(bytes)
            try bytes.withUnsafeBytes { try tar.write($0) }
        case .buffer(let buffer, let count):
            let bytes = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count])
            hasher.update(bytes)
            try tar.write(bytes)
            readBuffers.give(buffer)
        case .hole(let count):
            ArchiveBuilder.hashZeros(count, into: &hasher)
        case .end:
            try tar.end()
            if let entry = file { try appendIndex(entry, hash: hasher.finalizeHex(), offset: fileOffset) }
            file = nil
        }
    }

    /// One line of `entries.jsonl.zst` (`docs/formats.md`), written by hand: this runs once per file.
    private func appendIndex(_ entry: TarEntry, hash: String?, offset: Int64?, storedIn: String? = nil) throws {
        // Taken out of the property while it grows (a copy would duplicate the buffer on every append).
        var line: [UInt8] = []
        swap(&line, &indexLines)
        defer { swap(&line, &indexLines) }
        line.append(contentsOf: #"{"path":"#.utf8)
        IndexJSON.appendString(entry.path, key: "path", to: &line)
        line.append(contentsOf: #","kind":""#.utf8)
        line.append(contentsOf: entry.kind.rawValue.utf8)
        line.append(contentsOf: #"","size":"#.utf8)
        Decimal.append(entry.size, to: &line)
        if let hash {
            line.append(contentsOf: #","hash_alg":"blake3","hash":""#.utf8)
            line.append(contentsOf: hash.utf8)
            line.append(UInt8(ascii: "\""))
        } else {
            line.append(contentsOf: #","hash_alg":null,"hash":null"#.utf8)
        }
        line.append(contentsOf: #","mtime":"#.utf8)
        Decimal.append(entry.mtime.seconds, to: &line)
        line.append(contentsOf: #","mtime_nsec":"#.utf8)
        Decimal.append(UInt64(entry.mtime.nanoseconds), to: &line)
        line.append(contentsOf: #","mode":"#.utf8)
        Decimal.append(UInt64(entry.mode), to: &line)
        line.append(contentsOf: #","uid":"#.utf8)
        Decimal.append(UInt64(entry.uid), to: &line)
        line.append(contentsOf: #","gid":"#.utf8)
        Decimal.append(UInt64(entry.gid), to: &line)
        if !entry.userName.isEmpty {
            line.append(contentsOf: #","user":"#.utf8)
            IndexJSON.appendString(entry.userName, key: nil, to: &line)
        }
        if !entry.groupName.isEmpty {
            line.append(contentsOf: #","group":"#.utf8)
            IndexJSON.appendString(entry.groupName, key: nil, to: &line)
        }
        if let target = entry.linkTarget {
            let key = entry.kind == .hardlink ? "hardlink_target" : "symlink_target"
            line.append(contentsOf: ",\"\(key)\":".utf8)
            IndexJSON.appendString(target, key: key, to: &line)
        }
        if entry.kind == .characterDevice || entry.kind == .blockDevice {
            line.append(contentsOf: ",\"rdev_major\":\(entry.deviceMajor),\"rdev_minor\":\(entry.deviceMinor)".utf8)
        }
        if entry.sparse != nil { line.append(contentsOf: #","sparse":true"#.utf8) }
        if let identity = entry.identity {
            line.append(contentsOf: #","ctime":"#.utf8)
            Decimal.append(identity.ctime.seconds, to: &line)
            line.append(contentsOf: #","ctime_nsec":"#.utf8)
            Decimal.append(UInt64(identity.ctime.nanoseconds), to: &line)
            line.append(contentsOf: #","ino":"#.utf8)
            Decimal.append(identity.inode, to: &line)
            line.append(contentsOf: #","dev":"#.utf8)
            Decimal.append(identity.device, to: &line)
        }
        if let offset {
            line.append(contentsOf: #","offset":"#.utf8)
            Decimal.append(offset, to: &line)
        }
        if let storedIn {
            line.append(contentsOf: #","stored_in":"#.utf8)
            IndexJSON.appendString(Array(storedIn.utf8), key: nil, to: &line)
        }
        if !entry.xattrs.isEmpty {
            line.append(contentsOf: #","xattrs":{"#.utf8)
            for (index, attribute) in entry.xattrs.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                IndexJSON.appendString(attribute.name, key: nil, to: &line)
                line.append(contentsOf: ":\"\(Data(attribute.value).base64EncodedString())\"".utf8)
            }
            line.append(UInt8(ascii: "}"))
        }
        line.append(contentsOf: "}\n".utf8)
        entriesCount += 1
        if let observer {
            let link = entry.kind == .symlink || entry.kind == .hardlink ? entry.linkTarget : nil
            observed.append(
                IndexedEntry(
                    path: entry.path,
                    kind: entry.kind.rawValue,
                    size: entry.size,
                    mtime: entry.mtime.seconds,
                    mtimeNsec: Int64(entry.mtime.nanoseconds),
                    mode: Int64(entry.mode),
                    uid: Int64(entry.uid),
                    gid: Int64(entry.gid),
                    hash: hash,
                    link: link
                )
            )
            if observed.count >= 1024 {
                observer.indexed(observed)
                observed.removeAll(keepingCapacity: true)
            }
        }
        if line.count >= 256 << 10 {
            try index.write(line)
            line.removeAll(keepingCapacity: true)
        }
    }

}
