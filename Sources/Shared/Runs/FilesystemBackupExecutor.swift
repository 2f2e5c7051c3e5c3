import Archive
import Core
import Foundation

/// The `filesystem` job type: an `archive_v1` snapshot of the selected paths (include/exclude globs, symlink,
/// hardlink and error policies, optional pre-scan for totals) in `<base_dir>/<job_id>/<run_id>/`.
public struct FilesystemBackupExecutor: JobExecutor {
    public let jobType = "filesystem"

    public init() {}

    public func execute(_ context: RunContext) async throws -> JSONValue {
        guard case .filesystem(let source) = context.spec.source, case .localDir(let target) = context.spec.target else {
            throw RunFailure(code: "invalid_spec", message: "not a filesystem job with a local_dir target")
        }
        var settings = ArchiveBuilder.Settings(
            jobId: context.job.id,
            runId: context.run.id,
            runDirectory: "\(target.baseDir)/\(context.job.id)/\(context.run.id)",
            partSize: target.partSizeBytes
        )
        settings.include = source.include.compactMap(Glob.init)
        settings.exclude = source.exclude.compactMap(Glob.init)
        settings.symlinkPolicy = source.symlinkPolicy
        settings.hardlinkPolicy = source.hardlinkPolicy
        settings.errorPolicy = source.errorPolicy
        return try await ArchiveRun.perform(
            context,
            settings: settings,
            paths: source.paths,
            root: source.paths.count == 1 && source.root != nil ? source.root : nil,
            preScan: source.preScan
        )
    }
}
