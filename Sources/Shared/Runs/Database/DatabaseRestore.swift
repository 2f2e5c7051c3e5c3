import Archive
import Core
import Foundation

/// The engines the restore and verify executors know, by job type.
public let databaseEngines: [String: any DatabaseEngine] = ["postgres": PostgresEngine(), "mariadb": MariaDBEngine()]

/// A restore into a database (docs/databases.md, "Restore into a database"): the snapshot's engine is its job's type.
/// The server is asked first (a wrong password fails with the engine's `*_auth_failed`), then whether each new name
/// exists (`database_exists` unless `drop_existing`); only then is the snapshot read, every member checked against the
/// entries index, the chosen dumps joined into a private work directory, and restored: the globals first when asked,
/// then each database created under its new name and filled by the engine's tool.
enum DatabaseRestore {
    static func run(
        _ context: RunContext,
        destination: DatabaseDestination,
        engines: [String: any DatabaseEngine],
        staging: String
    ) async throws -> JSONValue {
        guard case .database(let jobSource) = context.spec.source, let engine = engines[jobSource.engine.rawValue] else {
            throw RunFailure(code: "invalid_operation", message: "a restore into a database needs a database job's snapshot")
        }
        var source = destination.source(defaults: jobSource)
        // The new names may not exist yet: short queries go to the server's maintenance database.
        source.databases = []
        let password = try await DatabaseDumpExecutor.password(source, secrets: context.targetSecrets)
        let work = try DatabaseDumpExecutor.privateDirectory("\(staging)/\(context.run.id).db")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let connection = DatabaseConnection(source: source, password: password, workDirectory: work)

        let snapshot = try await openSnapshot(context, staging: staging)
        let remote = snapshot.fetchPart != nil
        let readDirectory = remoteReadDirectory(context, staging: staging)
        defer { if remote { try? FileManager.default.removeItem(atPath: readDirectory) } }
        let identity = try await snapshotIdentity(snapshot, context)
        guard let dumps = try DatabaseSnapshot.dumps(snapshot.manifest) else {
            throw RunFailure(code: "invalid_operation", message: "the snapshot has no database dumps")
        }
        var chosen: [(dump: DumpRecord, into: String?)] = []
        if destination.globals {
            guard let globals = dumps.first(where: { $0.kind == .globals }) else {
                throw RunFailure(code: "invalid_operation", message: "the snapshot has no globals")
            }
            chosen.append((globals, nil))
        }
        for (from, to) in destination.databases {
            guard let dump = dumps.first(where: { $0.kind == .database && $0.database == from }) else {
                throw RunFailure(code: "invalid_operation", message: "the snapshot has no dump of database \(from)")
            }
            chosen.append((dump, to))
        }
        // The server's own schemas are never a new name (`drop_existing` would drop `mysql`, every account with it).
        if engine.engine == .mariadb, let name = destination.databases.map(\.to).first(where: { MariaDBEngine.isSystemDatabase($0) }) {
            throw RunFailure(code: "invalid_operation", message: "\(name) is one of the server's own schemas: a restore never replaces it")
        }
        let where_ = source.isSocket ? source.host : "\(source.host):\(source.port)"
        context.events.emit(kind: "restore", message: "Restoring \(chosen.count) dump(s) into \(engine.engine.rawValue) at \(where_)")
        let version = try await runBlocking { () throws -> String in
            let version = try engine.serverVersion(connection)
            for (_, name) in destination.databases {
                if try engine.databaseExists(connection, name: name), !destination.dropExisting {
                    throw RunFailure(code: "database_exists", message: "the database \(name) exists (drop_existing replaces it)")
                }
            }
            return version
        }
        try context.checkCancellation()
        let progress = BuildProgress()
        progress.setStage("verify", total: .init(bytes: snapshot.payloadBytes))
        let cancellation = context.cancellation
        let wanted = chosen.map(\.dump)
        async let read: (SnapshotVerifier.Outcome, [String: String]) = runBlocking {
            defer { progress.finish() }
            return try DatabaseSnapshot.extract(snapshot, identity: identity, dumps: wanted, into: work, progress: progress) {
                cancellation.reason != nil
            }
        }
        await reportProgress(progress, kind: "restore", to: context)
        let outcome: SnapshotVerifier.Outcome
        let files: [String: String]
        do {
            (outcome, files) = try await read
        } catch is CancellationError {
            throw CancellationError()
        } catch let failure as RunFailure {
            throw failure
        } catch {
            throw RunFailure(code: "snapshot_corrupt", message: "\(error)")
        }
        guard outcome.filesOK == outcome.filesTotal, outcome.otherFailures == 0 else {
            throw RunFailure(code: "snapshot_corrupt", message: outcome.samples.first ?? "the snapshot does not match its entries index")
        }
        // A cancel stops a restoring tool that is blocked (waiting for a lock, a silent server), as in a dump.
        let running = RunningTools()
        let watcher = Task {
            while !Task.isCancelled {
                if cancellation.reason != nil { running.terminateAll() }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer { watcher.cancel() }
        let events = ToolTrackingEvents(base: context.events, running: running)
        var restored: [JSONValue] = []
        for (dump, name) in chosen {
            try context.checkCancellation()
            guard let file = files[dump.archivePath] else { continue }
            context.events.emit(
                kind: "restore",
                message: name.map { "Restoring database \(dump.database ?? "") as \($0)" } ?? "Restoring the globals"
            )
            do {
                try await runBlocking {
                    try engine.restore(dump, file: file, into: name, connection: connection, dropExisting: destination.dropExisting, events: events)
                }
            } catch {
                if cancellation.reason != nil { throw CancellationError() }
                throw error
            }
            restored.append(.object(["from": dump.database.map(JSONValue.string) ?? "globals", "to": name.map(JSONValue.string) ?? .null]))
        }
        return .object([
            "destination": .object(["type": "database", "engine": .string(engine.engine.rawValue), "server": .string(where_)]),
            "server_version": .string(version), "restored": .array(restored),
            "source_run_id": context.run.operation?["source_run_id"] ?? .null,
        ])
    }
}
