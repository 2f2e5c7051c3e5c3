import Archive
import Core
import Foundation

/// PostgreSQL through its own tools (docs/databases.md, "PostgreSQL"): `pg_dump -Fc -Z0` per database (zstd compresses
/// the payload: pg_dump's own gzip would be slower and leave zstd nothing to do), `pg_dumpall --globals-only` for roles
/// and tablespaces, `pg_restore --list` to verify, `createdb` + `pg_restore` to restore. The server, user, database
/// and password travel in libpq's environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`), never in
/// argv: `ps` shows none of them, and a database name is never read as an option or a connection string.
public struct PostgresEngine: DatabaseEngine {
    public let engine = DatabaseSource.Engine.postgres
    public let authFailureCode = "postgres_auth_failed"
    /// The directory of `pg_dump`, `pg_restore`, `psql`...: the newest `/usr/lib/postgresql/*/bin` (Debian), else
    /// `/usr/bin`.
    public var binDirectory: String

    public init(binDirectory: String? = nil) {
        self.binDirectory = binDirectory ?? Self.findBinDirectory()
    }

    static func findBinDirectory() -> String {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap { name in Int(name).map { ($0, "\(base)/\(name)/bin") } }
            .filter { FileManager.default.isExecutableFile(atPath: "\($0.1)/pg_dump") }
            .sorted { $0.0 > $1.0 }
        return versions.first?.1 ?? "/usr/bin"
    }

    func tool(_ name: String) -> String { "\(binDirectory)/\(name)" }

    /// libpq's variables for `connection`, connecting to `database`.
    func environment(_ connection: DatabaseConnection, database: String?) -> [String: String] {
        let source = connection.source
        var environment = ["PGHOST": source.host, "PGPORT": String(source.port), "PGCONNECT_TIMEOUT": "30", "PGAPPNAME": "bastion"]
        if let user = source.user { environment["PGUSER"] = user }
        if let database { environment["PGDATABASE"] = database }
        if let password = connection.password { environment["PGPASSWORD"] = password }
        return environment
    }

    /// The database short queries connect to: the first one named, else `postgres`.
    func maintenanceDatabase(_ connection: DatabaseConnection) -> String { connection.source.databases.first ?? "postgres" }

    /// Runs one query with psql (`-X`: no psqlrc; records NUL-separated); the records.
    func query(_ connection: DatabaseConnection, _ sql: String, database: String? = nil) throws -> [String] {
        let command = ToolCommand(
            executable: tool("psql"),
            arguments: ["-X", "-w", "-q", "-A", "-t", "-0", "-v", "ON_ERROR_STOP=1", "-c", sql],
            environment: environment(connection, database: database ?? maintenanceDatabase(connection)),
            label: "psql"
        )
        let (status, output, lines) = try ToolProcess.capture(command)
        guard status == 0 else { throw queryFailure("database_query_failed", "psql", status: status, lines: lines) }
        return output.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            .map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
    }

    public func serverVersion(_ connection: DatabaseConnection) throws -> String {
        try query(connection, "SHOW server_version").first ?? "unknown"
    }

    public func clientVersion() -> String { ToolProcess.version(of: tool("pg_dump"), label: "pg_dump") }

    public func listDatabases(_ connection: DatabaseConnection) throws -> [String] {
        try query(connection, "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname")
            .filter(DatabaseSource.isValidName)
    }

    public func dumpPlans(_ connection: DatabaseConnection, databases: [String]) throws -> [DumpPlan] {
        var plans = databases.map { database in
            DumpPlan(
                kind: .database,
                database: database,
                archivePath: "postgres/\(dumpFileName(database)).dump",
                format: "custom",
                command: ToolCommand(
                    executable: tool("pg_dump"),
                    arguments: ["--format=custom", "--compress=0", "--no-password"],
                    environment: environment(connection, database: database),
                    label: "pg_dump \(database)"
                )
            )
        }
        if connection.source.globals {
            plans.append(
                DumpPlan(
                    kind: .globals,
                    database: nil,
                    archivePath: "postgres/globals.sql",
                    format: "sql",
                    command: ToolCommand(
                        executable: tool("pg_dumpall"),
                        arguments: ["--globals-only", "--no-password"],
                        environment: environment(connection, database: nil),
                        label: "pg_dumpall --globals-only"
                    )
                )
            )
        }
        return plans
    }

    public func restoreCommands(_ dumps: [DumpRecord]) -> [String] {
        var commands: [String] = []
        for dump in dumps where dump.kind == .globals {
            // Roles first: the databases' objects name their owners.
            commands.append("psql -X -d postgres -f \(dump.members.count == 1 ? shellQuote(dump.members[0]) : "<(cat \(dump.shellMembers))")")
        }
        for dump in dumps where dump.kind == .database {
            // A name from the server is never an option (`--`) nor a connection string (`dbname='...'`): `-h evil` or
            // `host=evil dbname=x` would connect elsewhere with the admin's password.
            let name = shellQuote(dump.database ?? "")
            let target = shellQuote("--dbname=" + Self.connectionString(database: dump.database ?? ""))
            let input = dump.members.count == 1 ? shellQuote(dump.members[0]) : ""
            let restore = "pg_restore --exit-on-error --no-password \(target) \(input)".trimmingCharacters(in: .whitespaces)
            commands.append(
                dump.members.count == 1
                    ? "createdb -- \(name) && \(restore)" : "createdb -- \(name) && cat \(dump.shellMembers) | \(restore)"
            )
        }
        return commands
    }

    public func verifyDump(_ dump: DumpRecord, file: String, connection: DatabaseConnection?) throws -> String? {
        guard dump.kind == .database else { return nil }
        let command = ToolCommand(executable: tool("pg_restore"), arguments: ["--list", "--", file], environment: [:], label: "pg_restore --list")
        let (status, output, lines) = try ToolProcess.capture(command, limit: 1 << 20)
        guard status == 0 else { return "pg_restore --list of \(dump.archivePath) exited with \(status): \(lines.last ?? "no message")" }
        guard String(decoding: output, as: UTF8.self).contains("; Archive created at") else {
            return "pg_restore --list of \(dump.archivePath) printed no table of contents"
        }
        return nil
    }

    public func databaseExists(_ connection: DatabaseConnection, name: String) throws -> Bool {
        // The name is compared as data: psql's variable, quoted as a literal by psql itself.
        let command = ToolCommand(
            executable: tool("psql"),
            arguments: ["-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-v", "name=\(name)"],
            environment: environment(connection, database: "postgres"),
            label: "psql"
        )
        let (status, output, lines) = try Self.run(command, input: "SELECT count(*) FROM pg_database WHERE datname = :'name';\n")
        guard status == 0 else { throw queryFailure("database_query_failed", "psql", status: status, lines: lines) }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) != "0"
    }

    public func restore(
        _ dump: DumpRecord,
        file: String,
        into name: String?,
        connection: DatabaseConnection,
        dropExisting: Bool,
        events: any RunEvents
    ) throws {
        if dump.kind == .globals {
            // psql would run the file's meta-commands here (`\!` runs a shell): `\restrict` with a key the file
            // cannot know refuses them all before it is read. A psql without `\restrict` (before 13.22, 14.19, 15.14,
            // 16.10, 17.6) is not given the file.
            let probe = ToolCommand(
                executable: tool("psql"),
                arguments: ["-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-c", "\\restrict bastionprobe"],
                environment: environment(connection, database: "postgres"),
                label: "psql"
            )
            let (probed, _, probeLines) = try ToolProcess.capture(probe, limit: 4096)
            guard probed == 0 else {
                throw failure("restore_failed", "psql \\restrict (needed to read a globals file)", status: probed, lines: probeLines)
            }
            let key = UUID().uuidString.replacingOccurrences(of: "-", with: "")
            // Roles that exist already make psql print an error and go on (`CREATE ROLE`), and their `ALTER ROLE`
            // lines are left out: their passwords and attributes stay as they are. The others are created.
            let existing = try query(connection, "SELECT rolname FROM pg_roles", database: "postgres")
            let filtered = connection.workDirectory + "/globals-\(key).sql"
            try Self.withoutAlteringRoles(Set(existing), from: file, to: filtered)
            defer { unlink(filtered) }
            let command = ToolCommand(
                executable: tool("psql"),
                arguments: ["-X", "-w", "-q", "-c", "\\restrict \(key)", "-f", filtered],
                environment: environment(connection, database: "postgres"),
                label: "psql globals"
            )
            let tool = try ToolProcess(command, events: events)
            _ = try? tool.output.fileHandleForReading.readToEnd()
            let status = tool.wait()
            guard status == 0 else { throw failure("restore_failed", "psql globals", status: status, lines: tool.lastLines) }
            return
        }
        guard let name else { return }
        let admin = environment(connection, database: "postgres")
        if dropExisting {
            let (status, _, lines) = try Self.run(
                ToolCommand(
                    executable: tool("psql"),
                    arguments: ["-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-v", "name=\(name)"],
                    environment: admin,
                    label: "psql"
                ),
                input: "DROP DATABASE IF EXISTS :\"name\" WITH (FORCE);\n"
            )
            guard status == 0 else { throw failure("restore_failed", "DROP DATABASE", status: status, lines: lines) }
        }
        let (created, _, createLines) = try Self.run(
            ToolCommand(
                executable: tool("psql"),
                arguments: ["-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-v", "name=\(name)"],
                environment: admin,
                label: "psql"
            ),
            input: "CREATE DATABASE :\"name\";\n"
        )
        guard created == 0 else {
            if createLines.joined().contains("already exists") {
                throw RunFailure(code: "database_exists", message: "the database \(name) exists (set drop_existing to replace it)")
            }
            throw failure("restore_failed", "CREATE DATABASE", status: created, lines: createLines)
        }
        let command = ToolCommand(
            executable: tool("pg_restore"),
            // pg_restore needs -d: a connection string naming only the database (quoted as libpq reads it), so no
            // name is ever read as an option or as other connection settings; the rest comes from the environment.
            arguments: ["--exit-on-error", "--no-password", "--dbname=" + Self.connectionString(database: name), "--", file],
            environment: environment(connection, database: name),
            label: "pg_restore \(name)"
        )
        let tool = try ToolProcess(command, events: events)
        _ = try? tool.output.fileHandleForReading.readToEnd()
        let status = tool.wait()
        guard status == 0 else { throw failure("restore_failed", "pg_restore into \(name)", status: status, lines: tool.lastLines) }
    }

    /// Copies a `pg_dumpall --globals-only` file without the lines that alter one of `roles` (`ALTER ROLE <name> `,
    /// the name as pg_dumpall writes it: bare, or double-quoted with `""` for `"`).
    static func withoutAlteringRoles(_ roles: Set<String>, from file: String, to output: String) throws {
        var prefixes: [[UInt8]] = []
        for role in roles {
            prefixes.append(Array("ALTER ROLE \(role) ".utf8))
            prefixes.append(Array("ALTER ROLE \"\(role.replacingOccurrences(of: "\"", with: "\"\""))\" ".utf8))
        }
        guard let input = FileHandle(forReadingAtPath: file) else { throw RunFailure(code: "restore_failed", message: "cannot read \(file)") }
        defer { try? input.close() }
        let descriptor = open(output, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw RunFailure(code: "staging_unavailable", message: POSIXFailure("create \(output)").description) }
        let sink = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var pending: [UInt8] = []
        func flush(_ line: ArraySlice<UInt8>) throws {
            guard !prefixes.contains(where: { line.starts(with: $0) }) else { return }
            try sink.write(contentsOf: Data(line))
        }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            pending.append(contentsOf: chunk)
            var start = 0
            while let newline = pending[start...].firstIndex(of: 10) {
                try flush(pending[start...newline])
                start = newline + 1
            }
            pending.removeFirst(start)
        }
        try flush(pending[...])
    }

    /// `dbname='...'` with `\` and `'` escaped (libpq's connection string syntax).
    static func connectionString(database: String) -> String {
        "dbname='" + database.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// Runs `command` with `input` on its stdin (short SQL); status, stdout, last stderr lines.
    static func run(_ command: ToolCommand, input: String) throws -> (Int32, [UInt8], [String]) {
        let pipe = Pipe()
        let tool = try ToolProcess(command, events: nil, input: pipe.fileHandleForReading)
        try? pipe.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try? pipe.fileHandleForWriting.close()
        let output = (try? tool.output.fileHandleForReading.readToEnd()).map { [UInt8]($0) } ?? []
        let status = tool.wait()
        return (status, output, tool.lastLines)
    }
}
