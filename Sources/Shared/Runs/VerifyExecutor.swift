import Archive
import Core
import Foundation
import Store

/// Verifies a finished snapshot without restoring it: every part's size and BLAKE3, the whole stream decoded, every
/// file's size and BLAKE3 against the entries index, the entry count against the manifest, and for a sqlite backup
/// `PRAGMA integrity_check` on the database it holds (copied to a work file while hashing, removed afterwards).
public struct VerifyExecutor: JobExecutor {
    public let jobType = RunKind.verify.rawValue
    /// Where a sqlite snapshot's database is copied for its integrity check (the worker's `<data-dir>/runs`).
    public var workDirectory: String
    /// The engines that check a database job's dumps, by job type (docs/databases.md, "Verify").
    public var engines: [String: any DatabaseEngine]

    public init(workDirectory: String = NSTemporaryDirectory(), engines: [String: any DatabaseEngine] = databaseEngines) {
        self.workDirectory = workDirectory
        self.engines = engines
    }

    public func execute(_ context: RunContext) async throws -> JSONValue {
        // A restore drill is a verify, plus a test restore when asked (docs/architecture.md, "Restore drills").
        guard let drill = RestoreDrill(operation: context.run.operation) else { return try await verify(context) }
        return try await drill.run(context, workDirectory: workDirectory, engines: engines) { try await verify($0) }
    }

    /// The verify itself.
    func verify(_ context: RunContext) async throws -> JSONValue {
        let snapshot = try await openSnapshot(context, staging: workDirectory)
        let readDirectory = remoteReadDirectory(context, staging: workDirectory)
        defer { if snapshot.fetchPart != nil { try? FileManager.default.removeItem(atPath: readDirectory) } }
        let identity = try await snapshotIdentity(snapshot, context)
        // An incremental snapshot: the members earlier snapshots hold for it are checked there, against its index.
        var chain: ChainRead?
        if (snapshot.manifest.chain?.level ?? 0) > 0 {
            do {
                chain = try await ChainRead.open(snapshot, selection: nil, verifying: true, identity: identity, context, staging: workDirectory)
            } catch let failure as RunFailure where failure.code == "base_missing" || failure.code == "snapshot_corrupt" {
                let summary: JSONValue = .object(["ok": false, "error": .string(failure.message)])
                context.events.emit(.error, kind: "verify", message: "Verify failed: \(failure.message)", fields: summary)
                throw RunFailure(code: "verify_failed", message: failure.message, summary: summary)
            }
        }
        let staging = workDirectory
        defer { chain?.removeStaging(context, staging: staging) }
        let chosenChain = chain
        let progress = BuildProgress()
        progress.setStage("verify", total: .init(bytes: chain?.payloadBytes ?? snapshot.payloadBytes))
        let cancellation = context.cancellation
        let work = "\(workDirectory)/\(context.run.id)"
        var extract: (member: String, to: String)?
        if case .string(let name)? = context.run.operation?["sqlite_snapshot_name"] {
            try? FileManager.default.removeItem(atPath: work)
            do {
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            } catch {
                throw RunFailure(code: "staging_unavailable", message: "cannot create \(work): \(error.localizedDescription)")
            }
            extract = (name, "\(work)/database.sqlite3")
        }
        defer { if extract != nil { try? FileManager.default.removeItem(atPath: work) } }
        let sqliteCopy = extract
        // A database job's snapshot: its dumps are joined into a private directory while the stream is checked, and
        // each is then checked by its engine's tool (`pg_restore --list`).
        let databaseDumps = try DatabaseSnapshot.dumps(snapshot.manifest)?.filter { $0.kind == .database } ?? []
        let dumpDirectory = databaseDumps.isEmpty ? nil : try DatabaseDumpExecutor.privateDirectory("\(workDirectory)/\(context.run.id).db")
        defer { if let dumpDirectory { try? FileManager.default.removeItem(atPath: dumpDirectory) } }
        var dumpFiles: [String: String] = [:]
        for (index, dump) in databaseDumps.enumerated() { dumpFiles[dump.archivePath] = "\(dumpDirectory ?? "")/dump-\(index)" }
        let joiner = databaseDumps.isEmpty ? nil : DumpJoiner(dumps: databaseDumps, files: dumpFiles)
        let indexIdentity = try snapshot.indexIdentity(identity)
        async let checked: (SnapshotVerifier.Outcome, [String]?) = runBlocking {
            defer { progress.finish() }
            let verifier = try SnapshotVerifier(
                entriesIndex: snapshot.directory + "/entries.jsonl.zst",
                identity: indexIdentity,
                isCanceled: { cancellation.reason != nil },
                extract: sqliteCopy
            )
            let delegate: any TarReaderDelegate = joiner.map { Tee(first: verifier, second: $0) } ?? verifier
            try snapshot.readMembers(into: delegate, identity: identity, progress: progress) {
                if cancellation.reason != nil { throw CancellationError() }
            }
            try verifier.finish()
            try joiner?.finish()
            var outcome = verifier.outcome
            if let chosenChain {
                for source in chosenChain.sources {
                    let sourceVerifier = chosenChain.plan.verifier(for: source.runId) { cancellation.reason != nil }
                    try chosenChain.read(source, into: sourceVerifier, progress: progress) {
                        if cancellation.reason != nil { throw CancellationError() }
                    }
                    try sourceVerifier.finish()
                    outcome.add(sourceVerifier.outcome)
                }
            }
            var integrity: [String]?
            if let sqliteCopy {
                do {
                    integrity =
                        verifier.extracted ? try SQLiteFileCopy.integrityCheck(sqliteCopy.to) : ["\(sqliteCopy.member) is not in the snapshot"]
                } catch {
                    integrity = ["cannot open \(sqliteCopy.member): \(error)"]
                }
            }
            return (outcome, integrity)
        }
        await reportProgress(progress, kind: "verify", to: context)
        let outcome: SnapshotVerifier.Outcome
        let integrity: [String]?
        do {
            (outcome, integrity) = try await checked
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.events.emit(
                .error,
                kind: "verify",
                message: "Verify failed: \(error)",
                fields: .object(["ok": false, "error": .string("\(error)")])
            )
            throw RunFailure(code: "verify_failed", message: "\(error)", summary: .object(["ok": false, "error": .string("\(error)")]))
        }
        let total = outcome.filesTotal
        let ok = outcome.filesOK
        var samples: [JSONValue] = outcome.samples.map(JSONValue.string)
        // Why the verify fails, if it does.
        var failures: [String] = total == ok ? [] : ["\(total - ok) file(s) do not match the snapshot"]
        if outcome.otherFailures > 0 { failures.append("\(outcome.otherFailures) other entr(ies) do not match the snapshot") }
        if outcome.unrestorable > 0 { failures.append("\(outcome.unrestorable) entr(ies) have a path restore refuses") }
        if let count = snapshot.entriesCount, count != outcome.entriesCount {
            failures.append("the entries index has \(outcome.entriesCount) lines, the manifest says \(count)")
            samples.append(.string(failures.last!))
        }
        // The original's shape: `sqlite_ok` and `sqlite` are null when the snapshot is not a sqlite backup.
        let sqliteOK = integrity.map { $0 == ["ok"] }
        if sqliteOK == false {
            failures.append("sqlite integrity_check failed: \(integrity?.first ?? "")")
            samples.append(.string(failures.last!))
        }
        var databaseChecks: [JSONValue] = []
        if !databaseDumps.isEmpty, let engine = engines[context.spec.type] {
            // mariadb's verify_scratch_restore: the engine also restores each dump into a scratch database on the
            // job's server (docs/databases.md, "MariaDB"), so it gets the job's connection.
            var connection: DatabaseConnection?
            if case .database(let source) = context.spec.source, source.verifyScratchRestore, let dumpDirectory {
                let password = try await DatabaseDumpExecutor.password(source, secrets: context.targetSecrets)
                connection = DatabaseConnection(source: source, password: password, workDirectory: dumpDirectory)
            }
            for dump in databaseDumps {
                try context.checkCancellation()
                guard let file = dumpFiles[dump.archivePath] else { continue }
                let problem: String?
                do {
                    problem = try await runBlocking { [connection] in try engine.verifyDump(dump, file: file, connection: connection) }
                } catch let failure as RunFailure {
                    problem = failure.message
                }
                databaseChecks.append(
                    .object([
                        "path": .string(dump.archivePath), "database": dump.database.map(JSONValue.string) ?? .null, "ok": .bool(problem == nil),
                        "error": problem.map(JSONValue.string) ?? .null,
                    ])
                )
                if let problem {
                    failures.append(problem)
                    samples.append(.string(problem))
                }
            }
            let checked = databaseChecks.filter { $0["ok"] == .bool(true) }.count
            context.events.emit(
                checked == databaseChecks.count ? .info : .error,
                kind: "verify",
                message: "\(checked) of \(databaseChecks.count) database dump(s) read back by \(engine.engine.rawValue)'s tool"
            )
        }
        let summary: JSONValue = .object([
            "database": databaseDumps.isEmpty ? .null : .object(["dumps": .array(databaseChecks)]),
            "ok": .bool(failures.isEmpty), "files_total": .number(Double(total)), "files_ok": .number(Double(ok)),
            "files_failed": .number(Double(total - ok)), "sample_errors": .array(samples),
            "entries_failed": .number(Double(outcome.otherFailures + outcome.unrestorable)),
            "warnings": .number(Double(outcome.warningsTotal)), "sample_warnings": .array(outcome.warnings.map(JSONValue.string)),
            "sqlite_ok": sqliteOK.map(JSONValue.bool) ?? .null,
            "sqlite": integrity.map { lines in
                .object(["name": extract.map { .string($0.member) } ?? .null, "integrity_check": .array(lines.map(JSONValue.string))])
            } ?? .null,
        ])
        let checkedSQLite = sqliteOK == nil ? "" : sqliteOK == true ? ", sqlite integrity_check ok" : ", sqlite integrity_check FAILED"
        context.events.emit(
            failures.isEmpty ? .info : .error,
            kind: "verify",
            message: "\(ok) of \(total) files verified\(checkedSQLite)",
            fields: summary
        )
        if !failures.isEmpty { throw RunFailure(code: "verify_failed", message: failures.joined(separator: "; "), summary: summary) }
        return summary
    }
}
