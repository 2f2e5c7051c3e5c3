import Foundation

/// Receives a tar stream's members from `TarReader`.
public protocol TarReaderDelegate: AnyObject {
    func begin(_ entry: TarEntry) throws
    /// The next bytes of the current file's logical content.
    func content(_ bytes: UnsafeRawBufferPointer) throws
    /// `count` zero bytes of a sparse file's logical content that the archive does not store (a hole).
    func hole(_ count: Int64) throws
    func end(_ entry: TarEntry) throws
}

/// Parses a tar stream fed in arbitrary pieces: ustar headers, pax `x` records (path, linkpath, size, mtime, atime,
/// uid, gid, uname, gname, `SCHILY.xattr.*`, GNU sparse 1.0) and GNU `L`/`K` long names, as GNU tar and Bastion write
/// them. Names stay bytes. Headers with a bad checksum, extended headers over 16 MiB, more than 16 MiB of extended
/// headers before one member, numbers out of range and malformed sparse maps are errors, so a hostile archive cannot
/// make it buffer without bound or trap on a number: every sum and product of values read from the archive is
/// checked (docs/security.md, "Archives and restore").
public final class TarReader: ByteSink {
    private enum State {
        case header
        case sparseMap(remaining: Int64)
        case content(remaining: Int64)
        case padding(Int)
        case extended(type: UInt8, remaining: Int64, padding: Int)
        case end
    }

    /// Extended header bytes (pax records, GNU long names) that may precede one member, all headers together.
    static let memberMetadataLimit: Int64 = 16 << 20
    static let segmentLimit = 1 << 20

    private weak var delegate: (any TarReaderDelegate)?
    private var state = State.header
    private var headerBuffer: [UInt8] = []
    private var extendedBuffer: [UInt8] = []
    private var pax: [String: [UInt8]] = [:]
    private var paxXattrs: [TarEntry.ExtendedAttribute] = []
    private var longName: [UInt8]?
    private var longLink: [UInt8]?
    private var zeroBlocks = 0
    /// Extended header bytes read since the last member.
    private var metadataBytes: Int64 = 0
    public private(set) var finishedCleanly = false

    // The member being read: its padding, and for a sparse file the map, the segment being read and the logical
    // position reached.
    private var member: TarEntry?
    private var memberPadding = 0
    private var mapText: [UInt8] = []
    private var mapBytesRead: Int64 = 0
    private var segmentIndex = 0
    private var segmentRemaining: Int64 = 0
    private var logical: Int64 = 0

    public init(delegate: any TarReaderDelegate) {
        self.delegate = delegate
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            switch state {
            case .end:
                return
            case .header:
                let take = min(512 - headerBuffer.count, bytes.count - offset)
                headerBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
                if headerBuffer.count == 512 {
                    let header = headerBuffer
                    headerBuffer.removeAll(keepingCapacity: true)
                    try handleHeader(header)
                }
            case .sparseMap(let remaining):
                let available = Int(min(remaining, Int64(bytes.count - offset)))
                let used = try readMap(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + available)]))
                offset += used
                let left = remaining - Int64(used)  // used <= remaining
                if mapFinished {
                    try beginSparse(dataLeft: left)
                } else {
                    guard left > 0 else { throw ArchiveError.corrupt("sparse member ends inside its map") }
                    state = .sparseMap(remaining: left)
                }
            case .content(let remaining):
                let take = Int(min(remaining, Int64(bytes.count - offset)))
                if take > 0 { try deliver(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)])) }
                offset += take
                if remaining - Int64(take) == 0 {
                    try endMember()
                } else {
                    state = .content(remaining: remaining - Int64(take))
                }
            case .padding(let count):
                let take = min(count, bytes.count - offset)
                offset += take
                state = count - take == 0 ? .header : .padding(count - take)
            case .extended(let type, let remaining, let padding):
                let take = Int(min(remaining, Int64(bytes.count - offset)))
                extendedBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
                if remaining - Int64(take) == 0 {
                    try handleExtended(type)
                    state = padding > 0 ? .padding(padding) : .header
                } else {
                    state = .extended(type: type, remaining: remaining - Int64(take), padding: padding)
                }
            }
        }
    }

    public func finish() throws {
        guard finishedCleanly else { throw ArchiveError.corrupt("the tar stream ends in the middle (no end-of-archive marker)") }
    }

    private func handleHeader(_ header: [UInt8]) throws {
        if header.allSatisfy({ $0 == 0 }) {
            zeroBlocks += 1
            if zeroBlocks == 2 {
                finishedCleanly = true
                state = .end
            }
            return
        }
        zeroBlocks = 0
        let stored = try Self.octal(header[148..<156])
        // The byte sum with the checksum field read as eight spaces.
        var sum: Int64 = 8 * 32
        header.withUnsafeBufferPointer { block in
            for index in 0..<148 { sum += Int64(block[index]) }
            for index in 156..<512 { sum += Int64(block[index]) }
        }
        guard stored == sum else { throw ArchiveError.corrupt("tar header checksum mismatch") }
        let type = header[156]
        switch type {
        case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            extendedBuffer.removeAll(keepingCapacity: true)
            let rawSize = try Self.octal(header[124..<136])
            // One bound for one header and for all of them before a member; checked before adding, so a size near
            // Int64.max cannot overflow the sum.
            guard rawSize >= 0, rawSize <= Self.memberMetadataLimit - metadataBytes else {
                throw ArchiveError.corrupt("more than \(Self.memberMetadataLimit) bytes of extended headers before one member")
            }
            metadataBytes += rawSize
            let rawPadding = Int((512 - rawSize % 512) % 512)
            state = rawSize > 0 ? .extended(type: type, remaining: rawSize, padding: rawPadding) : .header
            return
        default:
            break
        }
        metadataBytes = 0
        let size = try pax["size"].map { try Self.number($0, "size") } ?? Self.octal(header[124..<136])
        guard size >= 0 else { throw ArchiveError.corrupt("negative member size") }
        var name = Self.field(header[0..<100])
        let prefix = Self.field(header[345..<500])
        if !prefix.isEmpty, header[257..<262].elementsEqual("ustar".utf8) { name = prefix + [UInt8(ascii: "/")] + name }
        name = pax["GNU.sparse.name"] ?? pax["path"] ?? longName ?? name
        let link = pax["linkpath"] ?? longLink ?? Self.field(header[157..<257])
        let mtime = try pax["mtime"].map { try Self.time($0, "mtime") } ?? FileTime(seconds: try Self.octal(header[136..<148]))
        let kind: TarEntry.Kind
        switch type {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = name.last == UInt8(ascii: "/") ? .directory : .file
        case UInt8(ascii: "1"): kind = .hardlink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "3"): kind = .characterDevice
        case UInt8(ascii: "4"): kind = .blockDevice
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        default: throw ArchiveError.corrupt("unsupported tar member type \(type) for \(String(decoding: name, as: UTF8.self))")
        }
        while kind == .directory, name.count > 1, name.last == UInt8(ascii: "/") { name.removeLast() }
        var entry = TarEntry(
            path: name,
            kind: kind,
            mode: UInt32(truncatingIfNeeded: try Self.octal(header[100..<108])) & 0o7777,
            uid: try Self.id(pax["uid"].map { try Self.number($0, "uid") } ?? Self.octal(header[108..<116]), "uid"),
            gid: try Self.id(pax["gid"].map { try Self.number($0, "gid") } ?? Self.octal(header[116..<124]), "gid"),
            mtime: mtime,
            size: kind == .file ? size : 0,
            linkTarget: kind == .symlink || kind == .hardlink ? link : nil
        )
        entry.atime = try pax["atime"].map { try Self.time($0, "atime") }
        entry.userName = pax["uname"] ?? Self.field(header[265..<297])
        entry.groupName = pax["gname"] ?? Self.field(header[297..<329])
        if kind == .characterDevice || kind == .blockDevice {
            entry.deviceMajor = try Self.id(Self.octal(header[329..<337]), "device major")
            entry.deviceMinor = try Self.id(Self.octal(header[337..<345]), "device minor")
        }
        entry.xattrs = paxXattrs
        let sparse = kind == .file && pax["GNU.sparse.major"] != nil
        if sparse {
            guard pax["GNU.sparse.major"] == Array("1".utf8), pax["GNU.sparse.minor"] == Array("0".utf8),
                let real = pax["GNU.sparse.realsize"]
            else { throw ArchiveError.corrupt("unsupported GNU sparse format (only 1.0 is read)") }
            entry.size = try Self.number(real, "GNU.sparse.realsize")
            guard entry.size >= 0 else { throw ArchiveError.corrupt("a negative GNU.sparse.realsize") }
            entry.sparse = []
        }
        pax = [:]
        paxXattrs = []
        longName = nil
        longLink = nil
        member = entry
        memberPadding = Int((512 - size % 512) % 512)
        logical = 0
        if sparse {
            mapText.removeAll(keepingCapacity: true)
            mapBytesRead = 0
            mapFinished = false
            mapCount = nil
            mapPendingOffset = nil
            segments = []
            guard size > 0 else { throw ArchiveError.corrupt("a sparse member without its map") }
            state = .sparseMap(remaining: size)
            return
        }
        try delegate?.begin(entry)
        if entry.size > 0 {
            state = .content(remaining: entry.size)
        } else {
            try endMember()
        }
    }

    /// Reads the sparse map at the start of a sparse member (`count`, then `offset` and `length` per segment, one
    /// decimal number a line, padded to 512); returns the bytes it used. `mapFinished` once the padding is passed.
    private func readMap(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        var index = 0
        while index < bytes.count {
            if mapNumbersDone {
                // The map's padding up to the 512 boundary; then the data starts.
                let skip = min(Int((512 - mapBytesRead % 512) % 512), bytes.count - index)
                index += skip
                mapBytesRead += Int64(skip)
                if mapBytesRead % 512 == 0 {
                    mapFinished = true
                    return index
                }
                continue
            }
            let byte = bytes[index]
            index += 1
            mapBytesRead += 1
            if byte == UInt8(ascii: "\n") {
                try takeMapNumber()
                if mapNumbersDone, mapBytesRead % 512 == 0 {
                    mapFinished = true
                    return index
                }
            } else {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), mapText.count < 20 else {
                    throw ArchiveError.corrupt("malformed sparse map")
                }
                mapText.append(byte)
            }
        }
        return index
    }

    /// The map is read: checks it against the stored data and hands the member over.
    private func beginSparse(dataLeft: Int64) throws {
        guard var entry = member else { return }
        guard dataLeft == segments.reduce(Int64(0), { $0 + $1.length }) else {
            throw ArchiveError.corrupt("sparse map does not match the member's size")
        }
        entry.sparse = segments
        member = entry
        segmentIndex = 0
        segmentRemaining = segments.first?.length ?? 0
        try delegate?.begin(entry)
        if dataLeft == 0 {
            try endMember()
        } else {
            state = .content(remaining: dataLeft)
        }
    }

    private var mapFinished = false
    private var mapCount: Int?
    private var mapPendingOffset: Int64?
    private var segments: [TarEntry.Segment] = []
    private var mapNumbersDone: Bool { mapCount.map { segments.count == $0 } ?? false }

    private func takeMapNumber() throws {
        guard let value = Int64(String(decoding: mapText, as: UTF8.self)) else { throw ArchiveError.corrupt("malformed sparse map") }
        mapText.removeAll(keepingCapacity: true)
        guard let count = mapCount else {
            guard value <= Int64(Self.segmentLimit) else { throw ArchiveError.corrupt("sparse map of \(value) segments") }
            mapCount = Int(value)
            segments = []
            return
        }
        guard segments.count < count else { throw ArchiveError.corrupt("malformed sparse map") }
        if let offset = mapPendingOffset {
            // Each segment starts at or after the end of the one before and ends within the file's size (both >= 0),
            // so every end and the sum of the lengths fit in an Int64.
            let end = segments.last.map { $0.offset + $0.length } ?? 0
            let (segmentEnd, overflow) = offset.addingReportingOverflow(value)
            guard offset >= end, value >= 0, !overflow, segmentEnd <= (member?.size ?? 0) else {
                throw ArchiveError.corrupt("sparse map segments overlap or pass the file's size")
            }
            segments.append(.init(offset: offset, length: value))
            mapPendingOffset = nil
        } else {
            mapPendingOffset = value
        }
    }

    /// Stored data of the current member; for a sparse file, with the holes before each segment announced.
    private func deliver(_ bytes: UnsafeRawBufferPointer) throws {
        guard member?.sparse != nil else {
            try delegate?.content(bytes)
            logical += Int64(bytes.count)
            return
        }
        var offset = 0
        while offset < bytes.count {
            while segmentRemaining == 0 {
                segmentIndex += 1
                guard segmentIndex < segments.count else { throw ArchiveError.corrupt("more sparse data than its map") }
                segmentRemaining = segments[segmentIndex].length
            }
            let segment = segments[segmentIndex]
            if logical < segment.offset {
                try delegate?.hole(segment.offset - logical)
                logical = segment.offset
            }
            let take = Int(min(segmentRemaining, Int64(bytes.count - offset)))
            try delegate?.content(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            offset += take
            segmentRemaining -= Int64(take)
            logical += Int64(take)
        }
    }

    private func endMember() throws {
        guard let entry = member else { return }
        if entry.sparse != nil, logical < entry.size {
            try delegate?.hole(entry.size - logical)
            logical = entry.size
        }
        member = nil
        mapCount = nil
        mapPendingOffset = nil
        segments = []
        try delegate?.end(entry)
        state = memberPadding > 0 ? .padding(memberPadding) : .header
    }

    private func handleExtended(_ type: UInt8) throws {
        switch type {
        case UInt8(ascii: "x"):
            var rest = extendedBuffer[...]
            let xattrPrefix = Array("SCHILY.xattr.".utf8)
            while !rest.isEmpty {
                guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                    let length = Int(String(decoding: rest[rest.startIndex..<space], as: UTF8.self)),
                    length > space - rest.startIndex + 1, length <= rest.count, rest[rest.startIndex + length - 1] == UInt8(ascii: "\n")
                else { throw ArchiveError.corrupt("malformed pax record") }
                let record = rest[rest.index(after: space)..<(rest.startIndex + length - 1)]
                if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                    let key = record[record.startIndex..<equals]
                    let value = Array(record[record.index(after: equals)...])
                    if key.starts(with: xattrPrefix) {
                        paxXattrs.append(.init(name: Array(key.dropFirst(xattrPrefix.count)), value: value))
                    } else {
                        pax[String(decoding: key, as: UTF8.self)] = value
                    }
                }
                rest = rest[(rest.startIndex + length)...]
            }
        case UInt8(ascii: "L"): longName = Self.field(extendedBuffer[...])
        case UInt8(ascii: "K"): longLink = Self.field(extendedBuffer[...])
        default: break
        }
    }

    /// A NUL-terminated header field's bytes.
    static func field(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return Array(bytes[bytes.startIndex..<end])
    }

    /// A pax decimal number (`Int64(String)` is nil out of range, never a trap).
    static func number(_ bytes: [UInt8], _ key: String) throws -> Int64 {
        guard let value = Int64(String(decoding: bytes, as: UTF8.self)) else { throw ArchiveError.corrupt("pax \(key) is not a number") }
        return value
    }

    /// An owner id or a device number: 0 ..< 2^32.
    static func id(_ value: Int64, _ key: String) throws -> UInt32 {
        guard let id = UInt32(exactly: value) else { throw ArchiveError.corrupt("\(key) \(value) is out of range") }
        return id
    }

    static func time(_ bytes: [UInt8], _ key: String) throws -> FileTime {
        guard let time = FileTime(paxBytes: bytes) else { throw ArchiveError.corrupt("pax \(key) is not a time") }
        return time
    }

    /// A numeric header field: octal digits, or GNU base-256 (first byte 0x80; 0xff, a negative number, is refused).
    /// A value past `Int64.max` is corrupt, not wrapped.
    static func octal(_ bytes: ArraySlice<UInt8>) throws -> Int64 {
        if let first = bytes.first, first & 0x80 != 0 {
            guard first == 0x80 else { throw ArchiveError.corrupt("a negative base-256 number in a tar header") }
            var value: Int64 = 0
            for byte in bytes.dropFirst() {
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 256)
                guard !overflow else { throw ArchiveError.corrupt("a base-256 number in a tar header is out of range") }
                value = shifted | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        for byte in bytes {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if value > 0 { break } else { continue }
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else { break }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 8)
            guard !overflow else { throw ArchiveError.corrupt("an octal number in a tar header is out of range") }
            value = shifted | Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
