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

    /// `column LIKE '%text%' ESCAPE '\'` with `text` taken literally (its `%`, `_` and `\` escaped), inside `wrap`
    /// (e.g. a subquery) when given.
    mutating func addContains(_ column: String, _ text: String, wrap: (String) -> String = { $0 }) {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        add(wrap("\(column) LIKE ? ESCAPE '\\'"), ["%\(escaped)%"])
    }
}
