import GRDB

/// The optional filters of a list query, joined with AND: `WHERE …` (or nothing) plus its arguments.
struct SQLConditions {
    private var clauses: [String] = []
    private(set) var arguments: StatementArguments = []

    /// Adds `sql`, with `?` placeholders for `values`.
    mutating func add(_ sql: String, _ values: [any DatabaseValueConvertible]) {
        clauses.append(sql)
        _ = arguments.append(contentsOf: StatementArguments(values))
    }

    var whereClause: String { clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ") }
}
