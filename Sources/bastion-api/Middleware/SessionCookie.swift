import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Store

/// The session cookie and the CSRF header (docs/security.md, "The access list"): how `AccessGate` finds the
/// signed-in session of a request, and how the WebSocket gate finds it for an upgrade.
enum SessionCookie {
    static let cookieName = "bastion_session"
    static let csrfHeader = HTTPField.Name("x-csrf-token")!

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
    static let invalidCSRF = APIError(status: .unauthorized, code: "invalid_csrf", message: "missing or wrong x-csrf-token header")
}
