import Archive
import Core
import Foundation

/// Restores a finished snapshot into a local directory (`operation`: `destination.directory`, `conflict_policy`,
/// optional `selection`). Every part is checked (size and BLAKE3) before anything is written, and again while
/// reading; every member is checked against the entries index (kind, size, mode, mtime, link target, content hash)
/// before it is kept, and a difference is `snapshot_corrupt`; cancel is honoured between entries and parts.
public struct RestoreExecutor: JobExecutor {
    public let jobType = RunKind.restore.rawValue

    /// Where a remote snapshot's parts are fetched, one at a time (the worker's `<data-dir>/runs`).
    public var stagingDirectory: String
    /// The engines of restores into a database, by job type (docs/databases.md).
    public var engines: [String: any DatabaseEngine]

    public init(stagingDirectory: String = NSTemporaryDirectory(), engines: [String: any DatabaseEngine] = databaseEngines) {
        self.stagingDirectory = stagingDirectory
        self.engines = engines
    }

    public func execute(_ context: RunContext) async throws -> JSONValue {
        try await execute(context, stream: nil)
    }

    /// `stream`: what a restore to WebDAV uploads from (`WebDAVRestore`): given the entries index before anything is
    /// written, then each entry as it is in place.
    func execute(_ context: RunContext, stream: (any RestoreStream)?) async throws -> JSONValue {
        let operation: RestoreOperation
        do {
            operation = try RestoreOperation(json: context.run.operation ?? .null)
        } catch {
            throw RunFailure(code: "invalid_operation", message: "\(error)")
        }
        if let database = operation.database {
            return try await DatabaseRestore.run(context, destination: database, engines: engines, staging: stagingDirectory)
        }
        if let webdav = operation.webdav {
            return try await WebDAVRestore.run(context, operation, target: webdav, executor: self)
        }
        let directory = operation.directory
        let policy = operation.conflictPolicy
        let ownership = operation.ownership
        var selection: RestoreWriter.Selection?
        if let chosen = operation.selection {
            guard let normalized = RestoreWriter.Selection(files: chosen.files, dirs: chosen.dirs) else {
                throw RunFailure(code: "invalid_operation", message: "the selection has a path with .. or NUL")
            }
            selection = normalized
        }
        var stripPrefix: [ArraySlice<UInt8>] = []
        if let raw = operation.stripPrefix {
            // The API checked it when it queued the run; checked again as the operation is read (docs/formats.md).
            guard operation.webdav == nil, let prefix = selection?.strippable(raw) else {
                throw RunFailure(code: "invalid_operation", message: "strip_prefix is not a leading directory of every selected path")
            }
            stripPrefix = prefix
        }
        let snapshot = try await openSnapshot(context, staging: stagingDirectory)
        let remote = snapshot.fetchPart != nil
        let readDirectory = remoteReadDirectory(context, staging: stagingDirectory)
        defer { if remote { try? FileManager.default.removeItem(atPath: readDirectory) } }
        let identity = try await snapshotIdentity(snapshot, context)
        // The index every member is checked against was checked against the manifest by `openSnapshot`.
        // An incremental snapshot, or a selection read by frame (docs/formats.md, "Incremental snapshots").
        var chain: ChainRead?
        if ChainRead.applies(snapshot, selection: selection) {
            chain = try await ChainRead.open(snapshot, selection: selection, verifying: true, identity: identity, context, staging: stagingDirectory)
        }
        let staging = stagingDirectory
        defer { chain?.removeStaging(context, staging: staging) }
        if remote {
            do {
                try await checkRemoteParts(snapshot, context)
            } catch let error as ArchiveError {
                throw RunFailure(code: "snapshot_corrupt", message: error.description)
            }
        }
        if let stream {
            do {
                try await stream.prepare(
                    index: snapshot.directory + "/" + Manifest.entriesIndexName,
                    identity: snapshot.indexIdentity(identity),
                    selection: selection
                )
            } catch let error as ArchiveError {
                throw RunFailure(code: "snapshot_corrupt", message: error.description)
            } catch let error as AgeError {
                throw RunFailure(code: "snapshot_corrupt", message: error.description)
            }
        }
        let into = operation.original ? "to the original location \(directory)" : "into \(directory)"
        let without = operation.stripPrefix.map { ", without the leading \(String(decoding: $0, as: UTF8.self))/" } ?? ""
        context.events.emit(kind: "restore", message: "Restoring \(into)\(without) (conflict policy \(policy.rawValue))")
        let replacesVaultwardenDatabase = VaultwardenRestore.replacesDatabase(context, operation)
        // Progress counts stored payload bytes read: first while every part is checked, then while restoring.
        let progress = BuildProgress()
        let total = BuildProgress.Counts(bytes: chain?.payloadBytes ?? snapshot.payloadBytes)
        progress.setStage("verify", total: total)
        let cancellation = context.cancellation
        let (chosenPolicy, chosenSelection, chosenOwnership, chosenChain, chosenStream) = (policy, selection, ownership, chain, stream)
        let chosenStrip = stripPrefix
        async let restored: Outcome = runBlocking {
            defer { progress.finish() }
            let check = { if cancellation.reason != nil { throw CancellationError() } }
            // A remote part is checked as it is fetched, before any of it is used (docs/targets.md).
            // A read by frame checks each part it uses before using it, and reads no other.
            if !remote, chosenChain == nil || chosenSelection == nil { try snapshot.checkParts(progress: progress, betweenParts: check) }
            progress.setStage("restore", total: total)
            let isCanceled = { cancellation.reason != nil || chosenStream?.stopped == true }
            let writer = RestoreWriter(
                destination: directory,
                policy: chosenPolicy,
                selection: chosenSelection,
                stripPrefix: chosenStrip,
                ownership: chosenOwnership,
                progress: progress,
                isCanceled: isCanceled
            )
            if let chosenStream { writer.restored = { try chosenStream.restored($0, $1) } }
            // Directory modes and times are applied after a failure too.
            defer { writer.finish() }
            // Created when missing, never through a symlink (docs/security.md, "Archives and restore").
            try writer.destinationDescriptor()
            if let chosenChain {
                for source in chosenChain.sources {
                    try chosenChain.restore(source, into: writer, progress: progress, isCanceled: isCanceled, check: check)
                }
                try chosenChain.restoreOwn(into: writer, selected: chosenSelection != nil, progress: progress, isCanceled: isCanceled, check: check)
            } else {
                let index = snapshot.directory + "/" + Manifest.entriesIndexName
                let verifier = try SnapshotVerifier(
                    entriesIndex: index,
                    identity: snapshot.indexIdentity(identity),
                    strict: true,
                    isCanceled: isCanceled
                )
                try snapshot.readMembers(
                    into: CheckedMembers(check: verifier, next: writer),
                    identity: identity,
                    progress: progress,
                    betweenParts: check
                )
                try verifier.finish()
            }
            writer.finish()
            return Outcome(writer)
        }
        await reportProgress(progress, kind: "restore", to: context)
        do {
            let outcome = try await restored
            let summary: JSONValue = .object([
                "destination": .string(directory), "restored_files": .number(Double(outcome.files)), "skipped": .number(Double(outcome.skipped)),
                "source_run_id": operation.sourceRunId.map(JSONValue.string) ?? .null,
                "not_restored": .number(Double(outcome.failed)), "not_restored_entries": .array(outcome.failures.map(Self.problem)),
                "warnings": .number(Double(outcome.warned)), "warning_entries": .array(outcome.warnings.map(Self.problem)),
            ])
            if outcome.failed > 0 {
                let first = outcome.failures.first.map { ": first, \(String(decoding: $0.path, as: UTF8.self)): \($0.reason)" } ?? ""
                throw RunFailure(code: "restore_incomplete", message: "\(outcome.failed) entr(ies) not restored\(first)", summary: summary)
            }
            if replacesVaultwardenDatabase {
                let removed = try VaultwardenRestore.removeStaleFiles(in: directory)
                if !removed.isEmpty {
                    context.events.emit(
                        kind: "restore",
                        message: "Removed \(removed.joined(separator: ", ")) of the database the restored db.sqlite3 replaced",
                        fields: .object(["removed": .array(removed.map(JSONValue.string))])
                    )
                }
            }
            return summary
        } catch let failure as RunFailure {
            throw failure
        } catch is CancellationError {
            throw CancellationError()
        } catch let conflict as RestoreConflict {
            throw RunFailure(code: "restore_conflict", message: conflict.description)
        } catch let error as ArchiveError {
            throw RunFailure(code: "snapshot_corrupt", message: error.description)
        } catch let error as AgeError {
            throw RunFailure(code: "snapshot_corrupt", message: error.description)
        } catch {
            throw RunFailure(code: "restore_failed", message: "\(error)")
        }
    }
}

extension RestoreExecutor {
    /// What a restore did, taken from its writer.
    struct Outcome: Sendable {
        var files: Int64
        var skipped: Int64
        var failed: Int64
        var failures: [RestoreWriter.Problem]
        var warned: Int64
        var warnings: [RestoreWriter.Problem]

        init(_ writer: RestoreWriter) {
            files = writer.restoredFiles
            skipped = writer.skipped
            failed = writer.failed
            failures = writer.failures
            warned = writer.warned
            warnings = writer.warnings
        }
    }

    static func problem(_ problem: RestoreWriter.Problem) -> JSONValue {
        var fields = IndexJSON.fields(problem.path, "path")
        fields["reason"] = .string(problem.reason)
        return .object(fields)
    }
}

/// Takes what a restore writes as it writes it (a restore to WebDAV uploads each entry, `WebDAVRestore`).
protocol RestoreStream: AnyObject, Sendable {
    /// Before anything is written: the snapshot's entries index (checked against the manifest) and the selection.
    func prepare(index: String, identity: String?, selection: RestoreWriter.Selection?) async throws
    /// From the restore's thread, each entry once it is in place (a regular file after its content matched the index);
    /// may block while the taker is behind, and throws to stop the restore.
    func restored(_ relative: [UInt8], _ entry: TarEntry) throws
    /// True once the taker failed: the restore stops.
    var stopped: Bool { get }
}
