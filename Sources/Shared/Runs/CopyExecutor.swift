import Archive
import Core
import Foundation
import Targets

/// Copies a finished snapshot to one of its job's copy targets (docs/targets.md, "Copies"): first the chain bases the
/// copy target lacks (oldest first), then the snapshot itself: its parts, `entries.jsonl.zst`, `frames.json`,
/// `manifest.json`, and `complete.json` last, so a copy that stops midway is never taken for a snapshot.
///
/// Every file is checked against the source's manifest (size and BLAKE3) when it reaches the copier, before it is
/// sent on, and its stored size on the copy target is checked after. The ledger (`ledger.json` in
/// `<staging>/copy-<source_run_id>-<key>/`) records each file the copy target confirmed with its size and hash: a copy
/// that resumes after its worker died, or a retry of a failed copy, skips a file only when the ledger holds the
/// manifest's hash for it and the copy target still holds that many bytes.
public struct CopyExecutor: JobExecutor {
    public let jobType = RunKind.copy.rawValue
    public var stagingDirectory: String

    public init(stagingDirectory: String = NSTemporaryDirectory()) {
        self.stagingDirectory = stagingDirectory
    }

    struct Counts {
        var sent = 0
        var kept = 0
        var bytesSent: Int64 = 0
        var copiedRuns: [String] = []
    }

    public func execute(_ context: RunContext) async throws -> JSONValue {
        let operation = context.run.operation
        guard case .string(let locationId)? = operation?["location_id"], JobCopy.isLocationId(locationId),
            let copyTarget = Self.copyTarget(of: context.run)
        else { throw RunFailure(code: "invalid_operation", message: "the copy names no valid target") }
        let (source, sourceRunId) = try sourceSnapshotLocation(context)
        let work = "\(stagingDirectory)/copy-\(sourceRunId)-\(locationId.dropFirst(5))"
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        } catch {
            throw RunFailure(code: "staging_unavailable", message: "cannot create \(work): \(error.localizedDescription)")
        }
        let destination = RunLocation(target: copyTarget, jobId: source.jobId, runId: sourceRunId)
        var ledger = CopyLedger(path: work + "/ledger.json", destination: destination.display)
        var counts = Counts()
        let snapshot = try await openSource(source, context, directory: "\(work)/\(sourceRunId).read")
        // The chain bases the copy target lacks, oldest first.
        for base in snapshot.manifest.chain?.before ?? [] {
            try context.checkCancellation()
            let at = RunLocation(target: copyTarget, jobId: source.jobId, runId: base)
            let store = try await ArchiveRun.openStore(at, context)
            if try await ArchiveRun.targetStep({ try await store.size(of: "complete.json") }) != nil { continue }
            let from = RunLocation(target: source.target, jobId: source.jobId, runId: base)
            let baseSnapshot: Snapshot
            do {
                baseSnapshot = try await openSource(from, context, directory: "\(work)/\(base).read")
            } catch {
                throw RunFailure(
                    code: "base_missing",
                    message: "run \(base)'s snapshot, which this one builds on, cannot be read at \(from.display): \(error)"
                )
            }
            try await copy(baseSnapshot, from: from, to: store, ledger: &ledger, counts: &counts, context)
            counts.copiedRuns.append(base)
            context.events.emit(kind: "copy", message: "Copied chain base \(base) to \(at.display)")
        }
        let store = try await ArchiveRun.openStore(destination, context)
        try await copy(snapshot, from: source, to: store, ledger: &ledger, counts: &counts, context)
        counts.copiedRuns.append(sourceRunId)
        // The job's recovery files (docs/recovery.md) follow the snapshot: `RunWorker` writes them after this run.
        try? FileManager.default.removeItem(atPath: work)
        context.events.emit(
            kind: "copy",
            message: "Copied to \(destination.display): \(counts.sent) file(s) sent, \(counts.kept) already there",
            fields: .object([
                "location_id": .string(locationId), "files_sent": .number(Double(counts.sent)), "files_kept": .number(Double(counts.kept)),
            ])
        )
        return .object([
            "source_run_id": .string(sourceRunId), "location_id": .string(locationId), "target": destination.json,
            "copied_runs": .array(counts.copiedRuns.map(JSONValue.string)), "files_sent": .number(Double(counts.sent)),
            "files_kept": .number(Double(counts.kept)), "bytes_sent": .number(Double(counts.bytesSent)),
        ])
    }

    /// The copy target a copy run's operation names; nil when it names none that parses.
    public static func copyTarget(of run: Run) -> JobSpec.Target? {
        guard case .string(let type)? = run.operation?["target"]?["type"] else { return nil }
        return try? JobSpec.parseTarget(type: type, run.operation?["target"], field: "target")
    }

    /// The snapshot at `location`: a local one in place, a remote one's manifest, index and frame table fetched into
    /// `directory` (its parts are fetched one at a time by `copy`).
    private func openSource(_ location: RunLocation, _ context: RunContext, directory: String) async throws -> Snapshot {
        do {
            return try await openSnapshot(at: location, context, directory: directory)
        } catch let failure as RunFailure {
            throw failure
        } catch let error as TargetError {
            throw RunFailure(code: error.code, message: "snapshot at \(location.display): \(error)")
        } catch {
            throw RunFailure(code: "snapshot_not_restorable", message: "snapshot at \(location.display): \(error)")
        }
    }

    private func copy(
        _ snapshot: Snapshot,
        from source: RunLocation,
        to store: any TargetStore,
        ledger: inout CopyLedger,
        counts: inout Counts,
        _ context: RunContext
    ) async throws {
        let runId = source.runId
        let sourceStore = source.localDirectory == nil ? try await ArchiveRun.openStore(source, context) : nil
        try await ArchiveRun.targetStep { try await store.prepare() }
        let artifacts = snapshot.manifest.payloadParts + snapshot.manifest.artifacts.filter { !$0.isPayloadPart }
        let names = Set(artifacts.map(\.name))
        // Parts an earlier copy with another manifest left (never the case for the same snapshot, but a stale
        // directory must not look whole).
        for (name, _) in try await ArchiveRun.targetStep({ try await store.list() }) where name.hasPrefix("payload.part") && !names.contains(name) {
            try await ArchiveRun.targetStep { try await store.delete(name) }
        }
        for artifact in artifacts {
            try context.checkCancellation()
            let key = "\(runId)/\(artifact.name)"
            if ledger.entries[key] == CopyLedger.Entry(size: artifact.size, hash: artifact.hash),
                try await ArchiveRun.targetStep({ try await store.size(of: artifact.name) }) == artifact.size
            {
                counts.kept += 1
                continue
            }
            var path = "\(snapshot.directory)/\(artifact.name)"
            var fetched = false
            if let sourceStore, artifact.isPayloadPart {
                path = "\(snapshot.directory)/\(artifact.name)"
                try await ArchiveRun.targetStep { _ = try await sourceStore.download(artifact.name, to: path, maxBytes: artifact.size) }
                fetched = true
            }
            defer { if fetched { unlink(path) } }
            // Checked on arrival: what is sent on is exactly what the manifest records.
            let checked = path
            do {
                try await runBlocking { try snapshot.checkArtifact(artifact.name, at: checked) }
            } catch {
                throw RunFailure(code: "snapshot_corrupt", message: "\(artifact.name) of run \(runId) at \(source.display): \(error)")
            }
            try await ArchiveRun.targetStep {
                try await store.upload(artifact.name, from: checked)
                guard let stored = try await store.size(of: artifact.name), stored == artifact.size else {
                    throw TargetError(
                        "target_write_failed",
                        "\(artifact.name) does not have \(artifact.size) bytes on the copy target after the upload"
                    )
                }
            }
            ledger.entries[key] = CopyLedger.Entry(size: artifact.size, hash: artifact.hash)
            try ledger.write()
            counts.sent += 1
            counts.bytesSent += artifact.size
        }
        try context.checkCancellation()
        try await ArchiveRun.targetStep {
            try await store.upload("manifest.json", from: "\(snapshot.directory)/manifest.json")
            let marker = "\(stagingDirectory)/complete-\(UUID().uuidString.lowercased()).json"
            guard FileManager.default.createFile(atPath: marker, contents: Data("{}".utf8)) else {
                throw TargetError("staging_unavailable", "cannot write \(marker)")
            }
            defer { unlink(marker) }
            try await store.upload("complete.json", from: marker)
        }
        if snapshot.fetchPart != nil { try? FileManager.default.removeItem(atPath: snapshot.directory) }
    }
}

/// The files a copy target confirmed, by `<run_id>/<name>`, for one copy target (a ledger written for another
/// destination is ignored).
struct CopyLedger {
    struct Entry: Equatable {
        var size: Int64
        var hash: String
    }

    let path: String
    let destination: String
    var entries: [String: Entry] = [:]

    init(path: String, destination: String) {
        self.path = path
        self.destination = destination
        if let data = FileManager.default.contents(atPath: path), let stored = try? JSONValue.parse(bytes: data),
            stored["destination"]?.stringValue == destination, case .object(let files)? = stored["files"]
        {
            for (name, value) in files {
                if let size = value["size"]?.int64Value, size >= 0, case .string(let hash)? = value["hash"] {
                    entries[name] = Entry(size: size, hash: hash)
                }
            }
        }
    }

    /// Written to a temporary file, synced, and renamed over the old one.
    func write() throws {
        var files: [String: JSONValue] = [:]
        for (name, entry) in entries { files[name] = .object(["size": .number(Double(entry.size)), "hash": .string(entry.hash)]) }
        let text = JSONValue.object(["destination": .string(destination), "files": .object(files)]).jsonString()
        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: Data(text.utf8)) else {
            throw RunFailure(code: "staging_unavailable", message: "cannot write \(partial)")
        }
        let descriptor = Foundation.open(partial, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
        guard rename(partial, path) == 0 else { throw RunFailure(code: "staging_unavailable", message: "cannot rename \(partial)") }
    }
}
