import Foundation

/// A named place notifications go: its switch lives in `notification_destinations`, its address (and signing key)
/// encrypted in `secrets` under the same channel and name.
public struct NotificationDestination: Sendable, Equatable {
    public var channel: NotificationChannel
    public var name: String
    public var enabled: Bool
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(channel: NotificationChannel, name: String, enabled: Bool, createdAt: Int64, updatedAt: Int64) {
        self.channel = channel
        self.name = name
        self.enabled = enabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The secret part of a destination, as stored (encrypted) in `secrets`.
public enum DestinationConfig: Sendable, Equatable {
    /// A JSON POST to `url`; with `signingSecret`, signed with HMAC-SHA256 (see `NotificationSender`).
    case webhook(url: String, signingSecret: String?)
    /// A WeCom group robot webhook URL (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`).
    case wecomBot(webhookURL: String)
    /// An SMTP server and the message's envelope (`EmailDestination`).
    case email(EmailDestination)
    /// An ntfy topic (`NtfyDestination`).
    case ntfy(NtfyDestination)

    public var channel: NotificationChannel {
        switch self {
        case .webhook: return .webhook
        case .wecomBot: return .wecomBot
        case .email: return .email
        case .ntfy: return .ntfy
        }
    }

    /// The keys `PUT …/destinations/{channel}/{name}` takes.
    public static func keys(_ channel: NotificationChannel) -> Set<String> {
        switch channel {
        case .webhook: return ["url", "secret", "enabled"]
        case .wecomBot: return ["webhook_url", "enabled"]
        case .email: return EmailDestination.keys.union(["enabled"])
        case .ntfy: return NtfyDestination.keys.union(["enabled"])
        }
    }

    /// What `GET /api/notifications/destinations` may show of the destination: never a password, token, or an
    /// address that works as a credential (webhook and WeCom URLs, ntfy topics). Nil when there is nothing to show.
    public var publicJSON: JSONValue? {
        switch self {
        case .webhook, .wecomBot: return nil
        case .email(let email): return email.publicJSON
        case .ntfy(let ntfy): return ntfy.publicJSON
        }
    }

    /// The stored credential a `PUT` that leaves it out keeps (`password` of e-mail, `token` of ntfy): a form that
    /// never sees it can still be saved. An explicit `null` removes it; an e-mail password needs a username.
    public func keepingCredential(of previous: DestinationConfig, body: [String: JSONValue]) -> DestinationConfig {
        switch (self, previous) {
        case (.email(var email), .email(let old)) where body["password"] == nil && email.username != nil:
            email.password = old.password
            return .email(email)
        case (.ntfy(var ntfy), .ntfy(let old)) where body["token"] == nil:
            ntfy.token = old.token
            return .ntfy(ntfy)
        default: return self
        }
    }

    /// Names are what jobs refer to: 1–64 characters, no slash, no control characters, not blank.
    public static func validateName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 64,
            !name.contains("/"), !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw ValidationError(
                code: "invalid_name",
                field: "name",
                reason: "invalid",
                message: "a destination name is 1–64 characters, not blank, without '/' or control characters"
            )
        }
    }

    /// Parses the body of `PUT /api/notifications/destinations/{channel}/{name}`.
    public static func parse(channel: NotificationChannel, _ object: [String: JSONValue]) throws -> DestinationConfig {
        func url(_ key: String) throws -> String {
            guard case .string(let raw)? = object[key], let components = URLComponents(string: raw),
                let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = components.host, !host.isEmpty
            else {
                throw ValidationError(code: "invalid_url", field: key, reason: "invalid", message: "\(key) must be an http(s) URL with a host")
            }
            return raw
        }
        switch channel {
        case .webhook:
            var secret: String?
            switch object["secret"] {
            case nil, .null?: secret = nil
            case .string(let value)? where !value.isEmpty && value.utf8.count <= 1024: secret = value
            default:
                throw ValidationError(code: "invalid_secret", field: "secret", reason: "invalid", message: "secret must be a string of 1–1024 bytes")
            }
            return .webhook(url: try url("url"), signingSecret: secret)
        case .wecomBot:
            return .wecomBot(webhookURL: try url("webhook_url"))
        case .email:
            return .email(try EmailDestination.parse(object))
        case .ntfy:
            return .ntfy(try NtfyDestination.parse(object))
        }
    }

    /// The JSON that is encrypted into `secrets`.
    public var secretJSON: JSONValue {
        switch self {
        case .webhook(let url, let secret):
            return .object(["url": .string(url), "secret": secret.map(JSONValue.string) ?? .null])
        case .wecomBot(let url):
            return .object(["webhook_url": .string(url)])
        case .email(let email):
            return email.secretJSON
        case .ntfy(let ntfy):
            return ntfy.secretJSON
        }
    }

    /// Reads the decrypted JSON back.
    public static func fromSecretJSON(channel: NotificationChannel, _ value: JSONValue) -> DestinationConfig? {
        guard case .object(let object) = value else { return nil }
        switch channel {
        case .webhook:
            guard case .string(let url)? = object["url"] else { return nil }
            if case .string(let secret)? = object["secret"] { return .webhook(url: url, signingSecret: secret) }
            return .webhook(url: url, signingSecret: nil)
        case .wecomBot:
            guard case .string(let url)? = object["webhook_url"] else { return nil }
            return .wecomBot(webhookURL: url)
        case .email:
            return (try? EmailDestination.parse(object)).map(DestinationConfig.email)
        case .ntfy:
            return (try? NtfyDestination.parse(object)).map(DestinationConfig.ntfy)
        }
    }
}
