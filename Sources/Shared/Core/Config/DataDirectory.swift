import Foundation

/// The data directory and the well-known files inside it (docs/architecture.md, "Processes and services").
public struct DataDirectory: Sendable, Equatable {
    /// Absolute, standardized path of the directory.
    public let path: String

    public init(path: String) {
        let url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        self.path = url.path
    }

    public var databasePath: String { path + "/bastion.db" }
    public var socketPath: String { path + "/bastion.sock" }
    /// Lock file that serializes schema migrations across processes.
    public var migrationLockPath: String { path + "/bastion.db.migrate-lock" }
    public var runsPath: String { path + "/runs" }
    /// Records of the btrfs snapshots runs hold (docs/architecture.md, "Filesystem snapshots").
    public var snapshotsPath: String { path + "/snapshots" }
    /// Keys that encrypt the `secrets` table (created on first use, mode 0600).
    public var masterKeyPath: String { path + "/master.key" }
    /// Snapshot catalogs (`<run_id>.sqlite`) and cached diffs (`diff/<from>_<to>.sqlite`): derived from each
    /// snapshot's entries index, rebuilt when missing (docs/formats.md, "The snapshot catalog").
    public var catalogPath: String { path + "/catalog" }
    /// The API's staging of single-file downloads from remote targets, one directory per download, removed when it
    /// ends and swept at API start (docs/ui.md, "Snapshot browser: files, versions, search").
    public var fileReadsPath: String { path + "/file-reads" }
    /// The one directory an rclone secret's key files may be read from (docs/targets.md, "rclone").
    public var rcloneKeysPath: String { path + "/rclone-keys" }

    /// Creates the directory (and parents) if missing, with mode 0700; an existing one (made by hand, or by systemd's
    /// `StateDirectory=`, 0755 by default) is set to 0700 too when this user owns it (docs/security.md, "Local users").
    public func create() throws {
        try FileManager.default.createDirectory(
            atPath: path,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        var info = stat()
        if stat(path, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o077 != 0 { chmod(path, 0o700) }
    }
}
