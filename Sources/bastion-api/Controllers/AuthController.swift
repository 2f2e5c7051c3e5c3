import Archive
import Core
import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Store

/// First-run setup, login, logout and the current session (docs/architecture.md, "HTTP edge").
struct AuthController {
    let services: APIServices
    let hasher: PasswordHasher

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("setup/status", use: setupStatus)
        group.post("setup/initialize", use: initialize)
        group.post("auth/login", use: login)
        group.post("auth/logout", use: logout)
        group.get("session", use: session)
    }

    static let minimumPasswordBytes = 12

    struct SetupStatus: ResponseEncodable {
        var needsSetup: Bool
    }

    @Sendable func setupStatus(_ request: Request, context: AppRequestContext) async throws -> SetupStatus {
        SetupStatus(needsSetup: !(try await services.database.hasUsers()))
    }

    /// `POST /api/setup/initialize {username, password}`: creates the one admin user, once. Concurrent calls create
    /// exactly one (204); the others get `409 already_initialized`.
    @Sendable func initialize(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (username, password) = try await Self.credentials(request)
        guard username.count <= 128, !username.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw APIError(
                status: .badRequest,
                code: "invalid_username",
                message: "username must be 1–128 characters, not blank",
                details: ["field": "username"]
            )
        }
        guard password.utf8.count >= Self.minimumPasswordBytes, password.utf8.count <= 1024 else {
            throw APIError(
                status: .badRequest,
                code: "invalid_password",
                message: "password must be \(Self.minimumPasswordBytes)–1024 bytes",
                details: ["field": "password"]
            )
        }
        guard !(try await services.database.hasUsers()) else { throw APIError.alreadyInitialized }
        let hash = try await hasher.hash(password)
        guard try await services.database.createFirstUser(username: username, passwordHash: hash) else { throw APIError.alreadyInitialized }
        context.logger.notice("First user created", metadata: ["username": "\(username)"])
        return Response(status: .noContent)
    }

    struct LoginResult: ResponseEncodable {
        var csrfToken: String
    }

    /// `POST /api/auth/login {username, password}` → `{csrf_token}` and the `bastion_session` cookie. The throttle
    /// is checked before the credentials; unknown users cost the same Argon2id work as wrong passwords.
    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<LoginResult> {
        let ip = context.clientIP
        let database = services.database
        if let lockedUntil = try await database.loginLockedUntil(ip: ip) {
            throw APIError.rateLimited(until: lockedUntil)
        }
        if let lockedUntil = try await database.loginLockedUntil(ip: LoginThrottle.allAddresses) {
            throw APIError.rateLimited(until: lockedUntil)
        }
        let (username, password) = try await Self.credentials(request)
        let user = try await services.database.user(username: username)
        let matches = await hasher.verify(password, againstUserHash: user?.passwordHash)
        guard let user, matches else {
            let lockedUntil = try await database.recordLoginFailure(ip: ip)
            let allLockedUntil = try await database.recordLoginFailure(
                ip: LoginThrottle.allAddresses,
                maxFailures: LoginThrottle.maxFailuresAllAddresses
            )
            context.logger.notice("Login failed", metadata: ["client.ip": "\(ip)"])
            if let lockedUntil = lockedUntil ?? allLockedUntil { throw APIError.rateLimited(until: lockedUntil) }
            throw APIError(status: .unauthorized, code: "invalid_credentials", message: "wrong username or password")
        }
        try await services.database.clearLoginFailures(ip: ip)
        let token = SessionToken.generate()
        let csrf = SessionToken.generate()
        try await services.database.createSession(
            userId: user.id,
            tokenHash: SessionToken.hash(token),
            csrfToken: csrf,
            ttl: services.config.sessionTTL
        )
        var headers = HTTPFields()
        headers[.setCookie] = "\(SessionCookie.cookieName)=\(token); HttpOnly; SameSite=Lax; Path=/" + (context.isHTTPS ? "; Secure" : "")
        context.logger.info("Login", metadata: ["user.id": "\(user.id)", "client.ip": "\(ip)"])
        return EditedResponse(headers: headers, response: LoginResult(csrfToken: csrf))
    }

    /// `POST /api/auth/logout` (session + CSRF): deletes the session and clears the cookie.
    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let hash = context.sessionTokenHash { try await services.database.deleteSession(tokenHash: hash) }
        var headers = HTTPFields()
        headers[.setCookie] = "\(SessionCookie.cookieName)=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0" + (context.isHTTPS ? "; Secure" : "")
        return Response(status: .noContent, headers: headers)
    }

    struct SessionDTO: ResponseEncodable {
        var authenticated = true
        var userId: Int64
        var username: String
        var csrfToken: String
        var expiresAt: Int64
    }

    @Sendable func session(_ request: Request, context: AppRequestContext) async throws -> SessionDTO {
        guard let session = context.session else { throw APIError.unauthorized }
        return SessionDTO(userId: session.userId, username: session.username, csrfToken: session.csrfToken, expiresAt: session.expiresAt)
    }

    static func credentials(_ request: Request) async throws -> (String, String) {
        let body = try await RequestInput.object(request, known: ["username", "password"])
        let username = try RequestInput.string(body, "username", code: "invalid_username") ?? ""
        let password = try RequestInput.string(body, "password", code: "invalid_password") ?? ""
        return (username, password)
    }
}

extension APIError {
    static let alreadyInitialized = APIError(status: .conflict, code: "already_initialized", message: "setup was already done")

    static func rateLimited(until: Int64) -> APIError {
        let retryAfter = max(1, until - unixNow())
        var error = APIError(status: .tooManyRequests, code: "rate_limited", message: "too many failed logins from this address; try again later")
        error.params = ["retry_after_seconds": .number(Double(retryAfter))]
        error.headers[.retryAfter] = "\(retryAfter)"
        return error
    }
}
