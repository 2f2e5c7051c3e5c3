import HTTPTypes
import Hummingbird

/// The HTTPS rule and the client IP (docs/architecture.md, "HTTP edge"): loopback peers pass; anyone else
/// needs HTTPS through a trusted proxy (`X-Forwarded-Proto: https`) or `--insecure-http`, else
/// `400 insecure_not_allowed`. Health, readiness, system and setup status are always reachable.
struct EdgePolicyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let policy: NetworkPolicy

    static let alwaysReachable: Set<String> = ["/api/health", "/api/ready", "/api/system", "/api/setup/status"]
    static let forwardedProto = HTTPField.Name("x-forwarded-proto")!
    static let forwardedFor = HTTPField.Name("x-forwarded-for")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let proto = request.headers[Self.forwardedProto]
        context.isHTTPS = policy.isHTTPS(peer: context.peerAddress, forwardedProto: proto)
        context.clientIP = policy.clientIP(peer: context.peerAddress, forwardedFor: request.headers[Self.forwardedFor])
        guard policy.allowsHost(request.head.authority) else { throw APIError.hostNotAllowed(request.head.authority) }
        if !Self.alwaysReachable.contains(request.uri.path), !policy.allows(peer: context.peerAddress, forwardedProto: proto) {
            throw APIError.insecure
        }
        return try await next(request, context)
    }
}

extension APIError {
    static func hostNotAllowed(_ host: String?) -> APIError {
        APIError(
            status: .badRequest,
            code: "host_not_allowed",
            message: "this API does not answer to the host \(String((host ?? "").prefix(100))): start it with --allowed-host NAME to serve a name"
        )
    }

    static let insecure = APIError(
        status: .badRequest,
        code: "insecure_not_allowed",
        message: "plain HTTP is only accepted from loopback; use HTTPS through a trusted proxy or start the API with --insecure-http"
    )
}
