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

    public var description: String { "\(code) (\(field): \(reason)): \(message)" }
}
