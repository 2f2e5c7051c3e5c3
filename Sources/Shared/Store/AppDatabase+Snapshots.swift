import Core
import Foundation
import GRDB

/// A snapshot row of `run_artifacts`, as retention and the API see it.
public struct SnapshotRecord: Sendable, Equatable {
    public var runId: String
    public var jobId: String
    public var status: String
    public var endedAt: Int64
    public var pinnedAt: Int64?
    public var runDirectory: String? { location?.localDirectory }
    /// Where the snapshot is (its target as the backup recorded it).
    public var location: RunLocation?
    /// Recording order (the row's rowid): newest-first ties within one second.
    public var sequence: Int64 = 0
    /// What the backup read (files, directories, bytes) and what it wrote to the target.
    public var sourceFiles: Int64?
    public var sourceDirs: Int64?
    public var sourceBytes: Int64?
    public var transferBytes: Int64?
    /// An incremental snapshot's level and the snapshot it builds on (nil: not part of a chain; level 0: a full one that
    /// starts one), and how many present snapshots build on this one.
    public var chainLevel: Int?
    public var baseRunId: String?
    public var dependants: Int = 0
    /// Where the backup ran: `hub`, or the agent whose host holds the snapshot (its run's `node_id`).
    public var nodeId: String = AppDatabase.hubNode
    public var onAgent: Bool { nodeId != AppDatabase.hubNode }

    /// As retention sees it.
    public var retentionSnapshot: RetentionPolicy.Snapshot {
        .init(runId: runId, endedAt: endedAt, pinned: pinnedAt != nil, sequence: sequence, baseRunId: baseRunId)
    }
}

/// The snapshot index (`run_artifacts`): recorded when a backup succeeds, pinned by users, queued for deletion by
/// retention, deleted by the janitor.
extension AppDatabase {
    static let snapshotColumns =
        "run_id, job_id, status, ended_at, pinned_at, target_snapshot_json, rowid, source_files, source_dirs, source_bytes, transfer_bytes, "
        + "chain_level, base_run_id, (SELECT COUNT(*) FROM run_artifacts AS d WHERE d.base_run_id = run_artifacts.run_id AND d.status = 'present'), "
        + "(SELECT node_id FROM runs WHERE runs.id = run_artifacts.run_id)"

    static func snapshot(_ row: Row) -> SnapshotRecord {
        let location = (row[5] as String?).flatMap { RunLocation(json: try? JSONValue.parse($0)) }
        return SnapshotRecord(
            runId: row[0],
            jobId: row[1],
            status: row[2],
            endedAt: row[3],
            pinnedAt: row[4],
            location: location,
            sequence: row[6],
            sourceFiles: row[7],
            sourceDirs: row[8],
            sourceBytes: row[9],
            transferBytes: row[10],
            chainLevel: row[11],
            baseRunId: row[12],
            dependants: row[13],
            nodeId: (row[14] as String?) ?? hubNode
        )
    }

    /// Records the snapshot a successful backup wrote, inside its terminal transaction.
    static func recordSnapshot(_ db: Database, runId: String, jobId: String, summary json: JSONValue, now: Int64) throws {
        guard let summary = BackupSummary(json: json), case .object(let target)? = json["target"] else { return }
        let run = try Row.fetchOne(db, sql: "SELECT started_at, node_id FROM runs WHERE id = ?", arguments: [runId])
        let started: Int64 = run?[0] ?? now
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO run_artifacts (run_id, job_id, target_type, target_snapshot_json, artifact_format, status, started_at,
                  ended_at, source_files, source_dirs, source_bytes, transfer_bytes, created_at, updated_at, base_run_id, chain_level, node_id)
                VALUES (?, ?, ?, ?, ?, 'present', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                runId, jobId, summary.targetType, JSONValue.object(target).jsonString(), BackupSummary.artifactFormat, started, now,
                summary.source.files, summary.source.dirs, summary.source.bytes, summary.transferBytes, now, now,
                summary.chain?.baseRunId, summary.chain?.level, (run?[1] as String?) ?? Self.hubNode,
            ]
        )
    }

    public func snapshots(jobId: String) async throws -> [SnapshotRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.snapshotColumns) FROM run_artifacts WHERE job_id = ? ORDER BY ended_at DESC, rowid DESC",
                arguments: [jobId]
            ).map(Self.snapshot)
        }
    }

    /// The snapshot a run wrote, in any status; nil when it wrote none.
    public func snapshot(runId: String) async throws -> SnapshotRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.snapshotColumns) FROM run_artifacts WHERE run_id = ?", arguments: [runId]).map(Self.snapshot)
        }
    }

    /// Pins or unpins a present snapshot; nil when the run has no snapshot.
    public func setSnapshotPinned(runId: String, pinned: Bool, userId: Int64?, now: Int64 = unixNow()) async throws -> SnapshotRecord? {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE run_artifacts SET pinned_at = ?, pinned_by_user_id = ?, updated_at = ? WHERE run_id = ?",
                arguments: [pinned ? now : nil, pinned ? userId : nil, now, runId]
            )
            return try Row.fetchOne(db, sql: "SELECT \(Self.snapshotColumns) FROM run_artifacts WHERE run_id = ?", arguments: [runId]).map(
                Self.snapshot
            )
        }
    }

    /// Applies `policy` to the job's present snapshots (periods in the job's `schedule_timezone`): marks those it does not keep `deleting` (never pinned ones),
    /// at most `max_delete_per_tick` now and `max_delete_per_day` per UTC day, with a `retention_queued` event on each.
    /// Returns the run ids queued.
    @discardableResult
    public func queueRetentionDeletes(jobId: String, policy: RetentionPolicy, now: Int64 = unixNow()) async throws -> [String] {
        try await write { db, after -> [String] in
            let present = try Row.fetchAll(
                db,
                sql: "SELECT \(Self.snapshotColumns) FROM run_artifacts WHERE job_id = ? AND status = 'present'",
                arguments: [jobId]
            ).map(Self.snapshot)
            let zone = try String.fetchOne(db, sql: "SELECT schedule_timezone FROM jobs WHERE id = ?", arguments: [jobId]) ?? "UTC"
            let decisions = policy.decide(present.map(\.retentionSnapshot), now: now, timeZone: RetentionPolicy.timeZone(zone))
            let startOfDay = now - now % 86_400
            let today =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM run_artifacts WHERE job_id = ? AND status IN ('deleting', 'deleted') AND last_attempt_at >= ?",
                    arguments: [jobId, startOfDay]
                ) ?? 0
            let budget = max(0, min(policy.maxDeletePerTick, policy.maxDeletePerDay - today))
            // Oldest chain first (a full snapshot is a chain of one), and within a chain what builds on a snapshot
            // before it: whatever the budget cuts, no incremental snapshot is left without its chain.
            let byId = Dictionary(uniqueKeysWithValues: present.map { ($0.runId, $0) })
            func root(_ snapshot: SnapshotRecord) -> (root: SnapshotRecord, depth: Int) {
                var current = snapshot
                var depth = 0
                while let base = current.baseRunId, let next = byId[base], depth < 10_000 {
                    current = next
                    depth += 1
                }
                return (current, depth)
            }
            let condemned = decisions.filter { !$0.keep }.compactMap { byId[$0.snapshot.runId] }.map { ($0, root($0)) }
            let doomed = condemned.sorted { a, b in
                (a.1.root.endedAt, a.1.root.sequence, -a.1.depth) < (b.1.root.endedAt, b.1.root.sequence, -b.1.depth)
            }.prefix(budget).map(\.0.runId)
            for runId in doomed {
                try db.execute(
                    sql:
                        "UPDATE run_artifacts SET status = 'deleting', last_attempt_at = ?, updated_at = ? WHERE run_id = ? AND status = 'present' AND pinned_at IS NULL",
                    arguments: [now, now, runId]
                )
                guard db.changesCount == 1 else { continue }
                try Self.insertEvents(
                    db,
                    runId: runId,
                    [NewRunEvent(kind: "retention_queued", message: "Snapshot queued for deletion by retention")],
                    now: now,
                    after: &after
                )
                after.wake(.snapshots)
            }
            return doomed
        }
    }

    public enum DeleteRequest: Sendable, Equatable {
        case queued(SnapshotRecord)
        case notFound
        /// Pinned, and the request did not force.
        case pinned
        /// Already `deleting` or `deleted`.
        case alreadyGone(String)
        /// Incremental snapshots build on it (their run ids), and the request did not force.
        case hasDependants([String])
    }

    /// Queues one snapshot for the janitor to delete (status `deleting`, a `snapshot_delete_queued` event, a wake to
    /// the janitor). A pinned snapshot only with `force`; one whose deletion failed (`error`) may be queued again.
    public func queueSnapshotDelete(runId: String, force: Bool, userId: Int64?, now: Int64 = unixNow()) async throws -> DeleteRequest {
        try await write { db, after -> DeleteRequest in
            guard
                let record = try Row.fetchOne(db, sql: "SELECT \(Self.snapshotColumns) FROM run_artifacts WHERE run_id = ?", arguments: [runId]).map(
                    Self.snapshot
                )
            else { return .notFound }
            guard record.status == "present" || record.status == "error" else { return .alreadyGone(record.status) }
            if record.pinnedAt != nil && !force { return .pinned }
            let dependants = try String.fetchAll(
                db,
                sql: "SELECT run_id FROM run_artifacts WHERE base_run_id = ? AND status IN ('present', 'error') ORDER BY ended_at",
                arguments: [runId]
            )
            if !dependants.isEmpty && !force { return .hasDependants(dependants) }
            try db.execute(
                sql: "UPDATE run_artifacts SET status = 'deleting', pinned_at = NULL, last_error = NULL, updated_at = ? WHERE run_id = ?",
                arguments: [now, runId]
            )
            var forced = record.pinnedAt != nil ? " (pinned; forced)" : ""
            if !dependants.isEmpty {
                forced += "; \(dependants.count) incremental snapshot(s) build on it and will no longer verify or restore"
            }
            try Self.insertEvents(
                db,
                runId: runId,
                [
                    NewRunEvent(
                        kind: "snapshot_delete_queued",
                        message: "Snapshot queued for deletion by a user\(forced)",
                        fields: userId.map { .object(["user_id": .number(Double($0))]) }
                    )
                ],
                now: now,
                after: &after
            )
            after.wake(.snapshots)
            return .queued(
                try Row.fetchOne(db, sql: "SELECT \(Self.snapshotColumns) FROM run_artifacts WHERE run_id = ?", arguments: [runId]).map(Self.snapshot)
                    ?? record
            )
        }
    }

    /// Snapshots waiting for deletion, oldest first.
    public func snapshotsToDelete(limit: Int) async throws -> [SnapshotRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.snapshotColumns) FROM run_artifacts WHERE status = 'deleting' ORDER BY ended_at LIMIT ?",
                arguments: [limit]
            ).map(Self.snapshot)
        }
    }

    /// An agent's snapshot queued for deletion: the hub never deletes it with its own disk or credentials (docs/security.md,
    /// "Agents"), so the index forgets it (`deleted`) and a `snapshot_left_on_agent` warning says where its files stay.
    public func leaveSnapshotOnAgent(runId: String, display: String, now: Int64 = unixNow()) async throws {
        try await write { db, after -> Void in
            try db.execute(
                sql:
                    "UPDATE run_artifacts SET status = 'deleted', last_error = NULL, last_attempt_at = ?, updated_at = ? WHERE run_id = ? AND status = 'deleting'",
                arguments: [now, now, runId]
            )
            guard db.changesCount == 1 else { return }
            let event = NewRunEvent(
                .warn,
                kind: "snapshot_left_on_agent",
                message: "Snapshot removed from the index; its files are on the agent's side and were not deleted: remove \(display) there",
                fields: .object(["location": .string(display)])
            )
            try Self.insertEvents(db, runId: runId, [event], now: now, after: &after)
        }
    }

    /// Records a deletion's outcome (`deleted`, or `error` with the reason) with a `snapshot_deleted` /
    /// `snapshot_delete_failed` event.
    public func finishSnapshotDelete(runId: String, error: String?, now: Int64 = unixNow()) async throws {
        try await write { db, after -> Void in
            try db.execute(
                sql:
                    "UPDATE run_artifacts SET status = ?, last_error = ?, last_attempt_at = ?, updated_at = ? WHERE run_id = ? AND status = 'deleting'",
                arguments: [error == nil ? "deleted" : "error", error, now, now, runId]
            )
            guard db.changesCount == 1 else { return }
            let event =
                error == nil
                ? NewRunEvent(kind: "snapshot_deleted", message: "Snapshot deleted from the target")
                : NewRunEvent(.error, kind: "snapshot_delete_failed", message: "Deleting the snapshot failed: \(error!)")
            try Self.insertEvents(db, runId: runId, [event], now: now, after: &after)
        }
    }

    /// Jobs whose spec enables retention, with their policy.
    public func jobsWithRetention() async throws -> [(jobId: String, policy: RetentionPolicy)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, spec_json FROM jobs WHERE archived_at IS NULL").compactMap { row in
                guard let spec = try? JSONValue.parse(row[1] as String), let section = spec["retention"],
                    let policy = try? RetentionPolicy.parse(section), policy.enabled
                else { return nil }
                return (row[0], policy)
            }
        }
    }
}
