import Archive
import CFileSystem
import Core
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// btrfs read-only snapshots of a filesystem job's source (docs/architecture.md, "Filesystem snapshots"): taken
/// before the walk in `<subvolume>/.bastion-snapshots/<run_id>-<token>`, read instead of the live files, deleted after.
/// Each is recorded in `<data-dir>/snapshots/<name>.json` before it exists, and the record stays locked (`flock`) while
/// its run holds it: a record nobody holds is a leftover of a worker or agent that died, and `sweep` deletes its
/// snapshot (at every start, and before every snapshot taken).
public enum SourceSnapshots {
    /// Why a snapshot cannot be taken: `auto` reads the live files, `required` fails with `snapshot_unavailable`.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// A snapshot this run holds.
    public final class Taken: Sendable {
        /// The subvolume's root (resolved, no symlinks) and the snapshot's path.
        public let subvolume: String
        public let path: String
        /// The devices (`st_dev`) of the snapshot and of the live subvolume.
        public let device: UInt64
        public let liveDevice: UInt64
        let record: String
        /// The record's descriptor, locked while the run holds the snapshot.
        let lock: Int32

        init(subvolume: String, path: String, device: UInt64, liveDevice: UInt64, record: String, lock: Int32) {
            self.subvolume = subvolume
            self.path = path
            self.device = device
            self.liveDevice = liveDevice
            self.record = record
            self.lock = lock
        }

        /// Where a selected path is in the snapshot.
        public func readPath(for path: String) -> String? {
            guard let resolved = SourceSnapshots.resolve(path) else { return nil }
            if resolved == subvolume { return self.path }
            let prefix = subvolume == "/" ? "/" : subvolume + "/"
            guard resolved.hasPrefix(prefix) else { return nil }
            return self.path + "/" + resolved.dropFirst(prefix.count)
        }
    }

    static let btrfsRootInode: ino_t = 256

    /// Takes a read-only snapshot of the one btrfs subvolume that holds every path in `paths`.
    public static func take(paths: [String], runId: String, records: String, logger: Logger) throws -> Taken {
        var subvolume: String?
        var liveDevice: UInt64 = 0
        for path in paths {
            guard let resolved = resolve(path) else {
                throw Unavailable(description: "\(path) cannot be resolved: \(String(cString: strerror(errno)))")
            }
            let onBtrfs = bastion_path_on_btrfs(resolved)
            guard onBtrfs >= 0 else { throw Unavailable(description: POSIXFailure("statfs \(resolved)").description) }
            guard onBtrfs == 1 else { throw Unavailable(description: "\(path) is not on btrfs") }
            let (root, device) = try subvolumeRoot(of: resolved)
            if let subvolume, subvolume != root {
                throw Unavailable(description: "the paths are on different btrfs subvolumes (\(subvolume), \(root))")
            }
            subvolume = root
            liveDevice = device
        }
        guard let subvolume else { throw Unavailable(description: "no source path") }
        sweep(records: records, logger: logger)

        // The record first, locked, then the snapshot: a worker killed in between leaves a record the sweep clears.
        var token: UInt32 = 0
        arc4random_buf(&token, MemoryLayout<UInt32>.size)
        let name = "\(runId)-\(String(format: "%08x", token))"
        let store = (subvolume == "/" ? "" : subvolume) + "/" + ArchiveBuilder.snapshotStoreName
        let snapshot = store + "/" + name
        do {
            try FileManager.default.createDirectory(atPath: records, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Unavailable(description: "cannot create \(records): \(error.localizedDescription)")
        }
        let record = "\(records)/\(name).json"
        let lock = open(record + ".tmp", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw Unavailable(description: POSIXFailure("create \(record).tmp").description) }
        func abandon() {
            unlink(record)
            unlink(record + ".tmp")
            close(lock)
        }
        let body = JSONValue.object(["run_id": .string(runId), "subvolume": .string(subvolume), "snapshot": .string(snapshot)]).jsonString()
        guard flock(lock, LOCK_EX) == 0, write(lock, body, body.utf8.count) == body.utf8.count, fsync(lock) == 0,
            rename(record + ".tmp", record) == 0
        else {
            let failure = POSIXFailure("write \(record)")
            abandon()
            throw Unavailable(description: failure.description)
        }

        if mkdir(store, 0o700) != 0 && errno != EEXIST {
            let failure = POSIXFailure("create \(store)")
            abandon()
            throw Unavailable(description: failure.description)
        }
        let storeDescriptor = open(store, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        let source = open(subvolume, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer {
            if storeDescriptor >= 0 { close(storeDescriptor) }
            if source >= 0 { close(source) }
        }
        guard storeDescriptor >= 0, source >= 0 else {
            let failure = POSIXFailure("open \(storeDescriptor < 0 ? store : subvolume)")
            abandon()
            throw Unavailable(description: failure.description)
        }
        // A store someone else made (or may write to) is not used: they could swap the snapshot for a symlink, and the
        // walk would read what it names under the live paths' names.
        var storeInfo = stat()
        guard fstat(storeDescriptor, &storeInfo) == 0, storeInfo.st_uid == geteuid(), storeInfo.st_mode & 0o022 == 0 else {
            abandon()
            throw Unavailable(
                description: "\(store) is not this user's alone (owner \(storeInfo.st_uid), mode \(String(storeInfo.st_mode & 0o7777, radix: 8)))"
            )
        }
        guard bastion_btrfs_snapshot(source, storeDescriptor, name) == 0 else {
            let failure = POSIXFailure("btrfs snapshot of \(subvolume) in \(store)")
            abandon()
            throw Unavailable(description: failure.description)
        }
        var info = stat()
        guard stat(snapshot, &info) == 0 else {
            let failure = POSIXFailure("stat \(snapshot)")
            _ = bastion_btrfs_delete(storeDescriptor, name)
            abandon()
            throw Unavailable(description: failure.description)
        }
        return Taken(subvolume: subvolume, path: snapshot, device: UInt64(info.st_dev), liveDevice: liveDevice, record: record, lock: lock)
    }

    /// Deletes the snapshot and its record. When the deletion fails the record stays, unlocked: the next sweep retries.
    public static func release(_ taken: Taken) throws {
        defer { close(taken.lock) }
        try delete(snapshot: taken.path)
        unlink(taken.record)
    }

    /// Deletes the snapshots of records no running worker or agent holds (their process died), and those records.
    /// Returns how many snapshots it deleted.
    @discardableResult
    public static func sweep(records: String, logger: Logger) -> Int {
        var deleted = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: records)) ?? [] where name.hasSuffix(".json") || name.hasSuffix(".json.tmp")
        {
            let record = records + "/" + name
            let descriptor = open(record, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            // Held: its run is still running here or in another process on this data directory.
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            if name.hasSuffix(".json") {
                let body = FileManager.default.contents(atPath: record).flatMap { try? JSONValue.parse(bytes: $0) }
                if let snapshot = body?["snapshot"]?.stringValue {
                    do {
                        try delete(snapshot: snapshot)
                        deleted += 1
                        logger.notice("Deleted a leftover source snapshot", metadata: ["snapshot": "\(snapshot)"])
                    } catch {
                        logger.warning("A leftover source snapshot cannot be deleted", metadata: ["snapshot": "\(snapshot)", "error": "\(error)"])
                        continue
                    }
                }
            }
            unlink(record)
        }
        return deleted
    }

    /// Deletes a snapshot Bastion made: a subvolume directly in a `.bastion-snapshots` directory (anything else a record
    /// names is refused); one already gone is fine.
    static func delete(snapshot: String) throws {
        let url = URL(fileURLWithPath: snapshot)
        let store = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        guard snapshot.hasPrefix("/"), url.deletingLastPathComponent().lastPathComponent == ArchiveBuilder.snapshotStoreName,
            !name.isEmpty, name != ".", name != ".."
        else { throw Unavailable(description: "\(snapshot) is not a Bastion snapshot") }
        let directory = open(store, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard directory >= 0 else {
            if errno == ENOENT { return }
            throw Unavailable(description: POSIXFailure("open \(store)").description)
        }
        defer { close(directory) }
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw Unavailable(description: POSIXFailure("stat \(snapshot)").description)
        }
        guard info.st_mode & S_IFMT == S_IFDIR, info.st_ino == btrfsRootInode else {
            throw Unavailable(description: "\(snapshot) is not a btrfs subvolume")
        }
        guard bastion_btrfs_delete(directory, name) == 0 else { throw Unavailable(description: POSIXFailure("delete \(snapshot)").description) }
    }

    /// An absolute path with its directory's symlinks resolved (its last component kept as it is, as the walk does).
    static func resolve(_ path: String) -> String? {
        let standardized = URL(fileURLWithPath: path).standardizedFileURL.path
        if standardized == "/" { return "/" }
        let url = URL(fileURLWithPath: standardized)
        let parent = url.deletingLastPathComponent().path
        guard let resolved = realpath(parent, nil) else { return nil }
        defer { free(resolved) }
        let directory = String(cString: resolved)
        return (directory == "/" ? "" : directory) + "/" + url.lastPathComponent
    }

    /// The root of the btrfs subvolume holding `path` (its root directory is inode 256) and its device.
    static func subvolumeRoot(of path: String) throws -> (String, UInt64) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw Unavailable(description: POSIXFailure("stat \(path)").description) }
        let device = info.st_dev
        var directory = info.st_mode & S_IFMT == S_IFDIR ? path : URL(fileURLWithPath: path).deletingLastPathComponent().path
        while true {
            guard stat(directory, &info) == 0, info.st_dev == device else {
                throw Unavailable(description: "the btrfs subvolume holding \(path) cannot be found")
            }
            if info.st_ino == btrfsRootInode { return (directory, UInt64(device)) }
            if directory == "/" { throw Unavailable(description: "the btrfs subvolume holding \(path) cannot be found") }
            directory = URL(fileURLWithPath: directory).deletingLastPathComponent().path
        }
    }
}
