import Foundation

/// Writes a POSIX pax tar stream the way GNU tar's `--format=posix --xattrs --acls --sparse` does (`docs/formats.md`):
/// ustar headers, and a pax `x` header before any member with something ustar cannot hold: a name or link target that
/// is long or not ASCII (raw bytes, marked `hdrcharset=BINARY`), times with nanoseconds (`mtime`,
/// `atime`), large sizes or ids, long or non-ASCII owner names, extended attributes (`SCHILY.xattr.NAME`, POSIX ACLs
/// also as `SCHILY.acl.access`/`default` text), and sparse files (GNU sparse 1.0: `GNU.sparse.*` records, the map at
/// the start of the member's data). Small writes are gathered into 256 KiB before they go downstream.
public final class TarWriter {
    private let next: any ByteSink
    private var header = [UInt8](repeating: 0, count: 512)
    private var records: [UInt8] = []
    private var scratch: [UInt8] = []
    private static let paxPrefix = Array("PaxHeaders/".utf8)
    private var paxName = TarWriter.paxPrefix
    private var output: [UInt8] = []
    private let outputLimit = 256 << 10
    private var remainingInMember: Int64 = 0
    private var storedSize: Int64 = 0
    /// Bytes handed downstream so far.
    private var flushed: Int64 = 0

    /// Where the next member starts in the uncompressed tar stream (the entries index records it: docs/formats.md).
    public var offset: Int64 { flushed + Int64(output.count) }

    public init(next: any ByteSink) {
        self.next = next
        output.reserveCapacity(outputLimit + 2048)
    }

    /// Starts a member; for files, `write` exactly the member's data next: `entry.size` bytes, or for a sparse entry the
    /// bytes of its segments in order.
    public func begin(_ entry: TarEntry) throws {
        precondition(remainingInMember == 0, "previous member not complete")
        var name = entry.path
        if entry.kind == .directory { name.append(UInt8(ascii: "/")) }
        records.removeAll(keepingCapacity: true)
        var sparseMap: [UInt8] = []
        var dataSize: Int64 = entry.kind == .file ? entry.size : 0
        var ustarName = name
        if let segments = entry.sparse, entry.kind == .file {
            // GNU sparse 1.0: the real name and size in pax records, a stand-in name in the header, the map first.
            Self.record("GNU.sparse.major", Array("1".utf8), into: &records)
            Self.record("GNU.sparse.minor", Array("0".utf8), into: &records)
            Self.record("GNU.sparse.name", name, into: &records)
            Self.record("GNU.sparse.realsize", Array(String(entry.size).utf8), into: &records)
            var map = "\(segments.count)\n"
            for segment in segments { map += "\(segment.offset)\n\(segment.length)\n" }
            sparseMap = Array(map.utf8)
            sparseMap += [UInt8](repeating: 0, count: (512 - sparseMap.count % 512) % 512)
            dataSize = segments.reduce(0) { $0 + $1.length }
            let slash = name.lastIndex(of: UInt8(ascii: "/"))
            let directory = slash.map { Array(name[..<$0]) + Array("/".utf8) } ?? []
            let base = slash.map { Array(name[name.index(after: $0)...]) } ?? name
            ustarName = directory + Array("GNUSparseFile.0/".utf8) + base
        }
        let split = Self.split(ustarName)
        let pathNeedsPax = split == nil || !Self.isASCII(ustarName)
        if pathNeedsPax && entry.sparse == nil { Self.record("path", name, into: &records) }
        let link = entry.linkTarget ?? []
        if link.count > 100 || !Self.isASCII(link) { Self.record("linkpath", link, into: &records) }
        let stored = Int64(sparseMap.count) + dataSize
        if stored > 0o77777777777 { Self.record("size", Array(String(stored).utf8), into: &records) }
        if entry.mtime.nanoseconds != 0 || entry.mtime.seconds < 0 || entry.mtime.seconds > 0o77777777777 {
            timeRecord("mtime", entry.mtime)
        }
        if let atime = entry.atime { timeRecord("atime", atime) }
        if entry.uid > 0o7777777 { Self.record("uid", Array(String(entry.uid).utf8), into: &records) }
        if entry.gid > 0o7777777 { Self.record("gid", Array(String(entry.gid).utf8), into: &records) }
        if entry.userName.count > 31 || !Self.isASCII(entry.userName) { Self.record("uname", entry.userName, into: &records) }
        if entry.groupName.count > 31 || !Self.isASCII(entry.groupName) { Self.record("gname", entry.groupName, into: &records) }
        if let dumpdir = entry.dumpdir, entry.kind == .directory { Self.record("GNU.dumpdir", dumpdir, into: &records) }
        for attribute in entry.xattrs {
            Self.record("SCHILY.xattr." + String(decoding: attribute.name, as: UTF8.self), attribute.value, into: &records)
            if let kind = POSIXACL.kind(ofAttribute: attribute.name), let text = POSIXACL.text(attribute.value) {
                Self.record("SCHILY.acl." + kind, Array(text.utf8), into: &records)
            }
        }
        if !records.isEmpty {
            if !(Self.isASCII(name) && Self.isASCII(link) && Self.isASCII(entry.userName) && Self.isASCII(entry.groupName)) {
                // The names are the file system's bytes, not text in some encoding: POSIX's mark for that, before them.
                // bsdtar then writes them as they are instead of converting them to its locale (which fails on NFD
                // names); GNU tar always writes bytes as they are (1.34 prints a warning for the keyword).
                var marked: [UInt8] = []
                Self.record("hdrcharset", Array("BINARY".utf8), into: &marked)
                records.insert(contentsOf: marked, at: 0)
            }
            paxName.removeSubrange(Self.paxPrefix.count...)
            for byte in name.suffix(80) { paxName.append(byte == UInt8(ascii: "/") ? UInt8(ascii: "_") : byte) }
            writeHeader(
                name: paxName[...],
                prefix: [],
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: Int64(records.count),
                mtime: 0,
                type: UInt8(ascii: "x"),
                link: [],
                userName: [],
                groupName: [],
                device: (0, 0)
            )
            try append(header)
            try append(records)
            try pad(Int64(records.count))
        }
        let type: UInt8
        switch entry.kind {
        case .file: type = UInt8(ascii: "0")
        case .hardlink: type = UInt8(ascii: "1")
        case .symlink: type = UInt8(ascii: "2")
        case .characterDevice: type = UInt8(ascii: "3")
        case .blockDevice: type = UInt8(ascii: "4")
        case .directory: type = UInt8(ascii: "5")
        case .fifo: type = UInt8(ascii: "6")
        }
        let (ustar, prefix) = split ?? (ustarName.prefix(100), [])
        writeHeader(
            name: ustar,
            prefix: prefix,
            mode: entry.mode & 0o7777,
            uid: min(entry.uid, 0o7777777),
            gid: min(entry.gid, 0o7777777),
            size: min(stored, 0o77777777777),
            mtime: max(0, min(entry.mtime.seconds, 0o77777777777)),
            type: type,
            link: link.prefix(100),
            userName: entry.userName.prefix(32),
            groupName: entry.groupName.prefix(32),
            device: (min(entry.deviceMajor, 0o7777777), min(entry.deviceMinor, 0o7777777))
        )
        try append(header)
        if !sparseMap.isEmpty { try append(sparseMap) }
        remainingInMember = dataSize
        storedSize = stored
    }

    /// Data of the current file member.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard Int64(bytes.count) <= remainingInMember else { throw ArchiveError.sizeMismatch("more content than the header announced") }
        remainingInMember -= Int64(bytes.count)
        if output.count + bytes.count <= outputLimit {
            output.append(contentsOf: bytes)
        } else {
            try flush()
            try next.write(bytes)
            flushed += Int64(bytes.count)
        }
    }

    /// Ends the current file member (pads its stored size to 512).
    public func end() throws {
        guard remainingInMember == 0 else { throw ArchiveError.sizeMismatch("\(remainingInMember) bytes missing from a member") }
        try pad(storedSize)
        storedSize = 0
    }

    /// Two zero blocks, then the downstream stages finish.
    public func finish() throws {
        try append([UInt8](repeating: 0, count: 1024))
        try flush()
        try next.finish()
    }

    private func append(_ bytes: [UInt8]) throws {
        output.append(contentsOf: bytes)
        if output.count >= outputLimit { try flush() }
    }

    private func flush() throws {
        guard !output.isEmpty else { return }
        try next.write(output)
        flushed += Int64(output.count)
        output.removeAll(keepingCapacity: true)
    }

    private func pad(_ size: Int64) throws {
        let remainder = Int(size % 512)
        if remainder != 0 { try append([UInt8](repeating: 0, count: 512 - remainder)) }
    }

    /// A time record built in place: `"<length> <key>=<seconds.fraction>\n"`.
    private func timeRecord(_ key: StaticString, _ time: FileTime) {
        scratch.removeAll(keepingCapacity: true)
        time.appendPax(to: &scratch)
        let bodyCount = 1 + key.utf8CodeUnitCount + 1 + scratch.count + 1
        var length = bodyCount + 1
        while Decimal.count(length) + bodyCount != length { length = Decimal.count(length) + bodyCount }
        Decimal.append(UInt64(length), to: &records)
        records.append(UInt8(ascii: " "))
        records.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        records.append(UInt8(ascii: "="))
        records.append(contentsOf: scratch)
        records.append(UInt8(ascii: "\n"))
    }

    static func isASCII(_ bytes: [UInt8]) -> Bool {
        for byte in bytes where byte >= 0x80 { return false }
        return true
    }

    /// ustar name/prefix split of a path; nil when it does not fit.
    static func split(_ bytes: [UInt8]) -> (name: ArraySlice<UInt8>, prefix: ArraySlice<UInt8>)? {
        if bytes.count <= 100 { return (bytes[...], []) }
        // Split at a '/' so that prefix ≤ 155 and name ≤ 100.
        for index in stride(from: min(bytes.count - 1, 155), through: 1, by: -1) where bytes[index] == UInt8(ascii: "/") {
            let name = bytes[(index + 1)...]
            if name.count <= 100, !name.isEmpty { return (name, bytes[..<index]) }
        }
        return nil
    }

    /// Appends one pax record, `"<length> <key>=<value>\n"`, where length counts itself; the value is raw bytes.
    static func record(_ key: String, _ value: [UInt8], into records: inout [UInt8]) {
        let bodyCount = 1 + key.utf8.count + 1 + value.count + 1
        var length = bodyCount + 1
        while Decimal.count(length) + bodyCount != length { length = Decimal.count(length) + bodyCount }
        Decimal.append(UInt64(length), to: &records)
        records.append(UInt8(ascii: " "))
        records += Array(key.utf8)
        records.append(UInt8(ascii: "="))
        records += value
        records.append(UInt8(ascii: "\n"))
    }

    private func writeHeader(
        name: ArraySlice<UInt8>,
        prefix: ArraySlice<UInt8>,
        mode: UInt32,
        uid: UInt32,
        gid: UInt32,
        size: Int64,
        mtime: Int64,
        type: UInt8,
        link: ArraySlice<UInt8>,
        userName: ArraySlice<UInt8>,
        groupName: ArraySlice<UInt8>,
        device: (UInt32, UInt32)
    ) {
        header.withUnsafeMutableBytes { raw in
            let block = raw.bindMemory(to: UInt8.self)
            block.initialize(repeating: 0)
            func put(_ bytes: ArraySlice<UInt8>, at offset: Int) {
                var position = offset
                for byte in bytes {
                    block[position] = byte
                    position += 1
                }
            }
            // Zero-padded octal filling width - 1 digits, then NUL.
            func octal(_ value: Int64, at offset: Int, width: Int) {
                var remaining = UInt64(value)
                var position = offset + width - 2
                while position >= offset {
                    block[position] = UInt8(ascii: "0") + UInt8(remaining & 7)
                    remaining >>= 3
                    position -= 1
                }
            }
            put(name, at: 0)
            octal(Int64(mode), at: 100, width: 8)
            octal(Int64(uid), at: 108, width: 8)
            octal(Int64(gid), at: 116, width: 8)
            octal(size, at: 124, width: 12)
            octal(mtime, at: 136, width: 12)
            block[156] = type
            put(link, at: 157)
            put([0x75, 0x73, 0x74, 0x61, 0x72, 0, 0x30, 0x30], at: 257)  // "ustar\0" "00"
            put(userName, at: 265)
            put(groupName, at: 297)
            if type == UInt8(ascii: "3") || type == UInt8(ascii: "4") {
                octal(Int64(device.0), at: 329, width: 8)
                octal(Int64(device.1), at: 337, width: 8)
            }
            put(prefix, at: 345)
            // Checksum: the header's byte sum with the checksum field read as spaces; six digits, NUL, space.
            for index in 148..<156 { block[index] = UInt8(ascii: " ") }
            var sum: Int64 = 0
            for index in 0..<512 { sum += Int64(block[index]) }
            octal(sum, at: 148, width: 7)
            block[154] = 0
            block[155] = UInt8(ascii: " ")
        }
    }
}

/// Archive build and read failures.
public enum ArchiveError: Error, CustomStringConvertible, Sendable {
    case sizeMismatch(String)
    case corrupt(String)
    case unsafePath(String)

    public var description: String {
        switch self {
        case .sizeMismatch(let message): return "size mismatch: \(message)"
        case .corrupt(let message): return "corrupt archive: \(message)"
        case .unsafePath(let path): return "unsafe path in archive: \(path)"
        }
    }
}
