import Foundation

/// A job's notification choice (`spec.notifications`, docs/architecture.md, "Jobs and specs"): `inherit` sends to every
/// enabled destination; `custom` only to the listed ones that are enabled.
public struct JobNotifications: Sendable, Equatable {
    public enum Mode: String, Sendable {
        case inherit, custom
    }

    public var mode: Mode
    /// Destination names per channel (custom mode).
    public var selected: [String: [String]]

    public init(mode: Mode = .inherit, selected: [String: [String]] = [:]) {
        self.mode = mode
        self.selected = selected
    }

    /// Channel keys a spec may list.
    static let listKeys = NotificationChannel.allCases.map(\.rawValue)

    /// Parses `spec.notifications` (`{}` means inherit). Problems are `invalid_spec` naming the field.
    public static func parse(_ value: JSONValue) throws -> JobNotifications {
        guard case .object(let object) = value else {
            throw ValidationError.spec("notifications", "not_object", "notifications must be an object")
        }
        var result = JobNotifications()
        switch object["mode"] {
        case nil, .null?: break
        case .string(let raw)?:
            guard let mode = Mode(rawValue: raw) else {
                throw ValidationError.spec("notifications.mode", "invalid", "notifications.mode must be inherit or custom")
            }
            result.mode = mode
        default: throw ValidationError.spec("notifications.mode", "invalid", "notifications.mode must be inherit or custom")
        }
        for key in listKeys {
            let field = "notifications.\(key)"
            switch object[key] {
            case nil, .null?: continue
            case .array(let items)?:
                result.selected[key] = try items.map { item in
                    guard case .string(let name) = item else { throw ValidationError.spec(field, "invalid", "\(field) must be a list of names") }
                    if result.mode == .custom, name.trimmingCharacters(in: .whitespaces).isEmpty {
                        throw ValidationError.spec(field, "blank", "\(field) must not contain blank names")
                    }
                    return name
                }
            default: throw ValidationError.spec(field, "invalid", "\(field) must be a list of names")
            }
        }
        return result
    }

    /// Whether a run of this job notifies `destination` on `channel` (destination switches are checked elsewhere).
    public func includes(channel: String, destination: String) -> Bool {
        mode == .inherit || (selected[channel] ?? []).contains(destination)
    }
}
