import Core
import Hummingbird

/// The first decision about a request (docs/security.md, "Canonical paths"): a request target that is not canonical
/// (`RequestPath.canonical`) is a `400 non_canonical_path` before routing, the HTTPS rule or any access decision,
/// so everything after it sees one spelling of each path.
struct CanonicalPathMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            _ = try RequestPath.canonical(request.head.path ?? "")
        } catch {
            throw APIError.nonCanonicalPath(error)
        }
        return try await next(request, context)
    }
}

extension APIError {
    static func nonCanonicalPath(_ refusal: RequestPath.Refusal) -> APIError {
        APIError(
            status: .badRequest,
            code: "non_canonical_path",
            message: "the request path is not in canonical form (\(refusal.code)): no empty, . or .. segments, no encoded / or \\, no trailing /",
            details: ["reason": refusal.code]
        )
    }
}
