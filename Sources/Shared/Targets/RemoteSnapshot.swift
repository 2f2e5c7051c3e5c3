import Archive
import Core
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension TargetStores {
    /// A snapshot on a remote target, read through a local staging `directory` (which exists; docs/targets.md, "Reading
    /// a snapshot"): its manifest, entries index (unless `entriesIndex` is false: a reader that takes its offsets from
    /// a later snapshot's index) and frame table are fetched now, each part when a read reaches it. No download takes
    /// more than the manifest records (docs/security.md, "Targets and secrets"); `Snapshot` checks each artifact and
    /// part against the manifest before using a byte of it. With `prefetch`, a read that goes through the parts in
    /// order downloads the next one meanwhile (at most two parts staged); without, every download happens on the
    /// reading thread, so none is in flight once the read returns.
    public static func openSnapshot(
        on store: any TargetStore,
        display: String,
        into directory: String,
        entriesIndex: Bool = true,
        prefetch: Bool = true,
        limits: Limits? = nil
    ) async throws -> Snapshot {
        guard try await store.size(of: "complete.json") != nil else { throw Snapshot.OpenError.notComplete(display) }
        try await store.download("manifest.json", to: directory + "/manifest.json", maxBytes: Int64(Snapshot.maxManifestBytes))
        FileManager.default.createFile(atPath: directory + "/complete.json", contents: Data("{}".utf8))
        let snapshot = try Snapshot(directory: directory)
        if entriesIndex {
            let index = Manifest.entriesIndexName
            try limits?.room(for: snapshot.recordedSize(of: index), in: directory)
            try await store.download(index, to: directory + "/" + index, maxBytes: snapshot.recordedSize(of: index))
        }
        if snapshot.manifest.framesArtifact != nil {
            let frames = Manifest.framesName
            try await store.download(
                frames,
                to: directory + "/" + frames,
                maxBytes: min(snapshot.recordedSize(of: frames), Snapshot.maxFrameTableBytes)
            )
        }
        let fetcher = PartFetcher(store: store, directory: directory, parts: snapshot.parts, limits: limits)
        return try Snapshot(
            directory: directory,
            fetchPart: { part, sequential in try fetcher.fetch(part, prefetchNext: prefetch && sequential) },
            fetchRange: { part, offset, count in try fetcher.range(part, offset: offset, count: count) }
        )
    }
}

extension TargetStores {
    /// What a reader on the hub keeps free (docs/security.md, "Targets and secrets"): the sizes a manifest records come
    /// from the target, so before each download the disk under the staging directory must hold it and still have
    /// `reserveBytes` free; otherwise `hub_disk_full`, and nothing is downloaded.
    public struct Limits: Sendable {
        public var reserveBytes: Int64

        public init(reserveBytes: Int64) { self.reserveBytes = reserveBytes }

        public func room(for bytes: Int64, in directory: String) throws {
            var info = statvfs()
            guard statvfs(directory, &info) == 0 else { return }
            let free = Int64(clamping: UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize)).partialValue)
            guard bytes <= free, free - bytes >= reserveBytes else {
                throw TargetError(
                    "hub_disk_full",
                    "the target's manifest asks for \(bytes) bytes; the hub's disk has \(free) free and keeps \(reserveBytes) in reserve"
                )
            }
        }
    }
}

/// Fetches a remote snapshot's parts when the read asks, in stream order the next one downloading while the current
/// one is read when asked to; `Snapshot` checks each before using it.
private final class PartFetcher: @unchecked Sendable {
    // @unchecked Sendable: the stored properties are constants; `next` is a Mutex.
    let store: any TargetStore
    let directory: String
    let parts: [Snapshot.Part]
    let limits: TargetStores.Limits?
    private let next = Mutex<(index: Int, task: Task<Void, any Error>)?>(nil)

    init(store: any TargetStore, directory: String, parts: [Snapshot.Part], limits: TargetStores.Limits?) {
        self.store = store
        self.directory = directory
        self.parts = parts
        self.limits = limits
    }

    deinit {
        next.withLock { $0?.task.cancel() }
        whole.withLock { if let staged = $0 { unlink(staged.path) } }
    }

    func path(_ part: Snapshot.Part) -> String { "\(directory)/\(part.name)" }

    func download(_ index: Int) -> Task<Void, any Error> {
        let (store, part, path) = (store, parts[index], path(parts[index]))
        return Task { _ = try await store.download(part.name, to: path, maxBytes: part.size) }
    }

    /// A part fetched whole for ranged reads because the store answered none (a WebDAV server that ignores Range),
    /// kept while reads stay in it.
    private let whole = Mutex<(index: Int, path: String)?>(nil)

    /// On the reading thread: `count` bytes of `part` from `offset` (a read by frame, checked by the caller against the
    /// frame's hash): a ranged read where the store has one, else from the part fetched whole.
    func range(_ part: Snapshot.Part, offset: Int64, count: Int) throws -> [UInt8] {
        guard let index = parts.firstIndex(of: part) else { throw ArchiveError.corrupt("\(part.name) is not in the manifest") }
        if whole.withLock({ $0 == nil }) {
            let (store, name) = (store, part.name)
            if let bytes = try awaitFromBlocking({ try await store.readRange(name, offset: offset, count: count) }) { return bytes }
        }
        let staged = whole.withLock { $0?.index == index ? $0?.path : nil }
        let path = try staged ?? fetch(part, prefetchNext: false)
        if staged == nil {
            whole.withLock { previous in
                if let previous, previous.index != index { unlink(previous.path) }
                previous = (index, path)
            }
        }
        let descriptor = try Snapshot.openRegularFile(path, name: part.name)
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            done += got
        }
        return Array(bytes[0..<done])
    }

    /// On the reading thread: the part's local path once it is fetched; with `prefetchNext`, starts fetching the one after.
    func fetch(_ part: Snapshot.Part, prefetchNext: Bool) throws -> String {
        guard let index = parts.firstIndex(of: part) else { throw ArchiveError.corrupt("\(part.name) is not in the manifest") }
        let pending = next.withLock { current -> Task<Void, any Error>? in
            defer { current = nil }
            return current?.index == index ? current?.task : nil
        }
        if pending == nil { try limits?.room(for: part.size, in: directory) }
        let current = pending ?? download(index)
        if prefetchNext, index + 1 < parts.count { next.withLock { $0 = (index + 1, download(index + 1)) } }
        try awaitFromBlocking { try await current.value }
        return path(part)
    }
}
