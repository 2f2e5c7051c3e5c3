import Archive
import Core
import Foundation

/// A restore drill (docs/architecture.md, "Restore drills"): a verify run whose operation says `drill: true`. It
/// verifies the snapshot as any verify does (a failure is `snapshot_corrupt` where a verify says `verify_failed`);
/// with `test_restore` it then restores the whole snapshot (the whole chain for an incremental one) into
/// `<work>/<run_id>/drill/`, compares every entry of the index with what was written (`RestoredTreeCheck`), and
/// removes the directory, whatever the outcome. The summary gains `drill {pick, test_restore, restored_files,
/// restored_bytes, compared}`.
struct RestoreDrill {
    var pick: String
    var testRestore: Bool

    /// Nil when the operation is not a drill's.
    init?(operation: JSONValue?) {
        guard operation?["drill"] == .bool(true) else { return nil }
        pick = operation?["pick"]?.stringValue ?? JobDrills.Pick.newest.rawValue
        testRestore = operation?["test_restore"] == .bool(true)
    }

    /// The drill's scratch directory under the worker's (or agent's) `runs` directory.
    static func scratch(_ workDirectory: String, runId: String) -> String { "\(workDirectory)/\(runId)/drill" }

    func run(
        _ context: RunContext,
        workDirectory: String,
        engines: [String: any DatabaseEngine],
        verify: (RunContext) async throws -> JSONValue
    ) async throws -> JSONValue {
        var drill: [String: JSONValue] = [
            "pick": .string(pick), "test_restore": .bool(testRestore), "restored_files": 0, "restored_bytes": 0, "compared": false,
        ]
        var summary: [String: JSONValue]
        do {
            guard case .object(let verified) = try await verify(context) else { throw RunFailure(code: "verify_failed", message: "no summary") }
            summary = verified
        } catch let failure as RunFailure where failure.code == "verify_failed" {
            var failed: [String: JSONValue] = [:]
            if case .object(let object)? = failure.summary { failed = object }
            failed["drill"] = .object(drill)
            throw RunFailure(code: "snapshot_corrupt", message: "restore drill: \(failure.message)", summary: .object(failed))
        }
        if testRestore {
            let outcome = try await restoreAndCompare(context, workDirectory: workDirectory, engines: engines, drill: drill)
            drill["restored_files"] = .number(Double(outcome.files))
            drill["restored_bytes"] = .number(Double(outcome.bytes))
            drill["compared"] = true
            drill["entries_compared"] = .number(Double(outcome.entries - outcome.notCompared))
            drill["not_compared"] = .number(Double(outcome.notCompared))
        }
        summary["drill"] = .object(drill)
        context.events.emit(
            kind: "drill",
            message: testRestore
                ? "Restore drill passed: snapshot verified, \(drill["restored_files"]?.int64Value ?? 0) file(s) restored and compared with the index"
                : "Restore drill passed: snapshot verified",
            fields: .object(drill)
        )
        return .object(summary)
    }

    /// Restores the snapshot into the scratch directory, compares it with the index and removes it.
    private func restoreAndCompare(
        _ context: RunContext,
        workDirectory: String,
        engines: [String: any DatabaseEngine],
        drill: [String: JSONValue]
    ) async throws -> RestoredTreeCheck.Outcome {
        let base = "\(workDirectory)/\(context.run.id)"
        let scratch = Self.scratch(workDirectory, runId: context.run.id)
        // What an earlier attempt of this run left (its worker was stopped or died).
        try? FileManager.default.removeItem(atPath: scratch)
        do {
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw RunFailure(code: "staging_unavailable", message: "cannot create \(base): \(error.localizedDescription)")
        }
        defer {
            try? FileManager.default.removeItem(atPath: scratch)
            rmdir(base)
        }
        func failed(_ failure: RunFailure) -> RunFailure {
            var summary: [String: JSONValue] = [:]
            if case .object(let object)? = failure.summary { summary = object }
            summary["drill"] = .object(drill)
            return RunFailure(code: failure.code, message: "restore drill: \(failure.message)", summary: .object(summary))
        }
        var run = context.run
        var operation: [String: JSONValue] = [:]
        if case .object(let object)? = run.operation { operation = object }
        if case .object(let restore) = RestoreOperation(sourceRunId: operation["source_run_id"]?.stringValue, directory: scratch).json {
            for (key, value) in restore { operation[key] = value }
        }
        run.operation = .object(operation)
        let restoreContext = RunContext(
            run: run,
            job: context.job,
            spec: context.spec,
            events: context.events,
            progress: context.progress,
            cancellation: context.cancellation,
            keys: context.keys,
            targetSecrets: context.targetSecrets
        )
        context.events.emit(kind: "drill", message: "Test restore into \(scratch)")
        do {
            _ = try await RestoreExecutor(stagingDirectory: workDirectory, engines: engines).execute(restoreContext)
        } catch let failure as RunFailure {
            throw failed(failure)
        }
        // The index the restore was checked against, read again (fetched again from a remote target).
        let snapshot = try await openSnapshot(context, staging: workDirectory)
        let readDirectory = remoteReadDirectory(context, staging: workDirectory)
        defer { if snapshot.fetchPart != nil { try? FileManager.default.removeItem(atPath: readDirectory) } }
        let index = try snapshot.checkedEntriesIndex()
        let identity = try snapshot.indexIdentity(try await snapshotIdentity(snapshot, context))
        let cancellation = context.cancellation
        let expected = snapshot.entriesCount
        let outcome = try await runBlocking {
            try RestoredTreeCheck.compare(root: scratch, entriesIndex: index, identity: identity, maxEntries: expected) {
                cancellation.reason != nil
            }
        }
        var problems = outcome.samples
        if let expected, expected != outcome.entries {
            problems.append("the entries index has \(outcome.entries) lines, the manifest says \(expected)")
        }
        if outcome.mismatches > 0 || problems.count > outcome.samples.count {
            var fields = drill
            fields["mismatches"] = .number(Double(outcome.mismatches))
            fields["sample_mismatches"] = .array(problems.map(JSONValue.string))
            throw RunFailure(
                code: "drill_mismatch",
                message:
                    "restore drill: \(outcome.mismatches) restored entr(ies) differ from the index: \(problems.prefix(3).joined(separator: "; "))",
                summary: .object(["drill": .object(fields)])
            )
        }
        return outcome
    }
}
