import Core
import Foundation
import GRDB

/// One location of a snapshot (docs/targets.md, "Copies"): the primary (the `run_artifacts` row itself) or a copy
/// (`snapshot_locations`).
public struct SnapshotLocationRecord: Sendable, Equatable {
    public var runId: String
    /// `primary` or `copy:<key>`.
    public var id: String
    public var location: RunLocation?
    /// `present`, `copying`, `failed`, `deleting`, `deleted`, `missing` or `error`.
    public var status: String
    public var copiedAt: Int64?
    public var lastError: String?
    public var copyRunId: String?
    public var attempts: Int = 0
    /// The agent whose disk holds this copy (a `local_dir` copy that agent wrote), nil when the hub reaches it.
    public var agentNode: String?

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "type": .string(location?.target.type ?? "unknown"), "display": .string(location?.display ?? ""),
            "status": .string(status),
        ]
        if let copiedAt { object["copied_at"] = .number(Double(copiedAt)) }
        if let lastError { object["last_error"] = .string(lastError) }
        if let copyRunId { object["copy_run_id"] = .string(copyRunId) }
        return .object(object)
    }
}

extension AppDatabase {
    /// How long the janitor waits before retrying a failed copy: 5 minutes, doubling with each attempt, at most a day.
    static func copyRetryDelay(attempts: Int) -> Int64 {
        min(86_400, 300 << Int64(min(max(attempts - 1, 0), 12)))
    }

    /// Inside a successful backup's terminal transaction: one `copy` run per copy target of the job (its location
    /// `copying`). An agent's snapshot on a remote target (WebDAV, rclone) is copied by the hub, which reads it with its
    /// own secrets; one on the agent's own disk (`local_dir`) is out of the hub's reach, so its copy runs on that agent
    /// (docs/agents.md, "Copies").
    static func enqueueCopies(_ db: Database, runId: String, jobId: String, now: Int64, after: inout AfterCommit) throws {
        guard let job = try fetchJob(db, id: jobId), let spec = try? JobSpec.parse(job.spec), !spec.copies.isEmpty,
            let primary = try String.fetchOne(db, sql: "SELECT target_snapshot_json FROM run_artifacts WHERE run_id = ?", arguments: [runId])
                .flatMap({ RunLocation(json: try? JSONValue.parse($0)) })
        else { return }
        let node = try copyNode(db, sourceRunId: runId, primary: primary)
        for copy in spec.copies {
            let location = RunLocation(target: copy.target, jobId: jobId, runId: runId)
            let copyRunId = try insertCopyRun(
                db,
                sourceRunId: runId,
                jobId: jobId,
                locationId: copy.locationId,
                primary: primary,
                copy: location,
                node: node,
                now: now,
                after: &after
            )
            try db.execute(
                sql: """
                    INSERT INTO snapshot_locations (run_id, location_id, target_json, status, copy_run_id, created_at, updated_at)
                    VALUES (?, ?, ?, 'copying', ?, ?, ?)
                    ON CONFLICT (run_id, location_id) DO UPDATE SET status = 'copying', copy_run_id = excluded.copy_run_id, updated_at = excluded.updated_at
                    """,
                arguments: [runId, copy.locationId, location.json.jsonString(), copyRunId, now, now]
            )
        }
    }

    /// Where a copy of `sourceRunId`'s snapshot runs: on the agent that wrote it when the primary is on that agent's
    /// disk (`local_dir`), else on the hub.
    static func copyNode(_ db: Database, sourceRunId: String, primary: RunLocation) throws -> String {
        let node = try String.fetchOne(db, sql: "SELECT node_id FROM runs WHERE id = ?", arguments: [sourceRunId]) ?? hubNode
        return primary.localDirectory != nil ? node : hubNode
    }

    /// The node that wrote a copy location (its copy run's), when that location is a `local_dir` on an agent's disk;
    /// nil when the hub reads it (a remote copy target, or a copy the hub wrote). Operations at such a location run
    /// on that agent, and the janitor never deletes there (docs/agents.md, "Copies").
    static func agentCopyNode(_ db: Database, runId: String, locationId: String) throws -> String? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT l.target_json, r.node_id FROM snapshot_locations AS l JOIN runs AS r ON r.id = l.copy_run_id
                    WHERE l.run_id = ? AND l.location_id = ?
                    """,
                arguments: [runId, locationId]
            ),
            let node = row[1] as String?, node != hubNode,
            (row[0] as String?).flatMap({ RunLocation(json: try? JSONValue.parse($0)) })?.localDirectory != nil
        else { return nil }
        return node
    }

    /// A queued `copy` run of `sourceRunId` to `copy` (on `node`: the hub, or the agent whose disk holds the
    /// primary), with its `queued` event.
    static func insertCopyRun(
        _ db: Database,
        sourceRunId: String,
        jobId: String,
        locationId: String,
        primary: RunLocation,
        copy: RunLocation,
        node: String = hubNode,
        now: Int64,
        after: inout AfterCommit
    ) throws -> String {
        let id = UUID().uuidString.lowercased()
        let operation: JSONValue = .object([
            "source_run_id": .string(sourceRunId), "location_id": .string(locationId), "target": copy.target.json, "source_target": primary.json,
        ])
        try db.execute(
            sql: "INSERT INTO runs (id, job_id, status, started_at, kind, operation_json, node_id) VALUES (?, ?, 'queued', ?, 'copy', ?, ?)",
            arguments: [id, jobId, now, operation.jsonString(), node]
        )
        try insertEvents(
            db,
            runId: id,
            [NewRunEvent(kind: RunEventKind.queued, message: "Copy of run \(sourceRunId) to \(copy.display) queued", fields: operation)],
            now: now,
            after: &after
        )
        after.wake(.runs)
        return id
    }

    /// Inside a copy run's terminal transaction: its location becomes `present` (and so does each chain base the run
    /// copied, listed in the summary's `copied_runs`), or `failed` with the error and the next retry's time.
    static func finishCopy(_ db: Database, runId: String, status: RunStatus, outcome: RunOutcome, now: Int64) throws {
        guard let text = try String.fetchOne(db, sql: "SELECT operation_json FROM runs WHERE id = ?", arguments: [runId]),
            let operation = try? JSONValue.parse(text), case .string(let source)? = operation["source_run_id"],
            case .string(let locationId)? = operation["location_id"], let target = operation["target"]
        else { return }
        switch outcome {
        case .success(let summary) where status == .success:
            try db.execute(
                sql: """
                    UPDATE snapshot_locations SET status = 'present', copied_at = ?, last_error = NULL, next_attempt_at = NULL, updated_at = ?
                    WHERE run_id = ? AND location_id = ? AND status IN ('copying', 'failed')
                    """,
                arguments: [now, now, source, locationId]
            )
            // Chain bases the copy target lacked, copied by this run: present there too.
            guard case .array(let copied)? = summary["copied_runs"],
                let jobId = try String.fetchOne(db, sql: "SELECT job_id FROM runs WHERE id = ?", arguments: [runId])
            else { return }
            for case .string(let base) in copied where base != source {
                guard case .object(var object) = target, SnapshotChain.isRunId(base) else { continue }
                object["job_id"] = .string(jobId)
                object["run_id"] = .string(base)
                guard let location = RunLocation(json: .object(object)) else { continue }
                try db.execute(
                    sql: """
                        INSERT INTO snapshot_locations (run_id, location_id, target_json, status, copy_run_id, copied_at, created_at, updated_at)
                        SELECT ?, ?, ?, 'present', ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM run_artifacts WHERE run_id = ? AND job_id = ?)
                        ON CONFLICT (run_id, location_id) DO UPDATE SET status = 'present', copied_at = excluded.copied_at, last_error = NULL,
                          next_attempt_at = NULL, updated_at = excluded.updated_at
                        WHERE snapshot_locations.status IN ('copying', 'failed', 'missing')
                        """,
                    // Only runs of this job: an agent's summary names them, and an agent is not trusted.
                    arguments: [base, locationId, location.json.jsonString(), runId, now, now, now, base, jobId]
                )
            }
        default:
            let error: String
            switch outcome {
            case .failed(let code, let message, _): error = "\(code): \(message)"
            case .canceled(let reason): error = "canceled: \(reason)"
            case .success: error = "canceled"
            }
            let attempts =
                (try Int.fetchOne(
                    db,
                    sql: "SELECT attempts FROM snapshot_locations WHERE run_id = ? AND location_id = ?",
                    arguments: [source, locationId]
                ) ?? 0) + 1
            try db.execute(
                sql: """
                    UPDATE snapshot_locations SET status = 'failed', last_error = ?, attempts = ?, last_attempt_at = ?, next_attempt_at = ?, updated_at = ?
                    WHERE run_id = ? AND location_id = ? AND status = 'copying'
                    """,
                arguments: [error, attempts, now, now + copyRetryDelay(attempts: attempts), now, source, locationId]
            )
        }
    }

    static func locationRecord(_ row: Row) -> SnapshotLocationRecord {
        SnapshotLocationRecord(
            runId: row[0],
            id: row[1],
            location: (row[2] as String?).flatMap { RunLocation(json: try? JSONValue.parse($0)) },
            status: row[3],
            copiedAt: row[4],
            lastError: row[5],
            copyRunId: row[6],
            attempts: row[7]
        )
    }

    static let locationColumns = "run_id, location_id, target_json, status, copied_at, last_error, copy_run_id, attempts"

    /// Every location of each snapshot, the primary first, then copies by id.
    public func snapshotLocations(of snapshots: [SnapshotRecord]) async throws -> [String: [SnapshotLocationRecord]] {
        guard !snapshots.isEmpty else { return [:] }
        let copies = try await pool.read { db -> [SnapshotLocationRecord] in
            var all: [SnapshotLocationRecord] = []
            for chunk in stride(from: 0, to: snapshots.count, by: 500) {
                let ids = snapshots[chunk..<min(chunk + 500, snapshots.count)].map(\.runId)
                all += try Row.fetchAll(
                    db,
                    sql:
                        "SELECT \(Self.locationColumns) FROM snapshot_locations WHERE run_id IN (\(ids.map { _ in "?" }.joined(separator: ","))) ORDER BY location_id",
                    arguments: StatementArguments(ids)
                ).map(Self.locationRecord)
            }
            return all
        }
        var result: [String: [SnapshotLocationRecord]] = [:]
        for snapshot in snapshots {
            result[snapshot.runId] = [
                SnapshotLocationRecord(runId: snapshot.runId, id: JobCopy.primaryLocationId, location: snapshot.location, status: snapshot.status)
            ]
        }
        for copy in copies { result[copy.runId, default: []].append(copy) }
        return result
    }

    /// Where an operation reads `runId`'s snapshot: the location `id`, or, without one, the first `present` location
    /// (the primary first). Nil when that location is unknown or not present.
    public func readableLocation(runId: String, id: String?) async throws -> SnapshotLocationRecord? {
        guard let snapshot = try await snapshot(runId: runId) else { return nil }
        let locations = try await snapshotLocations(of: [snapshot])[runId] ?? []
        if let id { return locations.first { $0.id == id && $0.status == "present" } }
        return locations.first { $0.status == "present" }
    }

    /// Re-enqueues a failed copy now (a user's retry, or the janitor's when its backoff is over), on the node that
    /// copies it (`copyNode`); nil when the location is not `failed`.
    public func retryCopy(runId: String, locationId: String, now: Int64 = unixNow()) async throws -> String? {
        try await write { db, after -> String? in
            if let id = try Self.queueMissingCopy(db, runId: runId, locationId: locationId, now: now, after: &after) { return id }
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT target_json FROM snapshot_locations WHERE run_id = ? AND location_id = ? AND status = 'failed'",
                    arguments: [runId, locationId]
                ),
                let copy = (row[0] as String?).flatMap({ RunLocation(json: try? JSONValue.parse($0)) }),
                let primaryRow = try Row.fetchOne(
                    db,
                    sql: "SELECT target_snapshot_json, job_id FROM run_artifacts WHERE run_id = ?",
                    arguments: [runId]
                ),
                let primary = (primaryRow[0] as String?).flatMap({ RunLocation(json: try? JSONValue.parse($0)) })
            else { return nil }
            let id = try Self.insertCopyRun(
                db,
                sourceRunId: runId,
                jobId: primaryRow[1],
                locationId: locationId,
                primary: primary,
                copy: copy,
                node: try Self.copyNode(db, sourceRunId: runId, primary: primary),
                now: now,
                after: &after
            )
            try db.execute(
                sql: "UPDATE snapshot_locations SET status = 'copying', copy_run_id = ?, updated_at = ? WHERE run_id = ? AND location_id = ?",
                arguments: [id, now, runId, locationId]
            )
            return id
        }
    }

    /// A copy the snapshot never had (`copy_missing`: the copy target was added to the job after the backup): queued now
    /// when `locationId` is one of the job's copy targets today and the snapshot, present at the primary, has no
    /// location there. Nil otherwise.
    static func queueMissingCopy(_ db: Database, runId: String, locationId: String, now: Int64, after: inout AfterCommit) throws -> String? {
        let recorded = try Int.fetchOne(
            db,
            sql: "SELECT COUNT(*) FROM snapshot_locations WHERE run_id = ? AND location_id = ?",
            arguments: [runId, locationId]
        )
        guard recorded == 0,
            let row = try Row.fetchOne(
                db,
                sql: "SELECT target_snapshot_json, job_id FROM run_artifacts WHERE run_id = ? AND status = 'present'",
                arguments: [runId]
            ),
            let primary = (row[0] as String?).flatMap({ RunLocation(json: try? JSONValue.parse($0)) }),
            let job = try fetchJob(db, id: row[1]), let spec = try? JobSpec.parse(job.spec),
            let copy = spec.copies.first(where: { $0.locationId == locationId })
        else { return nil }
        let location = RunLocation(target: copy.target, jobId: primary.jobId, runId: runId)
        let id = try insertCopyRun(
            db,
            sourceRunId: runId,
            jobId: row[1],
            locationId: locationId,
            primary: primary,
            copy: location,
            node: try copyNode(db, sourceRunId: runId, primary: primary),
            now: now,
            after: &after
        )
        try db.execute(
            sql: """
                INSERT INTO snapshot_locations (run_id, location_id, target_json, status, copy_run_id, created_at, updated_at)
                VALUES (?, ?, ?, 'copying', ?, ?, ?)
                """,
            arguments: [runId, locationId, location.json.jsonString(), id, now, now]
        )
        return id
    }

    /// Failed copies whose backoff is over (the janitor retries them), oldest first; only of snapshots still present
    /// at the primary (the copy's source).
    public func copiesToRetry(now: Int64 = unixNow(), limit: Int) async throws -> [(runId: String, locationId: String)] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.run_id, l.location_id FROM snapshot_locations AS l JOIN run_artifacts AS a ON a.run_id = l.run_id
                    WHERE l.status = 'failed' AND l.next_attempt_at IS NOT NULL AND l.next_attempt_at <= ? AND a.status = 'present'
                    ORDER BY l.next_attempt_at LIMIT ?
                    """,
                arguments: [now, limit]
            ).map { ($0[0] as String, $0[1] as String) }
        }
    }

    /// Retention at each copy location (docs/targets.md, "Copies"): the job's policy decides over the snapshots present
    /// there, independently of the primary and of the other copies; those it does not keep become `deleting` at that
    /// location only (never pinned ones), with a `retention_queued` event naming the location.
    @discardableResult
    public func queueCopyRetentionDeletes(
        jobId: String,
        policy: RetentionPolicy,
        now: Int64 = unixNow()
    ) async throws -> [(
        runId: String, locationId: String
    )] {
        try await write { db, after -> [(runId: String, locationId: String)] in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT l.location_id, a.run_id, a.ended_at, a.pinned_at, a.rowid, a.base_run_id
                    FROM snapshot_locations AS l JOIN run_artifacts AS a ON a.run_id = l.run_id
                    WHERE a.job_id = ? AND l.status = 'present'
                    """,
                arguments: [jobId]
            )
            var byLocation: [String: [RetentionPolicy.Snapshot]] = [:]
            for row in rows {
                let snapshot = RetentionPolicy.Snapshot(
                    runId: row[1],
                    endedAt: row[2],
                    pinned: (row[3] as Int64?) != nil,
                    sequence: row[4],
                    baseRunId: row[5]
                )
                byLocation[row[0], default: []].append(snapshot)
            }
            var queued: [(runId: String, locationId: String)] = []
            // Periods in the job's time zone, as for the primary (queueRetentionDeletes).
            let zone = try String.fetchOne(db, sql: "SELECT schedule_timezone FROM jobs WHERE id = ?", arguments: [jobId]) ?? "UTC"
            for (locationId, snapshots) in byLocation.sorted(by: { $0.key < $1.key }) {
                let decisions = policy.decide(snapshots, now: now, timeZone: RetentionPolicy.timeZone(zone))
                for decision in decisions where !decision.keep && !decision.snapshot.pinned {
                    try db.execute(
                        sql: """
                            UPDATE snapshot_locations SET status = 'deleting', last_attempt_at = ?, updated_at = ?
                            WHERE run_id = ? AND location_id = ? AND status = 'present'
                            """,
                        arguments: [now, now, decision.snapshot.runId, locationId]
                    )
                    guard db.changesCount == 1 else { continue }
                    try Self.insertEvents(
                        db,
                        runId: decision.snapshot.runId,
                        [
                            NewRunEvent(
                                kind: "retention_queued",
                                message: "Snapshot queued for deletion by retention at \(locationId)",
                                fields: .object(["location_id": .string(locationId)])
                            )
                        ],
                        now: now,
                        after: &after
                    )
                    queued.append((decision.snapshot.runId, locationId))
                }
            }
            if !queued.isEmpty { after.wake(.snapshots) }
            return queued
        }
    }

    /// Copy locations waiting for deletion (each with `agentNode` when it is on an agent's disk).
    public func copyLocationsToDelete(limit: Int) async throws -> [SnapshotLocationRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.locationColumns) FROM snapshot_locations WHERE status = 'deleting' ORDER BY updated_at LIMIT ?",
                arguments: [limit]
            ).map { row in
                var record = Self.locationRecord(row)
                record.agentNode = try Self.agentCopyNode(db, runId: record.runId, locationId: record.id)
                return record
            }
        }
    }

    /// A copy location on an agent's disk leaves the index (`deleted`) with a `snapshot_left_on_agent` warning naming
    /// the directory to remove there: the hub never deletes with its own disk what is on an agent's.
    public func leaveCopyLocationOnAgent(runId: String, locationId: String, display: String, now: Int64 = unixNow()) async throws {
        try await write { db, after -> Void in
            try db.execute(
                sql: """
                    UPDATE snapshot_locations SET status = 'deleted', last_error = NULL, last_attempt_at = ?, updated_at = ?
                    WHERE run_id = ? AND location_id = ? AND status = 'deleting'
                    """,
                arguments: [now, now, runId, locationId]
            )
            guard db.changesCount == 1 else { return }
            let event = NewRunEvent(
                .warn,
                kind: "snapshot_left_on_agent",
                message:
                    "Copy at \(locationId) removed from the index; its files are on the agent's side and were not deleted: remove \(display) there",
                fields: .object(["location_id": .string(locationId), "location": .string(display)])
            )
            try Self.insertEvents(db, runId: runId, [event], now: now, after: &after)
        }
    }

    /// Records a copy location's deletion (`deleted`, or `error` with the reason), with a `snapshot_deleted` /
    /// `snapshot_delete_failed` event naming the location.
    public func finishCopyLocationDelete(runId: String, locationId: String, error: String?, now: Int64 = unixNow()) async throws {
        try await write { db, after -> Void in
            try db.execute(
                sql: """
                    UPDATE snapshot_locations SET status = ?, last_error = ?, last_attempt_at = ?, updated_at = ?
                    WHERE run_id = ? AND location_id = ? AND status = 'deleting'
                    """,
                arguments: [error == nil ? "deleted" : "error", error, now, now, runId, locationId]
            )
            guard db.changesCount == 1 else { return }
            let fields: JSONValue = .object(["location_id": .string(locationId)])
            let event =
                error == nil
                ? NewRunEvent(kind: "snapshot_deleted", message: "Snapshot deleted from \(locationId)", fields: fields)
                : NewRunEvent(
                    .error,
                    kind: "snapshot_delete_failed",
                    message: "Deleting the snapshot at \(locationId) failed: \(error!)",
                    fields: fields
                )
            try Self.insertEvents(db, runId: runId, [event], now: now, after: &after)
        }
    }

    /// The overview's attention items by job.
    public func copyAttention(jobIds: [String]) async throws -> [String: [JSONValue]] {
        try await pool.read { db in
            var result: [String: [JSONValue]] = [:]
            for id in jobIds {
                let items = try Self.copyAttention(db, jobId: id)
                if !items.isEmpty { result[id] = items }
            }
            return result
        }
    }

    /// The overview's attention items of a job: each present snapshot whose copy failed or is missing, and the newest
    /// present snapshot when a copy target the job names today holds no copy of it (a copy target added after the
    /// backup, or a copy that was never queued): `copy_missing`.
    static func copyAttention(_ db: Database, jobId: String) throws -> [JSONValue] {
        var items = try recordedCopyAttention(db, jobId: jobId)
        guard let job = try fetchJob(db, id: jobId), let spec = try? JobSpec.parse(job.spec), !spec.copies.isEmpty,
            let newest = try String.fetchOne(
                db,
                sql: "SELECT run_id FROM run_artifacts WHERE job_id = ? AND status = 'present' ORDER BY ended_at DESC, rowid DESC LIMIT 1",
                arguments: [jobId]
            )
        else { return items }
        let held = Set(try String.fetchAll(db, sql: "SELECT location_id FROM snapshot_locations WHERE run_id = ?", arguments: [newest]))
        for copy in spec.copies where !held.contains(copy.locationId) {
            items.append(.object(["reason": "copy_missing", "run_id": .string(newest), "location_id": .string(copy.locationId)]))
        }
        return items
    }

    /// The attention items the locations record: a copy that failed, or one found missing or in error.
    static func recordedCopyAttention(_ db: Database, jobId: String) throws -> [JSONValue] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT l.run_id, l.location_id, l.status FROM snapshot_locations AS l JOIN run_artifacts AS a ON a.run_id = l.run_id
                WHERE a.job_id = ? AND a.status = 'present' AND l.status IN ('failed', 'missing', 'error')
                ORDER BY a.ended_at DESC LIMIT 20
                """,
            arguments: [jobId]
        ).map { row in
            .object([
                "reason": .string((row[2] as String) == "failed" ? "copy_failed" : "copy_missing"), "run_id": .string(row[0]),
                "location_id": .string(row[1]),
            ])
        }
    }
}
