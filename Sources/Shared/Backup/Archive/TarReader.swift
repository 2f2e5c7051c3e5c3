import Foundation

/// Receives a tar stream's members from `TarReader`.
public protocol TarReaderDelegate: AnyObject {
    func begin(_ entry: TarEntry) throws
    func content(_ bytes: UnsafeRawBufferPointer) throws
    func end(_ entry: TarEntry) throws
}

/// Parses a tar stream fed in arbitrary pieces: ustar headers, pax `x` records (path, linkpath, size, mtime, uid,
/// gid) and GNU `L`/`K` long names, as GNU tar and the original write them. Headers with a bad checksum are errors.
public final class TarReader: ByteSink {
    private enum State {
        case header
        case content(entry: TarEntry, remaining: Int64, padding: Int)
        case padding(Int)
        case extended(type: UInt8, remaining: Int64, padding: Int)
        case end
    }

    private weak var delegate: (any TarReaderDelegate)?
    private var state = State.header
    private var headerBuffer: [UInt8] = []
    private var extendedBuffer: [UInt8] = []
    private var pax: [String: String] = [:]
    private var longName: String?
    private var longLink: String?
    private var zeroBlocks = 0
    public private(set) var finishedCleanly = false

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
            case .content(let entry, let remaining, let padding):
                let take = Int(min(remaining, Int64(bytes.count - offset)))
                if take > 0 { try delegate?.content(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)])) }
                offset += take
                if remaining - Int64(take) == 0 {
                    try delegate?.end(entry)
                    state = padding > 0 ? .padding(padding) : .header
                } else {
                    state = .content(entry: entry, remaining: remaining - Int64(take), padding: padding)
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
        let stored = Self.octal(header[148..<156])
        var sum: Int64 = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 32 : Int64(byte) }
        guard stored == sum else { throw ArchiveError.corrupt("tar header checksum mismatch") }
        let type = header[156]
        let size = pax["size"].flatMap(Int64.init) ?? Self.octal(header[124..<136])
        let padding = Int((512 - size % 512) % 512)
        switch type {
        case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            extendedBuffer.removeAll()
            let rawSize = Self.octal(header[124..<136])
            let rawPadding = Int((512 - rawSize % 512) % 512)
            state = rawSize > 0 ? .extended(type: type, remaining: rawSize, padding: rawPadding) : .header
            return
        default:
            break
        }
        var name = Self.string(header[0..<100])
        let prefix = Self.string(header[345..<500])
        if !prefix.isEmpty, header[257..<262].elementsEqual("ustar".utf8) { name = prefix + "/" + name }
        name = pax["path"] ?? longName ?? name
        let link = pax["linkpath"] ?? longLink ?? Self.string(header[157..<257])
        let mtime = pax["mtime"].flatMap { Double($0) }.map { Int64($0.rounded(.down)) } ?? Self.octal(header[136..<148])
        let kind: TarEntry.Kind
        switch type {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = name.hasSuffix("/") ? .directory : .file
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "1"): kind = .hardlink
        default: throw ArchiveError.corrupt("unsupported tar member type \(type) for \(name)")
        }
        if kind == .directory, name.hasSuffix("/") { name.removeLast() }
        let entry = TarEntry(
            path: name,
            kind: kind,
            mode: UInt32(truncatingIfNeeded: Self.octal(header[100..<108])),
            uid: pax["uid"].flatMap(UInt32.init) ?? UInt32(truncatingIfNeeded: Self.octal(header[108..<116])),
            gid: pax["gid"].flatMap(UInt32.init) ?? UInt32(truncatingIfNeeded: Self.octal(header[116..<124])),
            mtime: mtime,
            size: kind == .file ? size : 0,
            linkTarget: kind == .symlink || kind == .hardlink ? link : nil
        )
        pax = [:]
        longName = nil
        longLink = nil
        try delegate?.begin(entry)
        if entry.size > 0 {
            state = .content(entry: entry, remaining: entry.size, padding: padding)
        } else {
            try delegate?.end(entry)
        }
    }

    private func handleExtended(_ type: UInt8) throws {
        switch type {
        case UInt8(ascii: "x"):
            var rest = extendedBuffer[...]
            while !rest.isEmpty {
                guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                    let length = Int(String(decoding: rest[rest.startIndex..<space], as: UTF8.self)),
                    length > 0, length <= rest.count
                else { throw ArchiveError.corrupt("malformed pax record") }
                let record = rest[rest.index(after: space)..<(rest.startIndex + length - 1)]
                if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                    pax[String(decoding: record[record.startIndex..<equals], as: UTF8.self)] = String(
                        decoding: record[record.index(after: equals)...],
                        as: UTF8.self
                    )
                }
                rest = rest[(rest.startIndex + length)...]
            }
        case UInt8(ascii: "L"): longName = Self.string(extendedBuffer[...])
        case UInt8(ascii: "K"): longLink = Self.string(extendedBuffer[...])
        default: break
        }
    }

    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    static func octal(_ bytes: ArraySlice<UInt8>) -> Int64 {
        // GNU base-256 for large values: first byte 0x80.
        if let first = bytes.first, first & 0x80 != 0 {
            return bytes.dropFirst().reduce(Int64(first & 0x7f)) { ($0 << 8) | Int64($1) }
        }
        var value: Int64 = 0
        for byte in bytes {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if value > 0 { break } else { continue }
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else { break }
            value = value * 8 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
