import Archive
import Core
import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Store
import Targets

/// One file of a snapshot as a download (docs/ui.md, "Snapshot browser: files, versions, search"): found in the
/// catalog, placed by the entries index (its offset, and the earlier snapshot of the chain that holds its bytes), read
/// by frame where the snapshot has a frame table (docs/formats.md, "Frames"), checked against the index's size and
/// BLAKE3 as it streams.
extension BrowseController {
    /// `GET /api/runs/{id}/file?path=|path_b64=[&location=]`: the file's bytes, `application/octet-stream`, as an
    /// attachment. A part that does not match its manifest fails the request before the first byte (502
    /// `snapshot_corrupt`); a failure later (a later part, the content hash) ends the stream before its last bytes, so a
    /// client never holds a complete body with wrong bytes in it.
    @Sendable func file(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (run, location) = try await snapshot(try context.parameters.require("id"), location: Self.location(request))
        guard let path = try Self.path(request, "path"), !path.isEmpty else {
            throw APIError(status: .badRequest, code: "invalid_query", message: "path (or path_b64) is required", details: ["field": "path"])
        }
        // Archive paths never hold `.`, `..` or empty components: such a request is not one the browser makes.
        let components = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard !components.contains(where: { $0.isEmpty || $0.elementsEqual([0x2E]) || $0.elementsEqual([0x2E, 0x2E]) }) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_path",
                message: "path must not contain '.', '..' or empty components",
                details: ["field": "path"]
            )
        }
        let catalog = try await catalog(run.id, location)
        guard let entry = try await runBlocking({ try catalog.lookup(path) }) else {
            throw APIError(status: .notFound, code: "path_not_found", message: "the snapshot has no \(Self.text(path).0)", details: ["field": "path"])
        }
        guard entry.kind == "file" else {
            let link = entry.link.map { " (to \(Self.text($0).0))" } ?? ""
            throw APIError(
                status: .badRequest,
                code: "not_a_file",
                message: "\(Self.text(path).0) is a \(entry.kind)\(link): only regular files can be downloaded",
                details: ["field": "path", "kind": entry.kind]
            )
        }
        // A remote snapshot is staged for this request alone (docs/ui.md, "Snapshot browser: files, versions, search"):
        // a slot of the few the hub allows, and a directory that goes when the response ends.
        let lease = location.localDirectory == nil ? try remoteSlot(context) : nil
        let source: FileSource
        do {
            source = try await fileSource(path, location: location, staging: lease)
        } catch {
            lease?.end()
            throw error
        }
        let bridge = ByteBridge()
        let delivery = FileDelivery(bridge: bridge, size: entry.size, hash: entry.hashHex, path: path)
        // The read blocks (files, zstd, age, a remote part's download): it runs on a blocking thread for as long as the
        // client reads; the response body pulls its chunks, at most `ByteBridge.limit` ahead, and stops it when the
        // client goes. Once it returns nothing reads the staging any more: it goes before the stream's end is told.
        Task {
            do {
                try await runBlocking { try source.read(into: delivery, bridge: bridge) }
                lease?.end()
                bridge.finish(nil)
            } catch {
                lease?.end()
                bridge.finish(error)
            }
        }
        let first: ByteBuffer?
        do {
            first = try await bridge.next()
        } catch let error as ArchiveError {
            bridge.cancel()
            throw APIError(status: .badGateway, code: "snapshot_corrupt", message: error.description)
        } catch let error as TargetError {
            bridge.cancel()
            throw APIError(status: .badGateway, code: error.code, message: error.description)
        } catch {
            bridge.cancel()
            throw error
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.contentDisposition] = Self.attachment(entry.name)
        headers[.contentLength] = String(entry.size)
        headers[HTTPField.Name("x-content-type-options")!] = "nosniff"
        headers[.cacheControl] = "private, no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: FileBody(bridge: bridge, first: first)))
    }

    /// `attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>` (RFC 6266, RFC 8187): the ASCII form keeps
    /// letters, digits and `._-+`, the rest `_`; the encoded form is the name's readable text (a name that is not UTF-8
    /// has U+FFFD in place of its invalid bytes), so no byte of it can end the header or the parameter.
    static func attachment(_ name: [UInt8]) -> String {
        let text = text(name).0
        let safe = Set(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+".utf8))
        var ascii = String(decoding: text.utf8.map { safe.contains($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
        if ascii.allSatisfy({ $0 == "_" || $0 == "." }) { ascii = "file" }
        // RFC 8187's attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else %XX.
        let attr = Set(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~".utf8))
        let encoded = text.utf8.map { attr.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }.joined()
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    /// How long a client refused for the download limit is asked to wait.
    static let busyRetrySeconds = 5

    /// One of the few remote downloads the hub runs at once, or `503 remote_downloads_busy` with `Retry-After`.
    func remoteSlot(_ context: AppRequestContext) throws -> RemoteFileReads.Lease {
        guard let lease = try services.fileReads.begin(logger: context.logger) else {
            var error = APIError(
                status: .serviceUnavailable,
                code: "remote_downloads_busy",
                message: "\(services.fileReads.limit) downloads from remote targets are running: try again in a few seconds"
            )
            error.params = ["retry_after_seconds": .number(Double(Self.busyRetrySeconds))]
            error.headers[.retryAfter] = String(Self.busyRetrySeconds)
            throw error
        }
        return lease
    }

    /// What a remote read leaves free on the data directory's disk: 1 GiB, or a twentieth of the disk when that is more.
    static func diskReserve(_ directory: String) -> Int64 {
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return 1 << 30 }
        let size = UInt64(info.f_blocks).multipliedReportingOverflow(by: UInt64(info.f_frsize)).partialValue
        return max(1 << 30, Int64(clamping: size / 20))
    }

    /// Where the file's bytes are: the snapshot's own payload, or the earlier snapshot of its chain the index names
    /// (`stored_in`, docs/formats.md, "Incremental snapshots"), with its offset when the index has one. A remote
    /// snapshot (and its earlier one) is opened in `staging`.
    func fileSource(_ path: [UInt8], location: RunLocation, staging: RemoteFileReads.Lease?) async throws -> FileSource {
        let snapshot: Snapshot
        do {
            snapshot = try await openSnapshot(location, staging: staging, entriesIndex: true)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(status: .conflict, code: "snapshot_not_restorable", message: "\(error)")
        }
        let identity = try await snapshotIdentity(of: snapshot)
        let plan: ChainPlan
        do {
            let indexIdentity = try snapshot.indexIdentity(identity)
            // Never nil for a path the handler let through; without one the plan would take every entry.
            guard let selection = RestoreWriter.Selection(files: [path], dirs: [[UInt8]]()) else {
                throw APIError(status: .badRequest, code: "invalid_path", message: "not a path", details: ["field": "path"])
            }
            plan = try await runBlocking {
                // One file: the first entry of its path is all the read needs (an index repeating it a billion times
                // does not grow a list).
                try ChainPlan(entriesIndex: try snapshot.checkedEntriesIndex(), identity: indexIdentity, selection: selection, stopAfter: 1)
            }
        } catch let error as ArchiveError {
            throw APIError(status: .badGateway, code: "snapshot_corrupt", message: error.description)
        }
        if let own = plan.own.first { return FileSource(snapshot: snapshot, identity: identity, wanted: own) }
        if plan.ownWithoutOffset { return FileSource(snapshot: snapshot, identity: identity, wanted: Snapshot.Wanted(offset: -1, path: path)) }
        // Held by an earlier snapshot of the chain, on the same target.
        let placed = plan.sources.first.flatMap { element in element.value.first.map { (element.key, $0) } }
        let unplaced = plan.unplaced.first.flatMap { element in element.value.first.map { (element.key, Snapshot.Wanted(offset: -1, path: $0)) } }
        guard let found = placed ?? unplaced else {
            throw APIError(status: .badGateway, code: "snapshot_corrupt", message: "the entries index does not list \(Self.text(path).0)")
        }
        let (run, wanted) = found
        guard (snapshot.manifest.chain?.before ?? []).contains(run) else {
            throw APIError(
                status: .badGateway,
                code: "snapshot_corrupt",
                message: "the entries index points to run \(run), not in this snapshot's chain"
            )
        }
        let base: Snapshot
        do {
            // Its offsets come from the later snapshot's index: its own is not fetched.
            base = try await openSnapshot(
                RunLocation(target: location.target, jobId: location.jobId, runId: run),
                staging: staging,
                entriesIndex: false
            )
            guard base.manifest.runId == run else { throw ArchiveError.corrupt("its manifest names run \(base.manifest.runId)") }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(status: .conflict, code: "base_missing", message: "run \(run)'s snapshot, which holds this file, cannot be read: \(error)")
        }
        return FileSource(snapshot: base, identity: try await snapshotIdentity(of: base), wanted: wanted)
    }

    /// The snapshot at `location`: in place on a local target; on a remote one its manifest, frame table (and entries
    /// index) fetched into `staging` now, the parts a read needs when it reaches them, one at a time, each checked whole
    /// before a byte of it is used (docs/targets.md, "Reading a snapshot"). A target that fails is 502 with its code.
    func openSnapshot(_ location: RunLocation, staging: RemoteFileReads.Lease?, entriesIndex: Bool) async throws -> Snapshot {
        if let directory = location.localDirectory { return try Snapshot(directory: directory) }
        guard let staging else {
            throw APIError(status: .conflict, code: "snapshot_not_restorable", message: "\(location.display) is not a local directory")
        }
        do {
            let store = try await TargetStores.open(location, secrets: HubTargetSecrets(database: services.database))
            let directory = staging.directory + "/" + location.runId
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            return try await TargetStores.openSnapshot(
                on: store,
                display: location.display,
                into: directory,
                entriesIndex: entriesIndex,
                prefetch: false,
                // The hub's disk keeps 1 GiB or a twentieth free, whatever sizes the target's manifest records.
                limits: TargetStores.Limits(reserveBytes: Self.diskReserve(services.config.common.dataDirectory.path))
            )
        } catch let error as TargetError {
            throw APIError(status: .badGateway, code: error.code, message: error.description)
        } catch let error as ArchiveError {
            throw APIError(status: .badGateway, code: "snapshot_corrupt", message: error.description)
        }
    }

    /// The identity that decrypts an encrypted snapshot (nil for a plain one).
    func snapshotIdentity(of snapshot: Snapshot) async throws -> String? {
        guard let name = snapshot.encryptionKey else { return nil }
        let found = try await services.database.backupIdentity(
            name: name,
            box: SecretBox.open(in: services.config.common.dataDirectory),
            create: false
        )?.identity
        guard let found else {
            throw APIError(
                status: .conflict,
                code: "key_not_found",
                message: "the snapshot is encrypted with key \(name), which this Bastion does not have"
            )
        }
        return found
    }
}

/// One member of one snapshot's payload, and how to read it.
struct FileSource: Sendable {
    let snapshot: Snapshot
    let identity: String?
    /// Its offset in the tar stream; -1 when the index has none (a snapshot written before frames).
    let wanted: Snapshot.Wanted

    /// By frame when the payload has a frame table and the index an offset; else the whole payload streams by.
    func read(into delivery: FileDelivery, bridge: ByteBridge) throws {
        if wanted.offset >= 0, let frames = try snapshot.frameTable() {
            try snapshot.readMembers([wanted], frames: frames, identity: identity, into: delivery, check: bridge.check)
        } else {
            try snapshot.readMembers(paths: [wanted.path], into: delivery, identity: identity, betweenParts: bridge.check)
        }
    }
}

/// The wanted member's content into the bridge, in chunks of 64 KiB, checked against the index's size and BLAKE3. The
/// last chunk is held back until the check passed: a file whose bytes are wrong never arrives whole.
final class FileDelivery: TarReaderDelegate, @unchecked Sendable {
    // @unchecked Sendable: created on the request's task, then used only by the one blocking thread that reads.
    let bridge: ByteBridge
    let size: Int64
    let hash: String?
    let path: [UInt8]
    private var hasher = BLAKE3()
    private var count: Int64 = 0
    private var pending: [UInt8] = []
    private var held: [UInt8]?
    static let chunkBytes = 1 << 16

    init(bridge: ByteBridge, size: Int64, hash: String?, path: [UInt8]) {
        self.bridge = bridge
        self.size = size
        self.hash = hash
        self.path = path
        pending.reserveCapacity(Self.chunkBytes)
    }

    func begin(_ entry: TarEntry) throws {}

    func content(_ bytes: UnsafeRawBufferPointer) throws {
        count += Int64(bytes.count)
        guard count <= size else { throw ArchiveError.corrupt("\(String(decoding: path, as: UTF8.self)) is longer than its index says") }
        hasher.update(bytes)
        pending.append(contentsOf: bytes)
        if pending.count >= Self.chunkBytes { try shift() }
    }

    func hole(_ zeros: Int64) throws {
        var left = zeros
        let block = [UInt8](repeating: 0, count: Self.chunkBytes)
        while left > 0 {
            let take = Int(min(left, Int64(block.count)))
            try block.withUnsafeBytes { try content(UnsafeRawBufferPointer(rebasing: $0[0..<take])) }
            left -= Int64(take)
        }
    }

    func end(_ entry: TarEntry) throws {
        guard count == size else { throw ArchiveError.corrupt("\(String(decoding: path, as: UTF8.self)) has \(count) bytes, its index says \(size)") }
        if let hash, hasher.finalizeHex() != hash {
            throw ArchiveError.corrupt("\(String(decoding: path, as: UTF8.self)) does not match its BLAKE3 in the index")
        }
        if let held { try bridge.push(held) }
        held = nil
        if !pending.isEmpty { try bridge.push(pending) }
        pending = []
    }

    /// The held chunk goes out; the pending one is held.
    private func shift() throws {
        if let held { try bridge.push(held) }
        held = pending
        pending = []
        pending.reserveCapacity(Self.chunkBytes)
    }
}

/// Bytes a blocking reader makes, pulled by an async consumer (a response body) with at most `limit` chunks waiting:
/// the reader blocks while the client is slow, and stops (`Canceled`) when the consumer goes.
final class ByteBridge: @unchecked Sendable {
    // @unchecked Sendable: `waiting` and `canceled` are touched only with `condition` locked; `iterator` only by the one
    // consumer, which reads in order (the handler's first read, then the response body's).
    private let condition = NSCondition()
    private var waiting = 0
    private var canceled = false
    private let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    private var iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
    static let limit = 8
    /// How long the reader waits for a client that takes nothing: then it stops as if the client had gone, so a client
    /// that holds a download open without reading frees its thread (and a remote download's slot) after this.
    static let idle: TimeInterval = 60

    struct Canceled: Error {}

    init() {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        self.continuation = continuation
        iterator = stream.makeAsyncIterator()
    }

    /// Producer: queues a chunk, waiting while `limit` are queued (at most `idle` without the client taking one).
    func push(_ bytes: [UInt8]) throws {
        condition.lock()
        let deadline = Date(timeIntervalSinceNow: Self.idle)
        while waiting >= Self.limit && !canceled {
            if !condition.wait(until: deadline) { canceled = true }
        }
        if canceled {
            condition.unlock()
            throw Canceled()
        }
        waiting += 1
        condition.unlock()
        continuation.yield(ByteBuffer(bytes: bytes))
    }

    /// Producer: throws once the consumer went (passed to the reader as its check between frames and parts).
    func check() throws {
        condition.lock()
        defer { condition.unlock() }
        if canceled { throw Canceled() }
    }

    /// Producer: the end, or the failure the consumer sees next.
    func finish(_ error: (any Error)?) {
        if let error { continuation.finish(throwing: error) } else { continuation.finish() }
    }

    /// Consumer: the next chunk; nil at the end.
    func next() async throws -> ByteBuffer? {
        let chunk = try await iterator.next()
        if chunk != nil { taken() }
        return chunk
    }

    /// One chunk fewer waiting: the producer may go on.
    private func taken() {
        condition.lock()
        waiting -= 1
        condition.signal()
        condition.unlock()
    }

    /// Consumer: it stops reading; the producer's next push or check throws.
    func cancel() {
        condition.lock()
        canceled = true
        condition.broadcast()
        condition.unlock()
    }
}

/// The response body: the chunk the handler read first, then the rest. The reader is stopped once neither the body nor
/// its iterator is held any more (the response was written, or dropped unwritten because the client went).
struct FileBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let lifetime: Lifetime
    let first: ByteBuffer?

    init(bridge: ByteBridge, first: ByteBuffer?) {
        lifetime = Lifetime(bridge: bridge)
        self.first = first
    }

    /// Cancels the bridge when the last holder lets go.
    final class Lifetime: Sendable {
        let bridge: ByteBridge

        init(bridge: ByteBridge) { self.bridge = bridge }

        deinit { bridge.cancel() }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let lifetime: Lifetime
        var first: ByteBuffer?
        var done: Bool

        mutating func next() async throws -> ByteBuffer? {
            if let chunk = first {
                first = nil
                return chunk
            }
            if done { return nil }
            let chunk = try await lifetime.bridge.next()
            if chunk == nil { done = true }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(lifetime: lifetime, first: first, done: first == nil) }
}
