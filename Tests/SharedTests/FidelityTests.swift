import Foundation
import TestClients
import Testing

@testable import Shared

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

    /// The extracted copy of `source` under `out` (archive paths are absolute paths without their `/`). `excluding`
    /// leaves out entries a third-party reader cannot write: GNU tar and bsdtar create each member by its whole path,
    /// so neither can go past PATH_MAX (Bastion's restore can: it works relative to open directories).
    static func compare(_ source: String, _ out: String, _ who: String, excluding: (String) -> Bool = { _ in false }) throws {
        let expected = try TreeFingerprint.of(source).filter { !excluding($0.key) }
        let actual = try TreeFingerprint.of(out + source).filter { !excluding($0.key) }
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

        let payload = "cat '\(runDir)'/payload.part* | zstd -dq"
        let gnu = dir.path + "/gnu"
        try FileManager.default.createDirectory(atPath: gnu, withIntermediateDirectories: true)
        let gnuRun = try Shell.run("\(payload) | tar -x --xattrs --xattrs-include='*' --acls --numeric-owner -p -C '\(gnu)' -f - 2>&1")
        // What GNU tar says, and fails on, is only about the path past PATH_MAX (and it notes the keyword and the odd
        // dates).
        let tolerated = ["File name too long", "Exiting with failure status", "hdrcharset", "implausibly old time stamp", "in the future"]
        let unexpected = gnuRun.output.split(separator: "\n").filter { line in !tolerated.contains { line.contains($0) } }
        #expect(unexpected.isEmpty, "\(gnuRun.output)")
        let pastPathMax = { (key: String) in key.contains("16d{248}") }
        try Self.compare(source, gnu, "GNU tar", excluding: pastPathMax)

        let bsd = dir.path + "/bsd"
        try FileManager.default.createDirectory(atPath: bsd, withIntermediateDirectories: true)
        let bsdRun = try Shell.run("\(payload) | bsdtar -x --xattrs --acls --numeric-owner -p -C '\(bsd)' -f - 2>&1")
        let bsdUnexpected = bsdRun.output.split(separator: "\n").filter { line in !["16d{248}", "dddddddd", "Error exit delayed"].contains { line.contains($0) } }
        #expect(bsdUnexpected.isEmpty, "\(bsdRun.output)")
        // libarchive reads a negative pax time with a fraction (-1.75: 1.75 s before 1970, as GNU tar writes it) as
        // -1 s + 0.75: that one file's mtime is off by its fraction there; the whole-second one is exact.
        try Self.compare(source, bsd, "bsdtar", excluding: { pastPathMax($0) || $0 == "pre-1970" })

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
}
