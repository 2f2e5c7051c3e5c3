import Foundation

/// One archive member's header.
public struct TarEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file, directory, symlink, hardlink
    }

    /// Relative path inside the archive (`/`-separated, no leading `/`, no `..`). Directories without a trailing `/`.
    public var path: String
    public var kind: Kind
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Unix seconds.
    public var mtime: Int64
    public var size: Int64
    /// Symlink target, or the archive path a hardlink points to.
    public var linkTarget: String?

    public init(path: String, kind: Kind, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, mtime: Int64, size: Int64 = 0, linkTarget: String? = nil) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.size = size
        self.linkTarget = linkTarget
    }
}

/// Writes a POSIX pax tar stream (ustar headers; a pax `x` header before any member whose path or link target does
/// not fit, or whose size, ids or mtime exceed ustar's octal fields). GNU tar, bsdtar and Python's tarfile read it.
public final class TarWriter {
    private let next: any ByteSink
    private var header = [UInt8](repeating: 0, count: 512)
    private var remainingInMember: Int64 = 0

    public init(next: any ByteSink) {
        self.next = next
    }

    /// Starts a member; for files, `write` exactly `entry.size` bytes next.
    public func begin(_ entry: TarEntry) throws {
        precondition(remainingInMember == 0, "previous member not complete")
        let name = entry.kind == .directory ? entry.path + "/" : entry.path
        var pax: [(String, String)] = []
        let (ustarName, ustarPrefix) = Self.split(name)
        if ustarName == nil { pax.append(("path", name)) }
        if let link = entry.linkTarget, link.utf8.count > 100 { pax.append(("linkpath", link)) }
        if entry.size >= 0o77777777777 { pax.append(("size", "\(entry.size)")) }
        if entry.mtime < 0 || entry.mtime >= 0o77777777777 { pax.append(("mtime", "\(entry.mtime)")) }
        if entry.uid > 0o7777777 { pax.append(("uid", "\(entry.uid)")) }
        if entry.gid > 0o7777777 { pax.append(("gid", "\(entry.gid)")) }
        if !pax.isEmpty {
            var records = [UInt8]()
            for (key, value) in pax { records += Self.paxRecord(key, value) }
            let tail = String(decoding: name.utf8.suffix(80), as: UTF8.self).replacingOccurrences(of: "/", with: "_")
            let paxName = "PaxHeaders/" + tail
            try writeHeader(
                name: Array(paxName.utf8.prefix(100)),
                prefix: [],
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: Int64(records.count),
                mtime: 0,
                type: UInt8(ascii: "x"),
                link: []
            )
            try next.write(records)
            try pad(Int64(records.count))
        }
        let type: UInt8
        switch entry.kind {
        case .file: type = UInt8(ascii: "0")
        case .directory: type = UInt8(ascii: "5")
        case .symlink: type = UInt8(ascii: "2")
        case .hardlink: type = UInt8(ascii: "1")
        }
        let size = entry.kind == .file ? entry.size : 0
        try writeHeader(
            name: ustarName ?? Array(name.utf8.prefix(100)),
            prefix: ustarName == nil ? [] : ustarPrefix,
            mode: entry.mode & 0o7777,
            uid: min(entry.uid, 0o7777777),
            gid: min(entry.gid, 0o7777777),
            size: min(size, 0o77777777777),
            mtime: max(0, min(entry.mtime, 0o77777777777)),
            type: type,
            link: Array((entry.linkTarget ?? "").utf8.prefix(100))
        )
        remainingInMember = size
        if size == 0 { remainingInMember = 0 }
    }

    /// Content of the current file member.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard Int64(bytes.count) <= remainingInMember else { throw ArchiveError.sizeMismatch("more content than the header announced") }
        try next.write(bytes)
        remainingInMember -= Int64(bytes.count)
    }

    /// Ends the current file member (pads to 512); `size` is what its header announced.
    public func end(size: Int64) throws {
        guard remainingInMember == 0 else { throw ArchiveError.sizeMismatch("\(remainingInMember) bytes missing from a member") }
        try pad(size)
    }

    /// Two zero blocks, then the downstream stages finish.
    public func finish() throws {
        try next.write([UInt8](repeating: 0, count: 1024))
        try next.finish()
    }

    private func pad(_ size: Int64) throws {
        let remainder = Int(size % 512)
        if remainder != 0 { try next.write([UInt8](repeating: 0, count: 512 - remainder)) }
    }

    /// ustar name/prefix split of a path; name nil when it does not fit.
    static func split(_ path: String) -> (name: [UInt8]?, prefix: [UInt8]) {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return (bytes, []) }
        // Split at a '/' so that prefix ≤ 155 and name ≤ 100.
        for index in stride(from: min(bytes.count - 1, 155), through: 1, by: -1) where bytes[index] == UInt8(ascii: "/") {
            let name = Array(bytes[(index + 1)...])
            if name.count <= 100, !name.isEmpty { return (name, Array(bytes[..<index])) }
        }
        return (nil, [])
    }

    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        // "<length> <key>=<value>\n", where length counts itself.
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while "\(length)".utf8.count + body.utf8.count != length { length = "\(length)".utf8.count + body.utf8.count }
        return Array("\(length)\(body)".utf8)
    }

    private func writeHeader(
        name: [UInt8],
        prefix: [UInt8],
        mode: UInt32,
        uid: UInt32,
        gid: UInt32,
        size: Int64,
        mtime: Int64,
        type: UInt8,
        link: [UInt8]
    )
        throws
    {
        for index in 0..<512 { header[index] = 0 }
        func put(_ bytes: [UInt8], at offset: Int) {
            for (index, byte) in bytes.enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int64, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            let padded = String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            put(Array(padded.utf8), at: offset)
        }
        put(name, at: 0)
        octal(Int64(mode), at: 100, width: 8)
        octal(Int64(uid), at: 108, width: 8)
        octal(Int64(gid), at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(mtime, at: 136, width: 12)
        header[156] = type
        put(link, at: 157)
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(prefix, at: 345)
        // Checksum: the header's byte sum with the checksum field read as spaces.
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int64($1) }
        let digits = String(sum, radix: 8)
        put(Array((String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8) + [0, UInt8(ascii: " ")], at: 148)
        try next.write(header)
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
