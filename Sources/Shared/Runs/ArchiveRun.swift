import Archive
import Core
import Foundation
import Store

/// Runs an `ArchiveBuilder` for an executor: the build on a thread of its own, progress every 250 ms, the original's
/// events (`packaging`, `fs_issues`, `upload`), error policy outcome, and the run's `BackupSummary`.
enum ArchiveRun {
    /// `pipeline.encryption` `{type: "age_x25519", key_name}` → the key (created on first use) and its recipient.
    static func encryption(_ context: RunContext) async throws -> (keyName: String, recipient: String)? {
        guard case .string("age_x25519")? = context.spec.pipeline["encryption"]?["type"],
            case .string(let name)? = context.spec.pipeline["encryption"]?["key_name"]
        else { return nil }
        guard let keys = context.keys, let key = try await keys.identity(named: name, create: true) else {
            throw RunFailure(code: "key_unavailable", message: "backup key \(name) cannot be created here")
        }
        return (name, key.recipient)
    }

    static func perform(
        _ context: RunContext,
        settings: ArchiveBuilder.Settings,
        paths: [String],
        root: String?,
        preScan: Bool,
        adjustSummary: (inout BackupSummary) -> Void = { _ in },
        progress: BuildProgress = BuildProgress()
    ) async throws -> JSONValue {
        var settings = settings
        settings.encryption = try await encryption(context)
        let runDir = settings.runDirectory
        do {
            try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        } catch {
            throw RunFailure(code: "target_unavailable", message: "cannot create \(runDir): \(error.localizedDescription)")
        }
        let cancellation = context.cancellation
        let roots: [ArchiveBuilder.Root]
        do {
            roots = try ArchiveBuilder.roots(paths: paths, root: root, progress: progress)
        } catch {
            throw RunFailure(code: "invalid_spec", message: "\(error)")
        }
        for root in roots where access(root.path, F_OK) != 0 {
            if settings.errorPolicy == "fail_fast" {
                throw RunFailure(code: "source_not_found", message: "\(root.path) does not exist")
            }
            progress.error("\(root.path) does not exist")
        }
        context.events.emit(
            kind: "packaging",
            message: "Packaging \(roots.count) path(s) into \(runDir)",
            fields: .object(["run_dir": .string(runDir)])
        )
        let buildSettings = settings
        async let built: ArchiveBuilder.Result = runBlocking {
            defer { progress.finish() }
            // Confined to this thread for the whole build.
            let builder = ArchiveBuilder(settings: buildSettings, progress: progress) { cancellation.reason != nil }
            var total: BuildProgress.Counts?
            if preScan {
                progress.setStage("scan")
                total = builder.scan(roots)
            }
            progress.setStage("packaging", total: total)
            return try builder.build(roots)
        }
        await reportProgress(progress, kind: "backup", to: context)
        let result: ArchiveBuilder.Result
        do {
            result = try await built
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as ArchiveBuilder.SourceError {
            throw RunFailure(code: "fs_issues", message: error.description)
        } catch {
            throw RunFailure(code: "target_write_failed", message: "writing the snapshot to \(runDir) failed: \(error)")
        }
        let issues = progress.issues
        if issues.warnings > 0 || issues.errors > 0 {
            context.events.emit(
                issues.errors > 0 ? .error : .warn,
                kind: "fs_issues",
                message: "\(issues.errors) error(s), \(issues.warnings) warning(s) while reading the source",
                fields: .object([
                    "warnings_total": .number(Double(issues.warnings)), "errors_total": .number(Double(issues.errors)),
                    "warning_samples": .array(issues.warningSamples.map(JSONValue.string)),
                    "error_samples": .array(issues.errorSamples.map(JSONValue.string)),
                ])
            )
        }
        let transfer = result.parts.reduce(Int64(0)) { $0 + $1.size }
        let kept = result.keptParts > 0 ? " (\(result.keptParts) kept from an earlier attempt of this run)" : ""
        context.events.emit(
            kind: "upload",
            message: "Snapshot written: \(result.parts.count) part(s), \(transfer) bytes\(kept)",
            fields: .object([
                "parts": .number(Double(result.parts.count)), "bytes": .number(Double(transfer)),
                "parts_kept": .number(Double(result.keptParts)),
            ])
        )
        let counts = RunProgress.Counts(files: result.source.files, dirs: result.source.dirs, bytes: transfer)
        await context.progress.update(RunProgress(kind: RunKind.backup.rawValue, stage: "upload", done: counts, total: counts))
        if let data = context.catalogs {
            await context.progress.update(RunProgress(kind: RunKind.backup.rawValue, stage: "index", done: counts, total: counts))
            await buildCatalog(context, runDirectory: runDir, in: data)
        }
        var summary = BackupSummary(
            runDirectory: runDir,
            entriesCount: result.entriesCount,
            parts: result.parts.count,
            source: .init(files: result.source.files, dirs: result.source.dirs, bytes: result.source.bytes),
            transferBytes: transfer,
            // Everything read around (skipped sockets, unreadable attributes, and errors under skip_ok): a success
            // with warnings is visible in the run list (`runs.warnings`).
            filesystemWarnings: issues.warnings,
            filesystemErrors: issues.errors
        )
        adjustSummary(&summary)
        if issues.errors > 0 && settings.errorPolicy == "skip_fail" {
            throw RunFailure(code: "fs_issues", message: "\(issues.errors) source error(s) (error_policy skip_fail)", summary: summary.json)
        }
        return summary.json
    }

    /// The snapshot's catalog, so the first look in the browser or a diff is instant (docs/formats.md, "The snapshot
    /// catalog"). Not part of the snapshot: when it cannot be built the backup still succeeds (a warning), and the API
    /// builds it on first use.
    static func buildCatalog(_ context: RunContext, runDirectory: String, in data: DataDirectory) async {
        let started = ContinuousClock.now
        do {
            let entries = try await runBlocking {
                try SnapshotCatalog.build(
                    entriesIndex: runDirectory + "/" + Manifest.entriesIndexName,
                    into: SnapshotCatalog.path(in: data, runId: context.run.id)
                ).entriesCount()
            }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            context.events.emit(
                kind: "catalog",
                message: "Catalogued \(entries) entries for browsing in \(String(format: "%.2f", seconds)) s",
                fields: .object(["entries": .number(Double(entries))])
            )
        } catch {
            context.events.emit(.warn, kind: "catalog", message: "The snapshot's catalog was not built (it will be on first use): \(error)")
        }
    }
}
