/// Invalid input with a stable code (`invalid_name`, `invalid_schedule`, `invalid_spec`, ...), the field it concerns
/// and a reason. The API renders it as a 400.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var field: String
    public var reason: String
    public var message: String

    public init(code: String, field: String, reason: String, message: String) {
        self.code = code
        self.field = field
        self.reason = reason
        self.message = message
    }

    /// An `invalid_spec` error about `field` of the job spec.
    public static func spec(_ field: String, _ reason: String, _ message: String) -> ValidationError {
        ValidationError(code: "invalid_spec", field: field, reason: reason, message: message)
    }

    /// An `unknown_field` error: `field` (a dotted path from the body's root, `spec.source.exlude`) is not one the
    /// server knows (docs/security.md, "Unknown fields").
    public static func unknownField(_ field: String) -> ValidationError {
        ValidationError(code: "unknown_field", field: field, reason: "unknown", message: "unknown field \(field)")
    }

    /// Throws `unknownField` for the first key of `object` (in sorted order) not in `known`, named `path.key`.
    public static func refuseUnknownKeys(_ object: [String: JSONValue], known: Set<String>, at path: String) throws {
        if let key = object.keys.filter({ !known.contains($0) }).sorted().first {
            throw unknownField(path.isEmpty ? key : "\(path).\(key)")
        }
    }

    public var description: String { "\(code) (\(field): \(reason)): \(message)" }
}
