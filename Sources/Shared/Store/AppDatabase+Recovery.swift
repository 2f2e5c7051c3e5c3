import Archive
import Core
import Foundation
import GRDB
import Secrets

/// A job found on a target by a recovery scan, as a fresh hub imports it (docs/recovery.md).
public struct RecoveredJob: Sendable {
    public var id: String
    public var name: String
    public var scheduleTimezone: String
    /// The stored V1 spec, its target already the one scanned.
    public var spec: JSONValue
    /// Complete snapshots, oldest first.
    public var snapshots: [RecoveredSnapshot]

    public init(id: String, name: String, scheduleTimezone: String, spec: JSONValue, snapshots: [RecoveredSnapshot]) {
        self.id = id
        self.name = name
        self.scheduleTimezone = scheduleTimezone
        self.spec = spec
        self.snapshots = snapshots
    }
}

public struct RecoveredSnapshot: Sendable {
    public var runId: String
    public var startedAt: Int64
    public var endedAt: Int64
    /// The run's `BackupSummary` as a backup would have written it (its location, counts, chain).
    public var summary: BackupSummary

    public init(runId: String, startedAt: Int64, endedAt: Int64, summary: BackupSummary) {
        self.runId = runId
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.summary = summary
    }
}

extension AppDatabase {
    /// Imports a recovered job and its snapshots in one transaction: the job (unscheduled) when this hub has no job of
    /// that id, and each snapshot this hub does not know as a successful backup run with its `run_artifacts` row (chain
    /// level and base included), so restore, verify, browse and retention see it like one of their own.
    /// Returns whether the job was created and how many snapshots were imported.
    public func importRecoveredJob(_ job: RecoveredJob, now: Int64 = unixNow()) async throws -> (created: Bool, imported: Int) {
        try await write { db, after in
            after.wake(.jobs)
            let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ?)", arguments: [job.id]) ?? false
            if !exists {
                try db.execute(
                    sql: """
                        INSERT INTO jobs (id, name, agent_id, schedule, schedule_timezone, overlap_policy, spec_json, created_at, updated_at)
                        VALUES (?, ?, NULL, NULL, ?, 'queue', ?, ?, ?)
                        """,
                    arguments: [job.id, job.name, job.scheduleTimezone, job.spec.jsonString(), now, now]
                )
            }
            var imported = 0
            for snapshot in job.snapshots {
                let known = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?)", arguments: [snapshot.runId]) ?? false
                if known { continue }
                let summary = snapshot.summary.json
                try db.execute(
                    sql: """
                        INSERT INTO runs (id, job_id, status, started_at, ended_at, summary_json, target_snapshot_json, kind, node_id)
                        VALUES (?, ?, 'success', ?, ?, ?, ?, 'backup', 'hub')
                        """,
                    arguments: [
                        snapshot.runId, job.id, snapshot.startedAt, snapshot.endedAt, summary.jsonString(),
                        snapshot.summary.location.json.jsonString(),
                    ]
                )
                try Self.recordSnapshot(db, runId: snapshot.runId, jobId: job.id, summary: summary, now: snapshot.endedAt)
                imported += 1
            }
            return (!exists, imported)
        }
    }

    /// Stores a recovered identity as backup key `name`. True when stored or already there (the same identity); false
    /// when this hub holds another identity under that name (nothing is changed).
    public func importBackupIdentity(name: String, identity: String, now: Int64 = unixNow()) async throws -> Bool {
        let box = try SecretBox.open(in: dataDirectory)
        if let existing = try await backupIdentity(name: name, box: box, create: false) {
            return existing.identity == identity
        }
        let sealed = try box.seal(Data(identity.utf8), kind: Self.backupKeyKind, name: name)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO secrets (id, node_id, kind, name, kid, nonce, ciphertext, created_at, updated_at)
                    VALUES (?, 'hub', ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [UUID().uuidString.lowercased(), Self.backupKeyKind, name, sealed.kid, sealed.nonce, sealed.ciphertext, now, now]
            )
        }
        return try await backupIdentity(name: name, box: box, create: false)?.identity == identity
    }
}
