import Archive
import Core
import Foundation

/// MariaDB/MySQL through its own tools (docs/databases.md, "MariaDB"): `mariadb-dump --single-transaction --routines
/// --events --triggers` per database (one consistent InnoDB snapshot per database, no table locks), `mariadb-dump
/// --system=users --insert-ignore` for users, roles and grants, the `mariadb` client to ask, create and restore.
///
/// Where to connect, who, and the password are written to a 0600 option file in the run's private directory and
/// given as `--defaults-extra-file` (its first argument, as the client requires): `ps` shows none of them. A database
/// name travels after `--` (never read as an option) or as a hex literal in SQL (never read as SQL).
public struct MariaDBEngine: DatabaseEngine {
    public let engine = DatabaseSource.Engine.mariadb
    public let authFailureCode = "mariadb_auth_failed"
    /// The directory of `mariadb-dump` and `mariadb` (`/usr/bin` on Debian).
    public var binDirectory: String

    public init(binDirectory: String = "/usr/bin") {
        self.binDirectory = binDirectory
    }

    /// The databases "all" leaves out: the server's own schemas (`mysql`'s users and grants are the globals).
    static let systemDatabases: Set<String> = ["information_schema", "performance_schema", "sys", "mysql"]

    /// Whether `name` is one of `systemDatabases` (the server compares these without case).
    static func isSystemDatabase(_ name: String) -> Bool { systemDatabases.contains(name.lowercased()) }

    func tool(_ name: String) -> String { "\(binDirectory)/\(name)" }

    /// `"text"` as an option file value: quoted, with the escapes the client's option parser reads.
    static func optionValue(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// Writes the connection's `[client]` option file (0600, created new) and returns its path.
    func optionFile(_ connection: DatabaseConnection) throws -> String {
        let source = connection.source
        var lines = ["[client]"]
        if source.isSocket {
            lines += ["protocol=socket", "socket=\(Self.optionValue(source.host))"]
        } else {
            lines += ["protocol=tcp", "host=\(Self.optionValue(source.host))", "port=\(source.port)"]
        }
        if let user = source.user { lines.append("user=\(Self.optionValue(user))") }
        if let password = connection.password { lines.append("password=\(Self.optionValue(password))") }
        // connect-timeout only for the `mariadb` client: mariadb-dump (10.11) does not know it and refuses to start
        // on an unknown option in a group it reads.
        // max-allowed-packet in both tools' own groups: read after the host's /etc/mysql files, it overrides Debian's
        // 16M for mariadb-dump, with which a row over 16 MiB could be neither dumped nor restored.
        lines += [
            "default-character-set=utf8mb4", "[mariadb-client]", "connect-timeout=30", "max-allowed-packet=1G", "[mariadb-dump]",
            "max-allowed-packet=1G",
        ]
        let path = connection.workDirectory + "/mariadb-client.cnf"
        let data = Data((lines.joined(separator: "\n") + "\n").utf8)
        unlink(path)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw RunFailure(code: "staging_unavailable", message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count else { throw RunFailure(code: "staging_unavailable", message: "cannot write \(path)") }
        return path
    }

    /// `mariadb` with the connection's option file and `arguments`.
    func client(_ connection: DatabaseConnection, _ arguments: [String], label: String = "mariadb") throws -> ToolCommand {
        ToolCommand(
            executable: tool("mariadb"),
            arguments: ["--defaults-extra-file=\(try optionFile(connection))"] + arguments,
            environment: [:],
            label: label
        )
    }

    /// Runs SQL (batch mode, no column names); the rows' first columns.
    func query(_ connection: DatabaseConnection, _ sql: String) throws -> [String] {
        let (status, output, lines) = try ToolProcess.capture(try client(connection, ["--batch", "--skip-column-names", "-e", sql]))
        guard status == 0 else { throw queryFailure("database_query_failed", "mariadb", status: status, lines: lines) }
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map { String($0.split(separator: "\t").first ?? "") }
    }

    /// Runs `sql` given on stdin (names inside it as hex literals); throws the failure as `code`.
    func execute(_ connection: DatabaseConnection, _ sql: String, code: String, database: String? = nil) throws {
        let command = try client(connection, ["--batch"] + (database.map { ["--database=\($0)"] } ?? []))
        let (status, _, lines) = try PostgresEngine.run(command, input: sql)
        guard status == 0 else { throw queryFailure(code, "mariadb", status: status, lines: lines) }
    }

    /// `name` as an identifier: backquoted, backquotes doubled.
    static func identifier(_ name: String) -> String { "`" + name.replacingOccurrences(of: "`", with: "``") + "`" }

    /// `name` as a hex string literal (`X'…'`), so it is compared as data.
    static func hexLiteral(_ name: String) -> String { "X'" + name.utf8.map { String(format: "%02X", $0) }.joined() + "'" }

    public func serverVersion(_ connection: DatabaseConnection) throws -> String {
        try query(connection, "SELECT VERSION()").first ?? "unknown"
    }

    public func clientVersion() -> String { ToolProcess.version(of: tool("mariadb-dump"), label: "mariadb-dump") }

    public func listDatabases(_ connection: DatabaseConnection) throws -> [String] {
        // Hex, so a name with a tab or a backslash comes back whole.
        try query(connection, "SELECT HEX(schema_name) FROM information_schema.schemata ORDER BY schema_name")
            .compactMap(Self.unhex)
            .filter { !Self.systemDatabases.contains($0) && DatabaseSource.isValidName($0) }
    }

    static func unhex(_ text: String) -> String? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    public func dumpPlans(_ connection: DatabaseConnection, databases: [String]) throws -> [DumpPlan] {
        let options = "--defaults-extra-file=\(try optionFile(connection))"
        var plans = databases.map { database in
            DumpPlan(
                kind: .database,
                database: database,
                archivePath: "mariadb/\(Self.memberName(database)).sql",
                format: "sql",
                command: ToolCommand(
                    executable: tool("mariadb-dump"),
                    arguments: [options, "--single-transaction", "--routines", "--events", "--triggers", "--", database],
                    environment: [:],
                    label: "mariadb-dump \(database)"
                )
            )
        }
        if connection.source.globals {
            plans.append(
                DumpPlan(
                    kind: .globals,
                    database: nil,
                    archivePath: "mariadb/users.sql",
                    format: "sql",
                    command: ToolCommand(
                        executable: tool("mariadb-dump"),
                        // IF NOT EXISTS: restoring next to existing accounts (root) creates only the missing ones.
                        arguments: [options, "--system=users", "--insert-ignore"],
                        environment: [:],
                        label: "mariadb-dump --system=users"
                    )
                )
            )
        }
        return plans
    }

    /// A database's member name: `dumpFileName`, except that a database named `users` is `%75sers` (its `u` escaped,
    /// which no other name encodes to), so it never takes the users and grants' `users.sql`.
    static func memberName(_ database: String) -> String {
        let name = dumpFileName(database)
        return name == "users" ? "%75sers" : name
    }

    public func restoreCommands(_ dumps: [DumpRecord]) -> [String] {
        func input(_ dump: DumpRecord) -> String {
            dump.members.count == 1 ? "mariadb%@ < \(shellQuote(dump.members[0]))" : "cat \(dump.shellMembers) | mariadb%@"
        }
        var commands: [String] = []
        for dump in dumps where dump.kind == .globals {
            // Users and grants first: definers and grants of the databases' objects name them.
            commands.append(input(dump).replacingOccurrences(of: "%@", with: ""))
        }
        for dump in dumps where dump.kind == .database {
            let name = dump.database ?? ""
            let create = "mariadb -e \(shellQuote("CREATE DATABASE \(Self.identifier(name))"))"
            commands.append(create + " && " + input(dump).replacingOccurrences(of: "%@", with: " --database=\(shellQuote(name))"))
        }
        return commands
    }

    public func verifyDump(_ dump: DumpRecord, file: String, connection: DatabaseConnection?) throws -> String? {
        if let problem = try MariaDBDumpCheck.check(file: file) { return "\(dump.archivePath): \(problem)" }
        guard dump.kind == .database, let connection, connection.source.verifyScratchRestore else { return nil }
        // A scratch database of its own, dropped after whatever happens.
        let scratch = "bastion_verify_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        try execute(connection, "CREATE DATABASE \(Self.identifier(scratch));\n", code: "verify_failed")
        defer { try? execute(connection, "DROP DATABASE IF EXISTS \(Self.identifier(scratch));\n", code: "verify_failed") }
        let (status, lines) = try restoreFile(file, connection: connection, database: scratch, events: nil)
        guard status == 0 else {
            return "\(dump.archivePath): the restore into a scratch database failed (\(status)): \(lines.last ?? "no message")"
        }
        return nil
    }

    /// Feeds `file` to `mariadb` (into `database`, or none for the globals); its status and last stderr lines.
    func restoreFile(
        _ file: String,
        connection: DatabaseConnection,
        database: String?,
        events: (any RunEvents)?,
        force: Bool = false
    ) throws -> (Int32, [String]) {
        guard let input = FileHandle(forReadingAtPath: file) else {
            throw RunFailure(code: "restore_failed", message: "cannot read \(file)")
        }
        defer { try? input.close() }
        // --binary-mode: the file is read as SQL only, none of the client's own commands (`\!` or `system` runs a
        // shell, `source` and `tee` touch files); --sandbox refuses those in case one still is.
        let arguments = ["--batch", "--binary-mode", "--sandbox"] + (force ? ["--force"] : []) + (database.map { ["--database=\($0)"] } ?? [])
        let tool = try ToolProcess(try client(connection, arguments, label: "mariadb \(database ?? "users")"), events: events, input: input)
        _ = try? tool.output.fileHandleForReading.readToEnd()
        return (tool.wait(), tool.lastLines)
    }

    public func databaseExists(_ connection: DatabaseConnection, name: String) throws -> Bool {
        try query(connection, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = \(Self.hexLiteral(name))").first != "0"
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
            // `--force`: users that exist are kept (IF NOT EXISTS), and a grant the connecting user may not give
            // (root's PROXY) is reported in the log and skipped, as psql does with the roles of a PostgreSQL restore.
            let (status, lines) = try restoreFile(file, connection: connection, database: nil, events: events, force: true)
            if status != 0 {
                events.emit(
                    .warn,
                    kind: "restore",
                    message: "some users or grants were not restored (mariadb exited with \(status)): \(lines.last ?? "no message")"
                )
            }
            return
        }
        guard let name else { return }
        if dropExisting {
            try execute(connection, "DROP DATABASE IF EXISTS \(Self.identifier(name));\n", code: "restore_failed")
        } else if try databaseExists(connection, name: name) {
            throw RunFailure(code: "database_exists", message: "the database \(name) exists (set drop_existing to replace it)")
        }
        // Without IF NOT EXISTS: one created meanwhile is refused, never written into.
        do {
            try execute(connection, "CREATE DATABASE \(Self.identifier(name));\n", code: "restore_failed")
        } catch let failure as RunFailure where failure.message.contains("database exists") {
            throw RunFailure(code: "database_exists", message: "the database \(name) exists (set drop_existing to replace it)")
        }
        let (status, lines) = try restoreFile(file, connection: connection, database: name, events: events)
        // The connection was checked before (serverVersion): an "access denied" here is a privilege, not the password.
        guard status == 0 else {
            throw RunFailure(code: "restore_failed", message: "mariadb into \(name) exited with \(status): \(lines.last ?? "no message")")
        }
    }
}

/// Whether a file is a whole `mariadb-dump` output: a scan of its SQL (quotes, backquotes, comments, `DELIMITER`
/// lines as the client reads them) that must end outside any string or comment with no statement left unfinished,
/// after mariadb-dump's last line, `-- Dump completed`. A dump cut short (the server went away, the disk filled) fails.
enum MariaDBDumpCheck {
    static func check(file: String) throws -> String? {
        guard let handle = FileHandle(forReadingAtPath: file) else { return "cannot be read" }
        defer { try? handle.close() }
        var scanner = MariaDBDumpScanner()
        while true {
            guard let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty else { break }
            chunk.withUnsafeBytes { scanner.feed($0) }
        }
        return scanner.finish()
    }
}
