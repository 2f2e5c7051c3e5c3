import Foundation
import Testing

@testable import Runs

/// The manifest's restore commands (docs/databases.md, "Restore commands") are run by hand, in a shell: a database
/// name from the server (hostile) is never read there as an option (`-h evil`) or as a libpq connection string
/// (`host=evil dbname=x`), which would send the admin's password elsewhere. Checked by running each command with
/// `createdb` and `pg_restore` as shell functions that print the argv they get.
@Suite struct DatabaseRestoreCommandTests {
    static func argv(of command: String) throws -> String {
        let script =
            "createdb() { printf 'createdb'; printf ' [%s]' \"$@\"; echo; }; "
            + "pg_restore() { printf 'pg_restore'; printf ' [%s]' \"$@\"; echo; }; cat() { :; }; " + command
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }

    @Test(arguments: ["-hevil.example", "host=evil.example dbname=postgres"])
    func aDatabaseNameIsNeverAnOptionOrAConnectionString(_ name: String) throws {
        for members in [["postgres/x.dump"], ["postgres/x.dump.000001", "postgres/x.dump.000002"]] {
            let dump = DumpRecord(kind: .database, database: name, archivePath: "postgres/x.dump", members: members, size: 1, format: "custom")
            let command = try #require(PostgresEngine(binDirectory: "/nonexistent").restoreCommands([dump]).first)
            let lines = try Self.argv(of: command).split(separator: "\n").map(String.init)
            #expect(lines.first == "createdb [--] [\(name)]", "\(command)")
            let quoted = "dbname='" + name.replacingOccurrences(of: "'", with: "\\'") + "'"
            #expect(lines.last?.contains("[--dbname=\(quoted)]") == true, "\(command)")
        }
    }
}
