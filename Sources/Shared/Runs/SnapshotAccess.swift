import Archive
import Foundation

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
            "format": .string(Manifest.format), "artifacts": .number(Double(snapshot.parts.count)),
            "entries_count": snapshot.entriesCount.map { .number(Double($0)) } ?? .null,
        ])
    )
    return snapshot
}

/// The identity that decrypts `snapshot`, or nil when it is not encrypted; a missing key is `key_not_found`.
func snapshotIdentity(_ snapshot: Snapshot, _ context: RunContext) async throws -> String? {
    guard let name = snapshot.encryptionKey else { return nil }
    guard let keys = context.keys, let key = try await keys.identity(named: name, create: false), !key.identity.isEmpty else {
        throw RunFailure(code: "key_not_found", message: "the snapshot is encrypted with key \(name), which this Bastion does not have")
    }
    return key.identity
}

/// Reports a blocking step's `BuildProgress` every 250 ms until it finishes, and once more when it has: the last
/// sample carries the final counts and every stage the step went through, however short.
func reportProgress(_ progress: BuildProgress, kind: String, to context: RunContext) async {
    var previous: (ts: Double, stage: String, bytes: Int64)?
    while await !progress.waitForFinish(upTo: .milliseconds(250)) {
        let (value, snapshot) = progress.snapshot(kind: kind, previous: previous)
        previous = snapshot
        await context.progress.update(value)
    }
    await context.progress.update(progress.snapshot(kind: kind, previous: previous).0)
}
