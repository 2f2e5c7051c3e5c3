import Archive
import Core
import Foundation

/// How a database job reaches its server: the source's settings, the password from its secret (nil: peer or socket
/// authentication), and a private directory (0700) of the run where an engine may write a 0600 option file.
public struct DatabaseConnection: Sendable {
    public var source: DatabaseSource
    public var password: String?
    public var workDirectory: String

    public init(source: DatabaseSource, password: String?, workDirectory: String) {
        self.source = source
        self.password = password
        self.workDirectory = workDirectory
    }
}

/// One dump of a database job's snapshot: a database's, or the globals (roles / users and grants).
public struct DumpPlan: Sendable {
    public enum Kind: String, Sendable {
        case database, globals
    }

    public var kind: Kind
    /// The database's name (nil for the globals).
    public var database: String?
    /// `postgres/app.dump`, `mariadb/users.sql`.
    public var archivePath: String
    /// `custom` (pg_dump -Fc) or `sql`.
    public var format: String
    public var command: ToolCommand

    public init(kind: Kind, database: String?, archivePath: String, format: String, command: ToolCommand) {
        self.kind = kind
        self.database = database
        self.archivePath = archivePath
        self.format = format
        self.command = command
    }
}

/// A dump as the manifest records it (`database.dumps[]`, docs/databases.md).
public struct DumpRecord: Sendable, Equatable {
    public var kind: DumpPlan.Kind
    public var database: String?
    public var archivePath: String
    public var members: [String]
    public var size: Int64
    public var format: String

    public init(kind: DumpPlan.Kind, database: String?, archivePath: String, members: [String], size: Int64, format: String) {
        self.kind = kind
        self.database = database
        self.archivePath = archivePath
        self.members = members
        self.size = size
        self.format = format
    }

    public var json: JSONValue {
        .object([
            "kind": .string(kind.rawValue), "database": database.map(JSONValue.string) ?? .null, "path": .string(archivePath),
            "members": .array(members.map(JSONValue.string)), "size": .number(Double(size)), "format": .string(format),
        ])
    }

    /// Reads one `database.dumps[]` entry of a manifest (hostile: names checked as the restore writes them).
    public init?(json: JSONValue) {
        guard let kindText = json["kind"]?.stringValue, let kind = DumpPlan.Kind(rawValue: kindText),
            let path = json["path"]?.stringValue, case .array(let members)? = json["members"],
            let format = json["format"]?.stringValue
        else { return nil }
        let names = members.compactMap(\.stringValue)
        guard names.count == members.count, !names.isEmpty, names.count <= 10_000_000 else { return nil }
        for name in [path] + names {
            guard let components = RestoreWriter.components(Array(name.utf8)), !components.isEmpty, !name.hasPrefix("/") else { return nil }
        }
        let database = json["database"]?.stringValue
        if kind == .database {
            guard let database, DatabaseSource.isValidName(database) else { return nil }
        }
        self.init(kind: kind, database: database, archivePath: path, members: names, size: json["size"]?.int64Value ?? 0, format: format)
    }

    /// The members as a shell word list (`postgres/app.dump` or `postgres/app.dump.000001 postgres/app.dump.000002`).
    public var shellMembers: String { members.map(shellQuote).joined(separator: " ") }
}

/// `'text'` for a POSIX shell.
public func shellQuote(_ text: String) -> String {
    if !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-/=:,+@%".contains($0)) }) { return text }
    return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// A database engine the dump framework drives (docs/databases.md, "Engines"): PostgreSQL (`PostgresEngine`),
/// MariaDB (`MariaDBEngine`). Everything is synchronous (called on a thread of its own); a failure is a `RunFailure`
/// with the engine's codes (`authFailureCode` when the server refused the credentials).
public protocol DatabaseEngine: Sendable {
    var engine: DatabaseSource.Engine { get }
    /// `postgres_auth_failed` / `mariadb_auth_failed`.
    var authFailureCode: String { get }

    /// The server's version (the first query: a wrong password fails here, before anything is written).
    func serverVersion(_ connection: DatabaseConnection) throws -> String
    /// The version of the dump tool used (for the manifest).
    func clientVersion() -> String
    /// The databases "all" means (docs/databases.md, "Which databases").
    func listDatabases(_ connection: DatabaseConnection) throws -> [String]
    /// What to dump, in order: each database, then the globals when asked.
    func dumpPlans(_ connection: DatabaseConnection, databases: [String]) throws -> [DumpPlan]
    /// The exact commands that restore the snapshot's dumps by hand, run in the directory the snapshot was restored to.
    func restoreCommands(_ dumps: [DumpRecord]) -> [String]
    /// Checks one dump restored to `file` (`pg_restore --list`, a parse of SQL): nil when fine, else why not.
    func verifyDump(_ dump: DumpRecord, file: String, connection: DatabaseConnection?) throws -> String?
    /// Whether `name` exists on the server.
    func databaseExists(_ connection: DatabaseConnection, name: String) throws -> Bool
    /// Restores the dump in `file` into a new database `name` on the server (dropping an existing one first only when
    /// `dropExisting`), or the globals when `dump.kind` is `.globals`.
    func restore(
        _ dump: DumpRecord,
        file: String,
        into name: String?,
        connection: DatabaseConnection,
        dropExisting: Bool,
        events: any RunEvents
    )
        throws
}

extension DatabaseEngine {
    /// The failure of a tool that exited with `status`: the engine's auth code when its last lines say the server
    /// refused the credentials, else `code`.
    func failure(_ code: String, _ label: String, status: Int32, lines: [String]) -> RunFailure {
        let text = lines.joined(separator: "\n")
        let message = "\(label) exited with \(status): \(lines.last ?? "no message")"
        if Self.isAuthFailure(text) { return RunFailure(code: authFailureCode, message: message) }
        return RunFailure(code: code, message: message)
    }

    /// Whether a tool's stderr says the server refused the login. MariaDB says "Access denied for user" for a missing
    /// privilege too: a line naming a database (`... to database 'x'`) or a statement of a script (`at line N`) is an
    /// authenticated user's, not a login's.
    static func isAuthFailure(_ text: String) -> Bool {
        text.lowercased().split(separator: "\n").contains { line in
            if line.contains("access denied for user"), line.contains(" to database ") || line.contains(" at line ") { return false }
            return [
                "password authentication failed", "no password supplied", "peer authentication failed", "access denied for user",
                "authentication failed", "pg_hba.conf rejects",
            ]
            .contains { line.contains($0) }
        }
    }

    /// Whether the server could not be reached (refused, no socket, unknown host).
    static func isUnreachable(_ text: String) -> Bool {
        let lower = text.lowercased()
        return [
            "connection refused", "no such file or directory", "could not translate host name", "can't connect", "timeout expired",
            "could not connect", "unknown mysql server host", "lost connection", "server closed the connection unexpectedly",
            "the database system is shutting down", "the database system is starting up",
        ]
        .contains { lower.contains($0) }
    }

    /// A short query's failure: auth, unreachable, or `code`.
    func queryFailure(_ code: String, _ label: String, status: Int32, lines: [String]) -> RunFailure {
        let text = lines.joined(separator: "\n")
        if !Self.isAuthFailure(text), Self.isUnreachable(text) {
            return RunFailure(code: "database_unavailable", message: "\(label) exited with \(status): \(lines.last ?? "no message")")
        }
        return failure(code, label, status: status, lines: lines)
    }
}

/// An archive member name for a database: the name itself when it is a plain portable name (letters, digits, `_`,
/// `-`, `.`, not starting with `.`), else every other byte as `%XX` (the manifest keeps the real name).
public func dumpFileName(_ database: String) -> String {
    var result = ""
    for (index, byte) in database.utf8.enumerated() {
        let scalar = Character(Unicode.Scalar(byte))
        if byte < 128,
            scalar.isLetter || scalar.isNumber || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                || (byte == UInt8(ascii: ".") && index > 0)
        {
            result.append(scalar)
        } else {
            result += String(format: "%%%02X", byte)
        }
    }
    return result
}
