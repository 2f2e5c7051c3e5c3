import Core
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error with a stable code, rendered as `{"error": code, "message": text, "details": {...}}`.
struct APIError: Error {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var details: [String: String] = [:]
    /// Typed values under `details.params` (e.g. `retry_after_seconds`).
    var params: [String: JSONValue] = [:]
    /// Extra response headers (e.g. `Retry-After`).
    var headers = HTTPFields()

    /// A generic mapping for errors raised by Hummingbird itself (unmatched route, body too large, ...).
    init(status: HTTPResponse.Status, code: String, message: String, details: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    init(httpStatus status: HTTPResponse.Status, message: String?) {
        let code: String
        switch status {
        case .notFound: code = "not_found"
        case .methodNotAllowed: code = "method_not_allowed"
        case .contentTooLarge: code = "payload_too_large"
        case .badRequest: code = "bad_request"
        case .unsupportedMediaType: code = "unsupported_media_type"
        default: code = status.code >= 500 ? "internal_error" : "http_\(status.code)"
        }
        self.init(status: status, code: code, message: message ?? status.reasonPhrase)
    }

    /// The JSON body, with `details.request_id`.
    func bodyText(requestID: String) -> String {
        var detailObject = details.mapValues(JSONValue.string)
        detailObject["request_id"] = .string(requestID)
        if !params.isEmpty { detailObject["params"] = .object(params) }
        let value: JSONValue = .object(["error": .string(code), "message": .string(message), "details": .object(detailObject)])
        return value.jsonString()
    }

    /// The JSON response.
    func response(requestID: String) -> Response {
        let body = Data(bodyText(requestID: requestID).utf8)
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
