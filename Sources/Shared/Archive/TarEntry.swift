import Foundation

/// One archive member's metadata, as `TarWriter` writes it and `TarReader` reads it back. Names are bytes: a path is
/// whatever bytes the file system gave (`docs/formats.md`, "Names are bytes"), never a decoded string.
public struct TarEntry: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case file
        case directory = "dir"
        case symlink, hardlink, fifo
        case characterDevice = "char"
        case blockDevice = "block"
    }

    /// One extended attribute (any namespace; POSIX ACLs are `system.posix_acl_access` / `_default`).
    public struct ExtendedAttribute: Sendable, Equatable {
        public var name: [UInt8]
        public var value: [UInt8]

        public init(name: [UInt8], value: [UInt8]) {
            self.name = name
            self.value = value
        }
    }

    /// A run of data in a sparse file; everything between runs (and after the last) is a hole.
    public struct Segment: Sendable, Equatable {
        public var offset: Int64
        public var length: Int64

        public init(offset: Int64, length: Int64) {
            self.offset = offset
            self.length = length
        }
    }

    /// Relative path inside the archive (`/`-separated, no leading `/`). Directories without a trailing `/`.
    public var path: [UInt8]
    public var kind: Kind
    /// Permission bits with setuid, setgid and sticky (`mode & 0o7777`).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Owner names (empty when the id has none here).
    public var userName: [UInt8] = []
    public var groupName: [UInt8] = []
    public var mtime: FileTime
    public var atime: FileTime?
    /// A file's logical size (a sparse file's holes included).
    public var size: Int64
    /// Symlink target, or the archive path a hardlink points to.
    public var linkTarget: [UInt8]?
    /// Character and block devices.
    public var deviceMajor: UInt32 = 0
    public var deviceMinor: UInt32 = 0
    public var xattrs: [ExtendedAttribute] = []
    /// The data runs of a file stored sparse (GNU sparse 1.0); nil for a file stored whole.
    public var sparse: [Segment]?
    /// A directory of an incremental snapshot: GNU tar's dumpdir (`GNU.dumpdir`, docs/formats.md, "Incremental
    /// snapshots"): for each name in the directory, `Y` (in this archive), `N` (unchanged, in an earlier one) or `D`
    /// (a directory), the name and a NUL; a NUL ends it.
    public var dumpdir: [UInt8]?
    /// Where the file was on the backed-up host (inode, device, ctime): recorded in the entries index so the next
    /// incremental snapshot can tell an unchanged file without reading it. Not written to tar.
    public var identity: FileIdentity?

    public init(
        path: [UInt8],
        kind: Kind,
        mode: UInt32,
        uid: UInt32 = 0,
        gid: UInt32 = 0,
        mtime: FileTime,
        size: Int64 = 0,
        linkTarget: [UInt8]? = nil
    ) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.size = size
        self.linkTarget = linkTarget
    }

    /// Convenience for tests and callers with text paths.
    public init(path: String, kind: Kind, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, mtime: Int64, size: Int64 = 0, linkTarget: String? = nil) {
        self.init(
            path: Array(path.utf8),
            kind: kind,
            mode: mode,
            uid: uid,
            gid: gid,
            mtime: FileTime(seconds: mtime),
            size: size,
            linkTarget: linkTarget.map { Array($0.utf8) }
        )
    }

    /// The path for messages and JSON (invalid UTF-8 replaced by U+FFFD; see `path_b64` in the index).
    public var displayPath: String { String(decoding: path, as: UTF8.self) }
}

/// A Unix time to the nanosecond (seconds may be negative: before 1970).
public struct FileTime: Sendable, Equatable, Comparable {
    public var seconds: Int64
    /// 0 ..< 1_000_000_000.
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public init(_ time: timespec) {
        self.init(seconds: Int64(time.tv_sec), nanoseconds: Int32(time.tv_nsec))
    }

    public var timespec: Glibc.timespec { Glibc.timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds)) }

    public static func < (lhs: FileTime, rhs: FileTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// The pax decimal form, as GNU tar writes it: the exact value with trailing zeros of the fraction dropped
    /// (`1700000000.5`, `-1.75` for 1.75 s before 1970, `42` for a whole second).
    public var paxValue: String {
        var bytes: [UInt8] = []
        appendPax(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `paxValue` appended as bytes (no intermediate strings: this runs for every archived file). Below zero with a
    /// fraction, the magnitude is (-seconds - 1) + (1e9 - ns)/1e9.
    public func appendPax(to bytes: inout [UInt8]) {
        let negative = seconds < 0 && nanoseconds != 0
        if negative || seconds < 0 { bytes.append(UInt8(ascii: "-")) }
        let whole = seconds < 0 ? (nanoseconds != 0 ? -(seconds + 1) : -seconds) : seconds
        Decimal.append(UInt64(whole), to: &bytes)
        guard nanoseconds != 0 else { return }
        var fraction = UInt64(negative ? 1_000_000_000 - Int64(nanoseconds) : Int64(nanoseconds))
        var digits = 9
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        bytes.append(UInt8(ascii: "."))
        var divisor: UInt64 = 1
        for _ in 1..<digits { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
            divisor /= 10
        }
    }

    /// Parses a pax time (`[-]seconds[.fraction]`; fraction digits past nine are cut).
    public init?(pax text: some StringProtocol) {
        self.init(paxBytes: Array(text.utf8))
    }

    /// `init(pax:)` on the record's bytes, as the tar reader has them.
    public init?(paxBytes bytes: [UInt8]) {
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index = 1 }
        var whole: Int64 = 0
        var digits = 0
        while index < bytes.count, bytes[index] != UInt8(ascii: ".") {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10, digits < 18 else { return nil }
            whole = whole * 10 + Int64(digit)
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        var fraction: Int64 = 0
        var fractionDigits = 0
        if index < bytes.count {
            index += 1  // the "."
            while index < bytes.count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                if fractionDigits < 9 {
                    fraction = fraction * 10 + Int64(digit)
                    fractionDigits += 1
                }
                index += 1
            }
        }
        while fractionDigits < 9 {
            fraction *= 10
            fractionDigits += 1
        }
        if negative && fraction > 0 {
            self.init(seconds: -whole - 1, nanoseconds: Int32(1_000_000_000 - fraction))
        } else {
            self.init(seconds: negative ? -whole : whole, nanoseconds: Int32(fraction))
        }
    }
}

/// Decimal digits appended to a byte buffer.
enum Decimal {
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        if value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt64, Int) = (1, 1)
        while digits.0 <= value / 10 { digits = (digits.0 * 10, digits.1 + 1) }
        var divisor = digits.0
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    static func append(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            append(value.magnitude, to: &bytes)
        } else {
            append(UInt64(value), to: &bytes)
        }
    }

    static func count(_ value: Int) -> Int {
        var count = 1
        var rest = value / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        return count
    }
}

/// A source file's identity and change time, as `stat` gave them (docs/formats.md, "The entries index").
public struct FileIdentity: Sendable, Equatable {
    public var inode: UInt64
    public var device: UInt64
    public var ctime: FileTime

    public init(inode: UInt64, device: UInt64, ctime: FileTime) {
        self.inode = inode
        self.device = device
        self.ctime = ctime
    }
}
