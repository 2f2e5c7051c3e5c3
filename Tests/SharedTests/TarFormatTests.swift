import Foundation
import TestClients
import Testing

@testable import Archive

/// The tar dialect at the member level (`docs/formats.md`): what `TarWriter` writes, `TarReader` reads back exactly, and
/// a hostile stream is refused without buffering what it announces.
@Suite struct TarFormatTests {
    /// Collects what the reader hands over: each member and its logical content (holes as runs of zeros counted apart).
    final class Collector: TarReaderDelegate {
        var entries: [TarEntry] = []
        var contents: [[UInt8]] = []
        var holes: [Int64] = []

        func begin(_ entry: TarEntry) throws {
            entries.append(entry)
            contents.append([])
        }
        func content(_ bytes: UnsafeRawBufferPointer) throws { contents[contents.count - 1] += bytes }
        func hole(_ count: Int64) throws {
            holes.append(count)
            contents[contents.count - 1] += [UInt8](repeating: 0, count: Int(count))
        }
        func end(_ entry: TarEntry) throws {}
    }

    static func read(_ bytes: [UInt8]) throws -> Collector {
        let collector = Collector()
        let reader = TarReader(delegate: collector)
        // In awkward pieces, as a decompressor hands them over.
        var offset = 0
        var piece = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + piece)
            try bytes[offset..<end].withUnsafeBytes { try reader.write($0) }
            offset = end
            piece = piece * 3 % 1021 + 1
        }
        try reader.finish()
        return collector
    }

    @Test func everyFieldRoundTrips() throws {
        let sink = MemorySink()
        let tar = TarWriter(next: sink)
        var file = TarEntry(
            path: [0x6c, 0xe9, 0xff, 0x2f, 0x5c, 0x0a, 0x2d],
            kind: .file,
            mode: 0o4755,
            uid: 4_000_000,
            gid: 7,
            mtime: FileTime(seconds: -2, nanoseconds: 250_000_000),
            size: 5
        )
        file.atime = FileTime(seconds: 7_258_118_400, nanoseconds: 1)
        file.userName = Array("a-user-name-longer-than-thirty-one-bytes".utf8)
        file.groupName = [0xc3, 0xa9]
        file.xattrs = [.init(name: Array("user.bin".utf8), value: [0, 10, 0xff, 61])]
        try tar.begin(file)
        try Array("hello".utf8).withUnsafeBytes { try tar.write($0) }
        try tar.end()
        var sparse = TarEntry(path: Array("s/sparse".utf8), kind: .file, mode: 0o644, mtime: FileTime(seconds: 1), size: 10_000)
        sparse.sparse = [.init(offset: 4096, length: 3), .init(offset: 10_000, length: 0)]
        try tar.begin(sparse)
        try Array("abc".utf8).withUnsafeBytes { try tar.write($0) }
        try tar.end()
        var device = TarEntry(path: Array("dev/null".utf8), kind: .characterDevice, mode: 0o666, mtime: FileTime(seconds: 2))
        device.deviceMajor = 1
        device.deviceMinor = 3
        try tar.begin(device)
        try tar.begin(TarEntry(path: Array("fifo".utf8), kind: .fifo, mode: 0o600, mtime: FileTime(seconds: 3)))
        let long = [UInt8](repeating: UInt8(ascii: "t"), count: 300)
        try tar.begin(TarEntry(path: Array("link".utf8), kind: .symlink, mode: 0o777, mtime: FileTime(seconds: 4), linkTarget: long))
        try tar.finish()

        let read = try Self.read(sink.bytes)
        #expect(read.entries.map(\.kind) == [.file, .file, .characterDevice, .fifo, .symlink])
        #expect(read.entries[0] == file, "every field of the first member")
        #expect(read.contents[0] == Array("hello".utf8))
        #expect(read.entries[1].path == sparse.path && read.entries[1].size == 10_000 && read.entries[1].sparse == sparse.sparse)
        #expect(read.contents[1].count == 10_000 && read.contents[1][4096..<4099] == ArraySlice("abc".utf8) && read.holes == [4096, 5901])
        #expect(read.entries[2].deviceMajor == 1 && read.entries[2].deviceMinor == 3)
        #expect(read.entries[4].linkTarget == long)

        // GNU tar agrees on the names, the sparse size and the device.
        let dir = TemporaryDirectory()
        try Data(sink.bytes).write(to: URL(fileURLWithPath: dir.path + "/t.tar"))
        let listing = try Shell.run("tar -tvf '\(dir.path)/t.tar' 2>&1").output
        #expect(listing.contains("10000") && listing.contains("1,3") && listing.contains("s/sparse"), "\(listing)")
    }

    @Test func hostileStreamsAreRefused() throws {
        // An extended header that announces 1 GiB: refused at its header, nothing buffered.
        var huge = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { for (index, byte) in text.utf8.enumerated() { huge[offset + index] = byte } }
        put("PaxHeaders/x", at: 0)
        put("0000644", at: 100)
        put("10000000000", at: 124)  // 1 GiB in octal
        huge[156] = UInt8(ascii: "x")
        put("ustar\u{0}00", at: 257)
        for index in 148..<156 { huge[index] = UInt8(ascii: " ") }
        let sum = huge.reduce(0) { $0 + Int($1) }
        put(String(format: "%06o", sum) + "\u{0} ", at: 148)
        #expect(throws: ArchiveError.self) { _ = try Self.read(huge + [UInt8](repeating: 0, count: 4096)) }

        // A sparse map whose segment runs past the file's size.
        let sink = MemorySink()
        let tar = TarWriter(next: sink)
        var sparse = TarEntry(path: Array("s".utf8), kind: .file, mode: 0o644, mtime: FileTime(seconds: 1), size: 100)
        sparse.sparse = [.init(offset: 50, length: 3)]
        try tar.begin(sparse)
        try Array("abc".utf8).withUnsafeBytes { try tar.write($0) }
        try tar.end()
        try tar.finish()
        var bytes = sink.bytes
        let map = try #require(bytes.firstRange(of: Array("1\n50\n3\n".utf8)))
        bytes.replaceSubrange(map, with: Array("1\n99\n3\n".utf8))
        #expect(throws: ArchiveError.self) { _ = try Self.read(bytes) }
    }
}
