import Foundation
import TestClients
import Testing

@testable import Archive
@testable import Core

/// Per-frame hashes (docs/formats.md, "Frames"): a read of one file takes only the frames that hold it, each checked
/// against its BLAKE3 before a byte is used, plain and encrypted; a frame table without hashes reads whole parts as
/// before; the table refuses hashes that cannot be.
@Suite struct FrameHashTests {
    /// Takes the members' content and counts it.
    final class Collect: TarReaderDelegate {
        var files: [String: [UInt8]] = [:]
        var current: String?
        var contentBytes = 0
        func begin(_ entry: TarEntry) throws { current = String(decoding: entry.path, as: UTF8.self) }
        func content(_ bytes: UnsafeRawBufferPointer) throws {
            files[current!, default: []].append(contentsOf: bytes)
            contentBytes += bytes.count
        }
        func hole(_ count: Int64) throws {}
        func end(_ entry: TarEntry) throws {}
    }

    /// A snapshot of 24 MiB of random files (incompressible: stored bytes are real) in one 64 MiB part with 4 MiB
    /// frames, the 1 MiB file last; its directory and the file's index line.
    func snapshot(
        in dir: TemporaryDirectory,
        encryption: (keyName: String, recipient: String)? = nil,
        identity: String? = nil
    ) throws -> (Snapshot, Snapshot.Wanted) {
        let source = dir.path + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        for index in 0..<6 { try random.readData(ofLength: 4 << 20).write(to: URL(fileURLWithPath: "\(source)/big\(index).bin")) }
        try random.readData(ofLength: 1 << 20).write(to: URL(fileURLWithPath: "\(source)/z-one.bin"))
        let run = dir.path + "/run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        var settings = ArchiveBuilder.Settings(jobId: "job", runId: "run", runDirectory: run, partSize: 64 << 20)
        settings.encryption = encryption
        let progress = BuildProgress()
        let builder = ArchiveBuilder(settings: settings, progress: progress) { false }
        _ = try builder.build(try ArchiveBuilder.roots(paths: [source], root: nil, progress: progress))
        let snapshot = try Snapshot(directory: run)
        let reader = try EntriesIndexReader(path: run + "/" + Manifest.entriesIndexName, identity: identity)
        while let entry = try reader.next() {
            if let path = entry["path"]?.stringValue, path.hasSuffix("/z-one.bin"), let offset = entry["offset"]?.int64Value {
                return (snapshot, Snapshot.Wanted(offset: offset, path: Array(path.utf8)))
            }
        }
        throw ArchiveError.corrupt("no z-one.bin in the index")
    }

    func readBytes(_ progress: BuildProgress) -> Int64 { progress.snapshot(kind: "restore", previous: nil).0.done.bytes ?? 0 }

    func flip(_ path: String, at offset: Int64) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data([byte ^ 0x01]))
    }

    @Test func aOneFileReadTakesOnlyItsFramesCheckedPlain() throws {
        let dir = TemporaryDirectory()
        let (snapshot, wanted) = try snapshot(in: dir)
        let frames = try #require(try snapshot.frameTable())
        let hashes = try #require(frames.hashes)
        #expect(hashes.count == frames.offsets.count && frames.offsets.count >= 6 && snapshot.parts.count == 1)
        // Every hash is the BLAKE3 of its frame's stored bytes.
        let part = try Data(contentsOf: URL(fileURLWithPath: snapshot.directory + "/" + snapshot.parts[0].name))
        for index in hashes.indices {
            let range = try #require(frames.storedRange(ofFrame: index, storedBytes: snapshot.payloadBytes))
            var hasher = BLAKE3()
            hasher.update(Array(part[Int(range.lowerBound)..<Int(range.upperBound)]))
            #expect(hasher.finalizeHex() == hashes[index], "frame \(index)")
        }
        let progress = BuildProgress()
        let collect = Collect()
        try snapshot.readMembers([wanted], frames: frames, identity: nil, into: collect, progress: progress)
        #expect(collect.files.values.first?.count == 1 << 20)
        // ≤ 2 frames' stored bytes (4 MiB frames of random bytes: a little over 4 MiB each), not the 25 MiB part.
        let read = readBytes(progress)
        #expect(read > 0 && read <= 2 * (frames.frameBytes + frames.frameBytes / 64), "read \(read) of \(snapshot.payloadBytes)")

        // A byte flipped in the file's frame: refused before any of the frame's bytes reach the reader.
        let frame = try #require(frames.frame(holding: wanted.offset))
        let range = try #require(frames.storedRange(ofFrame: frame.index, storedBytes: snapshot.payloadBytes))
        try flip(snapshot.directory + "/" + snapshot.parts[0].name, at: range.upperBound - 10)
        let refused = Collect()
        #expect(throws: ArchiveError.self) { try snapshot.readMembers([wanted], frames: frames, identity: nil, into: refused) }
        #expect(refused.contentBytes == 0 || refused.contentBytes < (1 << 20))
        let lastFrame = frames.offsets.count - 1
        if frame.index == lastFrame {
            #expect(refused.contentBytes == 0, "the flipped frame is the first one read: nothing reached the reader")
        }
    }

    @Test func aOneFileReadTakesOnlyItsFramesCheckedEncrypted() throws {
        let dir = TemporaryDirectory()
        let (identity, recipient) = Age.generateIdentity()
        let (snapshot, wanted) = try snapshot(in: dir, encryption: ("key", recipient), identity: identity)
        let frames = try #require(try snapshot.frameTable())
        #expect(frames.ageHeader != nil && frames.hashes?.count == frames.offsets.count)
        let progress = BuildProgress()
        let collect = Collect()
        #expect(throws: Never.self) { try snapshot.readMembers([wanted], frames: frames, identity: identity, into: collect, progress: progress) }
        #expect(collect.files.values.first?.count == 1 << 20)
        let read = readBytes(progress)
        #expect(read > 0 && read <= 2 * (frames.frameBytes + frames.frameBytes / 64) + 2 * 65552, "read \(read) of \(snapshot.payloadBytes)")
        // Frames next to each other share an age chunk; a read across all of them hands each byte on once.
        let whole = Collect()
        #expect(throws: Never.self) { try snapshot.readMembers(into: whole, identity: identity) }
        let bigs = whole.files.filter { $0.key.contains("/big") }
        var wantedBig: [Snapshot.Wanted] = []
        let reader = try EntriesIndexReader(path: snapshot.directory + "/" + Manifest.entriesIndexName, identity: identity)
        while let entry = try reader.next() {
            if let path = entry["path"]?.stringValue, path.contains("/big"), let offset = entry["offset"]?.int64Value {
                wantedBig.append(.init(offset: offset, path: Array(path.utf8)))
            }
        }
        let byFrames = Collect()
        #expect(throws: Never.self) { try snapshot.readMembers(wantedBig, frames: frames, identity: identity, into: byFrames) }
        #expect(byFrames.files == bigs && bigs.count == 6)

        // A byte flipped inside the file's frame (ciphertext): refused by the frame's hash.
        let frame = try #require(frames.frame(holding: wanted.offset))
        let range = try #require(frames.storedRange(ofFrame: frame.index, storedBytes: snapshot.payloadBytes))
        try flip(snapshot.directory + "/" + snapshot.parts[0].name, at: range.lowerBound + Int64(range.count / 2))
        #expect(throws: ArchiveError.self) { try snapshot.readMembers([wanted], frames: frames, identity: identity, into: Collect()) }
    }

    /// A snapshot written before frame hashes (its table without `hashes`) reads its parts whole, checked, as before.
    @Test func aFrameTableWithoutHashesReadsWholeParts() throws {
        let dir = TemporaryDirectory()
        let (snapshot, wanted) = try snapshot(in: dir)
        var frames = try #require(try snapshot.frameTable())
        frames.hashes = nil
        let progress = BuildProgress()
        let collect = Collect()
        try snapshot.readMembers([wanted], frames: frames, identity: nil, into: collect, progress: progress)
        #expect(collect.files.values.first?.count == 1 << 20)
        #expect(readBytes(progress) == snapshot.payloadBytes)
    }

    @Test func frameTablesRefuseHashesThatCannotBe() throws {
        let hash = String(repeating: "ab", count: 32)
        let table = FrameTable(frameBytes: 65536, offsets: [0, 100], hashes: [hash, hash])
        #expect(FrameTable(json: table.json) == table)
        for bad in [
            #"{"frame_bytes":65536,"offsets":[0,100],"hashes":["\#(hash)"]}"#,
            #"{"frame_bytes":65536,"offsets":[0],"hashes":["\#(hash.uppercased())"]}"#,
            #"{"frame_bytes":65536,"offsets":[0],"hashes":["\#(hash)0"]}"#,
            #"{"frame_bytes":65536,"offsets":[0],"hashes":[7]}"#,
            #"{"frame_bytes":65536,"offsets":[0],"hashes":"\#(hash)"}"#,
        ] {
            #expect(FrameTable(json: try JSONValue.parse(bad)) == nil, "\(bad)")
        }
        // Stored ranges: plain frames end where the next starts; encrypted ones cover whole sealed chunks, the last
        // frame's to the stream's end; a table that disagrees with the payload's size answers nil.
        #expect(table.storedRange(ofFrame: 0, storedBytes: 300) == 0..<100 && table.storedRange(ofFrame: 1, storedBytes: 300) == 100..<300)
        #expect(table.storedRange(ofFrame: 1, storedBytes: 100) == nil && table.storedRange(ofFrame: 2, storedBytes: 300) == nil)
        let sealed = FrameTable(frameBytes: 65536, offsets: [0, 70000, 140000], ageHeader: [UInt8](repeating: 1, count: 10))
        func bounds(_ frame: Int) -> [Int64] {
            sealed.storedRange(ofFrame: frame, storedBytes: 200_000).map { [$0.lowerBound, $0.upperBound] } ?? []
        }
        #expect(bounds(0) == [10, 10 + 2 * 65552] && bounds(1) == [10 + 65552, 10 + 3 * 65552] && bounds(2) == [10 + 2 * 65552, 200_000])
    }
}
