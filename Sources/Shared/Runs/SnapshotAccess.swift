import Archive
import Core
import Foundation
import Targets

/// Where a finished backup of this job lives: the location its backup recorded (`source_target`), else
/// `<target>/<job_id>/<source_run_id>` on the job's target.
func sourceSnapshotLocation(_ context: RunContext) throws -> (location: RunLocation, sourceRunId: String) {
    guard case .string(let source)? = context.run.operation?["source_run_id"] else {
        throw RunFailure(code: "invalid_operation", message: "the operation names no source run")
    }
    if let recorded = RunLocation(json: context.run.operation?["source_target"]), recorded.runId == source {
        return (recorded, source)
    }
    return (RunLocation(target: context.spec.target, jobId: context.job.id, runId: source), source)
}

/// Opens the snapshot and emits the `manifest` event; a snapshot that never completed is `snapshot_not_restorable`,
/// one whose manifest cannot be read `snapshot_corrupt`.
///
/// On a remote target the manifest and the entries index are fetched into `<staging>/<run>.read/`, and each part is
/// fetched there when the stream reaches it (`Snapshot` checks its size and BLAKE3 before a byte of it is used, and
/// removes it once read; docs/targets.md, "Reading a snapshot").
func openSnapshot(_ context: RunContext, staging: String) async throws -> Snapshot {
    let (location, source) = try sourceSnapshotLocation(context)
    let snapshot: Snapshot
    do {
        snapshot = try await openSnapshot(at: location, context, directory: remoteReadDirectory(context, staging: staging))
        // Read from a target: the index is used only once it matches the manifest (docs/security.md).
        _ = try snapshot.checkedEntriesIndex()
    } catch let failure as RunFailure {
        throw failure
    } catch let error as ArchiveError {
        throw RunFailure(code: "snapshot_corrupt", message: "snapshot of run \(source): \(error)")
    } catch let error as TargetError {
        throw RunFailure(code: error.code, message: "snapshot of run \(source): \(error)")
    } catch let error as Snapshot.OpenError {
        // A manifest that is there but cannot be read (not a regular file, a number out of range, a name that is not
        // plain) is damage, not a snapshot that never finished.
        if case .unreadable = error { throw RunFailure(code: "snapshot_corrupt", message: "snapshot of run \(source): \(error)") }
        throw RunFailure(code: "snapshot_not_restorable", message: "snapshot of run \(source): \(error)")
    } catch {
        throw RunFailure(code: "snapshot_not_restorable", message: "snapshot of run \(source): \(error)")
    }
    context.events.emit(
        kind: "manifest",
        message: "Snapshot of run \(source) on \(location.display): \(snapshot.parts.count) part(s)",
        fields: .object([
            "format": .string(Manifest.format), "artifacts": .number(Double(snapshot.parts.count)),
            "entries_count": snapshot.entriesCount.map { .number(Double($0)) } ?? .null, "target": .string(location.target.type),
        ])
    )
    return snapshot
}

/// A remote snapshot's staging directory, removed when the run ends.
func remoteReadDirectory(_ context: RunContext, staging: String) -> String { "\(staging)/\(context.run.id).read" }

/// The snapshot at `location`: read in place on a local target; on a remote one its manifest, entries index and frame
/// table fetched into `directory`, and its parts when a read reaches them (the next one too, meanwhile, when the read
/// goes through the parts in order).
func openSnapshot(at location: RunLocation, _ context: RunContext, directory: String) async throws -> Snapshot {
    if let local = location.localDirectory { return try Snapshot(directory: local) }
    let store = try await ArchiveRun.openStore(location, context)
    try? FileManager.default.removeItem(atPath: directory)
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
        throw RunFailure(code: "staging_unavailable", message: "cannot create \(directory): \(error.localizedDescription)")
    }
    return try await TargetStores.openSnapshot(on: store, display: location.display, into: directory)
}

/// Before a restore writes anything: every part is on the target with its size (the bytes are checked as each part
/// is fetched). For a local snapshot the caller reads every part instead.
func checkRemoteParts(_ snapshot: Snapshot, _ context: RunContext) async throws {
    let (location, _) = try sourceSnapshotLocation(context)
    let store = try await ArchiveRun.openStore(location, context)
    let stored = try await ArchiveRun.targetStep { try await store.list() }
    for part in snapshot.parts {
        guard let size = stored[part.name] else { throw ArchiveError.corrupt("\(part.name) is missing on \(location.display)") }
        guard size == part.size else { throw ArchiveError.corrupt("\(part.name) has \(size) bytes on the target, the manifest says \(part.size)") }
    }
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
