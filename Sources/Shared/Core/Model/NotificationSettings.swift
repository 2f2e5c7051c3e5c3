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
    public static let defaultEmailSubject = "{{title}}: {{job_name}}"
    public static let defaultEmailBody = """
        {{title}}

        Job: {{job_name}}
        Run: {{run_id}}
        Status: {{status_text}}
        Started: {{started_at}}
        Ended: {{ended_at}}
        Target: {{target}}
        {{error_line}}
        """
    public static let defaultNtfyTitle = "{{title}}: {{job_name}}"
    public static let defaultNtfyBody = """
        Run {{run_id}}: {{status_text}}
        Started {{started_at}}, ended {{ended_at}}
        {{error_line}}
        """
    /// WeCom caps markdown content at 4096 bytes.
    public static let maxTemplateBytes = 4096
    /// An e-mail body may be longer.
    public static let maxEmailBodyBytes = 64 * 1024
    /// Subjects and titles: one line.
    public static let maxSubjectBytes = 512

    /// The placeholders every template may use (`RunNotification.render`).
    public static let templateVariables = [
        "title", "job_id", "job_name", "run_id", "status", "status_text", "started_at", "ended_at", "target_type", "target_location",
        "target", "error", "error_line", "target_line_wecom", "error_line_wecom",
    ]

    public var enabled: Bool
    public var channels: [NotificationChannel: Bool]
    public var wecomMarkdown: String
    public var emailSubject = Self.defaultEmailSubject
    public var emailBody = Self.defaultEmailBody
    public var ntfyTitle = Self.defaultNtfyTitle
    public var ntfyBody = Self.defaultNtfyBody

    public init(enabled: Bool = true, channels: [NotificationChannel: Bool] = [:], wecomMarkdown: String = Self.defaultWecomMarkdown) {
        self.enabled = enabled
        self.channels = channels
        self.wecomMarkdown = wecomMarkdown
    }

    /// Whether notifications on `channel` may be sent (global switch and channel switch; channels default on).
    public func allows(_ channel: NotificationChannel) -> Bool {
        enabled && channels[channel] ?? true
    }

    /// `{enabled, channels: {webhook: {enabled}, wecom_bot: {enabled}, email: {enabled}, ntfy: {enabled}},
    /// templates: {wecom_markdown, email: {subject, body}, ntfy: {title, body}}, template_variables}`.
    public var json: JSONValue {
        var channelObjects: [String: JSONValue] = [:]
        for channel in NotificationChannel.allCases {
            channelObjects[channel.rawValue] = .object(["enabled": .bool(channels[channel] ?? true)])
        }
        return .object([
            "enabled": .bool(enabled),
            "channels": .object(channelObjects),
            "templates": .object([
                "wecom_markdown": .string(wecomMarkdown),
                "email": .object(["subject": .string(emailSubject), "body": .string(emailBody)]),
                "ntfy": .object(["title": .string(ntfyTitle), "body": .string(ntfyBody)]),
            ]),
            "template_variables": .array(Self.templateVariables.map(JSONValue.string)),
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
                    throw invalid("channels.\(name)", "unknown channel \(name) (webhook, wecom_bot, email, ntfy)")
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
            func template(_ channel: String, _ key: String, maxBytes: Int, oneLine: Bool) throws -> String? {
                let field = "templates.\(channel).\(key)"
                guard let section = templates[channel] else { return nil }
                guard case .object(let object) = section else { throw invalid("templates.\(channel)", "templates.\(channel) must be an object") }
                switch object[key] {
                case nil: return nil
                case .string(let text)?:
                    guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, text.utf8.count <= maxBytes else {
                        throw invalid(field, "\(field) must be non-blank and at most \(maxBytes) bytes")
                    }
                    if oneLine, text.contains(where: \.isNewline) { throw invalid(field, "\(field) must be one line") }
                    return text
                default: throw invalid(field, "\(field) must be a string")
                }
            }
            if let text = try template("email", "subject", maxBytes: maxSubjectBytes, oneLine: true) { settings.emailSubject = text }
            if let text = try template("email", "body", maxBytes: maxEmailBodyBytes, oneLine: false) { settings.emailBody = text }
            if let text = try template("ntfy", "title", maxBytes: maxSubjectBytes, oneLine: true) { settings.ntfyTitle = text }
            if let text = try template("ntfy", "body", maxBytes: maxTemplateBytes, oneLine: false) { settings.ntfyBody = text }
        default: throw invalid("templates", "templates must be an object")
        }
        return settings
    }
}
