import Foundation

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is a single host).
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    let network: [UInt8]
    let prefix: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = Self.parseAddress(parts[0]) else { return nil }
        let maxPrefix = address.count * 8
        var prefix = maxPrefix
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...maxPrefix).contains(value) else { return nil }
            prefix = value
        }
        network = address
        self.prefix = prefix
        description = text
    }

    /// Whether `address` (textual IPv4/IPv6; IPv4-mapped IPv6 counts as IPv4) is inside this network.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.parseAddress(address) else { return false }
        if bytes.count == 16, network.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == network.count else { return false }
        var remaining = prefix
        for index in bytes.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if bytes[index] & mask != network[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The 4 or 16 bytes of a textual address, nil when it is not one.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// `127.0.0.1/32` and `::1/128`: the default trusted proxies.
    public static let loopback = [CIDR("127.0.0.1/32")!, CIDR("::1/128")!]
}

/// Who is really asking and whether the request counts as HTTPS (docs/architecture.md, "HTTP edge").
public struct NetworkPolicy: Sendable {
    public var trustedProxies: [CIDR]
    public var insecureHTTP: Bool
    /// Host names served besides `localhost` and IP literals (`--allowed-host`), lowercased, without a trailing dot.
    public var allowedHosts: Set<String> = []

    public init(trustedProxies: [CIDR] = CIDR.loopback, insecureHTTP: Bool = false) {
        self.trustedProxies = trustedProxies
        self.insecureHTTP = insecureHTTP
    }

    public func isTrusted(_ address: String) -> Bool { trustedProxies.contains { $0.contains(address) } }

    static let loopbackNetworks = [CIDR("127.0.0.0/8")!, CIDR("::1/128")!]

    public static func isLoopback(_ address: String) -> Bool {
        loopbackNetworks.contains { $0.contains(address) }
    }

    /// Whether the request arrived over HTTPS: only a trusted proxy can say so, with `X-Forwarded-Proto: https`.
    public func isHTTPS(peer: String?, forwardedProto: String?) -> Bool {
        guard let peer, isTrusted(peer), let proto = forwardedProto else { return false }
        return proto.split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased() == "https"
    }

    /// The HTTPS rule: loopback peers pass; otherwise the request must be HTTPS or `--insecure-http` must be on.
    public func allows(peer: String?, forwardedProto: String?) -> Bool {
        if let peer, Self.isLoopback(peer) { return true }
        return insecureHTTP || isHTTPS(peer: peer, forwardedProto: forwardedProto)
    }

    /// The client's IP: `X-Forwarded-For` plus the peer walked right to left, skipping trusted hops; the first untrusted
    /// address wins. An untrusted peer is the client itself; a malformed entry falls back to the peer.
    public func clientIP(peer: String?, forwardedFor: String?) -> String {
        guard let peer else { return "unknown" }
        guard isTrusted(peer), let forwardedFor else { return peer }
        let hops = forwardedFor.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard hops.allSatisfy({ CIDR.parseAddress($0) != nil }) else { return peer }
        for hop in hops.reversed() where !isTrusted(hop) { return hop }
        return hops.first ?? peer
    }
}

extension NetworkPolicy {
    /// The DNS-rebinding rule (docs/security.md, "Host names"): the `Host` a request names must be `localhost`, an IP
    /// literal or an `--allowed-host`. A page on another site that makes its own name resolve to this host sends its
    /// own name as `Host`, so it is refused before routing, with the rest of its requests. No `Host` (HTTP/1.0) passes:
    /// browsers always send one.
    public func allowsHost(_ host: String?) -> Bool {
        guard let host else { return true }
        guard let name = Self.hostName(host) else { return false }
        if name == "localhost" || name.hasSuffix(".localhost") || allowedHosts.contains(name) { return true }
        return CIDR.parseAddress(name) != nil
    }

    /// The host part of a `Host` value (`name`, `name:port`, `[v6]:port`), lowercased and without a trailing dot; nil
    /// when it is not one.
    public static func hostName(_ value: String) -> String? {
        var text = Substring(value.trimmingCharacters(in: .whitespaces).lowercased())
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber) && rest.count > 1) else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
            return text.isEmpty ? nil : String(text)
        }
        if let colon = text.lastIndex(of: ":") {
            let port = text[text.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber), !text[..<colon].contains(":") else { return nil }
            text = text[..<colon]
        }
        while text.hasSuffix(".") { text = text.dropLast() }
        guard !text.isEmpty, text.utf8.count <= 253,
            text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") })
        else { return nil }
        return String(text)
    }

    /// The WebSocket Origin check: scheme, host and port of `origin` must equal what the client used to reach us —
    /// `X-Forwarded-Proto`/`X-Forwarded-Host` (first values) from a trusted proxy, else `http` and `Host`. `ws`/`wss`
    /// count as `http`/`https`; default ports are 80 and 443.
    public func originMatches(origin: String?, host: String?, forwardedHost: String?, forwardedProto: String?, peer: String?) -> Bool {
        guard let origin, let originParts = Self.schemeHostPort(origin) else { return false }
        let trusted = peer.map(isTrusted) ?? false
        var scheme = "http"
        if trusted, let proto = forwardedProto?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased(), !proto.isEmpty {
            scheme = proto
        }
        var authority = host
        if trusted, let forwarded = forwardedHost?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces), !forwarded.isEmpty {
            authority = forwarded
        }
        guard let authority, let expected = Self.schemeHostPort("\(scheme)://\(authority)") else { return false }
        return originParts == expected
    }

    /// `(scheme, lowercased host, port)` of an absolute URL; ws/wss normalized to http/https.
    static func schemeHostPort(_ text: String) -> [String]? {
        guard let components = URLComponents(string: text), var scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        if scheme == "ws" { scheme = "http" }
        if scheme == "wss" { scheme = "https" }
        guard scheme == "http" || scheme == "https" else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        return [scheme, host, "\(port)"]
    }
}
