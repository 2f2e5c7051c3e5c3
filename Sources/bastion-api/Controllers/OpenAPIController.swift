import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /api/openapi.json`: the OpenAPI document, rendered once.
struct OpenAPIController {
    static let body = OpenAPIDocument.build().jsonString()

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("openapi.json") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Self.body)))
        }
    }
}
