import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Store

/// Sessions and CSRF (docs/architecture.md, "HTTP edge"): every `/api` route except the public ones needs a live session cookie
/// (`401 unauthorized`), and every mutating request also needs `x-csrf-token` equal to the session's
/// (`401 invalid_csrf`). Paths outside `/api` (the UI) are public.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let database: AppDatabase

    static let publicPaths: Set<String> = [
        "/api/health", "/api/ready", "/api/system", "/api/setup/status", "/api/setup/initialize", "/api/auth/login", "/api/openapi.json",
    ]
    static let cookieName = "bastion_session"
    static let csrfHeader = HTTPField.Name("x-csrf-token")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path == "/api" || path.hasPrefix("/api/"), !Self.publicPaths.contains(path) else { return try await next(request, context) }
        var context = context
        guard let (session, tokenHash) = try await Self.session(request.headers, database: database) else { throw APIError.unauthorized }
        if ![.get, .head, .options].contains(request.method) {
            guard let token = request.headers[Self.csrfHeader], Self.constantTimeEqual(token, session.csrfToken) else {
                throw APIError(status: .unauthorized, code: "invalid_csrf", message: "missing or wrong x-csrf-token header")
            }
        }
        context.session = session
        context.sessionTokenHash = tokenHash
        context.logger[metadataKey: "user.id"] = "\(session.userId)"
        return try await next(request, context)
    }

    /// The live session named by the request's `bastion_session` cookie.
    static func session(_ headers: HTTPFields, database: AppDatabase) async throws -> (AuthSession, String)? {
        guard let token = cookie(cookieName, in: headers), !token.isEmpty, token.utf8.count <= 256 else { return nil }
        let hash = SessionToken.hash(token)
        guard let session = try await database.session(tokenHash: hash) else { return nil }
        return (session, hash)
    }

    static func cookie(_ name: String, in headers: HTTPFields) -> String? {
        for header in headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension APIError {
    static let unauthorized = APIError(status: .unauthorized, code: "unauthorized", message: "sign in first: no valid session")
}
