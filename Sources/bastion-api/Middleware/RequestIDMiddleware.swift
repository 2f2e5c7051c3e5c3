import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Gives every request an id (the client's `x-request-id` if sane, else a new UUID), puts it on the request's
/// logger so every log line of the request carries it, echoes it on the response, and writes one access-log line.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    static let header = HTTPField.Name("x-request-id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[Self.header].flatMap(Self.sanitized) ?? UUID().uuidString.lowercased()
        context.requestID = id
        context.logger[metadataKey: "request.id"] = "\(id)"
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // ErrorMiddleware (inside this one) renders errors; anything escaping it is a bug, still answered as JSON.
            context.logger.error("Unrendered error", metadata: ["error": "\(error)"])
            response = APIError(status: .internalServerError, code: "internal_error", message: "internal error").response(requestID: id)
        }
        response.headers[Self.header] = id
        let elapsed = ContinuousClock.now - start
        context.logger.info(
            "Request",
            metadata: [
                "http.method": "\(request.method.rawValue)",
                "http.path": "\(request.uri.path)",
                "http.status": "\(response.status.code)",
                "duration_ms": "\(Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000 + Double(elapsed.components.seconds) * 1000)",
            ]
        )
        return response
    }

    /// Accepts 1–128 characters of `[A-Za-z0-9._:-]`; anything else is replaced (it would end up in logs).
    static func sanitized(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count) else { return nil }
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x2e || byte == 0x5f || byte == 0x3a || byte == 0x2d
        }
        return allowed ? value : nil
    }
}
