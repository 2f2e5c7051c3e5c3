import Hummingbird
import Store

/// Per-request context: Hummingbird's core storage, the request id every log line and error carries, and what the
/// edge middleware learned (peer, client IP, HTTPS, session).
struct AppRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var requestID: String = ""
    /// The TCP peer's IP address.
    let peerAddress: String?
    /// The client's IP after walking trusted proxies (set by `EdgePolicyMiddleware`).
    var clientIP: String = "unknown"
    /// Whether the request counts as HTTPS (a trusted proxy said so).
    var isHTTPS = false
    /// The signed-in session (set by `AccessGate` on session routes).
    var session: AuthSession?
    /// The SHA-256 hex of the session cookie's token, when a session was found.
    var sessionTokenHash: String?

    /// Every DTO is written by the one API encoder (snake_case, explicit nulls).
    var responseEncoder: APIResponseEncoder { APIResponseEncoder() }

    init(source: Source) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress
    }
}
