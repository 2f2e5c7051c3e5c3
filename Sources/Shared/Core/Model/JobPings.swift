import Foundation

/// A job's `pings` (docs/architecture.md, "Notifications"): URLs told when a backup run starts, succeeds and fails,
/// for dead-man's switches such as healthchecks.io. Each ping is either `{url}` (healthchecks.io's convention:
/// `url/start`, `url`, `url/fail`) or any of `{start_url, success_url, failure_url}`.
public struct JobPings: Sendable, Equatable {
    public enum Event: String, Sendable, CaseIterable {
        case start, success, failure

        /// Delivery order within a run: a ping row waits while one of a lower order of the same run is unsent.
        public var order: Int { self == .start ? 0 : 1 }
    }

    public struct Ping: Sendable, Equatable {
        public var url: String?
        public var startURL: String?
        public var successURL: String?
        public var failureURL: String?

        public init(url: String? = nil, startURL: String? = nil, successURL: String? = nil, failureURL: String? = nil) {
            self.url = url
            self.startURL = startURL
            self.successURL = successURL
            self.failureURL = failureURL
        }

        /// Where `event` is sent; nil when this ping does not take it.
        public func url(for event: Event) -> String? {
            if let url {
                let base = url.hasSuffix("/") ? String(url.dropLast()) : url
                switch event {
                case .start: return base + "/start"
                case .success: return base
                case .failure: return base + "/fail"
                }
            }
            switch event {
            case .start: return startURL
            case .success: return successURL
            case .failure: return failureURL
            }
        }

        public var json: JSONValue {
            var object: [String: JSONValue] = [:]
            if let url { object["url"] = .string(url) }
            if let startURL { object["start_url"] = .string(startURL) }
            if let successURL { object["success_url"] = .string(successURL) }
            if let failureURL { object["failure_url"] = .string(failureURL) }
            return .object(object)
        }
    }

    public static let maxPings = 8
    static let maxURLBytes = 2048
    public static let pingKeys: Set<String> = ["url", "start_url", "success_url", "failure_url"]

    public var pings: [Ping]

    public init(_ pings: [Ping] = []) {
        self.pings = pings
    }

    public var isEmpty: Bool { pings.isEmpty }

    public var json: JSONValue { .array(pings.map(\.json)) }

    /// Parses `spec.pings` (absent or null: none). Problems are `invalid_spec` naming the field (`pings.0.url`).
    public static func parse(_ value: JSONValue?) throws -> JobPings {
        let items: [JSONValue]
        switch value {
        case nil, .null?: return JobPings()
        case .array(let found)?: items = found
        default: throw ValidationError.spec("pings", "not_array", "pings must be a list of {url} or {start_url, success_url, failure_url}")
        }
        guard items.count <= maxPings else { throw ValidationError.spec("pings", "too_many", "at most \(maxPings) pings") }
        return JobPings(
            try items.enumerated().map { index, item in
                guard case .object(let object) = item else {
                    throw ValidationError.spec("pings.\(index)", "not_object", "pings.\(index) must be an object")
                }
                func url(_ key: String) throws -> String? {
                    let field = "pings.\(index).\(key)"
                    switch object[key] {
                    case nil, .null?: return nil
                    case .string(let raw)?:
                        guard raw.utf8.count <= maxURLBytes, !raw.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }),
                            let components = URLComponents(string: raw), let scheme = components.scheme?.lowercased(),
                            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty, components.user == nil
                        else { throw ValidationError.spec(field, "invalid", "\(field) must be an http(s) URL with a host") }
                        return raw
                    default: throw ValidationError.spec(field, "invalid", "\(field) must be an http(s) URL")
                    }
                }
                let ping = Ping(
                    url: try url("url"),
                    startURL: try url("start_url"),
                    successURL: try url("success_url"),
                    failureURL: try url("failure_url")
                )
                let explicit = ping.startURL != nil || ping.successURL != nil || ping.failureURL != nil
                guard (ping.url != nil) != explicit else {
                    throw ValidationError.spec(
                        "pings.\(index)",
                        "invalid",
                        "pings.\(index) takes either url (healthchecks.io style) or start_url/success_url/failure_url"
                    )
                }
                if let base = ping.url, URLComponents(string: base)?.query != nil {
                    throw ValidationError.spec(
                        "pings.\(index).url",
                        "invalid",
                        "pings.\(index).url must not have a query (/start and /fail are appended)"
                    )
                }
                return ping
            }
        )
    }

    /// Keys of `pings` entries the spec does not define, as dotted paths (`pings.0.succes_url`).
    public static func unknownFields(_ value: JSONValue?) -> [String] {
        guard case .array(let items)? = value else { return [] }
        return items.enumerated().flatMap { index, item -> [String] in
            guard case .object(let object) = item else { return [] }
            return object.keys.filter { !pingKeys.contains($0) }.map { "pings.\(index).\($0)" }
        }
    }
}
