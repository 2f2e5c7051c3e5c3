import Foundation
import TestClients
import Testing

@testable import Archive
@testable import Core

/// What a backup of an incremental job did with its files (`summary.changes`, docs/formats.md "Run summaries"): the
/// run page says "1 new, 1 changed, 2 unchanged, 1 removed" from it.
@Suite struct FileChangesTests {
    func build(_ source: String, _ runDirectory: String, runId: String, incremental: IncrementalBase?) throws -> ArchiveBuilder.Result {
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        var settings = ArchiveBuilder.Settings(jobId: "job", runId: runId, runDirectory: runDirectory, partSize: 1 << 20)
        settings.incremental = incremental
        let progress = BuildProgress()
        let builder = ArchiveBuilder(settings: settings, progress: progress) { false }
        return try builder.build(try ArchiveBuilder.roots(paths: [source], root: nil, progress: progress))
    }

    func write(_ path: String, _ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }

    @Test func anIncrementalBuildCountsNewChangedUnchangedAndRemovedFiles() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        try FileManager.default.createDirectory(atPath: source + "/sub", withIntermediateDirectories: true)
        for name in ["a", "b", "c", "sub/d"] { try write("\(source)/\(name).txt", "\(name)\n") }
        let full = try build(source, dir.path + "/r0", runId: "r0", incremental: .full())
        #expect(full.changes == BackupSummary.FileChanges(new: 4, changed: 0, unchanged: 0, removed: 0))

        try write(source + "/b.txt", "b, longer now\n")
        try FileManager.default.removeItem(atPath: source + "/c.txt")
        try write(source + "/sub/e.txt", "e\n")
        let prior = try IncrementalBase.loadPrior(entriesIndex: dir.path + "/r0/" + Manifest.entriesIndexName, baseRunId: "r0")
        let next = try build(source, dir.path + "/r1", runId: "r1", incremental: IncrementalBase(level: 1, chain: ["r0"], prior: prior))
        #expect(next.changes == BackupSummary.FileChanges(new: 1, changed: 1, unchanged: 2, removed: 1))

        // A job without incremental snapshots knows no previous one: no counts.
        let plain = try build(source, dir.path + "/r2", runId: "r2", incremental: nil)
        #expect(plain.changes == nil)
    }

    @Test func theSummaryCarriesTheCountsAndRefusesWhatAreNotCounts() throws {
        let changes = BackupSummary.FileChanges(new: 1, changed: 2, unchanged: 3, removed: 4)
        #expect(BackupSummary.FileChanges(json: changes.json) == changes)
        for bad in [
            #"{"new":1,"changed":2,"unchanged":3}"#, #"{"new":"1","changed":2,"unchanged":3,"removed":4}"#,
            #"{"new":-1,"changed":2,"unchanged":3,"removed":4}"#, #"{"new":1.5,"changed":2,"unchanged":3,"removed":4}"#,
            #"{"new":1e300,"changed":2,"unchanged":3,"removed":4}"#, #"[1,2,3,4]"#, #"null"#,
        ] {
            #expect(BackupSummary.FileChanges(json: try JSONValue.parse(bad)) == nil, "\(bad)")
        }
    }
}
