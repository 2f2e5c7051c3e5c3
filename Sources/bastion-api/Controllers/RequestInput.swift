import Core
import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import Store

/// Reading request bodies and query strings with clear 400s: malformed JSON names the problem, wrong types name
/// the field, nothing ever becomes a 500.
enum RequestInput {
    /// The 2 MiB body limit of docs/architecture.md, "HTTP edge".
    static let maxBodyBytes = 2 * 1024 * 1024

    /// The body as a JSON object whose keys are all in `known` (else `400 unknown_field` naming the first one,
    /// docs/security.md, "Unknown fields"); an empty body is `[:]` when `allowEmpty`.
    static func object(_ request: Request, allowEmpty: Bool = false, known: Set<String>) async throws -> [String: JSONValue] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(status: .contentTooLarge, code: "payload_too_large", message: "request body exceeds \(maxBodyBytes) bytes")
        }
        if buffer.readableBytes == 0 {
            if allowEmpty { return [:] }
            throw APIError(status: .badRequest, code: "invalid_json", message: "request body is empty; a JSON object is required")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes: buffer.readableBytesView)
        } catch let error as JSONValue.ParseError {
            throw APIError(status: .badRequest, code: "invalid_json", message: "malformed JSON: \(error)", details: ["offset": "\(error.offset)"])
        }
        guard case .object(let object) = value else {
            throw APIError(status: .badRequest, code: "invalid_json", message: "the body must be a JSON object")
        }
        try refuseUnknownKeys(object, known: known, at: "")
        return object
    }

    /// `400 unknown_field` with `details.field` = `path.key` for the first key of `object` not in `known`.
    static func refuseUnknownKeys(_ object: [String: JSONValue], known: Set<String>, at path: String) throws {
        do {
            try ValidationError.refuseUnknownKeys(object, known: known, at: path)
        } catch let error as ValidationError {
            throw badRequest(error)
        }
    }

    /// A string field (absent or null → nil); any other type is a 400 with `code`.
    static func string(_ object: [String: JSONValue], _ key: String, code: String) throws -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw APIError(status: .badRequest, code: code, message: "\(key) must be a string", details: ["field": key])
        }
    }

    /// An optional non-negative integer query parameter; anything else is a 400 `invalid_query`.
    static func integer(_ request: Request, _ name: String, range: ClosedRange<Int64> = 0...Int64.max) throws -> Int64? {
        try integer(request.uri, name, range: range)
    }

    /// `integer(_:_:range:)` on a URI.
    static func integer(_ uri: URI, _ name: String, range: ClosedRange<Int64> = 0...Int64.max) throws -> Int64? {
        guard let raw = uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(raw), range.contains(value) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_query",
                message: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)",
                details: ["field": name]
            )
        }
        return value
    }

    /// `page` (≥ 1, default 1) and `page_size` (< 1 is a 400, > 100 clamped, default 20), as the original.
    static func paging(_ request: Request) throws -> (page: Int, pageSize: Int, requested: Bool) {
        let page = try integer(request, "page", range: 1...1_000_000)
        let rawSize = request.uri.queryParameters.get("page_size")
        var size = 20
        if let rawSize {
            guard let parsed = Int(rawSize), parsed >= 1 else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_query",
                    message: "page_size must be an integer ≥ 1",
                    details: ["field": "page_size"]
                )
            }
            size = min(parsed, 100)
        }
        return (Int(page ?? 1), size, page != nil || rawSize != nil)
    }

    /// An enumerated filter (`status=failed`): nil when absent or `all`, `400 invalid_query` naming the allowed values.
    static func filter<Value: RawRepresentable & CaseIterable>(_ request: Request, _ name: String) throws -> Value? where Value.RawValue == String {
        guard let raw = request.uri.queryParameters.get(name), raw != "all" else { return nil }
        guard let value = Value(rawValue: String(raw)) else {
            let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
            throw APIError(status: .badRequest, code: "invalid_query", message: "\(name) must be one of \(allowed)", details: ["field": name])
        }
        return value
    }

    /// The `cursor` query parameter: nil when absent, `400 invalid_cursor` when it is not one this API issued.
    static func cursor(_ request: Request) throws -> ListCursor? {
        guard let raw = request.uri.queryParameters.get("cursor") else { return nil }
        guard let cursor = ListCursor(token: String(raw)) else {
            throw APIError(status: .badRequest, code: "invalid_cursor", message: "cursor is not one this API issued", details: ["field": "cursor"])
        }
        return cursor
    }

    /// `body`'s result; a model `ValidationError` it throws becomes the API's 400 (`badRequest`).
    static func checked<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ValidationError {
            throw badRequest(error)
        }
    }

    /// Turns a model `ValidationError` into the API's 400.
    static func badRequest(_ error: ValidationError) -> APIError {
        APIError(status: .badRequest, code: error.code, message: error.message, details: ["field": error.field, "reason": error.reason])
    }
}
