import Archive
import Core
import Foundation
import Store

/// The `vaultwarden` job type (docs/vaultwarden.md): one `archive_v1` snapshot of a Vaultwarden data directory while
/// Vaultwarden runs. `db.sqlite3` is copied with SQLite's online backup API at one snapshot of the database (in WAL
/// mode, Vaultwarden's default, the copy never blocks its writes), `PRAGMA integrity_check` must pass on the copy, and
/// the copy is archived as `db.sqlite3` followed by the rest of the data directory under the same names (attachments,
/// sends, RSA keys, `config.json`, `icon_cache`, ...) without the live `db.sqlite3` and its `-wal`, `-shm`, `-journal`.
public struct VaultwardenBackupExecutor: JobExecutor {
    public let jobType = "vaultwarden"
    /// The database file of a data directory, and the files SQLite keeps beside it while it is open.
    public static let databaseName = "db.sqlite3"
    public static let liveDatabaseNames: Set<String> = ["db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-journal"]
    /// The tables whose row counts the summary shows.
    static let countedTables = ["users", "organizations", "ciphers", "folders", "attachments", "sends"]
    /// The key Vaultwarden signs its login tokens with: without it every user is signed out after a restore.
    static let rsaKeyNames = ["rsa_key.pem", "rsa_key.pub.pem", "rsa_key.der", "rsa_key.pub.der"]

    /// Pages copied per backup step; cancellation and progress are checked between steps.
    public var pagesPerStep: Int32
    /// Pause between steps (as the `sqlite` job).
    public var stepPause: Duration
    /// Where the database is copied before packaging (the worker's `<data-dir>/runs`).
    public var stagingDirectory: String

    public init(pagesPerStep: Int32 = 100, stepPause: Duration = .milliseconds(10), stagingDirectory: String = NSTemporaryDirectory()) {
        self.pagesPerStep = pagesPerStep
        self.stepPause = stepPause
        self.stagingDirectory = stagingDirectory
    }

    public func execute(_ context: RunContext) async throws -> JSONValue {
        guard case .vaultwarden(let source) = context.spec.source else {
            throw RunFailure(code: "invalid_spec", message: "not a vaultwarden job")
        }
        let location = RunLocation(target: context.spec.target, jobId: context.job.id, runId: context.run.id)
        let dataDir = URL(fileURLWithPath: source.dataDir).standardizedFileURL.path
        var info = stat()
        guard stat(dataDir, &info) == 0 else {
            throw RunFailure(code: "source_not_found", message: "the Vaultwarden data directory \(dataDir) does not exist")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw RunFailure(code: "source_not_found", message: "the Vaultwarden data directory \(dataDir) is not a directory")
        }
        let database = "\(dataDir)/\(Self.databaseName)"
        var databaseInfo = stat()
        guard lstat(database, &databaseInfo) == 0, databaseInfo.st_mode & S_IFMT == S_IFREG else {
            throw RunFailure(
                code: "vaultwarden_db_missing",
                message:
                    "\(dataDir) has no \(Self.databaseName) (a regular file): is it Vaultwarden's data directory (DATA_FOLDER)? "
                    + "A Vaultwarden on PostgreSQL or MySQL is backed up with a database job plus a filesystem job of its data directory"
            )
        }
        let staging = "\(stagingDirectory)/\(context.run.id)"
        let sourceDir = "\(staging)/source"
        let copyPath = "\(sourceDir)/\(Self.databaseName)"
        try? FileManager.default.removeItem(atPath: staging)
        do {
            try FileManager.default.createDirectory(atPath: sourceDir, withIntermediateDirectories: true)
        } catch {
            throw RunFailure(code: "staging_unavailable", message: "cannot create \(sourceDir): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: staging) }

        context.events.emit(
            kind: "snapshot",
            message: "Copying \(database) with the SQLite online backup API",
            fields: .object(["path": .string(database)])
        )
        await context.progress.update(SQLiteBackupExecutor.progress(stage: "snapshot", done: 0, total: 0))
        let mode = JournalMode()
        try await SQLiteBackupExecutor.copy(context, source: database, pagesPerStep: pagesPerStep, stepPause: stepPause) { step in
            mode.value = try SQLiteFileCopy.onlineBackupAtOneSnapshot(source: database, destination: copyPath, pagesPerStep: pagesPerStep, step: step)
        }
        try context.checkCancellation()
        // The copy is restored as the database: it keeps the live file's owner and mode (Vaultwarden's user, often
        // not root), not the worker's.
        _ = chown(copyPath, databaseInfo.st_uid, databaseInfo.st_gid)
        _ = chmod(copyPath, databaseInfo.st_mode & 0o7777)

        context.events.emit(kind: "integrity_check", message: "Running PRAGMA integrity_check on the copy")
        let lines: [String]
        let counts: [String: Int64?]
        do {
            lines = try await runBlocking { try SQLiteFileCopy.integrityCheck(copyPath) }
            counts = lines == ["ok"] ? try await runBlocking { try SQLiteFileCopy.rowCounts(copyPath, tables: Self.countedTables).counts } : [:]
        } catch {
            throw RunFailure(code: "integrity_check_failed", message: "the copy of \(database) cannot be read: \(error)")
        }
        let integrity: JSONValue = .object(["ok": .bool(lines == ["ok"]), "lines": .array(lines.map(JSONValue.string))])
        guard lines == ["ok"] else {
            context.events.emit(.error, kind: "integrity_check", message: "integrity_check failed: \(lines.first ?? "")")
            throw RunFailure(code: "integrity_check_failed", message: "integrity_check of the copy of \(database) failed: \(lines.first ?? "")")
        }
        context.events.emit(kind: "integrity_check", message: "integrity_check ok (journal mode \(mode.value))")
        if counts["users"] == .some(nil) {
            context.events.emit(.warn, kind: "vaultwarden", message: "\(database) has no users table: is \(dataDir) Vaultwarden's data directory?")
        }
        try context.checkCancellation()

        // The copy first, then the rest of the data directory under its own names, without the live database.
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: dataDir)
                .filter { !Self.liveDatabaseNames.contains($0) }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        } catch {
            throw RunFailure(code: "source_not_found", message: "cannot list \(dataDir): \(error.localizedDescription)")
        }
        let roots =
            [ArchiveBuilder.Root(path: copyPath, archivePath: Self.databaseName)]
            + names.map { ArchiveBuilder.Root(path: "\(dataDir)/\($0)", archivePath: $0) }
        let keys = Self.rsaKeyNames.filter { names.contains($0) }
        if !keys.contains("rsa_key.pem") && !keys.contains("rsa_key.der") {
            context.events.emit(
                .warn,
                kind: "vaultwarden",
                message: "\(dataDir) has no rsa_key.pem: a restored Vaultwarden makes a new key and every user must sign in again"
            )
        }
        let attachmentFiles = Self.regularFiles(under: "\(dataDir)/attachments")
        let sendFiles = Self.regularFiles(under: "\(dataDir)/sends")
        let databaseBytes = (try? FileManager.default.attributesOfItem(atPath: copyPath)[.size] as? NSNumber)?.int64Value ?? 0
        let vaultwarden: JSONValue = .object([
            "data_dir": .string(dataDir), "db_bytes": .number(Double(databaseBytes)), "journal_mode": .string(mode.value),
            "integrity_check": integrity,
            "rows": .object(counts.mapValues { $0.map { .number(Double($0)) } ?? .null }),
            "attachment_files": .number(Double(attachmentFiles)), "send_files": .number(Double(sendFiles)),
            "rsa_keys": .array(keys.map(JSONValue.string)), "config_json": .bool(names.contains("config.json")),
        ])

        var settings = ArchiveBuilder.Settings(
            jobId: context.job.id,
            runId: context.run.id,
            runDirectory: location.localDirectory ?? "",
            partSize: context.spec.target.partSizeBytes
        )
        settings.incremental = await IncrementalRun.base(context, staging: stagingDirectory)
        // source.consistencyPolicy / consistencyFailThreshold: given to the builder's consistency setting
        // (docs/vaultwarden.md, "Files that change while read").
        return try await ArchiveRun.perform(
            context,
            settings: settings,
            location: location,
            staging: stagingDirectory,
            paths: [],
            root: nil,
            preScan: true,
            adjustSummary: { summary in
                // Verify runs integrity_check on the snapshot's db.sqlite3 as it does for a sqlite job.
                summary.sqlite = .init(path: database, snapshotName: Self.databaseName, integrityCheck: integrity)
                summary.vaultwarden = vaultwarden
            },
            roots: roots
        )
    }

    /// Regular files below `directory` (0 when it does not exist).
    static func regularFiles(under directory: String) -> Int {
        guard let walk = FileManager.default.enumerator(atPath: directory) else { return 0 }
        var count = 0
        while walk.nextObject() != nil {
            if walk.fileAttributes?[.type] as? FileAttributeType == .typeRegular { count += 1 }
        }
        return count
    }
}

/// The source's journal mode, set by the copy thread and read after it ended.
private final class JournalMode: @unchecked Sendable {
    // Written once on the copy's thread before `copy` returns, read only after: `copy` awaits that thread.
    var value = ""
}
