import Archive
import CFileSystem
import Core
import Foundation
import Store
import Synchronization

/// The `sqlite` job type: copies a live SQLite database with the online backup API (in steps of pages, so writers
/// to the source are never blocked for long) into `<staging>/<run_id>/source/<name>`, optionally runs
/// `PRAGMA integrity_check` on the copy, then packages the copy as an `archive_v1` snapshot holding just `<name>`
/// (`docs/architecture.md`, "Backups") under `<base_dir>/<job_id>/<run_id>/`.
public struct SQLiteBackupExecutor: JobExecutor {
    public let jobType = "sqlite"
    /// Pages copied per backup step; cancellation and progress are checked between steps.
    public var pagesPerStep: Int32
    /// Pause between steps so writers to the source get the lock (the original: 100 pages, 10 ms).
    public var stepPause: Duration
    /// Where copies are made before packaging (the worker's `<data-dir>/runs`).
    public var stagingDirectory: String

    public init(pagesPerStep: Int32 = 100, stepPause: Duration = .milliseconds(10), stagingDirectory: String = NSTemporaryDirectory()) {
        self.pagesPerStep = pagesPerStep
        self.stepPause = stepPause
        self.stagingDirectory = stagingDirectory
    }

    public func execute(_ context: RunContext) async throws -> JSONValue {
        guard case .sqlite(let source) = context.spec.source else {
            throw RunFailure(code: "invalid_spec", message: "not a sqlite job")
        }
        let location = RunLocation(target: context.spec.target, jobId: context.job.id, runId: context.run.id)
        guard FileManager.default.fileExists(atPath: source.path) else {
            throw RunFailure(code: "source_not_found", message: "SQLite database \(source.path) does not exist")
        }
        let name =
            URL(fileURLWithPath: source.path).lastPathComponent.isEmpty ? "database.sqlite3" : URL(fileURLWithPath: source.path).lastPathComponent
        let staging = "\(stagingDirectory)/\(context.run.id)"
        let sourceDir = "\(staging)/source"
        let partialPath = "\(sourceDir)/\(name)"
        try? FileManager.default.removeItem(atPath: staging)
        do {
            try FileManager.default.createDirectory(atPath: sourceDir, withIntermediateDirectories: true)
        } catch {
            throw RunFailure(code: "staging_unavailable", message: "cannot create \(sourceDir): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: staging) }

        context.events.emit(
            kind: "snapshot",
            message: "Copying \(source.path) with the SQLite online backup API",
            fields: .object(["path": .string(source.path)])
        )
        await context.progress.update(Self.progress(stage: "snapshot", done: 0, total: 0))

        try await Self.copy(context, source: source.path, pagesPerStep: pagesPerStep, stepPause: stepPause) { step in
            try SQLiteFileCopy.onlineBackup(source: source.path, destination: partialPath, pagesPerStep: pagesPerStep, step: step)
        }
        try context.checkCancellation()

        var integrity: JSONValue = .null
        if source.integrityCheck {
            context.events.emit(kind: "integrity_check", message: "Running PRAGMA integrity_check on the copy")
            let lines = try await runBlocking { try SQLiteFileCopy.integrityCheck(partialPath) }
            let ok = lines == ["ok"]
            integrity = .object(["ok": .bool(ok), "lines": .array(lines.map(JSONValue.string))])
            if !ok {
                context.events.emit(.error, kind: "integrity_check", message: "integrity_check failed: \(lines.first ?? "")")
                throw RunFailure(code: "integrity_check_failed", message: "sqlite integrity_check failed: \(lines.first ?? "")")
            }
            context.events.emit(kind: "integrity_check", message: "integrity_check ok")
        }
        try context.checkCancellation()

        let size = (try? FileManager.default.attributesOfItem(atPath: partialPath)[.size] as? NSNumber)?.int64Value ?? 0
        return try await ArchiveRun.perform(
            context,
            settings: ArchiveBuilder.Settings(
                jobId: context.job.id,
                runId: context.run.id,
                runDirectory: location.localDirectory ?? "",
                partSize: context.spec.target.partSizeBytes
            ),
            location: location,
            staging: stagingDirectory,
            paths: [partialPath],
            root: sourceDir,
            preScan: true,
            adjustSummary: { summary in
                summary.sqlite = .init(path: source.path, snapshotName: name, integrityCheck: integrity)
                summary.source = .init(files: 1, dirs: 0, bytes: size)
            }
        )
    }

    /// Runs `backup` (an online backup API copy, given the step callback) off the cooperative pool, reporting its pages
    /// as progress every 250 ms, stopping at the next step once the run is canceled (and pausing `stepPause` between
    /// steps). A failed copy is `snapshot_failed`.
    static func copy(
        _ context: RunContext,
        source: String,
        pagesPerStep: Int32,
        stepPause: Duration,
        _ backup: @escaping @Sendable (_ step: @escaping (Int, Int, Bool) throws -> Void) throws -> Void
    ) async throws {
        let steps = ProgressRelay()
        let pauseMicros = UInt32(clamping: stepPause.components.seconds * 1_000_000 + stepPause.components.attoseconds / 1_000_000_000_000)
        let cancellation = context.cancellation
        // The backup is synchronous SQLite work: run it off the cooperative pool.
        async let copy: Void = runBlocking {
            // However the copy ends, the progress loop below must stop.
            defer { steps.finish() }
            try backup { done, total, finished in
                if cancellation.reason != nil { throw CancellationError() }
                steps.set(done: done, total: total)
                if pauseMicros > 0, !finished { usleep(pauseMicros) }
            }
        }
        // Report progress while the copy runs (the relay says when the copy thread is done).
        while await !waitUntil(upTo: .milliseconds(250), { steps.isFinished }) {
            let (done, total) = steps.get()
            await context.progress.update(Self.progress(stage: "snapshot", done: done, total: total))
        }
        do {
            try await copy
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw RunFailure(code: "snapshot_failed", message: "SQLite backup of \(source) failed: \(error)")
        }
    }

    static func progress(stage: String, done: Int, total: Int) -> RunProgress {
        RunProgress(kind: RunKind.backup.rawValue, stage: stage, done: .init(pages: Int64(done)), total: .init(pages: Int64(total)))
    }
}

/// Latest page counts, written by the backup thread and read by the progress loop.
private final class ProgressRelay: Sendable {
    private let value = Mutex<(done: Int, total: Int, finished: Bool)>((0, 0, false))
    func set(done: Int, total: Int) { value.withLock { $0 = (done, total, $0.finished) } }
    func get() -> (Int, Int) { value.withLock { ($0.done, $0.total) } }
    func finish() { value.withLock { $0.finished = true } }
    var isFinished: Bool { value.withLock { $0.finished } }
}
