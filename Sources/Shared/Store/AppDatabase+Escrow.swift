import Archive
import Core
import Foundation
import GRDB
import Logging
import Secrets
import Targets

/// A backup key's escrow: the identity sealed with a passphrase the hub never stores (age's scrypt recipient), kept
/// here and written beside the snapshots on every target that holds the key's snapshots (docs/recovery.md).
public struct KeyEscrow: Sendable, Equatable {
    /// The age file (`age -d` opens it with the passphrase).
    public var file: [UInt8]
    public var setAt: Int64
    /// How many job collections the last escrow or backup wrote it to.
    public var targetsWritten: Int

    public init(file: [UInt8], setAt: Int64, targetsWritten: Int) {
        self.file = file
        self.setAt = setAt
        self.targetsWritten = targetsWritten
    }
}

extension AppDatabase {
    static let escrowKind = "backup_age_escrow"

    /// The escrow of key `name`; nil when none was set.
    public func keyEscrow(name: String) async throws -> KeyEscrow? {
        guard let sealed = try await pool.read({ db in try Self.fetchSecret(db, kind: Self.escrowKind, name: name) }) else { return nil }
        let plain = try SecretBox.open(in: dataDirectory).open(sealed, kind: Self.escrowKind, name: name)
        let json = try JSONValue.parse(bytes: plain)
        guard case .string(let file)? = json["file_b64"], let bytes = Data(base64Encoded: file) else { return nil }
        return KeyEscrow(file: Array(bytes), setAt: json["set_at"]?.int64Value ?? 0, targetsWritten: Int(json["targets_written"]?.int64Value ?? 0))
    }

    /// Stores the escrow of key `name` (replacing an earlier one).
    public func setKeyEscrow(name: String, _ escrow: KeyEscrow, now: Int64 = unixNow()) async throws {
        let json: JSONValue = .object([
            "file_b64": .string(Data(escrow.file).base64EncodedString()), "set_at": .number(Double(escrow.setAt)),
            "targets_written": .number(Double(escrow.targetsWritten)),
        ])
        let sealed = try SecretBox.open(in: dataDirectory).seal(Data(json.jsonString().utf8), kind: Self.escrowKind, name: name)
        try await pool.write { db in try Self.upsertSecret(db, kind: Self.escrowKind, name: name, sealed: sealed, now: now) }
    }

    /// Every (job, target) where the snapshots of jobs encrypting with key `name` are: each job's own target and every
    /// target its present snapshots were written to (for an agent's job, its remote targets only).
    public func escrowLocations(keyName: String) async throws -> [(job: Job, target: JobSpec.Target)] {
        var result: [(Job, JobSpec.Target)] = []
        for job in try await allJobsForEscrow() where JobFiles.keyName(spec: job.spec) == keyName {
            var targets: [JobSpec.Target] = []
            if let spec = try? JobSpec.parse(job.spec) { targets.append(spec.target) }
            for snapshot in try await snapshots(jobId: job.id) where snapshot.status == "present" {
                if let target = snapshot.location?.target, !targets.contains(target) { targets.append(target) }
            }
            // An agent's local directory is on the agent's host: the hub writes only where it reaches the same place.
            if job.agentId != nil { targets.removeAll { if case .localDir = $0 { return true } else { return false } } }
            result += targets.map { (job, $0) }
        }
        return result
    }

    func allJobsForEscrow() async throws -> [Job] {
        let ids = try await pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM jobs ORDER BY created_at, id") }
        var jobs: [Job] = []
        for id in ids { if let job = try await job(id: id) { jobs.append(job) } }
        return jobs
    }

    /// Writes the job's files on `target` when they are absent (one listing of the job's collection, so a backup pays
    /// one request): `bastion-job.json`, and `bastion-key-<name>.age` when the job encrypts and its key has an escrow.
    /// With `replaceKey`, the key file is written even when present (a new escrow). Returns the files written.
    @discardableResult
    public func ensureJobFiles(
        jobId: String,
        target: JobSpec.Target,
        secrets: (any TargetSecretProvider)?,
        replaceKey: Bool = false,
        logger: Logger? = nil,
        now: Int64 = unixNow()
    ) async throws -> [String] {
        guard let job = try await job(id: jobId) else { return [] }
        let tree = try await TargetStores.tree(target, secrets: secrets, logger: logger)
        let present = try await tree.files(under: [jobId])
        var written: [String] = []
        if present[JobFiles.jobFileName] == nil {
            try await tree.write(
                [jobId, JobFiles.jobFileName],
                bytes: Array(
                    JobFiles.jobDocument(id: job.id, name: job.name, scheduleTimezone: job.scheduleTimezone, spec: job.spec, now: now).jsonString()
                        .utf8
                )
            )
            written.append(JobFiles.jobFileName)
        }
        if let keyName = JobFiles.keyName(spec: job.spec), let escrow = try await keyEscrow(name: keyName) {
            let name = JobFiles.keyFileName(keyName)
            if replaceKey || present[name] != Int64(escrow.file.count) {
                try await tree.write([jobId, name], bytes: escrow.file)
                written.append(name)
            }
        }
        if !written.isEmpty {
            logger?.info("Job files written to the target", metadata: ["job.id": "\(jobId)", "files": "\(written.joined(separator: ","))"])
        }
        return written
    }
}
