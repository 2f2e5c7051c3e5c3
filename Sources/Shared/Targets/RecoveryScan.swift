import Archive
import Core
import Foundation

/// What a recovery finds on a target (docs/recovery.md): each job's collection under the base, its
/// `bastion-job.json`, its escrowed key file, and its snapshots' manifests. Everything read is hostile input: names
/// must be run ids, files are bounded, manifests are parsed strictly and must name the job and run they are under.
public struct RecoveryScan: Sendable {
    public struct Job: Sendable {
        public var id: String
        /// `bastion-job.json` when present and well formed.
        public var document: JSONValue?
        public var name: String? { document?["name"]?.stringValue }
        /// The key the snapshots (or the job's spec) name.
        public var keyName: String?
        /// The escrowed identity file (`bastion-key-<name>.age`), when present.
        public var keyFile: [UInt8]?
        public var snapshots: [Snapshot]
        public var encrypted: Bool { keyName != nil }
    }

    public struct Snapshot: Sendable {
        public var runId: String
        /// `complete.json` is there and the manifest was read and checked.
        public var complete: Bool
        public var manifest: Manifest?
        public var startedAt: Int64?
        public var endedAt: Int64?
        /// Why it cannot be imported, when it cannot.
        public var problem: String?
    }

    /// At most this many job collections and runs per job are read.
    public static let maxJobs = 1000
    public static let maxRunsPerJob = 100_000
    /// `manifest.json`'s bound (docs/formats.md, "What Bastion accepts").
    public static let maxManifestBytes = 16 << 20

    public var jobs: [Job]

    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Scans `tree`, or only the jobs in `only`.
    public static func scan(_ tree: any TargetTree, only: Set<String>? = nil) async throws -> RecoveryScan {
        var jobs: [Job] = []
        let jobIds = try await tree.directories(under: []).filter(SnapshotChain.isRunId).sorted()
        for jobId in jobIds.prefix(maxJobs) where only?.contains(jobId) ?? true {
            jobs.append(try await scanJob(tree, jobId: jobId))
        }
        return RecoveryScan(jobs: jobs.filter { $0.document != nil || !$0.snapshots.isEmpty })
    }

    static func scanJob(_ tree: any TargetTree, jobId: String) async throws -> Job {
        let files = try await tree.files(under: [jobId])
        var document: JSONValue?
        if let size = files[JobFiles.jobFileName], size <= JobFiles.maxBytes,
            let bytes = try await tree.read([jobId, JobFiles.jobFileName], maxBytes: JobFiles.maxBytes),
            let json = try? JSONValue.parse(bytes: bytes), json["format"]?.stringValue == JobFiles.jobFileFormat,
            json["job_id"]?.stringValue == jobId, json["name"]?.stringValue != nil
        {
            document = json
        }
        var snapshots: [Snapshot] = []
        let formatter = ISO8601DateFormatter()
        for runId in try await tree.directories(under: [jobId]).filter(SnapshotChain.isRunId).sorted().prefix(maxRunsPerJob) {
            let runFiles = try await tree.files(under: [jobId, runId])
            var snapshot = Snapshot(runId: runId, complete: false)
            guard runFiles["complete.json"] != nil else {
                snapshot.problem = "no complete.json (an interrupted run)"
                snapshots.append(snapshot)
                continue
            }
            do {
                guard let bytes = try await tree.read([jobId, runId, "manifest.json"], maxBytes: maxManifestBytes) else {
                    throw Problem("no manifest.json")
                }
                let manifest = try Manifest(json: try JSONValue.parse(bytes: bytes))
                guard manifest.jobId == jobId, manifest.runId == runId else {
                    throw Problem("the manifest names another job or run")
                }
                guard let ended = formatter.date(from: manifest.endedAt), let started = formatter.date(from: manifest.startedAt) else {
                    throw Problem("the manifest's times are not ISO 8601")
                }
                snapshot.manifest = manifest
                snapshot.startedAt = Int64(started.timeIntervalSince1970)
                snapshot.endedAt = Int64(ended.timeIntervalSince1970)
                snapshot.complete = true
            } catch let error as TargetError {
                throw error
            } catch {
                snapshot.problem = "\(error)"
            }
            snapshots.append(snapshot)
        }
        // Oldest first; within one second a chain's base before what builds on it (times have whole seconds).
        snapshots.sort {
            ($0.endedAt ?? 0, $0.startedAt ?? 0, $0.manifest?.chain?.level ?? 0, $0.runId)
                < ($1.endedAt ?? 0, $1.startedAt ?? 0, $1.manifest?.chain?.level ?? 0, $1.runId)
        }
        let specKey = document.flatMap { JobFiles.keyName(spec: $0["spec"] ?? .null) }
        let keyName = snapshots.last(where: { $0.manifest?.encryptionKey != nil })?.manifest?.encryptionKey ?? specKey
        var keyFile: [UInt8]?
        if let keyName, JobSpec.isValidKeyName(keyName), files[JobFiles.keyFileName(keyName)] != nil {
            keyFile = try await tree.read([jobId, JobFiles.keyFileName(keyName)], maxBytes: AgePassphrase.maxFileBytes)
        }
        return Job(id: jobId, document: document, keyName: keyName, keyFile: keyFile, snapshots: snapshots)
    }
}

/// The files a job keeps on a target beside its runs (docs/recovery.md, "On the target").
public enum JobFiles {
    public static let jobFileName = "bastion-job.json"
    public static let jobFileFormat = "bastion-job/1"
    /// The largest `bastion-job.json` a recovery reads.
    public static let maxBytes = 1 << 20

    public static func keyFileName(_ keyName: String) -> String { "bastion-key-\(keyName).age" }

    /// The job's key name when its spec encrypts (`pipeline.encryption.key_name` with `age_x25519`).
    public static func keyName(spec: JSONValue) -> String? {
        guard case .string("age_x25519")? = spec["pipeline"]?["encryption"]?["type"],
            case .string(let name)? = spec["pipeline"]?["encryption"]?["key_name"], JobSpec.isValidKeyName(name)
        else { return nil }
        return name
    }

    /// `bastion-job.json`: the job's id, name, schedule zone and spec, without its hooks (their environment may hold
    /// passwords) and its pings (a ping URL is its own credential: whoever reads it can report a success). Secrets are
    /// only ever named in a spec, never held.
    public static func jobDocument(id: String, name: String, scheduleTimezone: String, spec: JSONValue, now: Int64) -> JSONValue {
        var spec = spec
        if case .object(var object) = spec {
            object["hooks"] = nil
            object["pings"] = nil
            spec = .object(object)
        }
        return .object([
            "format": .string(jobFileFormat), "job_id": .string(id), "name": .string(name),
            "schedule_timezone": .string(scheduleTimezone), "spec": spec, "written_at": .number(Double(now)),
        ])
    }
}
