import Archive
import Core
import Foundation

/// The `filesystem` job type: an `archive_v1` snapshot of the selected paths (include/exclude globs, symlink,
/// hardlink and error policies, optional pre-scan for totals) in `<base_dir>/<job_id>/<run_id>/`.
public struct FilesystemBackupExecutor: JobExecutor {
    public let jobType = "filesystem"

    /// Where a backup to a remote target stages its parts (the worker's `<data-dir>/runs`).
    public var stagingDirectory: String

    public init(stagingDirectory: String = NSTemporaryDirectory()) {
        self.stagingDirectory = stagingDirectory
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
        settings.incremental = await IncrementalRun.base(context, staging: stagingDirectory)
        return try await ArchiveRun.perform(
            context,
            settings: settings,
            location: location,
            staging: stagingDirectory,
            paths: source.paths,
            root: source.paths.count == 1 && source.root != nil ? source.root : nil,
            preScan: source.preScan
        )
    }
}
