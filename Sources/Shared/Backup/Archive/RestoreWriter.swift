import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes tar members under a destination directory (reference/original-backup.md §4): conflict policy
/// `overwrite | skip | fail`, an optional selection of files and directories, and no way out of the destination:
/// absolute paths and `..` are refused, and no existing symlink is ever followed while creating or writing
/// (every parent is checked with `lstat`, files are opened `O_NOFOLLOW`). Files are written to a temporary name and
/// renamed when complete; modes and mtimes are restored (directory mtimes last).
public final class RestoreWriter: TarReaderDelegate {
    public enum ConflictPolicy: String, Sendable, CaseIterable {
        case overwrite, skip, fail
    }

    public struct Selection: Sendable, Equatable {
        public var files: Set<String>
        public var dirs: [String]

        /// Normalized (trimmed, `\` → `/`, no leading `/` or `./`); nil when a path has `..` or all are empty.
        public init?(files: [String], dirs: [String]) {
            var normalizedFiles = Set<String>()
            var normalizedDirs: [String] = []
            for (list, isDir) in [(files, false), (dirs, true)] {
                for raw in list {
                    guard let path = RestoreWriter.normalize(raw) else { return nil }
                    if path.isEmpty { continue }
                    if isDir { normalizedDirs.append(path) } else { normalizedFiles.insert(path) }
                }
            }
            guard !normalizedFiles.isEmpty || !normalizedDirs.isEmpty else { return nil }
            self.files = normalizedFiles
            self.dirs = normalizedDirs
        }

        func includes(_ path: String) -> Bool {
            files.contains(path) || dirs.contains { path == $0 || path.hasPrefix($0 + "/") }
        }
    }

    let destination: String
    let policy: ConflictPolicy
    let selection: Selection?
    let progress: BuildProgress?
    let isCanceled: () -> Bool
    public private(set) var restoredFiles: Int64 = 0
    public private(set) var skipped: Int64 = 0
    private var current: (descriptor: Int32, temporary: String, final: String, entry: TarEntry)?
    private var directoryTimes: [(String, Int64, UInt32)] = []
    /// The parent directory (relative) `prepareParents` checked last.
    private var lastParent: String?

    public init(
        destination: String,
        policy: ConflictPolicy,
        selection: Selection?,
        progress: BuildProgress? = nil,
        isCanceled: @escaping () -> Bool = { false }
    ) {
        self.destination = destination
        self.policy = policy
        self.selection = selection
        self.progress = progress
        self.isCanceled = isCanceled
    }

    /// `path` without `./`, leading `/` or empty components; nil when it contains `..` or NUL.
    public static func normalize(_ raw: String) -> String? {
        isPlainRelative(raw.utf8) ? raw : normalizeFully(raw)
    }

    /// `normalize` without the fast path for paths that need no change.
    static func normalizeFully(_ raw: String) -> String? {
        let path = raw.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\\", with: "/")
        guard !path.contains("\0") else { return nil }
        var components: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." { return nil }
            components.append(component)
        }
        return components.joined(separator: "/")
    }

    /// True when `normalize` would return `path` unchanged (the common case, checked without Foundation): no leading or
    /// trailing `/`, no backslash or NUL, no empty, `.` or `..` component, and plain ASCII at both ends (so nothing to
    /// trim).
    static func isPlainRelative(_ path: String.UTF8View) -> Bool {
        guard let first = path.first, let last = path.last else { return false }
        for edge in [first, last] where edge == UInt8(ascii: "/") || edge <= UInt8(ascii: " ") || edge >= 0x7F { return false }
        var length = 0
        var dots = 0
        for byte in path {
            switch byte {
            case 0, UInt8(ascii: "\\"): return false
            case UInt8(ascii: "/"):
                if length == 0 || (length == dots && dots <= 2) { return false }
                length = 0
                dots = 0
            default:
                length += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        return !(length == dots && dots <= 2)
    }

    /// Creates the parents of `relative` inside the destination, refusing any component that is not a real directory.
    /// The parent checked for the previous entry is remembered (members of one directory arrive together), so a
    /// directory of many files is checked once, not once per file. That stays sound: an entry only ever creates or
    /// removes its own path, which is neither its parent nor above it, and every entry (of any kind) passes through
    /// here first, so an entry that replaces a directory with a symlink has a different parent and resets the memory.
    private func prepareParents(_ relative: String) throws -> String {
        let components = relative.split(separator: "/")
        let parent = components.dropLast().joined(separator: "/")
        if parent == lastParent { return destination + "/" + relative }
        var path = destination
        for component in components.dropLast() {
            path += "/" + component
            var info = stat()
            if lstat(path, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw ArchiveError.unsafePath("\(relative): \(path) is not a directory (a symlink is never followed)")
                }
            } else {
                guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw POSIXFailure("mkdir \(path)") }
            }
        }
        lastParent = parent
        return destination + "/" + relative
    }

    /// Applies the conflict policy to an existing path; false when the entry must be skipped.
    private func resolveConflict(_ path: String, entry: TarEntry) throws -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return true }
        if entry.kind == .directory, info.st_mode & S_IFMT == S_IFDIR { return true }
        switch policy {
        case .skip:
            skipped += 1
            return false
        case .fail:
            throw RestoreConflict(path: path)
        case .overwrite:
            if info.st_mode & S_IFMT == S_IFDIR {
                try FileManager.default.removeItem(atPath: path)
            } else {
                guard unlink(path) == 0 else { throw POSIXFailure("remove \(path)") }
            }
            return true
        }
    }

    public func begin(_ entry: TarEntry) throws {
        if isCanceled() { throw CancellationError() }
        guard !entry.path.hasPrefix("/"), let relative = Self.normalize(entry.path), !relative.isEmpty else {
            throw ArchiveError.unsafePath(entry.path)
        }
        if let selection, !selection.includes(relative) { return }
        let path = try prepareParents(relative)
        guard try resolveConflict(path, entry: entry) else { return }
        switch entry.kind {
        case .directory:
            if mkdir(path, 0o700) != 0, errno != EEXIST { throw POSIXFailure("mkdir \(path)") }
            directoryTimes.append((path, entry.mtime, entry.mode & 0o7777))
        case .symlink:
            guard symlink(entry.linkTarget ?? "", path) == 0 else { throw POSIXFailure("symlink \(path)") }
            var times = [timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0)]
            utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
        case .hardlink:
            guard let target = entry.linkTarget.flatMap(Self.normalize), !target.isEmpty else {
                throw ArchiveError.unsafePath(entry.linkTarget ?? "")
            }
            let targetPath = try prepareParents(target)
            guard link(targetPath, path) == 0 else { throw POSIXFailure("link \(path)") }
        case .file:
            let temporary = path + ".bastion-restore"
            var descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if descriptor < 0, errno == EEXIST {
                // Left by an interrupted restore: replace it (never opened through, O_EXCL).
                unlink(temporary)
                descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            guard descriptor >= 0 else { throw POSIXFailure("create \(temporary)") }
            current = (descriptor, temporary, path, entry)
        }
    }

    public func content(_ bytes: UnsafeRawBufferPointer) throws {
        guard let current, var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = write(current.descriptor, base, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw POSIXFailure("write \(current.final)")
            }
            base += written
            remaining -= written
        }
    }

    public func end(_ entry: TarEntry) throws {
        guard let file = current else { return }
        current = nil
        fchmod(file.descriptor, mode_t(entry.mode & 0o7777))
        var times = [timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0)]
        futimens(file.descriptor, &times)
        close(file.descriptor)
        guard rename(file.temporary, file.final) == 0 else { throw POSIXFailure("rename \(file.final)") }
        restoredFiles += 1
        progress?.add(files: 1)
    }

    /// Sets directory modes and mtimes, deepest first (writing inside a directory changes its mtime).
    public func finishDirectories() {
        for (path, mtime, mode) in directoryTimes.reversed() {
            chmod(path, mode_t(mode))
            var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
            utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
        }
    }

    /// Removes a half-written file after a failure.
    public func abandon() {
        if let current {
            close(current.descriptor)
            unlink(current.temporary)
        }
        current = nil
    }
}

/// `conflict_policy: fail` met an existing path.
public struct RestoreConflict: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var description: String { "\(path) already exists (conflict_policy fail)" }
}
