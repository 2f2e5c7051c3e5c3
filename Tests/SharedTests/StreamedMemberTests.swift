import Core
import Foundation
import TestClients
import Testing

@testable import Archive

/// Streamed members (docs/formats.md, "Streamed members"): bytes of unknown length written into the archive as they
/// arrive, one member when they fit in one chunk, else numbered members each a full chunk but the last.
@Suite struct StreamedMemberTests {
    /// Bytes handed out in reads of uneven sizes, as a pipe does; `failAtFinish` plays a dump tool's non-zero exit.
    final class BytesSource: StreamedSource {
        let bytes: [UInt8]
        var position = 0
        let failAtFinish: Bool

        init(_ bytes: [UInt8], failAtFinish: Bool = false) {
            self.bytes = bytes
            self.failAtFinish = failAtFinish
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let take = min(buffer.count, bytes.count - position, 65_521)
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.withUnsafeBytes { $0 }[position..<position + take]))
            position += take
            return take
        }

        struct Failed: Error {}

        func finish() throws { if failAtFinish { throw Failed() } }
    }

    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    func build(_ runDir: String, _ inputs: [(String, [UInt8], Bool)], chunk: Int) throws -> ArchiveBuilder.Result {
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        var settings = ArchiveBuilder.Settings(jobId: "job", runId: "run", runDirectory: runDir, partSize: 1_048_576)
        settings.streamChunkBytes = chunk
        settings.databaseSection = { results in .object(["dumps": .array(results.map(\.json))]) }
        let builder = ArchiveBuilder(settings: settings, progress: BuildProgress(), isCanceled: { false })
        let streams = inputs.map { input in
            let (path, bytes, fail) = input
            return StreamedInput(archivePath: path) { BytesSource(bytes, failAtFinish: fail) }
        }
        return try builder.build([], streams: streams)
    }

    @Test func aLongStreamIsNumberedChunksThatJoinAndAShortOneIsOneMember() throws {
        let dir = TemporaryDirectory()
        let runDir = dir.path + "/run"
        let chunk = 1 << 20
        let long = Self.random(chunk * 2 + chunk / 2)
        let short = Self.random(1000)
        let result = try build(runDir, [("postgres/app.dump", long, false), ("postgres/globals.sql", short, false)], chunk: chunk)
        #expect(
            result.streamed == [
                StreamedResult(
                    archivePath: "postgres/app.dump",
                    members: ["postgres/app.dump.000001", "postgres/app.dump.000002", "postgres/app.dump.000003"],
                    size: Int64(long.count)
                ),
                StreamedResult(archivePath: "postgres/globals.sql", members: ["postgres/globals.sql"], size: 1000),
            ]
        )
        #expect(FileManager.default.fileExists(atPath: runDir + "/complete.json"))
        // The manifest lists the members.
        let manifest = try Snapshot(directory: runDir).manifest
        #expect(manifest.database?["dumps"]?.arrayValue?.first?["members"]?.arrayValue?.last?.stringValue == "postgres/app.dump.000003")

        // GNU tar extracts them; cat joins them.
        let gnu = dir.path + "/gnu"
        try FileManager.default.createDirectory(atPath: gnu, withIntermediateDirectories: true)
        let extracted = try Shell.run("cat '\(runDir)'/payload.part* | zstd -dq | tar -x -C '\(gnu)' && ls -l '\(gnu)/postgres'")
        #expect(extracted.status == 0, "\(extracted.output)")
        let sizes = try ["000001", "000002", "000003"].map {
            try FileManager.default.attributesOfItem(atPath: "\(gnu)/postgres/app.dump.\($0)")[.size] as? Int
        }
        #expect(sizes == [chunk, chunk, chunk / 2])
        _ = try Shell.run("cat '\(gnu)'/postgres/app.dump.0* > '\(dir.path)/joined'")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path + "/joined"))) == long)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: gnu + "/postgres/globals.sql"))) == short)

        // Bastion's own restore writes the same members, each checked against its index line.
        let restored = dir.path + "/restored"
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
        let snapshot = try Snapshot(directory: runDir)
        try snapshot.checkParts()
        let writer = RestoreWriter(destination: restored, policy: .overwrite, selection: nil)
        let verifier = try SnapshotVerifier(entriesIndex: runDir + "/entries.jsonl.zst", strict: true)
        try snapshot.readMembers(into: CheckedMembers(check: verifier, next: writer), identity: nil)
        try verifier.finish()
        writer.finish()
        #expect(verifier.filesOK == 4 && verifier.filesTotal == 4)
        let back = try ["000001", "000002", "000003"].flatMap {
            try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(restored)/postgres/app.dump.\($0)")))
        }
        #expect(back == long)
    }

    @Test func aStreamThatEndsInsideItsFirstChunkIsOneMemberOfItsExactSize() throws {
        let dir = TemporaryDirectory()
        let bytes = Self.random(3 << 20)
        let result = try build(dir.path + "/run", [("postgres/app.dump", bytes, false)], chunk: 64 << 20)
        #expect(result.streamed == [StreamedResult(archivePath: "postgres/app.dump", members: ["postgres/app.dump"], size: 3 << 20)])
        let listed = try Shell.run("cat '\(dir.path)/run'/payload.part* | zstd -dq | tar -tv")
        #expect(listed.output.contains("3145728") && listed.output.contains("postgres/app.dump"))
    }

    @Test func aStreamWhoseProducerFailsLeavesNoCompleteSnapshot() throws {
        let dir = TemporaryDirectory()
        #expect(throws: BytesSource.Failed.self) {
            _ = try build(dir.path + "/run", [("postgres/app.dump", Self.random(5000), true)], chunk: 1 << 20)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/run/complete.json"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/run/manifest.json"))
    }
}
