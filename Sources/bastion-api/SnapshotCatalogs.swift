import Archive
import Core
import Foundation
import Store
import Targets

/// The API's way to a snapshot's catalog and to the diff of two (docs/formats.md, "The snapshot catalog"): opens
/// the file when it exists (a worker builds it after each backup), else builds it once, off the event loop, however
/// many requests ask at the same time.
actor SnapshotCatalogs {
    private var building: [String: Task<Void, any Error>] = [:]

    /// The catalog of the snapshot `runId` at `location`. On a remote target the manifest and the entries index are
    /// fetched next to the catalog first (and removed once it is built). Either way the index is used only once its
    /// size and BLAKE3 match the manifest's, and holds no more entries than the manifest says (docs/security.md,
    /// "Targets and secrets").
    /// `identity` gives the identity of a key name, for an encrypted index.
    func catalog(
        runId: String,
        location: RunLocation,
        secrets: any TargetSecretProvider,
        identity: @escaping @Sendable (String) async throws -> String?,
        in data: DataDirectory
    ) async throws -> SnapshotCatalog {
        let path = SnapshotCatalog.path(in: data, runId: runId)
        if let catalog = try SnapshotCatalog.open(path: path) { return catalog }
        if let directory = location.localDirectory {
            try await onceAsync("catalog:\(runId)") {
                let snapshot = try Snapshot(directory: directory)
                try await Self.build(snapshot, identity: identity, into: path)
            }
        } else {
            let staging = path + ".read"
            let store = try await TargetStores.open(location, secrets: secrets)
            try await onceAsync("catalog:\(runId)") {
                defer { try? FileManager.default.removeItem(atPath: staging) }
                try? FileManager.default.removeItem(atPath: staging)
                try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
                guard try await store.size(of: "complete.json") != nil else { throw Snapshot.OpenError.notComplete(location.display) }
                try await store.download("manifest.json", to: staging + "/manifest.json", maxBytes: Int64(Snapshot.maxManifestBytes))
                FileManager.default.createFile(atPath: staging + "/complete.json", contents: Data("{}".utf8))
                let snapshot = try Snapshot(directory: staging)
                let index = Manifest.entriesIndexName
                try await store.download(index, to: staging + "/" + index, maxBytes: snapshot.recordedSize(of: index))
                try await Self.build(snapshot, identity: identity, into: path)
            }
        }
        guard let catalog = try SnapshotCatalog.open(path: path) else {
            throw SnapshotCatalog.BuildError(description: "the catalog of \(runId) is missing after its build")
        }
        return catalog
    }

    /// Builds the catalog from the snapshot's index once it matched the manifest, decrypted when it is encrypted.
    private static func build(_ snapshot: Snapshot, identity: @Sendable (String) async throws -> String?, into path: String) async throws {
        var key: String?
        if snapshot.manifest.entriesIndexEncrypted, let name = snapshot.encryptionKey {
            guard let found = try await identity(name) else {
                throw ArchiveError.corrupt("the entries index is encrypted with key \(name), which this Bastion does not have")
            }
            key = found
        }
        let indexIdentity = try snapshot.indexIdentity(key)
        try await runBlocking {
            try SnapshotCatalog.build(
                entriesIndex: snapshot.checkedEntriesIndex(),
                identity: indexIdentity,
                into: path,
                maxEntries: snapshot.entriesCount
            )
        }
    }

    /// The diff from `old` to `new`, both already catalogued.
    func diff(
        from old: (id: String, catalog: SnapshotCatalog),
        to new: (id: String, catalog: SnapshotCatalog),
        in data: DataDirectory
    )
        async throws -> SnapshotDiff
    {
        let path = SnapshotDiff.path(in: data, from: old.id, to: new.id)
        if let diff = try SnapshotDiff.open(path: path) { return diff }
        try await once("diff:\(old.id):\(new.id)") { try SnapshotDiff.build(from: old.catalog, to: new.catalog, into: path) }
        guard let diff = try SnapshotDiff.open(path: path) else {
            throw SnapshotCatalog.BuildError(description: "the diff of \(old.id) and \(new.id) is missing after its build")
        }
        return diff
    }

    /// Runs `work` on a blocking thread, shared by every caller that asks for `key` while it runs.
    private func once(_ key: String, _ work: @escaping @Sendable () throws -> Void) async throws {
        try await onceAsync(key) { try await runBlocking { try work() } }
    }

    private func onceAsync(_ key: String, _ work: @escaping @Sendable () async throws -> Void) async throws {
        if let running = building[key] { return try await running.value }
        let task = Task { try await work() }
        building[key] = task
        defer { building[key] = nil }
        try await task.value
    }
}
