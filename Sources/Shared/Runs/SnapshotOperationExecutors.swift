import Archive
import Core
import Foundation
import Secrets
import Store

/// Where a finished backup of this job lives: `<base_dir>/<job_id>/<source_run_id>`.
func sourceSnapshotDirectory(_ context: RunContext) throws -> (directory: String, sourceRunId: String) {
    guard case .localDir(let target) = context.spec.target else { throw RunFailure(code: "invalid_spec", message: "unsupported target") }
    guard case .string(let source)? = context.run.operation?["source_run_id"] else {
        throw RunFailure(code: "invalid_operation", message: "the operation names no source run")
    }
    return ("\(target.baseDir)/\(context.job.id)/\(source)", source)
}

/// Opens the snapshot and emits the `manifest` event; a snapshot that never completed is `snapshot_not_restorable`.
func openSnapshot(_ context: RunContext) throws -> Snapshot {
    let (directory, source) = try sourceSnapshotDirectory(context)
    let snapshot: Snapshot
    do {
        snapshot = try Snapshot(directory: directory)
    } catch {
        throw RunFailure(code: "snapshot_not_restorable", message: "snapshot of run \(source): \(error)")
    }
    context.events.emit(
        kind: "manifest",
        message: "Snapshot of run \(source): \(snapshot.parts.count) part(s)",
        fields: .object([
            "format": snapshot.manifest["pipeline"]?["format"] ?? .null, "artifacts": .number(Double(snapshot.parts.count)),
            "entries_count": snapshot.entriesCount.map { .number(Double($0)) } ?? .null,
        ])
    )
    return snapshot
}

/// The identity that decrypts `snapshot`, or nil when it is not encrypted; a missing key is `key_not_found`.
func snapshotIdentity(_ snapshot: Snapshot, _ context: RunContext) async throws -> String? {
    guard let name = snapshot.encryptionKey else { return nil }
    guard let keys = context.keys, let key = try await keys.identity(named: name, create: false) else {
        throw RunFailure(code: "key_not_found", message: "the snapshot is encrypted with key \(name), which this Bastion does not have")
    }
    return key.identity
}

/// Reports a blocking step's `BuildProgress` every 250 ms until it finishes, and returns as soon as it does.
func reportProgress(_ progress: BuildProgress, kind: String, to context: RunContext) async {
    var previous: (ts: Double, stage: String, bytes: Int64)?
    while await !progress.waitForFinish(upTo: .milliseconds(250)) {
        let (value, snapshot) = progress.snapshot(kind: kind, previous: previous)
        previous = snapshot
        await context.progress.update(value)
    }
}

/// Restores a finished snapshot into a local directory (`operation`: `destination.directory`, `conflict_policy`,
/// optional `selection`). Every part is checked (size and BLAKE3) before anything is written, and again while
/// reading; cancel is honoured between entries and parts.
public struct RestoreExecutor: JobExecutor {
    public let jobType = RunKind.restore.rawValue

    public init() {}

    public func execute(_ context: RunContext) async throws -> JSONValue {
        let operation = context.run.operation ?? .null
        guard case .string(let directory)? = operation["destination"]?["directory"], directory.hasPrefix("/") else {
            throw RunFailure(code: "invalid_operation", message: "restore needs destination.directory (absolute)")
        }
        var policy = RestoreWriter.ConflictPolicy.fail
        if case .string(let raw)? = operation["conflict_policy"], let parsed = RestoreWriter.ConflictPolicy(rawValue: raw) { policy = parsed }
        var ownership = RestoreWriter.OwnershipPolicy.auto
        if case .string(let raw)? = operation["restore_ownership"], let parsed = RestoreWriter.OwnershipPolicy(rawValue: raw) { ownership = parsed }
        var selection: RestoreWriter.Selection?
        if case .object(let object)? = operation["selection"] {
            selection = RestoreWriter.Selection(files: Self.paths(object, "files"), dirs: Self.paths(object, "dirs"))
        }
        let snapshot = try openSnapshot(context)
        let identity = try await snapshotIdentity(snapshot, context)
        context.events.emit(kind: "restore", message: "Restoring into \(directory) (conflict policy \(policy.rawValue))")
        // Progress counts stored payload bytes read: first while every part is checked, then while restoring.
        let progress = BuildProgress()
        let total = BuildProgress.Counts(bytes: snapshot.payloadBytes)
        progress.setStage("verify", total: total)
        let cancellation = context.cancellation
        let (chosenPolicy, chosenSelection, chosenOwnership) = (policy, selection, ownership)
        async let restored: Outcome = runBlocking {
            defer { progress.finish() }
            let check = { if cancellation.reason != nil { throw CancellationError() } }
            try snapshot.checkParts(progress: progress, betweenParts: check)
            progress.setStage("restore", total: total)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let writer = RestoreWriter(
                destination: directory,
                policy: chosenPolicy,
                selection: chosenSelection,
                ownership: chosenOwnership,
                progress: progress
            ) { cancellation.reason != nil }
            // Directory modes and times are applied after a failure too.
            defer { writer.finish() }
            try snapshot.readMembers(into: writer, identity: identity, progress: progress, betweenParts: check)
            writer.finish()
            return Outcome(writer)
        }
        await reportProgress(progress, kind: "restore", to: context)
        do {
            let outcome = try await restored
            let summary: JSONValue = .object([
                "destination": .string(directory), "restored_files": .number(Double(outcome.files)), "skipped": .number(Double(outcome.skipped)),
                "source_run_id": operation["source_run_id"] ?? .null,
                "not_restored": .number(Double(outcome.failed)), "not_restored_entries": .array(outcome.failures.map(Self.problem)),
                "warnings": .number(Double(outcome.warned)), "warning_entries": .array(outcome.warnings.map(Self.problem)),
            ])
            if outcome.failed > 0 {
                let first = outcome.failures.first.map { ": first, \(String(decoding: $0.path, as: UTF8.self)): \($0.reason)" } ?? ""
                throw RunFailure(code: "restore_incomplete", message: "\(outcome.failed) entr(ies) not restored\(first)", summary: summary)
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

    /// A selection list as bytes: `files`/`dirs` (text) and `files_b64`/`dirs_b64` (exact bytes, base64).
    static func paths(_ selection: [String: JSONValue], _ key: String) -> [[UInt8]] {
        var result: [[UInt8]] = []
        if case .array(let items)? = selection[key] {
            result += items.compactMap { if case .string(let value) = $0 { Array(value.utf8) } else { nil } }
        }
        if case .array(let items)? = selection[key + "_b64"] {
            result += items.compactMap { if case .string(let value) = $0 { Data(base64Encoded: value).map { Array($0) } } else { nil } }
        }
        return result
    }

    static func problem(_ problem: RestoreWriter.Problem) -> JSONValue {
        var fields = IndexJSON.fields(problem.path, "path")
        fields["reason"] = .string(problem.reason)
        return .object(fields)
    }
}

/// Verifies a finished snapshot without restoring it: every part's size and BLAKE3, the whole stream decoded, every
/// file's size and BLAKE3 against the entries index, the entry count against the manifest, and for a sqlite backup
/// `PRAGMA integrity_check` on the database it holds (copied to a work file while hashing, removed afterwards).
public struct VerifyExecutor: JobExecutor {
    public let jobType = RunKind.verify.rawValue
    /// Where a sqlite snapshot's database is copied for its integrity check (the worker's `<data-dir>/runs`).
    public var workDirectory: String

    public init(workDirectory: String = NSTemporaryDirectory()) {
        self.workDirectory = workDirectory
    }

    public func execute(_ context: RunContext) async throws -> JSONValue {
        let snapshot = try openSnapshot(context)
        let identity = try await snapshotIdentity(snapshot, context)
        let progress = BuildProgress()
        progress.setStage("verify", total: .init(bytes: snapshot.payloadBytes))
        let cancellation = context.cancellation
        let work = "\(workDirectory)/\(context.run.id)"
        var extract: (member: String, to: String)?
        if case .string(let name)? = context.run.operation?["sqlite_snapshot_name"] {
            try? FileManager.default.removeItem(atPath: work)
            do {
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            } catch {
                throw RunFailure(code: "staging_unavailable", message: "cannot create \(work): \(error.localizedDescription)")
            }
            extract = (name, "\(work)/database.sqlite3")
        }
        defer { if extract != nil { try? FileManager.default.removeItem(atPath: work) } }
        let sqliteCopy = extract
        async let checked: (SnapshotVerifier.Outcome, [String]?) = runBlocking {
            defer { progress.finish() }
            let verifier = try SnapshotVerifier(
                entriesIndex: snapshot.directory + "/entries.jsonl.zst",
                isCanceled: { cancellation.reason != nil },
                extract: sqliteCopy
            )
            try snapshot.readMembers(into: verifier, identity: identity, progress: progress) {
                if cancellation.reason != nil { throw CancellationError() }
            }
            try verifier.finish()
            var integrity: [String]?
            if let sqliteCopy {
                do {
                    integrity =
                        verifier.extracted ? try SQLiteFileCopy.integrityCheck(sqliteCopy.to) : ["\(sqliteCopy.member) is not in the snapshot"]
                } catch {
                    integrity = ["cannot open \(sqliteCopy.member): \(error)"]
                }
            }
            return (verifier.outcome, integrity)
        }
        await reportProgress(progress, kind: "verify", to: context)
        let outcome: SnapshotVerifier.Outcome
        let integrity: [String]?
        do {
            (outcome, integrity) = try await checked
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.events.emit(
                .error,
                kind: "verify",
                message: "Verify failed: \(error)",
                fields: .object(["ok": false, "error": .string("\(error)")])
            )
            throw RunFailure(code: "verify_failed", message: "\(error)", summary: .object(["ok": false, "error": .string("\(error)")]))
        }
        let total = outcome.filesTotal
        let ok = outcome.filesOK
        var samples: [JSONValue] = outcome.samples.map(JSONValue.string)
        // Why the verify fails, if it does.
        var failures: [String] = total == ok ? [] : ["\(total - ok) file(s) do not match the snapshot"]
        if outcome.otherFailures > 0 { failures.append("\(outcome.otherFailures) other entr(ies) do not match the snapshot") }
        if outcome.unrestorable > 0 { failures.append("\(outcome.unrestorable) entr(ies) have a path restore refuses") }
        if let count = snapshot.entriesCount, count != outcome.entriesCount {
            failures.append("the entries index has \(outcome.entriesCount) lines, the manifest says \(count)")
            samples.append(.string(failures.last!))
        }
        // The original's shape: `sqlite_ok` and `sqlite` are null when the snapshot is not a sqlite backup.
        let sqliteOK = integrity.map { $0 == ["ok"] }
        if sqliteOK == false {
            failures.append("sqlite integrity_check failed: \(integrity?.first ?? "")")
            samples.append(.string(failures.last!))
        }
        let summary: JSONValue = .object([
            "ok": .bool(failures.isEmpty), "files_total": .number(Double(total)), "files_ok": .number(Double(ok)),
            "files_failed": .number(Double(total - ok)), "sample_errors": .array(samples),
            "entries_failed": .number(Double(outcome.otherFailures + outcome.unrestorable)),
            "warnings": .number(Double(outcome.warningsTotal)), "sample_warnings": .array(outcome.warnings.map(JSONValue.string)),
            "sqlite_ok": sqliteOK.map(JSONValue.bool) ?? .null,
            "sqlite": integrity.map { lines in
                .object(["name": extract.map { .string($0.member) } ?? .null, "integrity_check": .array(lines.map(JSONValue.string))])
            } ?? .null,
        ])
        let checkedSQLite = sqliteOK == nil ? "" : sqliteOK == true ? ", sqlite integrity_check ok" : ", sqlite integrity_check FAILED"
        context.events.emit(
            failures.isEmpty ? .info : .error,
            kind: "verify",
            message: "\(ok) of \(total) files verified\(checkedSQLite)",
            fields: summary
        )
        if !failures.isEmpty { throw RunFailure(code: "verify_failed", message: failures.joined(separator: "; "), summary: summary) }
        return summary
    }
}
