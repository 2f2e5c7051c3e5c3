import Foundation

/// An e-mail destination (`PUT /api/notifications/destinations/email/{name}`): an SMTP server, how to reach it, and
/// the envelope. Stored whole (password included) in the destination's sealed secret (docs/architecture.md,
/// "Notifications").
public struct EmailDestination: Sendable, Equatable {
    /// `none`: plain SMTP (credentials too, in the clear); `starttls`: STARTTLS required (`CURLUSESSL_ALL`);
    /// `implicit`: TLS from the first byte (`smtps://`, port 465).
    public enum TLS: String, Sendable, CaseIterable {
        case none, starttls, implicit

        var defaultPort: Int {
            switch self {
            case .none: return 25
            case .starttls: return 587
            case .implicit: return 465
            }
        }
    }

    public static let keys: Set<String> = ["host", "port", "tls", "username", "password", "from", "to", "ca_cert_pem"]
    public static let maxRecipients = 20
    static let maxCredentialBytes = 1024
    static let maxCertificateBytes = 64 * 1024

    public var host: String
    public var port: Int
    public var tls: TLS
    public var username: String?
    public var password: String?
    public var from: String
    public var to: [String]
    /// PEM certificates the server's certificate must chain to instead of the system's CAs (a private CA, or a
    /// self-signed server certificate). The server's name is verified either way.
    public var caCertPEM: String?

    public init(
        host: String,
        port: Int,
        tls: TLS,
        username: String? = nil,
        password: String? = nil,
        from: String,
        to: [String],
        caCertPEM: String? = nil
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self.password = password
        self.from = from
        self.to = to
        self.caCertPEM = caCertPEM
    }

    static func invalid(_ field: String, _ message: String) -> ValidationError {
        ValidationError(code: "invalid_destination", field: field, reason: "invalid", message: message)
    }

    /// An address as it may go into an SMTP envelope and a header: `local@domain`, at most 254 bytes, no spaces,
    /// control characters (CR/LF: header injection), or `<>,;"()` (no display names, no lists).
    public static func isValidAddress(_ address: String) -> Bool {
        let forbidden = Set("<>,;\"()[]\\ ".unicodeScalars)
        guard address.utf8.count <= 254,
            !address.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || forbidden.contains($0) })
        else { return false }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
    }

    /// Text with no byte that could end a header or an SMTP command line.
    static func isSafeText(_ text: String) -> Bool {
        !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    public static func parse(_ object: [String: JSONValue]) throws -> EmailDestination {
        guard case .string(let host)? = object["host"], !host.isEmpty, host.utf8.count <= 253,
            !host.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " || $0 == "/" || $0 == "@" })
        else { throw invalid("host", "host must be the SMTP server's name or address") }
        var tls = TLS.starttls
        switch object["tls"] {
        case nil, .null?: break
        case .string(let raw)?:
            guard let parsed = TLS(rawValue: raw) else { throw invalid("tls", "tls must be none, starttls or implicit") }
            tls = parsed
        default: throw invalid("tls", "tls must be none, starttls or implicit")
        }
        var port = tls.defaultPort
        switch object["port"] {
        case nil, .null?: break
        case let value?:
            guard let number = value.intValue, (1...65535).contains(number) else { throw invalid("port", "port must be an integer 1–65535") }
            port = number
        }
        func optionalText(_ key: String) throws -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)? where !text.isEmpty && text.utf8.count <= maxCredentialBytes && isSafeText(text): return text
            default: throw invalid(key, "\(key) must be a string of 1–\(maxCredentialBytes) bytes without control characters")
            }
        }
        let username = try optionalText("username")
        let password = try optionalText("password")
        if password != nil, username == nil { throw invalid("username", "a password needs a username") }
        guard case .string(let from)? = object["from"], isValidAddress(from) else {
            throw invalid("from", "from must be one e-mail address (name@domain)")
        }
        guard case .array(let list)? = object["to"], !list.isEmpty, list.count <= maxRecipients else {
            throw invalid("to", "to must be a list of 1–\(maxRecipients) e-mail addresses")
        }
        let to = try list.enumerated().map { index, item -> String in
            guard case .string(let address) = item, isValidAddress(address) else {
                throw invalid("to.\(index)", "to.\(index) must be one e-mail address (name@domain)")
            }
            return address
        }
        var caCertPEM: String?
        switch object["ca_cert_pem"] {
        case nil, .null?: break
        case .string(let pem)? where pem.contains("-----BEGIN CERTIFICATE-----") && pem.utf8.count <= maxCertificateBytes: caCertPEM = pem
        default: throw invalid("ca_cert_pem", "ca_cert_pem must be PEM certificates (at most \(maxCertificateBytes) bytes)")
        }
        return EmailDestination(
            host: host,
            port: port,
            tls: tls,
            username: username,
            password: password,
            from: from,
            to: to,
            caCertPEM: caCertPEM
        )
    }

    public var secretJSON: JSONValue {
        .object([
            "host": .string(host), "port": .number(Double(port)), "tls": .string(tls.rawValue),
            "username": username.map(JSONValue.string) ?? .null, "password": password.map(JSONValue.string) ?? .null,
            "from": .string(from), "to": .array(to.map(JSONValue.string)), "ca_cert_pem": caCertPEM.map(JSONValue.string) ?? .null,
        ])
    }

    /// What the API shows: everything but the password (and the CA only as a flag).
    public var publicJSON: JSONValue {
        .object([
            "host": .string(host), "port": .number(Double(port)), "tls": .string(tls.rawValue),
            "username": username.map(JSONValue.string) ?? .null, "from": .string(from), "to": .array(to.map(JSONValue.string)),
            "has_password": .bool(password != nil), "has_ca_cert": .bool(caCertPEM != nil),
        ])
    }
}

/// An ntfy destination (`PUT /api/notifications/destinations/ntfy/{name}`): a topic URL, an optional access token
/// (sent as `Authorization: Bearer`), the message priority (1–5) and tags.
public struct NtfyDestination: Sendable, Equatable {
    public static let keys: Set<String> = ["url", "token", "priority", "tags"]
    static let maxTags = 10

    public var url: String
    public var token: String?
    public var priority: Int?
    public var tags: [String]

    public init(url: String, token: String? = nil, priority: Int? = nil, tags: [String] = []) {
        self.url = url
        self.token = token
        self.priority = priority
        self.tags = tags
    }

    static func invalid(_ field: String, _ message: String) -> ValidationError {
        ValidationError(code: "invalid_destination", field: field, reason: "invalid", message: message)
    }

    public static func parse(_ object: [String: JSONValue]) throws -> NtfyDestination {
        guard case .string(let url)? = object["url"], let components = URLComponents(string: url),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            components.path.split(separator: "/").count >= 1, components.query == nil, components.fragment == nil
        else {
            throw ValidationError(
                code: "invalid_url",
                field: "url",
                reason: "invalid",
                message: "url must be an http(s) topic URL (https://ntfy.sh/topic)"
            )
        }
        var destination = NtfyDestination(url: url)
        switch object["token"] {
        case nil, .null?: break
        case .string(let token)? where !token.isEmpty && token.utf8.count <= 1024 && EmailDestination.isSafeText(token):
            destination.token = token
        default: throw invalid("token", "token must be a string of 1–1024 bytes without control characters")
        }
        switch object["priority"] {
        case nil, .null?: break
        case let value?:
            guard let priority = value.intValue, (1...5).contains(priority) else { throw invalid("priority", "priority must be an integer 1–5") }
            destination.priority = priority
        }
        switch object["tags"] {
        case nil, .null?: break
        case .array(let items)? where items.count <= maxTags:
            destination.tags = try items.enumerated().map { index, item in
                guard case .string(let tag) = item, !tag.isEmpty, tag.utf8.count <= 64,
                    tag.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.generalCategory != .control && $0 != "," })
                else { throw invalid("tags.\(index)", "tags.\(index) must be 1–64 ASCII characters without commas") }
                return tag
            }
        default: throw invalid("tags", "tags must be a list of at most \(maxTags) strings")
        }
        return destination
    }

    public var secretJSON: JSONValue {
        .object([
            "url": .string(url), "token": token.map(JSONValue.string) ?? .null,
            "priority": priority.map { .number(Double($0)) } ?? .null, "tags": .array(tags.map(JSONValue.string)),
        ])
    }

    /// What the API shows: the server (not the topic, which works as a password on public servers), priority, tags.
    public var publicJSON: JSONValue {
        .object([
            "server": .string(URLComponents(string: url)?.host ?? "-"), "priority": priority.map { .number(Double($0)) } ?? .null,
            "tags": .array(tags.map(JSONValue.string)), "has_token": .bool(token != nil),
        ])
    }
}
