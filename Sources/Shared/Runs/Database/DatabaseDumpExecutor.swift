import Archive
import Core
import Foundation
import Targets

/// The `postgres` and `mariadb` job types (docs/databases.md): one executor generic over a `DatabaseEngine`. It
/// reads the password from the job's secret, asks the server its version (a wrong password fails here, with the
/// engine's `*_auth_failed`, before anything is written to the target), lists the databases, then streams each dump
/// tool's stdout into the archive as it arrives (`StreamedInput`: no temporary file the size of a database) and its
/// stderr into the run's log. A tool that exits non-zero, or a dump that stops, fails the run with `dump_failed`;
/// the partial snapshot is never marked complete.
public struct DatabaseDumpExecutor: JobExecutor {
    public let engine: any DatabaseEngine
    public var jobType: String { engine.engine.rawValue }
    /// Where a backup to a remote target stages its parts and where option files go (the worker's `<data-dir>/runs`).
    public var stagingDirectory: String
    /// The most bytes of a dump held in memory before its member is written (`ArchiveBuilder.Settings.streamChunkBytes`).
    public var streamChunkBytes: Int

    public init(engine: any DatabaseEngine, stagingDirectory: String = NSTemporaryDirectory(), streamChunkBytes: Int = 64 << 20) {
        self.engine = engine
        self.stagingDirectory = stagingDirectory
        self.streamChunkBytes = streamChunkBytes
    }

    public func execute(_ context: RunContext) async throws -> JSONValue {
        guard case .database(let source) = context.spec.source, source.engine == engine.engine else {
            throw RunFailure(code: "invalid_spec", message: "not a \(engine.engine.rawValue) job")
        }
        let password = try await Self.password(source, secrets: context.targetSecrets)
        let work = try Self.privateDirectory("\(stagingDirectory)/\(context.run.id).db")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let connection = DatabaseConnection(source: source, password: password, workDirectory: work)
        let engine = engine
        let where_ = source.isSocket ? source.host : "\(source.host):\(source.port)"
        context.events.emit(kind: "database", message: "Connecting to \(engine.engine.rawValue) at \(where_)")
        let (version, databases) = try await runBlocking { () throws -> (String, [String]) in
            let version = try engine.serverVersion(connection)
            let existing = try engine.listDatabases(connection)
            if source.databases.isEmpty { return (version, existing) }
            if let missing = source.databases.first(where: { !existing.contains($0) }) {
                throw RunFailure(code: "database_not_found", message: "the server has no database \(missing) (or it allows no connections)")
            }
            return (version, source.databases)
        }
        try context.checkCancellation()
        let plans = try engine.dumpPlans(connection, databases: databases)
        let names = plans.map(\.archivePath)
        guard Set(names).count == names.count else {
            throw RunFailure(code: "invalid_spec", message: "two dumps would have the same archive name: \(names.joined(separator: ", "))")
        }
        context.events.emit(
            kind: "database",
            message: "\(engine.engine.rawValue) \(version): dumping \(databases.count) database(s)\(source.globals ? " and the globals" : "")",
            fields: .object([
                "server_version": .string(version), "databases": .array(databases.map(JSONValue.string)), "globals": .bool(source.globals),
            ])
        )
        let events = context.events
        let running = RunningTools()
        let cancellation = context.cancellation
        // A cancel stops a tool that is blocked, so the build sees its end at once.
        let watcher = Task {
            while !Task.isCancelled {
                if cancellation.reason != nil {
                    running.terminateAll()
                    return
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer { watcher.cancel() }
        let streams = plans.map { plan in
            StreamedInput(archivePath: plan.archivePath) {
                events.emit(kind: "dump", message: "Dumping \(plan.database.map { "database \($0)" } ?? "the globals")")
                return try ToolStreamSource(plan.command, events: events, running: running, cancellation: cancellation) { status, lines in
                    engine.failure("dump_failed", plan.command.label, status: status, lines: lines)
                }
            }
        }
        let location = RunLocation(target: context.spec.target, jobId: context.job.id, runId: context.run.id)
        var settings = ArchiveBuilder.Settings(
            jobId: context.job.id,
            runId: context.run.id,
            runDirectory: location.localDirectory ?? "",
            partSize: context.spec.target.partSizeBytes
        )
        settings.streamChunkBytes = streamChunkBytes
        let clientVersion = engine.clientVersion()
        let kinds = plans.map { ($0.archivePath, $0.kind, $0.database, $0.format) }
        settings.databaseSection = { results in
            let dumps = results.compactMap { result -> DumpRecord? in
                guard let plan = kinds.first(where: { $0.0 == result.archivePath }) else { return nil }
                return DumpRecord(
                    kind: plan.1,
                    database: plan.2,
                    archivePath: result.archivePath,
                    members: result.members,
                    size: result.size,
                    format: plan.3
                )
            }
            return .object([
                "engine": .string(engine.engine.rawValue), "server_version": .string(version), "client_version": .string(clientVersion),
                "dumps": .array(dumps.map(\.json)), "restore_commands": .array(engine.restoreCommands(dumps).map(JSONValue.string)),
            ])
        }
        return try await ArchiveRun.perform(
            context,
            settings: settings,
            location: location,
            staging: stagingDirectory,
            paths: [],
            root: nil,
            preScan: false,
            streams: streams
        )
    }

    /// The password in the source's secret (kind `postgres` / `mariadb`, `{password}`); nil without a secret.
    static func password(_ source: DatabaseSource, secrets: (any TargetSecretProvider)?) async throws -> String? {
        guard let name = source.secretName else { return nil }
        let kind = source.engine.secretKind
        guard let secret = try await secrets?.secret(kind: kind, name: name) else {
            throw RunFailure(code: "database_secret_missing", message: "the \(kind) secret \(name) does not exist")
        }
        guard case .string(let password)? = secret.value["password"] else {
            throw RunFailure(code: "database_secret_missing", message: "the \(kind) secret \(name) has no password")
        }
        return password
    }

    /// A new directory only this user can enter (option files, extracted dumps).
    static func privateDirectory(_ path: String) throws -> String {
        try? FileManager.default.removeItem(atPath: path)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw RunFailure(code: "staging_unavailable", message: "cannot create \(path): \(error.localizedDescription)")
        }
        return path
    }
}
