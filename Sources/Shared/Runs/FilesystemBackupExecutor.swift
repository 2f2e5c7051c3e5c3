import Archive
import Core
import Foundation
import Logging

/// The `filesystem` job type: an `archive_v1` snapshot of the selected paths (include/exclude globs, symlink,
/// hardlink and error policies, optional pre-scan for totals) in `<base_dir>/<job_id>/<run_id>/`.
public struct FilesystemBackupExecutor: JobExecutor {
    public let jobType = "filesystem"

    /// Where a backup to a remote target stages its parts (the worker's `<data-dir>/runs`).
    public var stagingDirectory: String
    /// Where the btrfs snapshots a run holds are recorded (the worker's or agent's `<data-dir>/snapshots`).
    public var snapshotRecords: String

    public init(stagingDirectory: String = NSTemporaryDirectory(), snapshotRecords: String? = nil) {
        self.stagingDirectory = stagingDirectory
        self.snapshotRecords = snapshotRecords ?? stagingDirectory + "/snapshots"
    }

    public func execute(_ context: RunContext) async throws -> JSONValue {
        guard case .filesystem(let source) = context.spec.source else {
            throw RunFailure(code: "invalid_spec", message: "not a filesystem job")
        }
        let location = RunLocation(target: context.spec.target, jobId: context.job.id, runId: context.run.id)
        var settings = ArchiveBuilder.Settings(
            jobId: context.job.id,
            runId: context.run.id,
            runDirectory: location.localDirectory ?? "",
            partSize: context.spec.target.partSizeBytes
        )
        settings.include = source.include.compactMap(Glob.init)
        settings.exclude = source.exclude.compactMap(Glob.init)
        settings.symlinkPolicy = source.symlinkPolicy
        settings.hardlinkPolicy = source.hardlinkPolicy
        settings.errorPolicy = source.errorPolicy
        settings.consistencyPolicy = source.consistencyPolicy
        settings.consistencyFailThreshold = source.consistencyFailThreshold
        settings.incremental = await IncrementalRun.base(context, staging: stagingDirectory)
        let snapshot = try await takeSnapshot(source, context)
        do {
            let summary = try await ArchiveRun.perform(
                context,
                settings: settings,
                location: location,
                staging: stagingDirectory,
                paths: source.paths,
                root: source.paths.count == 1 && source.root != nil ? source.root : nil,
                preScan: source.preScan,
                snapshot: snapshot
            )
            await releaseSnapshot(snapshot, context)
            return summary
        } catch {
            await releaseSnapshot(snapshot, context)
            throw error
        }
    }

    /// `snapshot_mode` `auto` or `required`: a read-only btrfs snapshot of the subvolume holding the paths
    /// (docs/architecture.md, "Filesystem snapshots"); nil when off, or when `auto` cannot take one (a warning).
    func takeSnapshot(_ source: FilesystemSource, _ context: RunContext) async throws -> SourceSnapshots.Taken? {
        guard source.snapshotMode == "auto" || source.snapshotMode == "required" else { return nil }
        context.events.emit(
            kind: "snapshot_started",
            message: "Taking a read-only btrfs snapshot of the source (snapshot_mode \(source.snapshotMode))",
            fields: .object(["mode": .string(source.snapshotMode)])
        )
        let records = snapshotRecords
        let runId = context.run.id
        let paths = source.paths
        let logger = Logger(label: "bastion.snapshots")
        do {
            let taken = try await runBlocking { try SourceSnapshots.take(paths: paths, runId: runId, records: records, logger: logger) }
            context.events.emit(
                kind: "snapshot_ready",
                message: "Reading the btrfs snapshot \(taken.path) of \(taken.subvolume)",
                fields: .object(["subvolume": .string(taken.subvolume), "snapshot": .string(taken.path)])
            )
            return taken
        } catch let unavailable as SourceSnapshots.Unavailable {
            let required = source.snapshotMode == "required"
            context.events.emit(
                required ? .error : .warn,
                kind: "snapshot_unavailable",
                message: required
                    ? "No snapshot of the source: \(unavailable.description)"
                    : "No snapshot of the source (\(unavailable.description)); reading the live files",
                fields: .object(["mode": .string(source.snapshotMode), "reason": .string(unavailable.description)])
            )
            if required { throw RunFailure(code: "snapshot_unavailable", message: unavailable.description) }
            return nil
        }
    }

    /// Deletes the run's snapshot, whatever the run's outcome; one that cannot be deleted is a warning (its record
    /// stays, and the next sweep retries).
    func releaseSnapshot(_ snapshot: SourceSnapshots.Taken?, _ context: RunContext) async {
        guard let snapshot else { return }
        do {
            try await runBlocking { try SourceSnapshots.release(snapshot) }
        } catch {
            context.events.emit(.warn, kind: "snapshot_cleanup", message: "The snapshot \(snapshot.path) was not deleted: \(error)")
        }
    }
}
