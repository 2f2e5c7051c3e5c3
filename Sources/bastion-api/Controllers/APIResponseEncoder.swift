import Core
import Hummingbird

/// How every handler's `ResponseEncodable` value becomes a body (docs/architecture.md, "HTTP API"): one encoder for
/// all DTOs, `JSONValueEncoder` (snake_case names, explicit nulls), written by the project's one JSON writer. DTOs
/// are plain structs with camelCase properties; none writes its own `encode(to:)`.
struct APIResponseEncoder: ResponseEncoder {
    func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        let text = try JSONValueEncoder().encode(value).jsonString()
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}

/// Documents the API returns as they are (the notification settings).
extension JSONValue: ResponseEncodable {}
