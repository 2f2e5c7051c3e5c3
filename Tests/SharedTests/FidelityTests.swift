import Foundation
import TestClients
import Testing

@testable import Archive

/// Every name and attribute Linux allows survives a backup, GNU tar, bsdtar and Bastion's restore
/// (`docs/formats.md`): the generated tree is archived, then extracted three ways, and each result is compared with
/// the source on every aspect (type, bytes, mode, mtime to the ns, owner, link target, hardlink identity, xattrs,
/// sparseness).
@Suite(.serialized) struct FidelityTests {
    static func build(_ source: String, into runDir: String, progress: BuildProgress = BuildProgress()) throws -> ArchiveBuilder.Result {
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        var settings = ArchiveBuilder.Settings(jobId: "job", runId: "run", runDirectory: runDir, partSize: 1 << 20)
        settings.hardlinkPolicy = "keep"
        settings.errorPolicy = "fail_fast"
        return try ArchiveBuilder(settings: settings, progress: progress) { false }
            .build(try ArchiveBuilder.roots(paths: [source], root: nil, progress: progress))
    }

    /// The extracted copy of `source` under `out` (archive paths are absolute paths without their `/`).
    static func compare(_ source: String, _ out: String, _ who: String) throws {
        let expected = try TreeFingerprint.of(source)
        let actual = try TreeFingerprint.of(out + source)
        let differences = TreeFingerprint.differences(expected, actual)
        #expect(differences.isEmpty, "\(who) differs from the source:\n\(differences.joined(separator: "\n"))")
        #expect(expected.count > 40)
    }

    @Test func everyNameAndAttributeSurvivesGNUTarBsdtarAndRestore() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        try FidelityTree.make(at: source)
        let runDir = dir.path + "/run"
        let progress = BuildProgress()
        let result = try Self.build(source, into: runDir, progress: progress)
        #expect(progress.issues.errors == 0 && progress.issues.warnings == 0, "\(progress.issues)")
        #expect(result.payloadBytes < 4 << 20, "the sparse GiB is stored as its data, not its holes: \(result.payloadBytes) bytes")

        let thirdParty = try FidelityTree.thirdPartyDifferences(runDirectory: runDir, source: source, scratch: dir.path)
        #expect(thirdParty.isEmpty, "\(thirdParty.joined(separator: "\n"))")

        let restored = dir.path + "/restored"
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
        let writer = RestoreWriter(destination: restored, policy: .fail, selection: nil)
        try Snapshot(directory: runDir).readMembers(into: writer, identity: nil)
        writer.finish()
        #expect(writer.failed == 0 && writer.warned == 0, "\(writer.failures) \(writer.warnings)")
        try Self.compare(source, restored, "Bastion's restore")

        let verifier = try SnapshotVerifier(entriesIndex: runDir + "/entries.jsonl.zst")
        try Snapshot(directory: runDir).readMembers(into: verifier, identity: nil)
        try verifier.finish()
        let outcome = verifier.outcome
        #expect(outcome.filesOK == outcome.filesTotal && outcome.otherFailures == 0 && outcome.unrestorable == 0, "\(outcome.samples)")
        #expect(outcome.warningsTotal == 0)
    }

    /// One entry that cannot be written does not abandon the rest: the destination holds a symlink where the archive
    /// has the directory `sub` (kept under `skip`), so `sub/inner.txt` is refused and reported; everything else is
    /// restored, and directory modes and times are applied after their content all the same.
    @Test func restoreFinishesWhatItCanAndReportsTheRest() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        try FidelityTree.make(at: source)
        let runDir = dir.path + "/run"
        _ = try Self.build(source, into: runDir)
        let restored = dir.path + "/restored"
        let outside = dir.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: restored + source, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: restored + source + "/sub", withDestinationPath: outside)
        let writer = RestoreWriter(destination: restored, policy: .skip, selection: nil)
        try Snapshot(directory: runDir).readMembers(into: writer, identity: nil)
        writer.finish()
        #expect(writer.failed == 1 && writer.failures.first.map { String(decoding: $0.path, as: UTF8.self) }?.hasSuffix("sub/inner.txt") == true)
        #expect(writer.failures.first?.reason.contains("never followed") == true, "\(writer.failures)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        let expected = try TreeFingerprint.of(source)
        let actual = try TreeFingerprint.of(restored + source)
        let differences = TreeFingerprint.differences(expected, actual)
        #expect(differences.count == 2 && differences.allSatisfy { $0.hasPrefix("sub") }, "\(differences.joined(separator: "\n"))")
        #expect(actual["read-only"] == expected["read-only"] && actual["."] == expected["."], "modes and times of directories")
    }
}
