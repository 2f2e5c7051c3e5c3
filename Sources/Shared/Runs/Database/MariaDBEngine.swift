import Archive
import Core
import Foundation

/// MariaDB/MySQL (docs/databases.md, "MariaDB"): a stub on the database-dump framework; every step says it is not
/// built yet.
public struct MariaDBEngine: DatabaseEngine {
    public let engine = DatabaseSource.Engine.mariadb
    public let authFailureCode = "mariadb_auth_failed"

    public init() {}

    static let missing = RunFailure(code: "unsupported_job_type", message: "mariadb jobs are not built yet")

    public func serverVersion(_ connection: DatabaseConnection) throws -> String { throw Self.missing }
    public func clientVersion() -> String { "unknown" }
    public func listDatabases(_ connection: DatabaseConnection) throws -> [String] { throw Self.missing }
    public func dumpPlans(_ connection: DatabaseConnection, databases: [String]) throws -> [DumpPlan] { throw Self.missing }
    public func restoreCommands(_ dumps: [DumpRecord]) -> [String] { [] }
    public func verifyDump(_ dump: DumpRecord, file: String, connection: DatabaseConnection?) throws -> String? { nil }
    public func databaseExists(_ connection: DatabaseConnection, name: String) throws -> Bool { throw Self.missing }
    public func restore(
        _ dump: DumpRecord,
        file: String,
        into name: String?,
        connection: DatabaseConnection,
        dropExisting: Bool,
        events: any RunEvents
    ) throws { throw Self.missing }
}
