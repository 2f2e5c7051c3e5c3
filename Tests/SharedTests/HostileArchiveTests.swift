import Core
import Foundation
import Testing

@testable import Archive

/// A snapshot rewritten on its target by someone who recomputes every hash (docs/security.md, "Archives and
/// restore"): numbers out of range, announced sizes that overflow, metadata that piles up, parts that are not regular
/// files and members that differ from the entries index are refused with `ArchiveError` / `Manifest.Invalid`, never a
/// trap, a hang or unbounded memory.
@Suite struct HostileArchiveTests {
    // MARK: - Building hostile tar streams by hand

    /// One ustar header block with its checksum; `size` is written as given (octal text or raw bytes).
    static func header(_ name: String, type: Character, size: [UInt8]) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) { for (index, byte) in bytes.enumerated() { block[offset + index] = byte } }
        put(Array(name.utf8), at: 0)
        put(Array("0000644".utf8), at: 100)
        put(Array("0000000".utf8), at: 108)
        put(Array("0000000".utf8), at: 116)
        put(size, at: 124)
        put(Array("00000000000".utf8), at: 136)
        block[156] = type.asciiValue!
        put(Array("ustar\u{0}00".utf8), at: 257)
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        put(Array((String(format: "%06o", sum) + "\u{0} ").utf8), at: 148)
        return block
    }

    static func octal(_ value: Int) -> [UInt8] { Array(String(format: "%011o", value).utf8) }

    static func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512) }

    /// A pax `x` header holding `records` (key, value), then its data.
    static func pax(_ records: [(String, [UInt8])]) -> [UInt8] {
        var data: [UInt8] = []
        for (key, value) in records {
            let body = Array(" \(key)=".utf8) + value + [10]
            var length = body.count + 1
            while String(length).utf8.count + body.count != length { length += 1 }
            data += Array(String(length).utf8) + body
        }
        return header("PaxHeaders/x", type: "x", size: octal(data.count)) + padded(data)
    }

    static let end = [UInt8](repeating: 0, count: 1024)

    static func read(_ bytes: [UInt8]) throws -> TarFormatTests.Collector { try TarFormatTests.read(bytes) }

    // MARK: - Numbers

    @Test func aNegativeOrHugeSparseRealsizeIsCorruptNotATrap() throws {
        // realsize = Int64.min: the map's check `offset <= size - length` overflowed (a trap, the worker gone).
        for realsize in ["-9223372036854775808", "-1"] {
            let member =
                Self.pax([
                    ("GNU.sparse.major", Array("1".utf8)), ("GNU.sparse.minor", Array("0".utf8)), ("GNU.sparse.name", Array("f".utf8)),
                    ("GNU.sparse.realsize", Array(realsize.utf8)),
                ]) + Self.header("GNUSparseFile.0/f", type: "0", size: Self.octal(512)) + Self.padded(Array("1\n5\n1\n".utf8))
            #expect("realsize \(realsize)") {
                _ = try Self.read(member + Self.end)
            } throws: { "\($0)".contains("negative GNU.sparse.realsize") }
        }
        // A segment whose end passes Int64.max.
        let past =
            Self.pax([
                ("GNU.sparse.major", Array("1".utf8)), ("GNU.sparse.minor", Array("0".utf8)), ("GNU.sparse.name", Array("f".utf8)),
                ("GNU.sparse.realsize", Array("9223372036854775807".utf8)),
            ]) + Self.header("GNUSparseFile.0/f", type: "0", size: Self.octal(1024))
            + Self.padded(Array("1\n9223372036854775807\n9223372036854775807\n".utf8)) + Self.padded([1])
        #expect(throws: ArchiveError.self) { _ = try Self.read(past + Self.end) }
    }

    @Test func aBase256NumberPastInt64IsCorruptNotWrapped() throws {
        // 2^80 in base-256: shifted out to 0 before, a member of size 0.
        var size: [UInt8] = [0x80, 0x01] + [UInt8](repeating: 0, count: 10)
        #expect(throws: ArchiveError.self) { _ = try Self.read(Self.header("a", type: "0", size: size) + Self.end) }
        // 0xff first: a negative base-256 number.
        size = [0xff] + [UInt8](repeating: 0xff, count: 11)
        #expect(throws: ArchiveError.self) { _ = try Self.read(Self.header("a", type: "0", size: size) + Self.end) }
        // A pax uid past 2^32: out of range, not truncated to another owner.
        let uid = Self.pax([("uid", Array("4294967296".utf8))]) + Self.header("a", type: "0", size: Self.octal(0))
        #expect(throws: ArchiveError.self) { _ = try Self.read(uid + Self.end) }
        // In range still reads: base-256 1 MiB.
        let ok = Self.header("b", type: "0", size: [0x80] + [UInt8](repeating: 0, count: 8) + [0x10, 0, 0]) + [UInt8](repeating: 7, count: 1 << 20)
        #expect(try Self.read(ok + Self.end).entries.first?.size == 1 << 20)
    }

    @Test func extendedHeadersBeforeOneMemberAreBounded() throws {
        // Seventeen pax headers of 1 MiB each (each under the 16 MiB per-header limit), every one a new attribute.
        var bytes: [UInt8] = []
        for index in 0..<17 {
            bytes += Self.pax([("SCHILY.xattr.user.a\(index)", [UInt8](repeating: 0x61, count: 1 << 20))])
        }
        bytes += Self.header("a", type: "0", size: Self.octal(0)) + Self.end
        #expect {
            _ = try Self.read(bytes)
        } throws: { error in
            "\(error)".contains("extended headers before one member")
        }
        // Sixteen headers of 1 MiB, less their own records' overhead, still read: the bound is per member.
        var fits: [UInt8] = []
        for member in 0..<2 {
            for index in 0..<15 { fits += Self.pax([("SCHILY.xattr.user.a\(index)", [UInt8](repeating: 0x61, count: 1 << 20))]) }
            fits += Self.header("m\(member)", type: "0", size: Self.octal(0))
        }
        #expect(try Self.read(fits + Self.end).entries.map(\.xattrs.count) == [15, 15])
    }

    // MARK: - The manifest

    static func manifest(_ artifacts: [[String: JSONValue]]) -> JSONValue {
        .object([
            "format_version": 1, "job_id": "j", "run_id": "r", "pipeline": .object(["format": "archive_v1", "split_bytes": 1024]),
            "artifacts": .array(artifacts.map(JSONValue.object)),
        ])
    }

    @Test func manifestSizesOutOfRangeOrOverflowingAndNamesThatAreNotPlainAreInvalid() throws {
        let hash = String(repeating: "0", count: 64)
        #expect(throws: Manifest.Invalid.self) {
            try Manifest(json: Self.manifest([["name": "payload.part000001", "size": .number(1e20), "hash": .string(hash)]]))
        }
        // split_bytes, frame_bytes and the entry count out of range (Int64(Double) trapped on them before a13e961, which
        // then read them as absent): refused.
        for (pipeline, count) in [
            (JSONValue.object(["format": "archive_v1", "split_bytes": .number(1e20)]), JSONValue.number(1)),
            (.object(["format": "archive_v1", "split_bytes": 1024, "frame_bytes": .number(-1e300)]), .number(1)),
            (.object(["format": "archive_v1", "split_bytes": 1024]), .number(1e20)),
        ] {
            let json: JSONValue = .object([
                "job_id": "j", "run_id": "r", "pipeline": pipeline, "entry_index": .object(["count": count]),
                "artifacts": .array([.object(["name": "payload.part000001", "size": 3, "hash": .string(hash)])]),
            ])
            #expect(throws: Manifest.Invalid.self, "\(json)") { try Manifest(json: json) }
        }
        // 1100 parts just under 2^53 each: each in range, the total past Int64.max (`payloadBytes` trapped).
        let many = (1...1100).map { index -> [String: JSONValue] in
            ["name": .string(String(format: "payload.part%06d", index)), "size": .number(8.9e15), "hash": .string(hash)]
        }
        #expect(throws: Manifest.Invalid.self) { try Manifest(json: Self.manifest(many)) }
        for name in ["../payload.part000001", "a/payload.part000001", "..", ".", "", "payload.part\u{0}1"] {
            #expect(throws: Manifest.Invalid.self, "\(name)") {
                try Manifest(json: Self.manifest([["name": .string(name), "size": 1, "hash": .string(hash)]]))
            }
        }
        let sound = try Manifest(json: Self.manifest([["name": "payload.part000001", "size": 3, "hash": .string(hash)]]))
        #expect(sound.payloadBytes == 3)
    }

    /// An entries index that is one endless line (a zstd bomb without a newline): refused past 32 MiB instead of
    /// buffered until memory is gone.
    @Test func anIndexLineIsBounded() throws {
        let path = NSTemporaryDirectory() + "index-\(UUID().uuidString).jsonl.zst"
        defer { unlink(path) }
        let sink = MemorySink()
        let compressor = try ZstdCompressor(next: sink)
        let block = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
        for _ in 0..<40 { try block.withUnsafeBytes { try compressor.write($0) } }
        try compressor.finish()
        try Data(sink.bytes).write(to: URL(fileURLWithPath: path))
        let reader = try EntriesIndexReader(path: path)
        #expect {
            _ = try reader.next()
        } throws: { error in
            "\(error)".contains("longer than")
        }
    }

    // MARK: - Parts that are not regular files

    /// A one-part snapshot directory whose part holds `bytes` (manifest with its size and BLAKE3).
    static func snapshotDirectory(_ bytes: [UInt8]) throws -> String {
        let directory = NSTemporaryDirectory() + "hostile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var hasher = BLAKE3()
        bytes.withUnsafeBytes { hasher.update($0) }
        let manifest = Self.manifest([["name": "payload.part000001", "size": .number(Double(bytes.count)), "hash": .string(hasher.finalizeHex())]])
        try Data(manifest.jsonString().utf8).write(to: URL(fileURLWithPath: directory + "/manifest.json"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: directory + "/complete.json"))
        return directory
    }

    @Test(.timeLimit(.minutes(1))) func aPartThatIsAFIFOOrASymlinkIsRefusedWithoutBeingRead() throws {
        let bytes = Array("payload".utf8)
        let directory = try Self.snapshotDirectory(bytes)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let part = directory + "/payload.part000001"

        // A symlink to a file elsewhere holding exactly the bytes the manifest promises.
        let elsewhere = directory + ".elsewhere"
        try Data(bytes).write(to: URL(fileURLWithPath: elsewhere))
        defer { unlink(elsewhere) }
        try FileManager.default.createSymbolicLink(atPath: part, withDestinationPath: elsewhere)
        let snapshot = try Snapshot(directory: directory)
        #expect {
            try snapshot.checkParts()
        } throws: { error in
            "\(error)".contains("symlink")
        }

        // A FIFO: opening it for reading blocked until a writer came (forever, on a target nobody writes to). Here a
        // writer comes after 3 s so the test ends either way; the refusal must come before.
        unlink(part)
        #expect(mkfifo(part, 0o644) == 0)
        let writer = Thread {
            Thread.sleep(forTimeInterval: 3)
            let descriptor = open(part, O_WRONLY | O_NONBLOCK)
            if descriptor >= 0 { close(descriptor) }
        }
        writer.start()
        let started = Date()
        #expect {
            try snapshot.checkParts()
        } throws: { error in
            "\(error)".contains("not a regular file")
        }
        #expect(Date().timeIntervalSince(started) < 2, "refused at once, not after the FIFO's writer came")
        Thread.sleep(forTimeInterval: 3.2)

        // The manifest itself as a symlink: refused too.
        let manifest = directory + "/manifest.json"
        try FileManager.default.moveItem(atPath: manifest, toPath: elsewhere + ".manifest")
        defer { unlink(elsewhere + ".manifest") }
        try FileManager.default.createSymbolicLink(atPath: manifest, withDestinationPath: elsewhere + ".manifest")
        #expect(throws: Snapshot.OpenError.self) { _ = try Snapshot(directory: directory) }
    }
}
