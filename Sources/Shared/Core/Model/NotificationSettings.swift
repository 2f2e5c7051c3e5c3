import Foundation

/// The global switches and template, stored as `settings` key `notifications` (docs/architecture.md, "Database").
public struct NotificationSettings: Sendable, Equatable {
    public static let defaultWecomMarkdown = """
        **{{title}}**
        > Job: {{job_name}}
        > Run: {{run_id}}
        > Started: {{started_at}}
        > Ended: {{ended_at}}
        {{target_line_wecom}}{{error_line_wecom}}
        """
    /// WeCom caps markdown content at 4096 bytes.
    public static let maxTemplateBytes = 4096

    public var enabled: Bool
    public var channels: [NotificationChannel: Bool]
    public var wecomMarkdown: String

    public init(enabled: Bool = true, channels: [NotificationChannel: Bool] = [:], wecomMarkdown: String = Self.defaultWecomMarkdown) {
        self.enabled = enabled
        self.channels = channels
        self.wecomMarkdown = wecomMarkdown
    }

    /// Whether notifications on `channel` may be sent (global switch and channel switch; channels default on).
    public func allows(_ channel: NotificationChannel) -> Bool {
        enabled && channels[channel] ?? true
    }

    /// `{enabled, channels: {webhook: {enabled}, wecom_bot: {enabled}}, templates: {wecom_markdown}}`.
    public var json: JSONValue {
        var channelObjects: [String: JSONValue] = [:]
        for channel in NotificationChannel.allCases {
            channelObjects[channel.rawValue] = .object(["enabled": .bool(channels[channel] ?? true)])
        }
        return .object([
            "enabled": .bool(enabled),
            "channels": .object(channelObjects),
            "templates": .object(["wecom_markdown": .string(wecomMarkdown)]),
        ])
    }

    /// Parses the stored or submitted form. Absent members keep `base`'s values; wrong types are `invalid_settings`.
    public static func parse(_ value: JSONValue, base: NotificationSettings = NotificationSettings()) throws -> NotificationSettings {
        func invalid(_ field: String, _ message: String) -> ValidationError {
            ValidationError(code: "invalid_settings", field: field, reason: "invalid", message: message)
        }
        guard case .object(let root) = value else { throw invalid("settings", "settings must be a JSON object") }
        var settings = base
        switch root["enabled"] {
        case nil: break
        case .bool(let flag)?: settings.enabled = flag
        default: throw invalid("enabled", "enabled must be true or false")
        }
        switch root["channels"] {
        case nil: break
        case .object(let channels)?:
            for (name, entry) in channels {
                guard let channel = NotificationChannel(rawValue: name) else {
                    throw invalid("channels.\(name)", "unknown channel \(name) (webhook, wecom_bot)")
                }
                guard case .object(let object) = entry, case .bool(let flag)? = object["enabled"] else {
                    throw invalid("channels.\(name).enabled", "channels.\(name).enabled must be true or false")
                }
                settings.channels[channel] = flag
            }
        default: throw invalid("channels", "channels must be an object")
        }
        switch root["templates"] {
        case nil: break
        case .object(let templates)?:
            switch templates["wecom_markdown"] {
            case nil: break
            case .string(let template)?:
                guard !template.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, template.utf8.count <= maxTemplateBytes else {
                    throw invalid("templates.wecom_markdown", "templates.wecom_markdown must be non-blank and at most \(maxTemplateBytes) bytes")
                }
                settings.wecomMarkdown = template
            default: throw invalid("templates.wecom_markdown", "templates.wecom_markdown must be a string")
            }
        default: throw invalid("templates", "templates must be an object")
        }
        return settings
    }
}
