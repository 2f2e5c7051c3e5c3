import Foundation

extension RestoreOperation {
    /// The directory a snapshot's archive paths are relative to on the machine that backed them up: restoring there
    /// puts every file back where it was (`destination.type: "original"`, docs/formats.md, "Run operations").
    ///
    /// - filesystem: an archive path is the absolute path without its leading `/`, so `/`; in root mode (one path and
    ///   `root`) it is relative to `root`, so `root`.
    /// - sqlite: the archive holds the database file under its own name, so the database's directory.
    /// - vaultwarden: the archive holds the data directory's contents, so the data directory.
    /// - postgres, mariadb: nil. Their dumps are no files of the server; they restore into a database.
    ///
    /// The snapshot's own record (`summary`) wins over the job's spec, which may have changed since.
    public static func originalDirectory(spec: JobSpec, summary: BackupSummary?) -> String? {
        switch spec.source {
        case .filesystem(let source):
            if source.paths.count == 1, let root = source.root, root.hasPrefix("/") {
                return URL(fileURLWithPath: root).standardizedFileURL.path
            }
            return "/"
        case .sqlite(let source):
            let path = summary?.sqlite?.path ?? source.path
            return URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        case .vaultwarden(let source):
            return summary?.vaultwarden?["data_dir"]?.stringValue ?? source.dataDir
        default:
            return nil
        }
    }
}
