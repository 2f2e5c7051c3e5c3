import Archive
import Core
import Foundation
import Store
import Targets

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
        location: RunLocation,
        staging: String,
        paths: [String],
        root: String?,
        preScan: Bool,
        streams: [StreamedInput] = [],
        adjustSummary: (inout BackupSummary) -> Void = { _ in },
        progress: BuildProgress = BuildProgress(),
        roots explicitRoots: [ArchiveBuilder.Root]? = nil,
        snapshot: SourceSnapshots.Taken? = nil
    ) async throws -> JSONValue {
        var settings = settings
        settings.encryption = try await encryption(context)
        let cancellation = context.cancellation
        // A remote target: the run directory is staging, and each finished part is uploaded (docs/targets.md).
        var remote: RemoteUpload?
        if location.localDirectory == nil {
            settings.runDirectory = "\(staging)/\(context.run.id).upload"
        }
        let runDir = settings.runDirectory
        do {
            try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        } catch {
            throw RunFailure(
                code: location.localDirectory == nil ? "staging_unavailable" : "target_unavailable",
                message: "cannot create \(runDir): \(error.localizedDescription)"
            )
        }
        if location.localDirectory == nil {
            let store = try await openStore(location, context)
            try await targetStep {
                try await store.prepare()
                // An earlier attempt may have finished: the snapshot is not complete again until this one is.
                try await store.delete("complete.json")
            }
            remote = RemoteUpload(store: store, staging: runDir) { cancellation.reason != nil }
            settings.shipper = remote
        }
        var roots: [ArchiveBuilder.Root]
        do {
            // Explicit roots name each one's archive path themselves (a vaultwarden job's database copy and data dir).
            roots = try explicitRoots ?? ArchiveBuilder.roots(paths: paths, root: root, progress: progress)
            // A filesystem snapshot is read in place of the live paths, archived under them.
            if let snapshot {
                for index in roots.indices { roots[index].readPath = snapshot.readPath(for: roots[index].path) }
                settings.deviceAliases[snapshot.device] = snapshot.liveDevice
            }
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
            message: streams.isEmpty
                ? "Packaging \(roots.count) path(s) into \(location.display)" : "Packaging \(streams.count) dump(s) into \(location.display)",
            fields: .object(["run_dir": .string(location.display), "target": .string(location.target.type)])
        )
        // The catalog is built in the same pass (docs/architecture.md, "One pass"); it reaches its path only once
        // the snapshot is complete, and any other end removes it.
        let catalog = context.catalogs.map { SnapshotCatalog.LiveBuild(path: SnapshotCatalog.path(in: $0, runId: context.run.id)) }
        defer { catalog?.abandon() }
        settings.indexObserver = catalog
        // Before the progress loop's first sample: no backup has a `scan` stage now.
        progress.setStage("packaging")
        let buildSettings = settings
        let shipper = remote
        let buildRoots = roots
        async let built: ArchiveBuilder.Result = runBlocking {
            defer { progress.finish() }
            // Confined to this thread for the whole build.
            let builder = ArchiveBuilder(settings: buildSettings, progress: progress) { cancellation.reason != nil }
            // The totals (for the ETA) come from a scan beside the build rather than before it: the walk itself cannot
            // give them until it is over.
            var scan: ArchiveBuilder.BesideScan?
            if preScan {
                scan = ArchiveBuilder.scanBeside(buildRoots, settings: buildSettings, progress: progress, stage: "packaging") {
                    cancellation.reason != nil
                }
            }
            defer { scan?.stop() }
            do {
                let result = try builder.build(buildRoots, streams: streams)
                try shipper?.finish()
                return result
            } catch {
                // No upload may outlive the build.
                try? shipper?.finish()
                throw error
            }
        }
        await reportProgress(progress, kind: "backup", to: context)
        let result: ArchiveBuilder.Result
        do {
            result = try await built
        } catch is CancellationError {
            throw CancellationError()
        } catch let failure as ArchiveBuilder.ConsistencyFailure {
            removeStaging(remote, runDir)
            reportConsistency(failure.consistency, context, level: .error)
            throw RunFailure(code: "source_consistency", message: failure.description, summary: .object(["consistency": failure.consistency.json]))
        } catch let failure as RunFailure {
            // A streamed input's own failure (a dump tool's exit): the snapshot is never marked complete.
            removeStaging(remote, runDir)
            throw failure
        } catch let error as ArchiveBuilder.SourceError {
            removeStaging(remote, runDir)
            throw RunFailure(code: "fs_issues", message: error.description)
        } catch let error as TargetError {
            removeStaging(remote, runDir)
            throw RunFailure(code: error.code, message: "writing the snapshot to \(location.display) failed: \(error)")
        } catch {
            removeStaging(remote, runDir)
            throw RunFailure(code: "target_write_failed", message: "writing the snapshot to \(location.display) failed: \(error)")
        }
        if let remote {
            // Parts an earlier, longer attempt left, then the index, the manifest, and complete.json last.
            let store = remote.store
            let names = Set(result.parts.map(\.name))
            do {
                try await targetStep {
                    for (name, _) in try await store.list() where name.hasPrefix("payload.part") && !names.contains(name) {
                        try await store.delete(name)
                    }
                    for name in [Manifest.entriesIndexName, Manifest.framesName, "manifest.json"] {
                        try context.checkCancellation()
                        try await store.upload(name, from: "\(runDir)/\(name)")
                    }
                    try context.checkCancellation()
                    let marker = "\(runDir)/complete.json"
                    guard FileManager.default.createFile(atPath: marker, contents: Data("{}".utf8)) else {
                        throw TargetError("staging_unavailable", "cannot write \(marker)")
                    }
                    try await store.upload("complete.json", from: marker)
                }
            } catch let failure as RunFailure {
                removeStaging(remote, runDir)
                throw failure
            }
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
        if result.consistency.policy != "ignore" { reportConsistency(result.consistency, context, level: .warn) }
        let transfer = result.parts.reduce(Int64(0)) { $0 + $1.size }
        let keptParts = remote?.keptParts ?? result.keptParts
        let kept = keptParts > 0 ? " (\(keptParts) kept from an earlier attempt of this run)" : ""
        context.events.emit(
            kind: "upload",
            message: "Snapshot written to \(location.display): \(result.parts.count) part(s), \(transfer) bytes\(kept)",
            fields: .object([
                "parts": .number(Double(result.parts.count)), "bytes": .number(Double(transfer)),
                "parts_kept": .number(Double(keptParts)), "target": .string(location.target.type),
            ])
        )
        let counts = RunProgress.Counts(files: result.source.files, dirs: result.source.dirs, bytes: transfer)
        await context.progress.update(RunProgress(kind: RunKind.backup.rawValue, stage: "upload", done: counts, total: counts))
        if let catalog {
            await context.progress.update(RunProgress(kind: RunKind.backup.rawValue, stage: "index", done: counts, total: counts))
            await finishCatalog(catalog, context)
        }
        if remote != nil { try? FileManager.default.removeItem(atPath: runDir) }
        var summary = BackupSummary(
            location: location,
            entriesCount: result.entriesCount,
            parts: result.parts.count,
            source: .init(files: result.source.files, dirs: result.source.dirs, bytes: result.source.bytes),
            transferBytes: transfer,
            // Everything read around (skipped sockets, unreadable attributes, and errors under skip_ok): a success
            // with warnings is visible in the run list (`runs.warnings`).
            filesystemWarnings: issues.warnings,
            filesystemErrors: issues.errors
        )
        summary.chain = settings.incremental.map { SnapshotChain(level: $0.level, before: $0.chain) }
        summary.consistency = result.consistency
        summary.changes = result.changes
        // Files changed while read are a success with warnings too, unless the job ignores them.
        if result.consistency.policy != "ignore" { summary.warnings += result.consistency.changedTotal }
        adjustSummary(&summary)
        var summaryJSON = summary.json
        if let database = result.manifest.database, case .object(var object) = summaryJSON {
            object["database"] = database
            summaryJSON = .object(object)
        }
        if issues.errors > 0 && settings.errorPolicy == "skip_fail" {
            throw RunFailure(code: "fs_issues", message: "\(issues.errors) source error(s) (error_policy skip_fail)", summary: summaryJSON)
        }
        return summaryJSON
    }

    /// The `source_consistency` event: how many files changed while read, by reason, and the first of them
    /// (docs/architecture.md, "Consistency of live files"). Nothing when none did.
    static func reportConsistency(_ consistency: SourceConsistency, _ context: RunContext, level: RunEvent.Level) {
        guard consistency.changedTotal > 0 else { return }
        let names = consistency.samples.prefix(5).map(\.path).joined(separator: ", ")
        let more = consistency.changedTotal > 5 ? ", …" : ""
        context.events.emit(
            level,
            kind: "source_consistency",
            message: "\(consistency.changedTotal) file(s) changed while being read (consistency_policy \(consistency.policy)): \(names)\(more)",
            fields: consistency.json
        )
    }

    /// A failed backup's staging on a remote target: nothing of it is needed again (a retry is a new run).
    static func removeStaging(_ remote: RemoteUpload?, _ directory: String) {
        if remote != nil { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// The store of a remote location; a missing secret or a bad configuration is the run's failure with its code.
    static func openStore(_ location: RunLocation, _ context: RunContext) async throws -> any TargetStore {
        try await targetStep { try await TargetStores.open(location, secrets: context.targetSecrets) }
    }

    /// Runs a target step; a `TargetError` becomes the run's failure with the same code.
    static func targetStep<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as TargetError {
            throw RunFailure(code: error.code, message: error.description)
        }
    }

    /// The snapshot's catalog, so the first look in the browser or a diff is instant (docs/formats.md, "The snapshot
    /// catalog"): its rows were written during the build, what is left is the listing index and the rename. Not part
    /// of the snapshot: when it cannot be built the backup still succeeds (a warning), and the API builds it on first
    /// use.
    static func finishCatalog(_ catalog: SnapshotCatalog.LiveBuild, _ context: RunContext) async {
        let started = ContinuousClock.now
        do {
            let entries = try await runBlocking { try catalog.finish() }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            context.events.emit(
                kind: "catalog",
                message:
                    "Catalogued \(entries) entries for browsing while packaging; finished \(String(format: "%.2f", seconds)) s after the archive",
                fields: .object(["entries": .number(Double(entries)), "after_archive_seconds": .number((seconds * 1000).rounded() / 1000)])
            )
        } catch {
            context.events.emit(.warn, kind: "catalog", message: "The snapshot's catalog was not built (it will be on first use): \(error)")
        }
    }
}
