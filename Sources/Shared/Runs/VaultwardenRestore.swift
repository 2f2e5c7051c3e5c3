import CFileSystem
import Core
import Foundation

/// What a file restore of a `vaultwarden` snapshot does beyond the files (docs/vaultwarden.md, "Restore"): the
/// snapshot's `db.sqlite3` is a whole database, so a `db.sqlite3-wal`, `-shm` or `-journal` left in the destination
/// by the database it replaced is removed after the restore (SQLite would otherwise replay that stale log into the
/// restored database and corrupt it). A restore that keeps the destination's own `db.sqlite3` (`skip`) leaves them.
enum VaultwardenRestore {
    static let staleNames = ["db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-journal"]

    /// Whether the restore of `operation` writes the snapshot's `db.sqlite3` over whatever the destination holds.
    static func replacesDatabase(_ context: RunContext, _ operation: RestoreOperation) -> Bool {
        guard case .vaultwarden = context.spec.source else { return false }
        if let selection = operation.selection, !selection.files.contains(Array("db.sqlite3".utf8)) { return false }
        if operation.conflictPolicy == .skip, existingNames(in: operation.directory, ["db.sqlite3"]) == ["db.sqlite3"] { return false }
        return true
    }

    /// Removes the stale `-wal`, `-shm`, `-journal` beside the restored database; returns the names removed. A name
    /// that is not a regular file is left alone. Nothing is followed through a symlink.
    static func removeStaleFiles(in directory: String) throws -> [String] {
        let descriptor = bastion_open_directory_nofollow(directory, 0)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        var removed: [String] = []
        for name in staleNames {
            var info = stat()
            guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            guard unlinkat(descriptor, name, 0) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            removed.append(name)
        }
        return removed
    }

    /// Which of `names` exist (as anything) in `directory`; empty when it cannot be opened.
    static func existingNames(in directory: String, _ names: [String]) -> [String] {
        let descriptor = bastion_open_directory_nofollow(directory, 0)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        return names.filter { name in
            var info = stat()
            return fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0
        }
    }
}
