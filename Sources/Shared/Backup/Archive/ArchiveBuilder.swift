import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Builds one `archive_v1` snapshot (reference/original-backup.md §2): walks the selection, streams
/// tar (pax) → zstd 3 → parts with a BLAKE3 each into the run directory, writes `entries.jsonl.zst` (one JSON line per
/// entry with the BLAKE3 of each file's content), `manifest.json`, and `complete.json` last. Synchronous: run it on a
/// thread of its own. Cancellation is checked between files, every 8 MiB inside a file and between parts.
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

        public init(jobId: String, runId: String, runDirectory: String, partSize: Int64) {
            self.jobId = jobId
            self.runId = runId
            self.runDirectory = runDirectory
            self.partSize = partSize
        }
    }

    /// A selected path and the archive path it is stored under.
    public struct Root: Sendable, Equatable {
        public var path: String
        public var archivePath: String

        public init(path: String, archivePath: String) {
            self.path = path
            self.archivePath = archivePath
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
        public var manifest: JSONValue
    }

    /// A failure the error policy says to stop on.
    public struct SourceError: Error, CustomStringConvertible {
        public var description: String
    }

    let settings: Settings
    let progress: BuildProgress
    let isCanceled: () -> Bool

    private var tar: TarWriter!
    private var entries: ZstdCompressor!
    private var entriesCount: Int64 = 0
    private var counts = BuildProgress.Counts()
    /// The first archive path of each file with more than one link (only those are remembered).
    private var hardlinks: [DeviceInode: String] = [:]
    private var visitedDirectories = Set<DeviceInode>()
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)

    public init(settings: Settings, progress: BuildProgress, isCanceled: @escaping () -> Bool) {
        self.settings = settings
        self.progress = progress
        self.isCanceled = isCanceled
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
        for root in roots { scanTree(root.path, into: &total) }
        return total
    }

    private func scanTree(_ path: String, into total: inout BuildProgress.Counts) {
        if isCanceled() { return }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        var mode = info.st_mode & S_IFMT
        if mode == S_IFLNK {
            guard settings.symlinkPolicy == "follow", stat(path, &info) == 0 else {
                if settings.symlinkPolicy == "keep" { total.files += 1 }
                return
            }
            mode = info.st_mode & S_IFMT
        }
        if mode == S_IFDIR {
            if isExcluded(path, directory: true) { return }
            total.dirs += 1
            for name in (try? Self.list(path)) ?? [] { scanTree(path == "/" ? "/" + name : path + "/" + name, into: &total) }
        } else if mode == S_IFREG, !isExcluded(path, directory: false), isIncluded(path) {
            total.files += 1
            total.bytes += Int64(info.st_size)
        }
    }

    // MARK: - Build

    public func build(_ roots: [Root]) throws -> Result {
        let directory = settings.runDirectory
        // Leftovers of an earlier attempt of this run (the worker that had it died or shut down).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasSuffix(".partial") || name == "complete.json" {
            unlink("\(directory)/\(name)")
        }
        let startedAt = Date()
        let parts = PartWriter(directory: directory, partSize: settings.partSize) { [isCanceled] in
            if isCanceled() { throw CancellationError() }
        }
        let afterCompression: any ByteSink =
            try settings.encryption.map { try AgeEncryptor(recipient: $0.recipient, next: parts) } ?? parts
        let compressor = try ZstdCompressor(level: 3, workers: settings.zstdWorkers, next: afterCompression)
        tar = TarWriter(next: compressor)
        let entriesFile = try FileSink(path: "\(directory)/entries.jsonl.zst", hashing: true)
        entries = try ZstdCompressor(level: 3, workers: 0, next: entriesFile)
        for root in roots {
            try visit(root.path, archivePath: root.archivePath)
        }
        try tar.finish()
        try entries.finish()
        let endedAt = Date()

        let formatter = ISO8601DateFormatter()
        var artifacts: [JSONValue] = parts.parts.map {
            .object(["name": .string($0.name), "size": .number(Double($0.size)), "hash_alg": "blake3", "hash": .string($0.hash)])
        }
        artifacts.append(
            .object([
                "name": "entries.jsonl.zst", "size": .number(Double(entriesFile.size)), "hash_alg": "blake3",
                "hash": .string(entriesFile.hash ?? ""),
            ])
        )
        var pipeline: [String: JSONValue] = [
            "format": "archive_v1", "tar": "pax", "compression": "zstd", "encryption": settings.encryption == nil ? "none" : "age",
            "split_bytes": .number(Double(settings.partSize)),
        ]
        if let encryption = settings.encryption { pipeline["encryption_key"] = .string(encryption.keyName) }
        let manifest: JSONValue = .object([
            "format_version": 1, "job_id": .string(settings.jobId), "run_id": .string(settings.runId),
            "started_at": .string(formatter.string(from: startedAt)), "ended_at": .string(formatter.string(from: endedAt)),
            "pipeline": .object(pipeline),
            "artifacts": .array(artifacts),
            "entry_index": .object(["name": "entries.jsonl.zst", "count": .number(Double(entriesCount))]),
        ])
        try Self.writeFile("\(directory)/manifest.json", manifest.jsonString())
        if isCanceled() { throw CancellationError() }
        // The marker that makes this snapshot restorable, written last.
        try Self.writeFile("\(directory)/complete.json", "{}")
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        return Result(
            parts: parts.parts,
            keptParts: parts.keptParts,
            entriesCount: entriesCount,
            source: counts,
            payloadBytes: parts.totalBytes,
            manifest: manifest
        )
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

    private func isExcluded(_ path: String, directory: Bool) -> Bool {
        settings.exclude.contains { $0.matches(path) || (directory && $0.matches(path + "/")) }
    }

    private func isIncluded(_ path: String) -> Bool {
        settings.include.isEmpty || settings.include.contains { $0.matches(path) }
    }

    static func list(_ path: String) throws -> [String] {
        guard let handle = opendir(path) else { throw POSIXFailure("open directory \(path)") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    private func visit(_ path: String, archivePath: String) throws {
        if isCanceled() { throw CancellationError() }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            try issue(POSIXFailure("stat \(path)").description)
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
                guard stat(path, &info) == 0 else {
                    try issue(POSIXFailure("follow symlink \(path)").description)
                    return
                }
                mode = info.st_mode & S_IFMT
            default:
                if isExcluded(path, directory: false) || archivePath.isEmpty { return }
                let target = Self.readLink(path) ?? ""
                try addLink(.symlink, archivePath, info, target: target, field: "symlink_target")
                return
            }
        }
        switch mode {
        case S_IFDIR:
            if isExcluded(path, directory: true) { return }
            // Only followed symlinks can lead back into a directory already archived (or into a loop); without them the
            // walk keeps no per-directory state, so its memory does not grow with the tree.
            if settings.symlinkPolicy == "follow" {
                guard visitedDirectories.insert(DeviceInode(device: info.st_dev, inode: info.st_ino)).inserted else {
                    progress.warning("\(path): directory already archived (symlink loop?); skipped")
                    return
                }
            }
            if !archivePath.isEmpty {
                try add(TarEntry(path: archivePath, kind: .directory, info: info), hash: nil, extra: [:])
            }
            counts.dirs += 1
            progress.add(dirs: 1)
            let names: [String]
            do {
                names = try Self.list(path)
            } catch {
                try issue("\(error)")
                return
            }
            for name in names {
                try visit(path == "/" ? "/" + name : path + "/" + name, archivePath: archivePath.isEmpty ? name : archivePath + "/" + name)
            }
        case S_IFREG:
            if isExcluded(path, directory: false) || !isIncluded(path) { return }
            let identity = DeviceInode(device: info.st_dev, inode: info.st_ino)
            if settings.hardlinkPolicy == "keep", info.st_nlink > 1, let first = hardlinks[identity] {
                try addLink(.hardlink, archivePath, info, target: first, field: "hardlink_target")
                return
            }
            try addFile(path, archivePath: archivePath, info: info, followingSymlink: followed)
            if settings.hardlinkPolicy == "keep", info.st_nlink > 1 { hardlinks[identity] = archivePath }
        default:
            progress.warning("\(path): not a regular file, directory or symlink; skipped")
        }
    }

    private func addFile(_ path: String, archivePath: String, info: stat, followingSymlink: Bool) throws {
        // A file reached through a symlink the policy follows is opened through it; anything else never follows one.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | (followingSymlink ? 0 : O_NOFOLLOW))
        guard descriptor >= 0 else {
            try issue(POSIXFailure("open \(path)").description)
            return
        }
        defer { close(descriptor) }
        let size = Int64(info.st_size)
        let entry = TarEntry(path: archivePath, kind: .file, info: info, size: size)
        try tar.begin(entry)
        var hasher = BLAKE3()
        var remaining = size
        var sinceCheck: Int64 = 0
        while remaining > 0 {
            let want = Int(min(Int64(buffer.count), remaining))
            let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, want) }
            if got < 0 {
                if errno == EINTR { continue }
                throw SourceError(description: POSIXFailure("read \(path)").description)
            }
            if got == 0 {
                // The file shrank while being read: keep the announced size (zeros) and record it.
                progress.error("\(path): shrank from \(size) bytes while being read")
                let zeros = [UInt8](repeating: 0, count: Int(min(remaining, Int64(buffer.count))))
                while remaining > 0 {
                    let count = Int(min(remaining, Int64(zeros.count)))
                    try zeros.withUnsafeBytes { try tar.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                    remaining -= Int64(count)
                }
                break
            }
            try buffer.withUnsafeBytes { raw in
                let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<got])
                hasher.update(chunk)
                try tar.write(chunk)
            }
            remaining -= Int64(got)
            sinceCheck += Int64(got)
            progress.add(bytes: Int64(got))
            if sinceCheck >= 8 << 20 {
                sinceCheck = 0
                if isCanceled() { throw CancellationError() }
            }
        }
        try tar.end(size: size)
        counts.files += 1
        counts.bytes += size
        progress.add(files: 1)
        try appendIndex(entry, hash: hasher.finalizeHex(), extra: [:])
    }

    /// A symlink or hardlink member (no content), counted as a file.
    private func addLink(_ kind: TarEntry.Kind, _ archivePath: String, _ info: stat, target: String, field: String) throws {
        try add(TarEntry(path: archivePath, kind: kind, info: info, linkTarget: target), hash: nil, extra: [field: .string(target)])
        counts.files += 1
        progress.add(files: 1)
    }

    private func add(_ entry: TarEntry, hash: String?, extra: [String: JSONValue]) throws {
        try tar.begin(entry)
        try appendIndex(entry, hash: hash, extra: extra)
    }

    private func appendIndex(_ entry: TarEntry, hash: String?, extra: [String: JSONValue]) throws {
        let kind: String
        switch entry.kind {
        case .file: kind = "file"
        case .directory: kind = "dir"
        case .symlink: kind = "symlink"
        case .hardlink: kind = "hardlink"
        }
        var line: [String: JSONValue] = [
            "path": .string(entry.path), "kind": .string(kind), "size": .number(Double(entry.size)),
            "hash_alg": hash == nil ? .null : "blake3", "hash": hash.map(JSONValue.string) ?? .null,
            "mtime": .number(Double(entry.mtime)), "mode": .number(Double(entry.mode & 0o7777)),
        ]
        for (key, value) in extra { line[key] = value }
        try entries.write(Array((JSONValue.object(line).jsonString() + "\n").utf8))
        entriesCount += 1
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A file's identity on this machine.
struct DeviceInode: Hashable {
    var device: dev_t
    var inode: ino_t
}

extension TarEntry {
    /// A member with the mode, owner and mtime of `info` (an `lstat`/`stat` result).
    init(path: String, kind: Kind, info: stat, size: Int64 = 0, linkTarget: String? = nil) {
        self.init(
            path: path,
            kind: kind,
            mode: UInt32(info.st_mode),
            uid: info.st_uid,
            gid: info.st_gid,
            mtime: Int64(info.st_mtim.tv_sec),
            size: size,
            linkTarget: linkTarget
        )
    }
}
