import Archive
import Core
import Foundation

/// What an incremental job's backup builds on (docs/formats.md, "Incremental snapshots"): the claim's plan
/// (`operation.incremental`), with the base snapshot's entries index read from wherever the base is (a local
/// directory, or fetched from a remote target into `<staging>/<run>.base/`) and checked against the base's manifest. A
/// base that cannot be read makes this snapshot a full one, with a warning: the chain starts again.
enum IncrementalRun {
    static func base(_ context: RunContext, staging: String) async -> IncrementalBase? {
        guard let setting = context.spec.incremental else { return nil }
        let plan = IncrementalPlan(json: context.run.operation?["incremental"])
        guard let plan, let base = plan.base, let baseRunId = plan.chain.baseRunId else {
            let reason = plan?.reason ?? "first"
            let why = [
                "first": "the first of a chain", "full_every": "every \(setting.fullEvery) snapshots one is full",
                "target_changed": "the target changed", "base_unavailable": "the previous chain is incomplete",
            ]
            context.events.emit(
                kind: "incremental",
                message: "Full snapshot (\(why[reason] ?? reason))",
                fields: .object(["level": 0, "reason": .string(reason)])
            )
            return .full(rehash: setting.rehash)
        }
        let directory = "\(staging)/\(context.run.id).base"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (index, identity, manifest) = try await fetchIndex(base, context, into: directory)
            // An index in walk order is merged with the walk as it goes (bounded memory); an older one is held by path.
            // The file stays open while the build reads it, so removing the staging directory does not cut it short.
            let prior =
                manifest.entriesInWalkOrder
                ? try PriorIndex(streaming: index, identity: identity, baseRunId: baseRunId)
                : PriorIndex(try await runBlocking { try IncrementalBase.loadPrior(entriesIndex: index, identity: identity, baseRunId: baseRunId) })
            context.events.emit(
                kind: "incremental",
                message: "Incremental snapshot, level \(plan.chain.level), on run \(baseRunId) (\(manifest.entriesCount) entries to compare)",
                fields: .object([
                    "level": .number(Double(plan.chain.level)), "base_run_id": .string(baseRunId),
                    "chain": .array(plan.chain.before.map(JSONValue.string)), "rehash": .bool(plan.rehash),
                ])
            )
            return IncrementalBase(level: plan.chain.level, chain: plan.chain.before, prior: prior, rehash: plan.rehash)
        } catch {
            context.events.emit(
                .warn,
                kind: "incremental",
                message: "The base snapshot of run \(baseRunId) cannot be read (\(error)); this snapshot is full",
                fields: .object(["level": 0, "reason": "base_unavailable", "base_run_id": .string(baseRunId)])
            )
            return .full(rehash: setting.rehash)
        }
    }

    /// The base's entries index as a local file (fetched with the manifest when remote), after its size and BLAKE3
    /// matched the base's manifest, and the identity that decrypts it when it is encrypted (on an agent, which holds
    /// no identity, an encrypted base cannot be read: the snapshot is full).
    private static func fetchIndex(_ base: RunLocation, _ context: RunContext, into directory: String) async throws -> (String, String?, Manifest) {
        let snapshot = try await openSnapshot(at: base, context, directory: directory)
        let path = try snapshot.checkedEntriesIndex()
        let identity = snapshot.manifest.entriesIndexEncrypted ? try await snapshotIdentity(snapshot, context) : nil
        return (path, identity, snapshot.manifest)
    }
}
