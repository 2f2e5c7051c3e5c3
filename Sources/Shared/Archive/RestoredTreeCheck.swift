import Core
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A restore drill's comparison (docs/architecture.md, "Restore drills"): every entry of a snapshot's index against
/// what a test restore wrote under `root`, read back from the disk: kind, size, mode, mtime (files, directories, FIFOs)
/// and a file's content hash (BLAKE3 of the bytes read back). Every call is relative to the open root and never follows
/// a symlink. Devices are compared only as root (a restore makes them only then); a path longer than the system takes
/// relative to the root is counted as not compared.
public struct RestoredTreeCheck {
    public struct Outcome: Sendable, Equatable {
        public var entries: Int64 = 0
        public var files: Int64 = 0
        public var bytes: Int64 = 0
        /// Entries whose place could not be checked (devices when not root, over-long paths).
        public var notCompared: Int64 = 0
        public var mismatches: Int64 = 0
        /// The first 20 differences, `path: what`.
        public var samples: [String] = []
    }

    public static let maxSamples = 20

    /// Compares every entry of the index at `entriesIndex` (decrypted with `identity`, at most `maxEntries`) with the
    /// tree under `root`.
    public static func compare(
        root: String,
        entriesIndex: String,
        identity: String?,
        maxEntries: Int64?,
        isCanceled: () -> Bool
    ) throws -> Outcome {
        let rootDescriptor = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard rootDescriptor >= 0 else { throw POSIXFailure("open \(root)") }
        defer { close(rootDescriptor) }
        let reader = try EntriesIndexReader(path: entriesIndex, identity: identity, maxEntries: maxEntries)
        var outcome = Outcome()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let isRoot = geteuid() == 0
        while let entry = try reader.next() {
            if isCanceled() { throw CancellationError() }
            outcome.entries += 1
            guard let path = IndexJSON.bytes(entry, "path"), !path.isEmpty else {
                outcome.mismatches += 1
                note(&outcome, "(entry \(outcome.entries)): no path")
                continue
            }
            let name = String(decoding: path, as: UTF8.self)
            let kind = entry["kind"]?.stringValue ?? ""
            var info = stat()
            let found = path.withCString { fstatat(rootDescriptor, $0, &info, AT_SYMLINK_NOFOLLOW) } == 0
            if !found {
                if errno == ENAMETOOLONG || ((kind == "char" || kind == "block") && !isRoot) {
                    outcome.notCompared += 1
                } else {
                    outcome.mismatches += 1
                    note(&outcome, "\(name): not restored (\(String(cString: strerror(errno))))")
                }
                continue
            }
            var differences: [String] = []
            let expectedType: mode_t
            switch kind {
            case "file", "hardlink": expectedType = S_IFREG
            case "dir": expectedType = S_IFDIR
            case "symlink": expectedType = S_IFLNK
            case "fifo": expectedType = S_IFIFO
            case "char": expectedType = S_IFCHR
            case "block": expectedType = S_IFBLK
            default:
                outcome.mismatches += 1
                note(&outcome, "\(name): unknown kind \(kind)")
                continue
            }
            guard info.st_mode & S_IFMT == expectedType else {
                outcome.mismatches += 1
                note(&outcome, "\(name): kind (the index says \(kind))")
                continue
            }
            if kind != "symlink" {
                if let mode = entry["mode"]?.int64Value, Int64(info.st_mode & 0o7777) != mode & 0o7777 { differences.append("mode") }
            }
            if kind == "file" || kind == "dir" || kind == "fifo" {
                if let seconds = entry["mtime"]?.int64Value {
                    let nanoseconds = entry["mtime_nsec"]?.int64Value
                    if Int64(info.st_mtim.tv_sec) != seconds || (nanoseconds != nil && Int64(info.st_mtim.tv_nsec) != nanoseconds) {
                        differences.append("mtime")
                    }
                }
            }
            if kind == "file" {
                outcome.files += 1
                outcome.bytes += Int64(info.st_size)
                if let size = entry["size"]?.int64Value, Int64(info.st_size) != size { differences.append("size") }
                if case .string(let expected)? = entry["hash"] {
                    switch try hash(rootDescriptor, path, buffer: &buffer) {
                    case expected?: break
                    case nil: differences.append("content (unreadable)")
                    default: differences.append("content")
                    }
                }
            } else if kind == "hardlink", let target = IndexJSON.bytes(entry, "hardlink_target") {
                var targetInfo = stat()
                let linked = target.withCString { fstatat(rootDescriptor, $0, &targetInfo, AT_SYMLINK_NOFOLLOW) } == 0
                if !linked || targetInfo.st_ino != info.st_ino || targetInfo.st_dev != info.st_dev { differences.append("hardlink") }
            } else if kind == "symlink", let target = IndexJSON.bytes(entry, "symlink_target") {
                var link = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let capacity = link.count
                let count = path.withCString { readlinkat(rootDescriptor, $0, &link, capacity) }
                if count < 0 || link[0..<count].map({ UInt8(bitPattern: $0) }) != target { differences.append("symlink target") }
            }
            if !differences.isEmpty {
                outcome.mismatches += 1
                note(&outcome, "\(name): \(differences.joined(separator: ", "))")
            }
        }
        return outcome
    }

    private static func note(_ outcome: inout Outcome, _ text: String) {
        if outcome.samples.count < maxSamples { outcome.samples.append(text) }
    }

    /// The BLAKE3 (hex) of the regular file at `path` under `directory`, read back; nil when it cannot be read.
    private static func hash(_ directory: Int32, _ path: [UInt8], buffer: inout [UInt8]) throws -> String? {
        let descriptor = path.withCString { openat(directory, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var hasher = BLAKE3()
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return hasher.finalizeHex() }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}
