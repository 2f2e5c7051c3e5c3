import CFileSystem
import Core
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Builds one `archive_v1` snapshot (`docs/formats.md`): walks the selection, streams
/// tar (pax) → zstd 3 → parts with a BLAKE3 each into the run directory, writes `entries.jsonl.zst` (one JSON line per
/// entry with the BLAKE3 of each file's content), `manifest.json`, and `complete.json` last. Synchronous: run it on a
/// thread of its own, which walks; tar, hashes and the index go to a second thread (`ArchiveMemberWriter`).
/// Cancellation is checked between files, every 8 MiB inside a file and between parts.
public final class ArchiveBuilder {
    public struct Settings: Sendable {
        public var jobId: String
        public var runId: String
        public var runDirectory: String
        public var partSize: Int64
        public var include: [Glob] = []
        public var exclude: [Glob] = []
        public var symlinkPolicy = "keep"
        public var hardlinkPolicy = "copy"
        public var errorPolicy = "fail_fast"
        public var zstdWorkers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        /// age X25519 encryption of the payload: the key's name (recorded in the manifest) and its recipient.
        public var encryption: (keyName: String, recipient: String)?
        /// A remote target: `runDirectory` is staging, each finished part goes to the shipper, and `complete.json` is
        /// not written here (the uploader writes it on the target, last).
        public var shipper: (any PartShipper)?
        /// A job with `pipeline.incremental`: directories carry GNU tar's dumpdir, and files unchanged since the previous
        /// snapshot are index lines pointing to the snapshot that holds them (docs/formats.md, "Incremental snapshots").
        public var incremental: IncrementalBase?
        /// Uncompressed bytes per independent zstd frame of the payload (docs/formats.md, "Frames"); follows the part
        /// size unless set.
        public var frameBytes: Int
        /// What files changed while read do (docs/architecture.md, "Consistency of live files"): `warn`, `fail` (the
        /// build throws `ConsistencyFailure` before the snapshot is complete when more than `consistencyFailThreshold`
        /// changed) or `ignore`. Every policy counts them in `Result.consistency`.
        public var consistencyPolicy = "warn"
        public var consistencyFailThreshold = 0
        /// Devices to record in place of others in file identities: a btrfs snapshot's device → the live subvolume's,
        /// so an incremental snapshot read from a btrfs snapshot finds the files of the previous one unchanged.
        public var deviceAliases: [UInt64: UInt64] = [:]
        /// The most bytes of a streamed input held in memory before its member is written (docs/formats.md, "Streamed
        /// members"): a tar header needs the member's size, so a stream longer than this becomes several members.
        public var streamChunkBytes = 64 << 20
        /// The manifest's `database` section, made from what the streamed inputs became (nil: none).
        public var databaseSection: (@Sendable ([StreamedResult]) -> JSONValue)?
        /// Receives every index entry as its line is written: the catalog built in the same pass (docs/architecture.md,
        /// "One pass").
        public var indexObserver: (any IndexObserver)?

        public init(jobId: String, runId: String, runDirectory: String, partSize: Int64) {
            self.jobId = jobId
            self.runId = runId
            self.runDirectory = runDirectory
            self.partSize = partSize
            frameBytes = FrameCompressor.frameBytes(forPartSize: partSize)
        }
    }

    /// A selected path and the archive path it is stored under.
    public struct Root: Sendable, Equatable {
        public var path: String
        public var archivePath: String
        /// Where the walk reads `path` when not there: the same path in a filesystem snapshot. Globs, messages and the
        /// consistency report still name `path`.
        public var readPath: String?

        public init(path: String, archivePath: String, readPath: String? = nil) {
            self.path = path
            self.archivePath = archivePath
            self.readPath = readPath
        }
    }

    /// What a finished build produced.
    public struct Result: Sendable {
        public var parts: [PartWriter.Part]
        /// Parts an earlier attempt of the run had already written with these exact bytes (kept, not rewritten).
        public var keptParts: Int
        public var entriesCount: Int64
        public var source: BuildProgress.Counts
        public var payloadBytes: Int64
        public var manifest: Manifest
        /// Files that changed while read.
        public var consistency: SourceConsistency
        /// The streamed inputs' members, in the order given.
        public var streamed: [StreamedResult] = []
        /// With `incremental`: the files compared with the previous snapshot's; nil without.
        public var changes: BackupSummary.FileChanges? = nil
    }

    /// More files changed while read than the `fail` policy allows: the snapshot is left incomplete.
    public struct ConsistencyFailure: Error, CustomStringConvertible {
        public var consistency: SourceConsistency
        public var source: BuildProgress.Counts

        public var description: String {
            "\(consistency.changedTotal) file(s) changed while read (consistency_policy fail, threshold \(consistency.failThreshold))"
        }
    }

    /// Where a test pauses the walk in the middle of a file (`BASTION_TEST_PAUSE_DIR`, docs/architecture.md,
    /// "Consistency of live files"): after the first chunk of a file named N, a FIFO `<dir>/N.pause` is opened and read
    /// to its end, so the test changes the file while it is being read, without timing. Unset in production.
    static let testPauseDirectory = ProcessInfo.processInfo.environment["BASTION_TEST_PAUSE_DIR"]

    /// The name of the directory at a btrfs subvolume's root that holds Bastion's snapshots of it; never walked.
    public static let snapshotStoreName = ".bastion-snapshots"

    /// A failure the error policy says to stop on.
    public struct SourceError: Error, CustomStringConvertible {
        public var description: String
    }

    let settings: Settings
    let progress: BuildProgress
    let isCanceled: () -> Bool

    /// The queue to the thread that writes tar, hashes and the index (`ArchiveMemberWriter`), and the items not
    /// handed over yet: they cross in batches, so the two threads meet once per batch, not once per file.
    private var members: Handoff<[ArchiveMemberWriter.Item]>!
    private var batch: [ArchiveMemberWriter.Item] = []
    private let readBuffers = ReadBuffer.Pool()
    private var batchWeight = 0
    private var counts = BuildProgress.Counts()
    /// The first archive path of each file with more than one link (only those are remembered).
    private var hardlinks: [DeviceInode: [UInt8]] = [:]
    private let owners = OwnerNames()
    private let isRoot = geteuid() == 0
    private var visitedDirectories = Set<DeviceInode>()
    /// With `rehash`: files whose content the dumpdir already found unchanged (checked once per file).
    private var rehashVerdicts: [[UInt8]: Bool] = [:]
    private var consistency: SourceConsistency
    /// What each streamed input became.
    private var streamed: [StreamedResult] = []
    /// With `incremental`: new, changed and unchanged files so far (removed is counted at the end), and how many of the
    /// previous snapshot's files the walk met.
    private var changes = BackupSummary.FileChanges()
    /// Which of the roots the walk is in: the previous snapshot's lines are merged root by root (`PriorIndex`).
    private var rootIndex = 0

    public init(settings: Settings, progress: BuildProgress, isCanceled: @escaping () -> Bool) {
        self.settings = settings
        self.progress = progress
        self.isCanceled = isCanceled
        consistency = SourceConsistency(policy: settings.consistencyPolicy, failThreshold: settings.consistencyFailThreshold)
    }

    /// The roots of a filesystem selection (the original's rules): standardized absolute paths, duplicates removed, a path
    /// under an earlier selected directory dropped with a warning; archive path = the absolute path without its
    /// leading `/`, or relative to `root` in legacy root mode.
    public static func roots(paths: [String], root: String?, progress: BuildProgress) throws -> [Root] {
        var result: [Root] = []
        let rootMode = root.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        for raw in paths {
            guard raw.hasPrefix("/") else { throw SourceError(description: "source path \(raw) is not absolute") }
            let path = URL(fileURLWithPath: raw).standardizedFileURL.path
            if result.contains(where: { $0.path == path }) { continue }
            if let parent = result.first(where: { path.hasPrefix($0.path == "/" ? "/" : $0.path + "/") }) {
                progress.warning("\(path) is inside the selected \(parent.path); skipped")
                continue
            }
            var archivePath = String(path.drop(while: { $0 == "/" }))
            if let rootMode {
                if path == rootMode {
                    archivePath = ""
                } else if path.hasPrefix(rootMode == "/" ? "/" : rootMode + "/") {
                    archivePath = String(path.dropFirst(rootMode == "/" ? 1 : rootMode.count + 1))
                }
            }
            result.append(Root(path: path, archivePath: archivePath))
        }
        return result
    }

    // MARK: - Scan

    /// Counts files, directories and bytes of the selection (for totals and ETA).
    public func scan(_ roots: [Root]) -> BuildProgress.Counts {
        var total = BuildProgress.Counts()
        for root in roots {
            guard let (parent, name) = try? Self.openParent(of: root.readPath ?? root.path) else { continue }
            defer { close(parent) }
            scanTree(parent, name, Array(root.path.utf8), into: &total)
        }
        return total
    }

    private func scanTree(_ parent: Int32, _ name: [UInt8], _ path: [UInt8], into total: inout BuildProgress.Counts) {
        if isCanceled() { return }
        var info = stat()
        guard Self.statAt(parent, name, &info, follow: false) else { return }
        var mode = info.st_mode & S_IFMT
        if mode == S_IFLNK {
            guard settings.symlinkPolicy == "follow", Self.statAt(parent, name, &info, follow: true) else {
                if settings.symlinkPolicy == "keep" { total.files += 1 }
                return
            }
            mode = info.st_mode & S_IFMT
        }
        if mode == S_IFDIR {
            if isExcluded(path, directory: true) || Self.isSnapshotStore(parent, name) { return }
            total.dirs += 1
            // O_NOATIME as the build opens it: the scan runs beside the build, and a listing that moved a directory's
            // access time would make the next attempt of the run archive another time (and rewrite every part).
            let descriptor = openSource(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, owner: info.st_uid)
            guard descriptor >= 0 else { return }
            defer { close(descriptor) }
            for child in (try? Self.list(descriptor, path, sorted: false)) ?? [] { scanTree(descriptor, child, Self.join(path, child), into: &total) }
        } else if mode == S_IFREG, !isExcluded(path, directory: false), isIncluded(path) {
            total.files += 1
            total.bytes += Int64(info.st_size)
        } else if mode != S_IFSOCK, !isExcluded(path, directory: false) {
            total.files += 1
        }
    }

    /// Runs `scan` on a thread of its own, beside the build, at a lower priority (nice 10, and out of a real-time
    /// class the process may run in): the totals arrive while packaging goes on, and are set on `progress` for the
    /// ETA if the `stage` is still current (docs/architecture.md, "One pass"). `stop` ends it early (the build is done).
    public static func scanBeside(
        _ roots: [Root],
        settings: Settings,
        progress: BuildProgress,
        stage: String,
        isCanceled: @escaping @Sendable () -> Bool
    ) -> BesideScan {
        let scan = BesideScan()
        let thread = Thread {
            bastion_lower_thread_priority(10)
            let scanner = ArchiveBuilder(settings: settings, progress: BuildProgress()) { isCanceled() || scan.isStopped }
            let total = scanner.scan(roots)
            if !scan.isStopped && !isCanceled() { progress.setTotal(total, ifStage: stage) }
            scan.finished()
        }
        thread.name = "bastion-prescan"
        thread.start()
        return scan
    }

    /// The scan beside a build: stopped when the build ends first.
    public final class BesideScan: Sendable {
        private let state = Mutex((stopped: false, done: false))
        var isStopped: Bool { state.withLock { $0.stopped } }
        public var isDone: Bool { state.withLock { $0.done } }
        public func stop() { state.withLock { $0.stopped = true } }
        func finished() { state.withLock { $0.done = true } }
    }

    // MARK: - Build

    /// Packages `roots` (walked) and then `streams` (each read to its end as it arrives; docs/formats.md, "Streamed
    /// members") into one snapshot.
    public func build(_ roots: [Root], streams: [StreamedInput] = []) throws -> Result {
        let directory = settings.runDirectory
        // Leftovers of an earlier attempt of this run (the worker that had it died or shut down).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasSuffix(".partial") || name == "complete.json" || name == Manifest.framesName {
            unlink("\(directory)/\(name)")
        }
        let startedAt = Date()
        let parts = PartWriter(directory: directory, partSize: settings.partSize, shipper: settings.shipper) { [isCanceled] in
            if isCanceled() { throw CancellationError() }
        }
        // Each frame's stored bytes hashed on their way to the parts (docs/formats.md, "Frames").
        let frameHasher = FrameHasher(ageHeaderBytes: nil, next: parts)
        let encryptor = try settings.encryption.map { try AgeEncryptor(recipient: $0.recipient, next: frameHasher) }
        if let encryptor { frameHasher.ageHeaderBytes = encryptor.header.count }
        let afterCompression: any ByteSink = encryptor ?? frameHasher
        let compressor = FrameCompressor(level: 3, frameBytes: settings.frameBytes, workers: settings.zstdWorkers, next: afterCompression)
        compressor.willWriteFrame = { frameHasher.expect(compressed: $0, end: $1) }
        let entriesFile = try FileSink(path: "\(directory)/entries.jsonl.zst", hashing: true)
        // The index names every file: encrypted to the payload's recipient, so nothing on the target names a file in
        // the clear (docs/formats.md, "The entries index").
        let indexEncryptor = try settings.encryption.map { try AgeEncryptor(recipient: $0.recipient, next: entriesFile) }
        let writer = ArchiveMemberWriter(
            tar: TarWriter(next: compressor),
            index: try ZstdCompressor(level: 3, next: indexEncryptor ?? entriesFile),
            readBuffers: readBuffers,
            observer: settings.indexObserver
        )
        // The walk and its system calls on this thread; tar, hashes and the index on another, as `tar | zstd` uses
        // two processes.
        try Handoff<[ArchiveMemberWriter.Item]>.run(
            limit: 8 << 20,
            weight: { $0.reduce(0) { $0 + $1.weight } },
            consume: { try writer.consume($0) },
            produce: { handoff in
                members = handoff
                defer { members = nil }
                try walk(roots)
                try stream(streams)
                try members.push(batch)
                batch = []
            }
        )
        if consistency.exceedsThreshold { throw ConsistencyFailure(consistency: consistency, source: counts) }
        let entriesCount = writer.entriesCount
        guard frameHasher.hashes.count == compressor.frameOffsets.count else {
            throw ArchiveError.corrupt("\(frameHasher.hashes.count) frame hashes for \(compressor.frameOffsets.count) frames")
        }
        let table = FrameTable(
            frameBytes: Int64(settings.frameBytes),
            offsets: compressor.frameOffsets,
            ageHeader: encryptor?.header,
            hashes: frameHasher.hashes
        )
        let frames = try FileSink(path: "\(directory)/\(Manifest.framesName)", hashing: true)
        try frames.write(Array(table.json.jsonString().utf8))
        try frames.finish()
        let endedAt = Date()

        let formatter = ISO8601DateFormatter()
        let manifest = Manifest(
            jobId: settings.jobId,
            runId: settings.runId,
            startedAt: formatter.string(from: startedAt),
            endedAt: formatter.string(from: endedAt),
            splitBytes: Int64(settings.partSize),
            encryptionKey: settings.encryption?.keyName,
            artifacts: parts.parts.map { Manifest.Artifact(name: $0.name, size: $0.size, hash: $0.hash) }
                + [
                    Manifest.Artifact(name: Manifest.entriesIndexName, size: entriesFile.size, hash: entriesFile.hash ?? ""),
                    Manifest.Artifact(name: Manifest.framesName, size: frames.size, hash: frames.hash ?? ""),
                ],
            entriesCount: entriesCount,
            frameBytes: Int64(settings.frameBytes),
            chain: settings.incremental.map { Manifest.Chain(level: $0.level, before: $0.chain) },
            entriesIndexEncrypted: settings.encryption != nil,
            entriesInWalkOrder: settings.incremental != nil,
            database: settings.databaseSection?(streamed)
        )
        try Self.writeFile("\(directory)/manifest.json", manifest.json.jsonString())
        if isCanceled() { throw CancellationError() }
        // The marker that makes this snapshot restorable, written last.
        if settings.shipper == nil { try Self.writeFile("\(directory)/complete.json", "{}") }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        var result = Result(
            parts: parts.parts,
            keptParts: parts.keptParts,
            entriesCount: entriesCount,
            source: counts,
            payloadBytes: parts.totalBytes,
            manifest: manifest,
            consistency: consistency,
            streamed: streamed
        )
        if let incremental = settings.incremental {
            changes.removed = incremental.prior.removed()
            if let failure = incremental.prior.failure {
                progress.warning("The previous snapshot's index could not be read past \(failure); the files after it were stored again")
            }
            result.changes = changes
        }
        return result
    }

    // MARK: - Streamed members

    /// Writes each streamed input as it arrives: at most `streamChunkBytes` are held, then written as one member with
    /// its exact size; a stream that ends inside its first chunk is one member named `archivePath`, a longer one is
    /// `archivePath.000001`, `.000002`, ... each a full chunk except the last (docs/formats.md, "Streamed members").
    /// The members' directories come first, once each.
    private func stream(_ inputs: [StreamedInput]) throws {
        guard !inputs.isEmpty else { return }
        let now = FileTime(seconds: Int64(Date().timeIntervalSince1970), nanoseconds: 0)
        var directories: [String] = []
        for input in inputs {
            var parent = input.archivePath.split(separator: "/", omittingEmptySubsequences: true).dropLast()
            var chain: [String] = []
            while !parent.isEmpty {
                chain.insert(parent.joined(separator: "/"), at: 0)
                parent = parent.dropLast()
            }
            for directory in chain where !directories.contains(directory) {
                directories.append(directory)
                try emit(.member(streamedEntry(directory, .directory, mode: 0o700, now)))
                counts.dirs += 1
            }
        }
        for input in inputs {
            if isCanceled() { throw CancellationError() }
            let source = try input.open()
            var members: [String] = []
            var size: Int64 = 0
            while true {
                let (buffers, bytes, ended) = try fillChunk(source)
                if bytes == 0 && !members.isEmpty { break }
                let name = ended && members.isEmpty ? input.archivePath : input.archivePath + "." + Self.chunkSuffix(members.count + 1)
                var entry = streamedEntry(name, .file, mode: 0o600, now)
                entry.size = Int64(bytes)
                try emit(.file(entry))
                for (buffer, count) in buffers { try emit(.buffer(buffer, count: count)) }
                try emit(.end)
                members.append(name)
                size += Int64(bytes)
                counts.files += 1
                counts.bytes += Int64(bytes)
                progress.add(files: 1)
                if ended { break }
            }
            try source.finish()
            streamed.append(StreamedResult(archivePath: input.archivePath, members: members, size: size))
        }
    }

    /// `000001` for 1: six digits, more past 999999.
    static func chunkSuffix(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Reads up to one chunk of `source` into pooled buffers; whether the stream ended.
    private func fillChunk(_ source: any StreamedSource) throws -> (buffers: [(ReadBuffer, Int)], bytes: Int, ended: Bool) {
        var buffers: [(ReadBuffer, Int)] = []
        var bytes = 0
        let limit = max(1, settings.streamChunkBytes)
        do {
            while bytes < limit {
                if isCanceled() { throw CancellationError() }
                let buffer = readBuffers.take()
                var count = 0
                let want = min(buffer.bytes.count, limit - bytes)
                var ended = false
                while count < want {
                    let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[count..<want]))
                    if got == 0 {
                        ended = true
                        break
                    }
                    count += got
                }
                if count > 0 { buffers.append((buffer, count)) } else { readBuffers.give(buffer) }
                bytes += count
                progress.add(bytes: Int64(count))
                if ended { return (buffers, bytes, true) }
            }
        } catch {
            for (buffer, _) in buffers { readBuffers.give(buffer) }
            throw error
        }
        return (buffers, bytes, false)
    }

    private func streamedEntry(_ path: String, _ kind: TarEntry.Kind, mode: UInt32, _ time: FileTime) -> TarEntry {
        let (user, group) = (geteuid(), getegid())
        var entry = TarEntry(path: Array(path.utf8), kind: kind, mode: mode, uid: user, gid: group, mtime: time)
        entry.userName = owners.user(user)
        entry.groupName = owners.group(group)
        return entry
    }

    /// Queues an item for the writer thread.
    private func emit(_ item: ArchiveMemberWriter.Item) throws {
        batch.append(item)
        batchWeight += item.weight
        if batchWeight >= 1 << 20 || batch.count >= 1024 {
            try members.push(batch)
            batch = []
            batch.reserveCapacity(1024)
            batchWeight = 0
        }
    }

    private func walk(_ roots: [Root]) throws {
        settings.incremental?.prior.begin(roots: roots.map { Array($0.archivePath.utf8) })
        for (index, root) in roots.enumerated() {
            rootIndex = index
            let parent: Int32
            let name: [UInt8]
            do {
                (parent, name) = try Self.openParent(of: root.readPath ?? root.path)
            } catch {
                try issue("\(error)")
                continue
            }
            defer { close(parent) }
            try visit(parent, name, path: SourcePath(whole: Array(root.path.utf8)), archivePath: Array(root.archivePath.utf8))
        }
    }

    static func writeFile(_ path: String, _ text: String) throws {
        let sink = try FileSink(path: path)
        try sink.write(Array(text.utf8))
        try sink.finish()
    }

    private func issue(_ message: String) throws {
        switch settings.errorPolicy {
        case "fail_fast": throw SourceError(description: message)
        default: progress.error(message)
        }
    }

    private func isExcluded(_ path: [UInt8], directory: Bool) -> Bool {
        guard !settings.exclude.isEmpty else { return false }
        let text = String(decoding: path, as: UTF8.self)
        return settings.exclude.contains { $0.matches(text) || (directory && $0.matches(text + "/")) }
    }

    private func isIncluded(_ path: [UInt8]) -> Bool {
        guard !settings.include.isEmpty else { return true }
        let text = String(decoding: path, as: UTF8.self)
        return settings.include.contains { $0.matches(text) }
    }

    static func display(_ path: [UInt8]) -> String { String(decoding: path, as: UTF8.self) }
    static func display(_ path: SourcePath) -> String { String(decoding: path.bytes, as: UTF8.self) }

    /// A source path as its directory's path and its name, joined only when something needs it (globs, messages):
    /// most files never do, and the walk saves an allocation per file.
    struct SourcePath {
        var parent: [UInt8]
        var name: [UInt8]?

        init(parent: [UInt8], name: [UInt8]) {
            self.parent = parent
            self.name = name
        }

        init(whole: [UInt8]) {
            parent = whole
            name = nil
        }

        var bytes: [UInt8] { name.map { ArchiveBuilder.join(parent, $0) } ?? parent }
    }

    private func isExcluded(_ path: SourcePath, directory: Bool) -> Bool {
        settings.exclude.isEmpty ? false : isExcluded(path.bytes, directory: directory)
    }

    private func isIncluded(_ path: SourcePath) -> Bool {
        settings.include.isEmpty ? true : isIncluded(path.bytes)
    }

    static func join(_ path: [UInt8], _ name: [UInt8]) -> [UInt8] {
        if path.isEmpty { return name }
        if path == [UInt8(ascii: "/")] { return path + name }
        var joined = path
        joined.reserveCapacity(path.count + 1 + name.count)
        joined.append(UInt8(ascii: "/"))
        joined.append(contentsOf: name)
        return joined
    }

    /// The directory holding a selected path, opened, and the path's last component (`.` for `/`): every later call
    /// is relative to an open directory, so no path the walk passes to the kernel is longer than one name.
    static func openParent(of path: String) throws -> (Int32, [UInt8]) {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { throw SourceError(description: "\(path) is not absolute") }
        let parent = slash == 0 ? "/" : String(decoding: bytes[..<slash], as: UTF8.self)
        var name = Array(bytes[(slash + 1)...])
        if name.isEmpty { name = [UInt8(ascii: ".")] }
        let descriptor = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SourceError(description: POSIXFailure("open \(parent)").description) }
        return (descriptor, name)
    }

    static func statAt(_ directory: Int32, _ name: [UInt8], _ info: inout stat, follow: Bool) -> Bool {
        name.withCString { fstatat(directory, $0, &info, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 }
    }

    static func openAt(_ directory: Int32, _ name: [UInt8], _ flags: Int32) -> Int32 {
        name.withCString { openat(directory, $0, flags) }
    }

    /// A directory's names as bytes, sorted bytewise unless only counted (`.` and `..` left out).
    static func list(_ descriptor: Int32, _ path: [UInt8], sorted: Bool = true) throws -> [[UInt8]] {
        let copy = dup(descriptor)
        guard copy >= 0, let handle = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw POSIXFailure("list \(display(path))")
        }
        defer { closedir(handle) }
        var names: [[UInt8]] = []
        errno = 0
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(strnlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)))
            }
            if name != [UInt8(ascii: ".")] && name != [UInt8(ascii: "."), UInt8(ascii: ".")] { names.append(name) }
        }
        if errno != 0 { throw POSIXFailure("list \(display(path))") }
        if sorted { names.sort { $0.lexicographicallyPrecedes($1) } }
        return names
    }

    /// `known`: the `lstat` the parent's dumpdir took; `prior`: the previous snapshot's record of this file, when the
    /// dumpdir asked for it already (each path is asked once, in walk order).
    private func visit(
        _ parent: Int32,
        _ name: [UInt8],
        path: SourcePath,
        archivePath: [UInt8],
        known: stat? = nil,
        prior asked: PriorEntry?? = nil
    ) throws {
        if isCanceled() { throw CancellationError() }
        var info = known ?? stat()
        guard known != nil || Self.statAt(parent, name, &info, follow: false) else {
            try issue(POSIXFailure("stat \(Self.display(path))").description)
            return
        }
        var mode = info.st_mode & S_IFMT
        var followed = false
        if mode == S_IFLNK {
            switch settings.symlinkPolicy {
            case "skip":
                return
            case "follow":
                followed = true
                guard Self.statAt(parent, name, &info, follow: true) else {
                    try issue(POSIXFailure("follow symlink \(Self.display(path))").description)
                    return
                }
                mode = info.st_mode & S_IFMT
            default:
                if isExcluded(path, directory: false) || archivePath.isEmpty { return }
                var entry = entry(archivePath, .symlink, info)
                // Reading a link moves its access time, and nothing can stop that: a symlink's atime is not archived.
                entry.atime = nil
                entry.linkTarget = Self.readLink(parent, name) ?? []
                entry.xattrs = attributes(parent, name, path)
                try add(entry)
                return
            }
        }
        switch mode {
        case S_IFDIR:
            if isExcluded(path, directory: true) || Self.isSnapshotStore(parent, name) { return }
            // Only followed symlinks can lead back into a directory already archived (or into a loop); without them the
            // walk keeps no per-directory state, so its memory does not grow with the tree.
            if settings.symlinkPolicy == "follow" {
                guard visitedDirectories.insert(DeviceInode(device: info.st_dev, inode: info.st_ino)).inserted else {
                    progress.warning("\(Self.display(path)): directory already archived (symlink loop?); skipped")
                    return
                }
            }
            let descriptor = openSource(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (followed ? 0 : O_NOFOLLOW), owner: info.st_uid)
            guard descriptor >= 0 else {
                try issue(POSIXFailure("open directory \(Self.display(path))").description)
                return
            }
            defer { close(descriptor) }
            var directoryEntry = entry(archivePath, .directory, info)
            directoryEntry.xattrs = attributes(descriptor, path)
            let names: [[UInt8]]
            do {
                names = try Self.list(descriptor, path.bytes)
            } catch {
                if !archivePath.isEmpty { try add(directoryEntry) }
                try issue("\(error)")
                return
            }
            let directoryPath = path.bytes
            // An incremental snapshot's directory lists what it holds (the dumpdir), so the children are looked at
            // first; each is then visited with the `lstat` taken here.
            // It also visits them in walk order (docs/formats.md, "Walk order"): what is not a directory first, then
            // the directories, so the previous snapshot's files of this directory are asked for together, in order.
            var known: [stat?] = []
            var priors: [PriorEntry?] = []
            var order = Array(names.indices)
            if settings.incremental != nil {
                var dumpdir: [UInt8] = []
                var directories: [Int] = []
                order = []
                priors = Array(repeating: nil, count: names.count)
                for (index, child) in names.enumerated() {
                    var childInfo = stat()
                    let found = Self.statAt(descriptor, child, &childInfo, follow: false)
                    known.append(found ? childInfo : nil)
                    let childPath = SourcePath(parent: directoryPath, name: child)
                    let code =
                        found ? dumpdirCode(descriptor, child, childPath, Self.join(archivePath, child), childInfo, prior: &priors[index]) : nil
                    if let code {
                        dumpdir.append(code)
                        dumpdir += child
                        dumpdir.append(0)
                    }
                    if code == UInt8(ascii: "D") { directories.append(index) } else { order.append(index) }
                }
                order += directories
                dumpdir.append(0)
                directoryEntry.dumpdir = dumpdir
            }
            if !archivePath.isEmpty { try add(directoryEntry) }
            counts.dirs += 1
            progress.add(dirs: 1)
            for index in order {
                let child = names[index]
                try visit(
                    descriptor,
                    child,
                    path: SourcePath(parent: directoryPath, name: child),
                    archivePath: Self.join(archivePath, child),
                    known: known.isEmpty ? nil : known[index],
                    prior: priors.isEmpty ? nil : .some(priors[index])
                )
            }
        case S_IFREG:
            if isExcluded(path, directory: false) || !isIncluded(path) { return }
            let identity = DeviceInode(device: info.st_dev, inode: info.st_ino)
            if settings.hardlinkPolicy == "keep", info.st_nlink > 1, let first = hardlinks[identity] {
                var entry = entry(archivePath, .hardlink, info)
                entry.linkTarget = first
                try add(entry)
                return
            }
            let previous = asked ?? priorFile(archivePath)
            let known = previous != nil
            if let prior = try unchanged(parent, name, archivePath: archivePath, info: info, followingSymlink: followed, prior: previous) {
                changes.unchanged += 1
                var entry = entry(archivePath, .file, info)
                entry.size = prior.size
                entry.identity = self.identity(info)
                entry.xattrs = followed ? [] : attributes(parent, name, path)
                if prior.sparse { entry.sparse = [] }
                try emit(.reference(entry, prior))
                counts.files += 1
                counts.bytes += prior.size
                progress.add(files: 1)
                progress.add(bytes: prior.size)
            } else {
                if known { changes.changed += 1 } else { changes.new += 1 }
                try addFile(parent, name, path: path, archivePath: archivePath, info: info, followingSymlink: followed)
            }
            if settings.hardlinkPolicy == "keep", info.st_nlink > 1 { hardlinks[identity] = archivePath }
        case S_IFIFO, S_IFCHR, S_IFBLK:
            if isExcluded(path, directory: false) || archivePath.isEmpty { return }
            var entry = entry(archivePath, mode == S_IFIFO ? .fifo : mode == S_IFCHR ? .characterDevice : .blockDevice, info)
            if mode != S_IFIFO {
                entry.deviceMajor = bastion_major(UInt64(info.st_rdev))
                entry.deviceMinor = bastion_minor(UInt64(info.st_rdev))
            }
            entry.xattrs = attributes(parent, name, path)
            try add(entry)
        default:
            // Sockets are recreated by the programs that own them; GNU tar skips them too.
            progress.warning("\(Self.display(path)): a socket; skipped")
        }
    }

    static func identity(_ info: stat) -> FileIdentity {
        FileIdentity(inode: UInt64(info.st_ino), device: UInt64(info.st_dev), ctime: FileTime(info.st_ctim))
    }

    /// A file's identity as recorded: a btrfs snapshot's device is recorded as the live subvolume's.
    private func identity(_ info: stat) -> FileIdentity {
        var identity = Self.identity(info)
        if let alias = settings.deviceAliases[identity.device] { identity.device = alias }
        return identity
    }

    /// `.bastion-snapshots` at the root of a btrfs subvolume (its root directory is inode 256 there): where Bastion's
    /// snapshots of the subvolume are, never part of a backup.
    static func isSnapshotStore(_ parent: Int32, _ name: [UInt8]) -> Bool {
        guard name.elementsEqual(snapshotStoreName.utf8) else { return false }
        var info = stat()
        return fstat(parent, &info) == 0 && info.st_ino == 256 && bastion_fd_on_btrfs(parent) == 1
    }

    /// The previous snapshot's record of a regular file when the file has not changed since (size, mtime, ctime,
    /// inode and device; with `rehash`, also the same content), else nil: it goes into this snapshot. A metadata change
    /// (mode, owner, attributes) moves the ctime, so the file is stored again with its new header.
    private func unchanged(
        _ parent: Int32,
        _ name: [UInt8],
        archivePath: [UInt8],
        info: stat,
        followingSymlink: Bool,
        prior: PriorEntry?
    ) throws -> PriorEntry? {
        guard let incremental = settings.incremental, let prior,
            prior.isUnchanged(size: Int64(info.st_size), mtime: FileTime(info.st_mtim), identity: identity(info))
        else { return nil }
        guard incremental.rehash else { return prior }
        // The dumpdir asked first, for the same file.
        if let verdict = rehashVerdicts.removeValue(forKey: archivePath) { return verdict ? prior : nil }
        let descriptor = openSource(parent, name, O_RDONLY | O_CLOEXEC | (followingSymlink ? 0 : O_NOFOLLOW), owner: info.st_uid)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var hasher = BLAKE3()
        let buffer = readBuffers.take()
        defer { readBuffers.give(buffer) }
        var position: off_t = 0
        while true {
            let got = pread(descriptor, buffer.bytes.baseAddress, buffer.bytes.count, position)
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { return nil }
            if got == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<got]))
            position += off_t(got)
            if isCanceled() { throw CancellationError() }
        }
        return Int64(position) == prior.size && hasher.finalizeHex() == prior.hash ? prior : nil
    }

    /// The previous snapshot's record of the regular file at `archivePath` (asked in walk order), or nil.
    private func priorFile(_ archivePath: [UInt8]) -> PriorEntry? {
        settings.incremental?.prior.file(at: archivePath, root: rootIndex)
    }

    /// A name's letter in its directory's dumpdir (`Y` in this archive, `N` unchanged, `D` a directory), or nil when
    /// the walk leaves it out; the same decisions `visit` takes. A regular file's previous record is asked for here
    /// and kept in `prior` for the visit.
    private func dumpdirCode(
        _ parent: Int32,
        _ name: [UInt8],
        _ path: SourcePath,
        _ archivePath: [UInt8],
        _ info: stat,
        prior: inout PriorEntry?
    ) -> UInt8? {
        var info = info
        var mode = info.st_mode & S_IFMT
        if mode == S_IFLNK {
            switch settings.symlinkPolicy {
            case "skip": return nil
            case "follow":
                guard Self.statAt(parent, name, &info, follow: true) else { return nil }
                mode = info.st_mode & S_IFMT
            default: return isExcluded(path, directory: false) ? nil : UInt8(ascii: "Y")
            }
        }
        switch mode {
        case S_IFDIR:
            return isExcluded(path, directory: true) || Self.isSnapshotStore(parent, name) ? nil : UInt8(ascii: "D")
        case S_IFREG:
            if isExcluded(path, directory: false) || !isIncluded(path) { return nil }
            prior = priorFile(archivePath)
            let found = (try? unchanged(parent, name, archivePath: archivePath, info: info, followingSymlink: false, prior: prior)) ?? nil
            if settings.incremental?.rehash == true, prior != nil { rehashVerdicts[archivePath] = found != nil }
            return found == nil ? UInt8(ascii: "Y") : UInt8(ascii: "N")
        case S_IFIFO, S_IFCHR, S_IFBLK:
            return isExcluded(path, directory: false) ? nil : UInt8(ascii: "Y")
        default:
            return nil
        }
    }

    /// The tar member for `info` (an `lstat`/`stat` result): mode, owner ids and names, times to the nanosecond.
    private func entry(_ archivePath: [UInt8], _ kind: TarEntry.Kind, _ info: stat) -> TarEntry {
        var entry = TarEntry(
            path: archivePath,
            kind: kind,
            mode: UInt32(info.st_mode) & 0o7777,
            uid: info.st_uid,
            gid: info.st_gid,
            mtime: FileTime(info.st_mtim)
        )
        entry.atime = FileTime(info.st_atim)
        entry.userName = owners.user(info.st_uid)
        entry.groupName = owners.group(info.st_gid)
        owners.remember(info.st_uid, entry.userName, info.st_gid, entry.groupName)
        return entry
    }

    /// Opens a source file or directory with O_NOATIME where allowed (its owner, or root), so neither reading a file
    /// nor listing a directory moves its access time: the archive records the times as they were, and a second
    /// attempt of the run finds the same bytes to resume.
    private func openSource(_ parent: Int32, _ name: [UInt8], _ flags: Int32, owner: uid_t) -> Int32 {
        if isRoot || owner == geteuid() {
            let descriptor = Self.openAt(parent, name, flags | bastion_o_noatime())
            if descriptor >= 0 || errno != EPERM { return descriptor }
        }
        return Self.openAt(parent, name, flags)
    }

    private func addFile(_ parent: Int32, _ name: [UInt8], path: SourcePath, archivePath: [UInt8], info: stat, followingSymlink: Bool) throws {
        // A file reached through a symlink the policy follows is opened through it; anything else never follows one.
        let descriptor = openSource(parent, name, O_RDONLY | O_CLOEXEC | (followingSymlink ? 0 : O_NOFOLLOW), owner: info.st_uid)
        guard descriptor >= 0 else {
            try issue(POSIXFailure("open \(Self.display(path))").description)
            return
        }
        defer { close(descriptor) }
        let size = Int64(info.st_size)
        var entry = entry(archivePath, .file, info)
        entry.size = size
        entry.identity = identity(info)
        entry.xattrs = attributes(descriptor, path)
        // Holes are asked of the kernel only when fewer blocks are allocated than the size needs.
        if Int64(info.st_blocks) * 512 < size { entry.sparse = Self.dataSegments(descriptor, size: size) }
        try emit(.file(entry))
        var position: Int64 = 0
        var shrank = false
        for segment in entry.sparse ?? [TarEntry.Segment(offset: 0, length: size)] {
            if segment.offset > position {
                try emit(.hole(segment.offset - position))
                position = segment.offset
            }
            if try copy(descriptor, from: segment.offset, length: segment.length, path: path) { shrank = true }
            position += segment.length
        }
        if position < size { try emit(.hole(size - position)) }
        try emit(.end)
        if let reason = changeWhileRead(descriptor, parent, name, before: info, shrank: shrank, followingSymlink: followingSymlink) {
            consistency.record(Self.display(path), reason)
        }
        counts.files += 1
        counts.bytes += size
        progress.add(files: 1)
    }

    /// Whether the file read from `descriptor` changed between the `lstat` before reading (`before`) and now: the open
    /// file's `fstat` after the last read (size, mtime and ctime to the nanosecond, inode), then the name again (gone,
    /// or another inode). Nil when it did not.
    private func changeWhileRead(
        _ descriptor: Int32,
        _ parent: Int32,
        _ name: [UInt8],
        before: stat,
        shrank: Bool,
        followingSymlink: Bool
    ) -> SourceConsistency.Reason? {
        var after = stat()
        guard fstat(descriptor, &after) == 0 else { return nil }
        var now = stat()
        if !Self.statAt(parent, name, &now, follow: followingSymlink) {
            if errno == ENOENT { return .deleted }
        } else if now.st_ino != after.st_ino || now.st_dev != after.st_dev {
            return .replaced
        }
        if after.st_ino != before.st_ino || after.st_dev != before.st_dev { return .replaced }
        if shrank || after.st_size != before.st_size { return .size }
        if FileTime(after.st_mtim) != FileTime(before.st_mtim) { return .mtime }
        if FileTime(after.st_ctim) != FileTime(before.st_ctim) { return .ctime }
        return nil
    }

    /// The test seam of `testPauseDirectory`: waits for the test to open and close `<dir>/<name>.pause`.
    private static func pauseForTest(_ path: SourcePath) {
        guard let directory = testPauseDirectory, let name = path.bytes.split(separator: UInt8(ascii: "/")).last else { return }
        let fifo = directory + "/" + String(decoding: name, as: UTF8.self) + ".pause"
        var info = stat()
        guard lstat(fifo, &info) == 0, info.st_mode & S_IFMT == S_IFIFO else { return }
        let descriptor = open(fifo, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        var byte: UInt8 = 0
        while read(descriptor, &byte, 1) > 0 {}
        close(descriptor)
    }

    /// Reads `length` bytes at `offset` of the open file for the writer, at most 1 MiB at a time. A file that shrank
    /// while being read keeps the announced size (zeros, so the tar member stays whole), and true is returned: the
    /// consistency report counts it; a file that grew is stored with the size stat'ed before reading.
    private func copy(_ descriptor: Int32, from offset: Int64, length: Int64, path: SourcePath) throws -> Bool {
        var remaining = length
        var position = offset
        var sinceCheck: Int64 = 0
        while remaining > 0 {
            let want = Int(min(Int64(ReadBuffer.size), remaining))
            var failure: Int32 = 0
            func fill(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
                var count = 0
                while count < want {
                    let got = pread(descriptor, buffer.baseAddress! + count, want - count, off_t(position) + off_t(count))
                    if got < 0 && errno == EINTR { continue }
                    if got < 0 { failure = errno }
                    if got <= 0 { break }
                    count += got
                }
                return count
            }
            // Small reads get an array of their own; large ones a pooled buffer the writer gives back.
            let count: Int
            if want >= 64 << 10 {
                let buffer = readBuffers.take()
                count = fill(buffer.bytes)
                if count > 0 { try emit(.buffer(buffer, count: count)) } else { readBuffers.give(buffer) }
            } else {
                let chunk = [UInt8](unsafeUninitializedCapacity: want) { $1 = fill(UnsafeMutableRawBufferPointer($0)) }
                count = chunk.count
                if count > 0 { try emit(.data(chunk)) }
            }
            if failure != 0 { throw SourceError(description: POSIXFailure("read \(Self.display(path))", code: failure).description) }
            if count == 0 {
                try Self.zeroChunkBytes(remaining) { try emit(.data([UInt8]($0))) }
                return true
            }
            if position == 0, Self.testPauseDirectory != nil { Self.pauseForTest(path) }
            remaining -= Int64(count)
            position += Int64(count)
            sinceCheck += Int64(count)
            progress.add(bytes: Int64(count))
            if sinceCheck >= 8 << 20 {
                sinceCheck = 0
                if isCanceled() { throw CancellationError() }
            }
        }
        return false
    }

    private static let zeroChunk = [UInt8](repeating: 0, count: 1 << 20)

    static func hashZeros(_ count: Int64, into hasher: inout BLAKE3) {
        zeroChunkBytes(count) { hasher.update($0) }
    }

    /// Calls `body` with `count` zero bytes, at most 1 MiB at a time.
    public static func zeroChunkBytes(_ count: Int64, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var remaining = count
        try zeroChunk.withUnsafeBytes { zeros in
            while remaining > 0 {
                let take = Int(min(remaining, Int64(zeros.count)))
                try body(UnsafeRawBufferPointer(rebasing: zeros[0..<take]))
                remaining -= Int64(take)
            }
        }
    }

    /// The data runs of a file as the kernel reports them (`SEEK_DATA`/`SEEK_HOLE`), ending with a zero-length run at
    /// the size when the file ends in a hole (as GNU tar writes it); nil when the file has no hole.
    static func dataSegments(_ descriptor: Int32, size: Int64) -> [TarEntry.Segment]? {
        var segments: [TarEntry.Segment] = []
        var position: Int64 = 0
        while position < size {
            let data = lseek(descriptor, off_t(position), bastion_seek_data())
            if data < 0 {
                guard errno == ENXIO else { return nil }  // no SEEK_DATA here: store it whole
                break
            }
            let hole = lseek(descriptor, off_t(data), bastion_seek_hole())
            guard hole > data else { return nil }
            segments.append(.init(offset: Int64(data), length: min(Int64(hole), size) - Int64(data)))
            position = Int64(hole)
        }
        if segments.count == 1, segments[0].offset == 0, segments[0].length == size { return nil }
        if segments.last.map({ $0.offset + $0.length }) != size { segments.append(.init(offset: size, length: 0)) }
        return segments
    }

    /// Extended attributes of an open file or directory, sorted by name.
    private func attributes(_ descriptor: Int32, _ path: SourcePath) -> [TarEntry.ExtendedAttribute] {
        readAttributes(path, list: { bastion_flistxattr(descriptor, $0, $1) }, get: { bastion_fgetxattr(descriptor, $0, $1, $2) })
    }

    /// Extended attributes of a name in an open directory that cannot be opened (symlinks, FIFOs, devices), read
    /// through `/proc/self/fd`, so the path stays short however deep the entry is.
    private func attributes(_ parent: Int32, _ name: [UInt8], _ path: SourcePath) -> [TarEntry.ExtendedAttribute] {
        let proc = Array("/proc/self/fd/\(parent)/".utf8) + name
        return proc.withCString { procPath in
            readAttributes(path, list: { bastion_llistxattr(procPath, $0, $1) }, get: { bastion_lgetxattr(procPath, $0, $1, $2) })
        }
    }

    private func readAttributes(
        _ path: SourcePath,
        list: (UnsafeMutablePointer<CChar>?, Int) -> Int,
        get: (UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    ) -> [TarEntry.ExtendedAttribute] {
        let length = list(nil, 0)
        if length == 0 { return [] }
        guard length > 0 else {
            if errno != ENOTSUP && errno != ENOENT { progress.warning(POSIXFailure("list extended attributes of \(Self.display(path))").description) }
            return []
        }
        var names = [CChar](repeating: 0, count: length + 1)
        let got = list(&names, length)
        guard got >= 0 else { return [] }
        var result: [TarEntry.ExtendedAttribute] = []
        for rawName in names[0..<got].split(separator: 0) {
            let name = rawName.map { UInt8(bitPattern: $0) }
            let value: [UInt8]? = (rawName + [0]).withUnsafeBufferPointer { cName in
                let size = get(cName.baseAddress!, nil, 0)
                guard size >= 0 else { return nil }
                var bytes = [UInt8](repeating: 0, count: size)
                let read = bytes.withUnsafeMutableBytes { get(cName.baseAddress!, $0.baseAddress, size) }
                guard read >= 0 else { return nil }
                return Array(bytes[0..<read])
            }
            if let value {
                result.append(.init(name: name, value: value))
            } else {
                progress.warning(
                    POSIXFailure("read extended attribute \(String(decoding: name, as: UTF8.self)) of \(Self.display(path))").description
                )
            }
        }
        return result.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    /// A member without content (directory, link, special file); links and special files count as files.
    private func add(_ entry: TarEntry) throws {
        try emit(.member(entry))
        if entry.kind != .directory {
            counts.files += 1
            progress.add(files: 1)
        }
    }

    /// A symlink's target as bytes.
    static func readLink(_ directory: Int32, _ name: [UInt8]) -> [UInt8]? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = name.withCString { readlinkat(directory, $0, &buffer, buffer.count - 1) }
        guard count >= 0 else { return nil }
        return buffer[0..<count].map { UInt8(bitPattern: $0) }
    }
}

/// A file's identity on this machine.
struct DeviceInode: Hashable {
    var device: dev_t
    var inode: ino_t
}

/// User and group names by id, looked up once per id.
final class OwnerNames {
    private var users: [uid_t: [UInt8]] = [:]
    private var groups: [gid_t: [UInt8]] = [:]

    private var last: (user: uid_t, userName: [UInt8], group: gid_t, groupName: [UInt8])?

    /// The owner of the last entry: most entries share it, and this skips two dictionary lookups.
    func remember(_ user: uid_t, _ userName: [UInt8], _ group: gid_t, _ groupName: [UInt8]) {
        last = (user, userName, group, groupName)
    }

    func user(_ id: uid_t) -> [UInt8] {
        if let last, last.user == id { return last.userName }
        if let name = users[id] { return name }
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        let name: [UInt8] =
            getpwuid_r(id, &record, &buffer, buffer.count, &result) == 0 && result != nil
            ? Array(UnsafeRawBufferPointer(start: record.pw_name, count: strlen(record.pw_name))) : []
        users[id] = name
        return name
    }

    func group(_ id: gid_t) -> [UInt8] {
        if let last, last.group == id { return last.groupName }
        if let name = groups[id] { return name }
        var record = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        let name: [UInt8] =
            getgrgid_r(id, &record, &buffer, buffer.count, &result) == 0 && result != nil
            ? Array(UnsafeRawBufferPointer(start: record.gr_name, count: strlen(record.gr_name))) : []
        groups[id] = name
        return name
    }
}
