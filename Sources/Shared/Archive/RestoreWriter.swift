import CFileSystem
import Foundation

#if canImport(Glibc)
import Glibc
import Core
#endif

/// Writes tar members under a destination directory (`docs/architecture.md`, "Backups": restore): conflict policy
/// `overwrite | skip | fail`, an optional selection, owners (`restore_ownership`), modes with setuid/setgid/sticky,
/// times to the nanosecond, extended attributes and ACLs, FIFOs and device nodes, sparse files with their holes.
///
/// Every call is relative to an open directory (`openat`, `mkdirat`, `renameat`, …), so a path may be longer than
/// PATH_MAX, and no symlink is ever followed: the destination itself is opened without following a symlink in any
/// component (`openat2` with `RESOLVE_NO_SYMLINKS`), each parent `O_NOFOLLOW | O_DIRECTORY`, which also keeps the
/// writes inside the destination (absolute paths and `..` are refused before). A FIFO or device node gets its owner,
/// mode, attributes and times through an `O_PATH | O_NOFOLLOW` descriptor of what was created, so a symlink put in
/// its place meanwhile is refused, never followed (docs/security.md, "Archives and restore"). A file is written under a short
/// temporary name in its own directory and renamed when complete. An entry that cannot be restored is recorded with
/// its reason and the rest go on; only a cancel, a conflict under `fail` and a full or read-only disk stop the restore.
/// Directory owners, modes, attributes and times are applied last, deepest first (`finish`), also after a failure.
public final class RestoreWriter: TarReaderDelegate {
    /// What to do with a name that exists (the run's `RestoreOperation` carries it).
    public typealias ConflictPolicy = RestoreOperation.ConflictPolicy
    /// Whether owners are restored.
    public typealias OwnershipPolicy = RestoreOperation.OwnershipPolicy

    /// What to restore: exact files and whole directories, as archive paths (bytes).
    public struct Selection: Sendable, Equatable {
        public var files: Set<[UInt8]>
        public var dirs: [[UInt8]]

        /// Normalized (no leading `/` or `./`, no empty or `.` components); nil when a path has `..` or NUL, or all are
        /// empty. A backslash, a space or a newline is part of a name like any other byte.
        public init?(files: [[UInt8]], dirs: [[UInt8]]) {
            var normalizedFiles = Set<[UInt8]>()
            var normalizedDirs: [[UInt8]] = []
            for (list, isDir) in [(files, false), (dirs, true)] {
                for raw in list {
                    guard let components = RestoreWriter.components(raw) else { return nil }
                    if components.isEmpty { continue }
                    let path = RestoreWriter.joined(components)
                    if isDir { normalizedDirs.append(path) } else { normalizedFiles.insert(path) }
                }
            }
            guard !normalizedFiles.isEmpty || !normalizedDirs.isEmpty else { return nil }
            self.files = normalizedFiles
            self.dirs = normalizedDirs
        }

        public init?(files: [String], dirs: [String]) {
            self.init(files: files.map { Array($0.utf8) }, dirs: dirs.map { Array($0.utf8) })
        }

        /// `raw`'s components when it can be taken off the front of every selected path (docs/formats.md, "Run
        /// operations"): relative, no `..` or NUL, at least one component, and a proper prefix of each selected file
        /// and directory by whole components (`home/an` is no prefix of `home/ann`; `home/ann` strips nothing from
        /// itself). Nil otherwise.
        public func strippable(_ raw: [UInt8]) -> [ArraySlice<UInt8>]? {
            guard raw.first != UInt8(ascii: "/"), let prefix = RestoreWriter.components(raw), !prefix.isEmpty else { return nil }
            for path in Array(files) + dirs {
                guard let components = RestoreWriter.components(path), components.count > prefix.count,
                    zip(components, prefix).allSatisfy({ $0 == $1 })
                else { return nil }
            }
            return prefix
        }

        public func includes(_ path: [UInt8]) -> Bool {
            files.contains(path)
                || dirs.contains { path == $0 || (path.count > $0.count && path.starts(with: $0) && path[$0.count] == UInt8(ascii: "/")) }
        }
    }

    /// An entry not restored (or restored without some of its metadata) and why.
    public struct Problem: Sendable, Equatable {
        public var path: [UInt8]
        public var reason: String
    }

    /// Problems kept in full; past that only counted.
    public static let problemSampleLimit = 1000

    let destination: String
    let policy: ConflictPolicy
    let selection: Selection?
    /// Leading components taken off every path (`Selection.strippable`); an entry not below them is not restored.
    let stripPrefix: [ArraySlice<UInt8>]
    let progress: BuildProgress?
    let isCanceled: () -> Bool
    let restoresOwners: Bool
    public private(set) var restoredFiles: Int64 = 0
    public private(set) var skipped: Int64 = 0
    /// Entries not restored, and entries restored without some metadata (owner, an attribute, a device node as
    /// non-root): counts and the first `problemSampleLimit` of each.
    public private(set) var failed: Int64 = 0
    public private(set) var failures: [Problem] = []
    public private(set) var warned: Int64 = 0
    public private(set) var warnings: [Problem] = []

    private var root: Int32 = -1
    /// Open directories from the destination down to the current entry's parent.
    private var chain: [(name: ArraySlice<UInt8>, descriptor: Int32)] = []
    private var current: (descriptor: Int32, parent: Int32, name: [UInt8], entry: TarEntry)?
    private var directories: [(components: [ArraySlice<UInt8>], entry: TarEntry)] = []
    private var owners: [String: UInt32] = [:]
    private var finished = false
    /// Extended attribute bytes of the directories whose metadata waits for `finish`.
    private var keptAttributeBytes = 0
    /// The most extended attribute bytes kept for directories until `finish` (a hostile archive's directories could
    /// otherwise hold the worker's memory).
    static let keptAttributeLimit = 256 << 20
    static let temporaryName = Array(".bastion-restore.tmp".utf8)
    /// Tests only: called between creating a FIFO or device node and applying its metadata (the window a local user
    /// could swap the node for a symlink in).
    var afterCreatingNode: ((_ parent: Int32, _ name: [UInt8]) -> Void)?
    /// Called with each entry's path (relative to the destination, normalized) once it is in place: a regular file
    /// after its content matched the index and it was renamed to its name, anything else once created. A restore to
    /// WebDAV uploads from here (docs/targets.md, "Restore to WebDAV"); what it throws stops the restore.
    public var restored: ((_ relative: [UInt8], _ entry: TarEntry) throws -> Void)?
    /// The normalized path of the file being written.
    private var currentRelative: [UInt8] = []

    public init(
        destination: String,
        policy: ConflictPolicy,
        selection: Selection?,
        stripPrefix: [ArraySlice<UInt8>] = [],
        ownership: OwnershipPolicy = .auto,
        progress: BuildProgress? = nil,
        isCanceled: @escaping () -> Bool = { false }
    ) {
        self.destination = destination
        self.policy = policy
        self.selection = selection
        self.stripPrefix = stripPrefix
        self.progress = progress
        self.isCanceled = isCanceled
        restoresOwners = ownership == .always || (ownership == .auto && geteuid() == 0)
    }

    deinit {
        abandon()
        for link in chain { close(link.descriptor) }
        if root >= 0 { close(root) }
    }

    // MARK: - Paths

    /// The components of an archive path without empty and `.` ones; nil when one is `..` or the path has a NUL.
    public static func components(_ path: [UInt8]) -> [ArraySlice<UInt8>]? {
        var result: [ArraySlice<UInt8>] = []
        for component in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if component.count == 1 && component.first == UInt8(ascii: ".") { continue }
            if component.count == 2 && component.allSatisfy({ $0 == UInt8(ascii: ".") }) { return nil }
            if component.contains(0) { return nil }
            result.append(component)
        }
        return result
    }

    /// `components` without `prefix` in front; nil when they are not below it.
    static func strip(_ prefix: [ArraySlice<UInt8>], from components: [ArraySlice<UInt8>]) -> [ArraySlice<UInt8>]? {
        guard components.count > prefix.count, zip(components, prefix).allSatisfy({ $0 == $1 }) else { return nil }
        return Array(components.dropFirst(prefix.count))
    }

    static func joined(_ components: [ArraySlice<UInt8>]) -> [UInt8] {
        var path: [UInt8] = []
        for (index, component) in components.enumerated() {
            if index > 0 { path.append(UInt8(ascii: "/")) }
            path += component
        }
        return path
    }

    /// `raw` without `./`, leading `/` or empty components; nil when it contains `..` or NUL.
    public static func normalize(_ raw: String) -> String? {
        components(Array(raw.utf8)).map { String(decoding: joined($0), as: UTF8.self) }
    }

    /// The open destination directory, created when missing; no symlink is followed in any component of its path.
    @discardableResult
    public func destinationDescriptor() throws -> Int32 {
        if root < 0 {
            root = bastion_open_directory_nofollow(destination, 1)
            guard root >= 0 else {
                if errno == ELOOP || errno == ENOTDIR {
                    throw Fatal(message: "\(destination): a component is a symlink or not a directory (a symlink is never followed)")
                }
                throw Fatal(message: POSIXFailure("open \(destination)").description)
            }
        }
        return root
    }

    /// Opens (creating when missing) the directory `components` under the destination, reusing the open chain for
    /// the common prefix. A component that is not a real directory (a symlink, a file) is refused.
    private func directory(_ components: ArraySlice<ArraySlice<UInt8>>) throws -> Int32 {
        var common = 0
        while common < chain.count, common < components.count, chain[common].name == components[components.startIndex + common] { common += 1 }
        while chain.count > common { close(chain.removeLast().descriptor) }
        var descriptor = try chain.last?.descriptor ?? destinationDescriptor()
        for component in components.dropFirst(common) {
            let name = Array(component)
            var next = Self.openDirectory(descriptor, name)
            if next < 0 && errno == ENOENT {
                if name.withCString({ mkdirat(descriptor, $0, 0o755) }) != 0 && errno != EEXIST {
                    throw POSIXFailure("mkdir \(String(decoding: Self.joined(Array(components)), as: UTF8.self))")
                }
                next = Self.openDirectory(descriptor, name)
            }
            guard next >= 0 else {
                if errno == ELOOP || errno == ENOTDIR {
                    throw ArchiveError.unsafePath("\(String(decoding: component, as: UTF8.self)) is not a directory (a symlink is never followed)")
                }
                throw POSIXFailure("open directory \(String(decoding: component, as: UTF8.self))")
            }
            chain.append((component, next))
            descriptor = next
        }
        return descriptor
    }

    static func openDirectory(_ parent: Int32, _ name: [UInt8]) -> Int32 {
        name.withCString { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
    }

    // MARK: - Members

    public func begin(_ entry: TarEntry) throws {
        if isCanceled() { throw CancellationError() }
        guard entry.path.first != UInt8(ascii: "/"), var components = Self.components(entry.path), !components.isEmpty else {
            record(failure: entry.path, ArchiveError.unsafePath(entry.displayPath).description)
            return
        }
        // Already normal (the usual case) when nothing was dropped: same length as its components and separators.
        let normal = components.reduce(components.count - 1) { $0 + $1.count } == entry.path.count
        var relative = normal ? entry.path : Self.joined(components)
        if let selection, !selection.includes(relative) { return }
        if !stripPrefix.isEmpty {
            // The prefix's own directories are the destination's place, not restored.
            guard let stripped = Self.strip(stripPrefix, from: components) else { return }
            components = stripped
            relative = Self.joined(components)
        }
        let last = components[components.count - 1]
        var created = false
        do {
            let parent = try directory(components.dropLast()[...])
            let name = Array(last)
            guard try resolveConflict(parent, name, relative, entry) else { return }
            currentRelative = relative
            try create(entry, parent: parent, name: name, components: components)
            created = true
        } catch let error as RestoreConflict {
            throw error
        } catch let error as Fatal {
            throw error
        } catch let error as POSIXFailure where [ENOSPC, EDQUOT, EROFS].contains(error.code) {
            throw error
        } catch {
            record(failure: relative, "\(error)")
        }
        // A regular file is reported by `end`, once complete.
        if created, entry.kind != .file, let restored { try restored(relative, entry) }
    }

    private func create(_ entry: TarEntry, parent: Int32, name: [UInt8], components: [ArraySlice<UInt8>]) throws {
        let display = entry.displayPath
        switch entry.kind {
        case .directory:
            if name.withCString({ mkdirat(parent, $0, 0o700) }) != 0 && errno != EEXIST { throw POSIXFailure("mkdir \(display)") }
            keptAttributeBytes += entry.xattrs.reduce(0) { $0 + $1.name.count + $1.value.count }
            guard keptAttributeBytes <= Self.keptAttributeLimit else {
                throw ArchiveError.corrupt("more than \(Self.keptAttributeLimit) bytes of directory attributes")
            }
            directories.append((components, entry))
        case .symlink:
            guard (entry.linkTarget ?? []).withCString({ target in name.withCString { symlinkat(target, parent, $0) } }) == 0 else {
                throw POSIXFailure("symlink \(display)")
            }
            applyMetadata(entry, descriptor: nil, parent: parent, name: name)
        case .hardlink:
            // The target is an archive path: it moves with the prefix taken off, and one above it was not restored.
            guard let target = entry.linkTarget.flatMap(Self.components).flatMap({ stripPrefix.isEmpty ? $0 : Self.strip(stripPrefix, from: $0) }),
                let targetName = target.last
            else {
                throw ArchiveError.unsafePath(String(decoding: entry.linkTarget ?? [], as: UTF8.self))
            }
            // The target's directory is opened on its own so the chain to this entry's parent stays as it is.
            var targetParent = try destinationDescriptor()
            var opened: [Int32] = []
            defer { for descriptor in opened { close(descriptor) } }
            for component in target.dropLast() {
                targetParent = Self.openDirectory(targetParent, Array(component))
                guard targetParent >= 0 else { throw POSIXFailure("hardlink target of \(display)") }
                opened.append(targetParent)
            }
            guard Array(targetName).withCString({ from in name.withCString { linkat(targetParent, from, parent, $0, 0) } }) == 0 else {
                throw POSIXFailure("link \(display)")
            }
        case .fifo, .characterDevice, .blockDevice:
            let type = entry.kind == .fifo ? S_IFIFO : entry.kind == .characterDevice ? S_IFCHR : S_IFBLK
            if entry.kind != .fifo && geteuid() != 0 {
                record(
                    warning: entry.path,
                    "a \(entry.kind == .characterDevice ? "character" : "block") device is created only when restoring as root"
                )
                return
            }
            let device = dev_t(bastion_makedev(entry.deviceMajor, entry.deviceMinor))
            guard name.withCString({ mknodat(parent, $0, type | 0o600, device) }) == 0 else { throw POSIXFailure("mknod \(display)") }
            afterCreatingNode?(parent, name)
            // What is at the name now, never through a symlink; it must be the node just made.
            let node = name.withCString { openat(parent, $0, bastion_o_path() | O_NOFOLLOW | O_CLOEXEC) }
            guard node >= 0 else { throw POSIXFailure("open the new node \(display)") }
            defer { close(node) }
            var info = stat()
            guard fstat(node, &info) == 0, info.st_mode & S_IFMT == type else {
                throw ArchiveError.unsafePath("\(display) was replaced by something else while it was restored (a symlink is never followed)")
            }
            applyMetadata(entry, descriptor: nil, node: node, parent: parent, name: name)
        case .file:
            var descriptor = Self.temporaryName.withCString { openat(parent, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            if descriptor < 0, errno == EEXIST {
                // Left by an interrupted restore: replace it (never opened through: O_EXCL).
                _ = Self.temporaryName.withCString { unlinkat(parent, $0, 0) }
                descriptor = Self.temporaryName.withCString { openat(parent, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            }
            guard descriptor >= 0 else { throw POSIXFailure("create a temporary file for \(display)") }
            current = (descriptor, parent, name, entry)
        }
    }

    /// Applies the conflict policy to an existing name; false when the entry must be skipped.
    private func resolveConflict(_ parent: Int32, _ name: [UInt8], _ relative: [UInt8], _ entry: TarEntry) throws -> Bool {
        var info = stat()
        guard name.withCString({ fstatat(parent, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else { return true }
        if entry.kind == .directory, info.st_mode & S_IFMT == S_IFDIR { return true }
        switch policy {
        case .skip:
            skipped += 1
            return false
        case .fail:
            throw RestoreConflict(path: (destination.hasSuffix("/") ? destination : destination + "/") + String(decoding: relative, as: UTF8.self))
        case .overwrite:
            // The chain holds only this entry's ancestors, so removing the entry's own name never leaves a stale one.
            try Self.remove(parent, name, isDirectory: info.st_mode & S_IFMT == S_IFDIR)
            return true
        }
    }

    /// Removes a name in an open directory; a directory with everything in it (never following a symlink).
    static func remove(_ parent: Int32, _ name: [UInt8], isDirectory: Bool) throws {
        if isDirectory {
            let descriptor = openDirectory(parent, name)
            guard descriptor >= 0 else { throw POSIXFailure("open \(String(decoding: name, as: UTF8.self))") }
            defer { close(descriptor) }
            for child in try ArchiveBuilder.list(descriptor, name) {
                var info = stat()
                guard child.withCString({ fstatat(descriptor, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else { continue }
                try remove(descriptor, child, isDirectory: info.st_mode & S_IFMT == S_IFDIR)
            }
        }
        guard name.withCString({ unlinkat(parent, $0, isDirectory ? AT_REMOVEDIR : 0) }) == 0 else {
            throw POSIXFailure("remove \(String(decoding: name, as: UTF8.self))")
        }
    }

    public func content(_ bytes: UnsafeRawBufferPointer) throws {
        guard let file = current, var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = Glibc.write(file.descriptor, base, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                let failure = POSIXFailure("write \(file.entry.displayPath)")
                abandon()
                if [ENOSPC, EDQUOT, EROFS].contains(failure.code) { throw failure }
                record(failure: file.entry.path, failure.description)
                return
            }
            base += written
            remaining -= written
        }
    }

    /// A hole stays a hole: the file offset moves on, and the size is set at the end.
    public func hole(_ count: Int64) throws {
        guard let file = current else { return }
        if lseek(file.descriptor, off_t(count), SEEK_CUR) < 0 {
            record(failure: file.entry.path, POSIXFailure("seek in \(file.entry.displayPath)").description)
            abandon()
        }
    }

    public func end(_ entry: TarEntry) throws {
        guard let file = current else { return }
        current = nil
        if entry.sparse != nil, ftruncate(file.descriptor, off_t(entry.size)) != 0 {
            record(failure: entry.path, POSIXFailure("set the size of \(entry.displayPath)").description)
            close(file.descriptor)
            _ = Self.temporaryName.withCString { unlinkat(file.parent, $0, 0) }
            return
        }
        applyMetadata(entry, descriptor: file.descriptor, parent: file.parent, name: file.name)
        close(file.descriptor)
        let renamed = Self.temporaryName.withCString { from in file.name.withCString { renameat(file.parent, from, file.parent, $0) } }
        guard renamed == 0 else {
            record(failure: entry.path, POSIXFailure("rename into \(entry.displayPath)").description)
            _ = Self.temporaryName.withCString { unlinkat(file.parent, $0, 0) }
            return
        }
        restoredFiles += 1
        progress?.add(files: 1)
        if let restored { try restored(currentRelative, entry) }
    }

    // MARK: - Metadata

    /// Owner (when restored), mode, extended attributes (ACLs among them), then times, in that order: a chown clears
    /// setuid bits and capabilities, and every other change moves the ctime, not the times set last. `descriptor` is
    /// an open file or directory; `node` an `O_PATH | O_NOFOLLOW` descriptor of a FIFO or device node, changed through
    /// `/proc/self/fd/N` (the inode itself, whatever is at the name now); with neither, a symlink, changed by its name
    /// in `parent` without following it (no chmod: a symlink has no mode of its own).
    private func applyMetadata(_ entry: TarEntry, descriptor: Int32?, node: Int32? = nil, parent: Int32, name: [UInt8]) {
        let nodePath = node.map { Array("/proc/self/fd/\($0)".utf8) }
        if restoresOwners {
            let uid = owner(entry.userName, entry.uid, user: true)
            let gid = owner(entry.groupName, entry.gid, user: false)
            let changed =
                descriptor.map { fchown($0, uid, gid) }
                ?? node.map { fchownat($0, "", uid, gid, bastion_at_empty_path()) }
                ?? name.withCString { fchownat(parent, $0, uid, gid, AT_SYMLINK_NOFOLLOW) }
            if changed != 0 { record(warning: entry.path, POSIXFailure("chown \(entry.displayPath)").description) }
        }
        if entry.kind != .symlink {
            let changed =
                descriptor.map { fchmod($0, mode_t(entry.mode & 0o7777)) }
                ?? nodePath.map { path in path.withCString { chmod($0, mode_t(entry.mode & 0o7777)) } }
            if changed != 0 { record(warning: entry.path, POSIXFailure("chmod \(entry.displayPath)").description) }
        }
        if !entry.xattrs.isEmpty {
            let proc = nodePath ?? Array("/proc/self/fd/\(parent)/".utf8) + name
            for attribute in entry.xattrs {
                let set = attribute.name.withCString { key in
                    attribute.value.withUnsafeBytes { value in
                        descriptor.map { bastion_fsetxattr($0, key, value.baseAddress, value.count) }
                            // A node's /proc/self/fd link is followed to the node; a symlink's name is not followed.
                            ?? (node != nil
                                ? proc.withCString { bastion_setxattr($0, key, value.baseAddress, value.count) }
                                : proc.withCString { bastion_lsetxattr($0, key, value.baseAddress, value.count) })
                    }
                }
                if set != 0 {
                    record(
                        warning: entry.path,
                        POSIXFailure("set extended attribute \(String(decoding: attribute.name, as: UTF8.self)) on \(entry.displayPath)").description
                    )
                }
            }
        }
        var times = [entry.atime?.timespec ?? entry.mtime.timespec, entry.mtime.timespec]
        let set =
            descriptor.map { futimens($0, &times) }
            ?? nodePath.map { path in path.withCString { utimensat(AT_FDCWD, $0, &times, 0) } }
            ?? name.withCString { utimensat(parent, $0, &times, AT_SYMLINK_NOFOLLOW) }
        if set != 0 { record(warning: entry.path, POSIXFailure("set times of \(entry.displayPath)").description) }
    }

    /// The id to restore: the archived name's id on this host when it has one (as GNU tar does), else the number.
    private func owner(_ name: [UInt8], _ id: UInt32, user: Bool) -> UInt32 {
        guard !name.isEmpty else { return id }
        let key = (user ? "u:" : "g:") + String(decoding: name, as: UTF8.self)
        if let known = owners[key] { return known }
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        var resolved = id
        name.withCString { cName in
            if user {
                var record = passwd()
                var result: UnsafeMutablePointer<passwd>?
                if getpwnam_r(cName, &record, &buffer, buffer.count, &result) == 0, result != nil { resolved = record.pw_uid }
            } else {
                var record = Glibc.group()
                var result: UnsafeMutablePointer<Glibc.group>?
                if getgrnam_r(cName, &record, &buffer, buffer.count, &result) == 0, result != nil { resolved = record.gr_gid }
            }
        }
        owners[key] = resolved
        return resolved
    }

    /// Applies directory metadata, deepest first (writing inside a directory changes its mtime). Runs once; the restore
    /// calls it after success and after a failure alike.
    public func finish() {
        guard !finished else { return }
        finished = true
        abandon()
        while let link = chain.popLast() { close(link.descriptor) }
        guard root >= 0 else { return }
        for (components, entry) in directories.reversed() {
            var descriptor = root
            var opened: [Int32] = []
            for component in components {
                descriptor = Self.openDirectory(descriptor, Array(component))
                if descriptor < 0 { break }
                opened.append(descriptor)
            }
            if descriptor >= 0, !opened.isEmpty {
                applyMetadata(
                    entry,
                    descriptor: descriptor,
                    parent: opened.count >= 2 ? opened[opened.count - 2] : root,
                    name: Array(components.last ?? [])
                )
            } else {
                record(failure: entry.path, POSIXFailure("open directory \(entry.displayPath)").description)
            }
            for opened in opened { close(opened) }
        }
        directories = []
    }

    /// Removes a half-written file after a failure.
    public func abandon() {
        if let current {
            close(current.descriptor)
            _ = Self.temporaryName.withCString { unlinkat(current.parent, $0, 0) }
        }
        current = nil
    }

    private func record(failure path: [UInt8], _ reason: String) {
        failed += 1
        if failures.count < Self.problemSampleLimit { failures.append(Problem(path: path, reason: reason)) }
    }

    private func record(warning path: [UInt8], _ reason: String) {
        warned += 1
        if warnings.count < Self.problemSampleLimit { warnings.append(Problem(path: path, reason: reason)) }
    }

    /// A failure that stops the whole restore (the destination itself cannot be opened).
    struct Fatal: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// `conflict_policy: fail` met an existing path.
public struct RestoreConflict: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var description: String { "\(path) already exists (conflict_policy fail)" }
}
