import Archive
import Core
import Foundation

/// Reading an incremental snapshot, or a few files of any snapshot with a frame table (docs/formats.md, "Incremental
/// snapshots" and "Frames"): the snapshot's entries index says which members are its own and which earlier snapshots
/// of its chain hold the others; each earlier one is opened where the chain lives and only its wanted members are
/// read (by frame when it has a frame table), oldest first, then the snapshot's own.
struct ChainRead {
    let snapshot: Snapshot
    let plan: ChainPlan
    /// The earlier snapshots needed, oldest first, each with the identity that decrypts it.
    let sources: [(runId: String, snapshot: Snapshot, identity: String?)]
    let identity: String?

    /// Whether reading `snapshot` (with `selection`) goes through a plan: it builds on others, or a selection can be
    /// read by frame.
    static func applies(_ snapshot: Snapshot, selection: RestoreWriter.Selection?) -> Bool {
        (snapshot.manifest.chain?.level ?? 0) > 0 || (selection != nil && snapshot.manifest.frameBytes != nil)
    }

    /// Plans the read (`verifying`: with what each referenced member must be) and opens every earlier snapshot it
    /// needs; one that is gone is `base_missing`.
    static func open(
        _ snapshot: Snapshot,
        selection: RestoreWriter.Selection?,
        verifying: Bool = false,
        identity: String?,
        _ context: RunContext,
        staging: String
    ) async throws -> ChainRead {
        let index = snapshot.directory + "/" + Manifest.entriesIndexName
        let chosen = selection
        let indexIdentity: String?
        do {
            indexIdentity = try snapshot.indexIdentity(identity)
        } catch let error as ArchiveError {
            throw RunFailure(code: "snapshot_corrupt", message: error.description)
        }
        let plan: ChainPlan
        let runs: [String]
        do {
            plan = try await runBlocking { try ChainPlan(entriesIndex: index, identity: indexIdentity, selection: chosen, verifying: verifying) }
            runs = try plan.sourceRuns(chain: snapshot.manifest.chain?.before ?? [])
        } catch let error as ArchiveError {
            throw RunFailure(code: "snapshot_corrupt", message: error.description)
        }
        let (location, _) = try sourceSnapshotLocation(context)
        var sources: [(String, Snapshot, String?)] = []
        for run in runs {
            let at = RunLocation(target: location.target, jobId: location.jobId, runId: run)
            do {
                let source = try await openSnapshot(
                    at: at,
                    context,
                    directory: remoteReadDirectory(context, staging: staging) + ".\(run)"
                )
                guard source.manifest.runId == run else { throw ArchiveError.corrupt("its manifest names run \(source.manifest.runId)") }
                sources.append((run, source, try await snapshotIdentity(source, context)))
            } catch let failure as RunFailure where failure.code == "key_not_found" {
                throw failure
            } catch {
                throw RunFailure(
                    code: "base_missing",
                    message: "run \(run)'s snapshot, which this incremental snapshot builds on, cannot be read at \(at.display): \(error)"
                )
            }
        }
        return ChainRead(snapshot: snapshot, plan: plan, sources: sources, identity: identity)
    }

    /// Removes what remote sources staged.
    func removeStaging(_ context: RunContext, staging: String) {
        for source in sources where source.snapshot.fetchPart != nil {
            try? FileManager.default.removeItem(atPath: remoteReadDirectory(context, staging: staging) + ".\(source.runId)")
        }
    }

    /// Stored bytes a read may go through (for progress).
    var payloadBytes: Int64 {
        sources.reduce(snapshot.payloadBytes) { total, source in
            let (sum, overflow) = total.addingReportingOverflow(source.snapshot.payloadBytes)
            return overflow ? .max : sum
        }
    }

    /// Reads one earlier snapshot's wanted members into `delegate` (call for each of `sources`, oldest first).
    func read(
        _ source: (runId: String, snapshot: Snapshot, identity: String?),
        into delegate: any TarReaderDelegate,
        progress: BuildProgress?,
        check: () throws -> Void
    ) throws {
        let wanted = plan.sources[source.runId] ?? []
        // Most of a payload is read faster as one stream (decoding and writing on two threads) than frame by frame.
        let most = Int64(wanted.count) * 2 > (source.snapshot.entriesCount ?? .max)
        if !most, plan.unplaced[source.runId] == nil, let frames = try source.snapshot.frameTable() {
            try source.snapshot.readMembers(wanted, frames: frames, identity: source.identity, into: delegate, progress: progress, check: check)
        } else {
            try source.snapshot.readMembers(
                paths: plan.paths(of: source.runId),
                into: delegate,
                identity: source.identity,
                progress: progress,
                betweenParts: check
            )
        }
    }

    /// A restore's read of one earlier snapshot: every member checked against the index before `writer` keeps it (a
    /// plan opened `verifying`).
    func restore(
        _ source: (runId: String, snapshot: Snapshot, identity: String?),
        into writer: any TarReaderDelegate,
        progress: BuildProgress?,
        isCanceled: @escaping () -> Bool,
        check: () throws -> Void
    ) throws {
        let verifier = plan.verifier(for: source.runId, strict: true, isCanceled: isCanceled)
        try read(source, into: CheckedMembers(check: verifier, next: writer), progress: progress, check: check)
        try verifier.finish()
    }

    /// Reads the snapshot's own wanted members into a restore's `writer`, each checked against the index first: by
    /// frame for a selection when it can, else the whole payload (the writer's own selection, if any, applies).
    func restoreOwn(
        into writer: any TarReaderDelegate,
        selected: Bool,
        progress: BuildProgress?,
        isCanceled: @escaping () -> Bool,
        check: () throws -> Void
    ) throws {
        let verifier: SnapshotVerifier
        if selected, !plan.ownWithoutOffset, let frames = try snapshot.frameTable() {
            verifier = plan.ownVerifier(isCanceled: isCanceled)
            let checked = CheckedMembers(check: verifier, next: writer)
            try snapshot.readMembers(plan.own, frames: frames, identity: identity, into: checked, progress: progress, check: check)
        } else {
            verifier = try SnapshotVerifier(
                entriesIndex: snapshot.directory + "/" + Manifest.entriesIndexName,
                identity: snapshot.indexIdentity(identity),
                strict: true,
                isCanceled: isCanceled
            )
            let checked = CheckedMembers(check: verifier, next: writer)
            try snapshot.readMembers(into: checked, identity: identity, progress: progress, betweenParts: check)
        }
        try verifier.finish()
    }
}
