import Foundation
import HTTPTypes
import Hummingbird
import Store

/// Who may call a route (docs/security.md, "The access list"). Every route gets exactly one, when it is registered
/// (`RecordingRouterGroup`): `public` only if it is in `publicRoutes`; otherwise the group's default, `session` for
/// `/api` and the root, `agent` for `/agent`. Nothing is reachable without going through `AccessGate`.
enum RouteAccess: String, Sendable {
    /// Anyone who passes the HTTPS rule.
    case `public`
    /// A live session cookie; a mutation also needs `x-csrf-token`.
    case session
    /// An enrolled, unrevoked agent's bearer key.
    case agent

    /// The one public list (`METHOD /pattern`, patterns as `RouteTable` records them). `POST /agent/enroll` is public
    /// here because its credential is the enrolment token in its body, which its handler checks.
    static let publicRoutes: Set<String> = [
        "GET /api/health", "GET /api/ready", "GET /api/system", "GET /api/setup/status", "POST /api/setup/initialize",
        "POST /api/auth/login", "GET /api/openapi.json", "POST /agent/enroll", "GET /metrics",
        // The web UI's files (UIController): the page itself signs in through the API.
        "GET /", "HEAD /", "GET /**", "HEAD /**",
    ]

    /// The access of `method path` in a group whose default is `groupDefault`.
    static func of(_ method: HTTPRequest.Method, _ path: String, groupDefault: RouteAccess) -> RouteAccess {
        publicRoutes.contains("\(method.rawValue) \(path)") ? .public : groupDefault
    }
}

/// Runs a route's access decision before its handler (docs/security.md, "The access list"): the session and CSRF
/// token, or the agent's key; and for every mutation the content-type rule (`requireJSONBody`).
struct AccessGate: Sendable {
    let database: AppDatabase
    let agents: AgentGateway

    /// The context the handler sees (with the session set on session routes), or the refusal.
    func admit(_ request: Request, context: AppRequestContext, access: RouteAccess) async throws -> AppRequestContext {
        var context = context
        switch access {
        case .public:
            break
        case .session:
            guard let (session, tokenHash) = try await SessionCookie.session(request.headers, database: database) else {
                throw APIError.unauthorized
            }
            if Self.isMutation(request.method) {
                guard let token = request.headers[SessionCookie.csrfHeader], SessionCookie.constantTimeEqual(token, session.csrfToken) else {
                    throw APIError.invalidCSRF
                }
            }
            context.session = session
            context.sessionTokenHash = tokenHash
            context.logger[metadataKey: "user.id"] = "\(session.userId)"
        case .agent:
            _ = try await agents.authenticate(request.headers)
        }
        if Self.isMutation(request.method) { try Self.requireJSONBody(request.headers) }
        return context
    }

    static func isMutation(_ method: HTTPRequest.Method) -> Bool {
        ![.get, .head, .options].contains(method)
    }

    /// A mutation's body is JSON: a `Content-Type` other than `application/json` (parameters allowed) is a
    /// `415 unsupported_media_type`, and so is a body without one. A mutation with no body and no `Content-Type`
    /// passes (`POST /api/jobs/{id}/run`); a cross-site HTML form always sends a form type, even with an empty body,
    /// so it is refused here, and `fetch` cannot add the CSRF header cross-origin without a preflight.
    static func requireJSONBody(_ headers: HTTPFields) throws {
        let types = headers[values: .contentType]
        if types.isEmpty {
            let length = headers[values: .contentLength]
            let hasBody = !headers[values: .transferEncoding].isEmpty || length.contains { $0.trimmingCharacters(in: .whitespaces) != "0" }
            guard hasBody else { return }
            throw APIError.unsupportedMediaType(nil)
        }
        guard types.count == 1, isJSON(types[0]) else { throw APIError.unsupportedMediaType(types.joined(separator: ", ")) }
    }

    /// `application/json`, any case, with or without parameters (`; charset=utf-8`).
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }
}

/// A route's responder behind its access decision.
struct AccessResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == AppRequestContext {
    let access: RouteAccess
    let gate: AccessGate
    let inner: Inner

    func respond(to request: Request, context: AppRequestContext) async throws -> Response {
        try await inner.respond(to: request, context: try await gate.admit(request, context: context, access: access))
    }
}

extension APIError {
    static func unsupportedMediaType(_ sent: String?) -> APIError {
        APIError(
            status: .unsupportedMediaType,
            code: "unsupported_media_type",
            message: "a request with a body must send Content-Type: application/json" + (sent.map { " (got \($0))" } ?? ""),
            details: sent.map { ["content_type": String($0.prefix(100))] } ?? [:]
        )
    }
}
