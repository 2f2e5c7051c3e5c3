import Foundation
import OpenAPIKit30
import Testing

@testable import bastion_api

/// The OpenAPI document `GET /api/openapi.json` serves, read and validated by OpenAPIKit (an implementation of the
/// specification independent of ours). That it matches the router in both directions is checked by the process
/// tests (`APIContractTests`), and schemathesis checks live responses against it.
@Suite struct OpenAPIDocumentTests {
    static let text = OpenAPIDocument.build().jsonString()

    @Test func isAValidOpenAPI30Document() throws {
        let document = try JSONDecoder().decode(OpenAPI.Document.self, from: Data(Self.text.utf8))
        try document.validate()
        #expect(document.openAPIVersion == .v3_0_3)
        #expect(document.paths.count >= 30, "\(document.paths.count) paths")
    }

    @Test func everyOperationHasAnIdAResponseAndResolvableReferences() throws {
        let document = try JSONDecoder().decode(OpenAPI.Document.self, from: Data(Self.text.utf8))
        let operations = document.allOperationIds
        #expect(Set(operations).count == operations.count, "operation ids are unique")
        let resolved = try document.locallyDereferenced()
        for (path, item) in resolved.paths {
            for endpoint in item.endpoints {
                #expect(!endpoint.operation.responses.isEmpty, "\(endpoint.method) \(path.rawValue) has no response")
                #expect(endpoint.operation.operationId != nil, "\(endpoint.method) \(path.rawValue) has no operationId")
            }
        }
    }
}

extension OpenAPIDocumentTests {
    /// The API refuses unknown keys in every body it reads (`400 unknown_field`), and the document says so.
    @Test func everyRequestBodyObjectRefusesOtherKeys() throws {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(Self.text.utf8)) as? [String: Any])
        let schemas = try #require((root["components"] as? [String: Any])?["schemas"] as? [String: Any])
        func check(_ schema: Any?, _ at: String) {
            guard let object = schema as? [String: Any] else { return }
            if let ref = object["$ref"] as? String { return check(schemas[String(ref.split(separator: "/").last!)], at + " " + ref) }
            if let properties = object["properties"] as? [String: Any] {
                #expect(object["additionalProperties"] as? Bool == false, "\(at) allows other keys")
                for (key, value) in properties { check(value, at + "." + key) }
            }
        }
        var bodies = 0
        for (path, item) in try #require(root["paths"] as? [String: [String: Any]]) {
            for (method, operation) in item {
                let content = (((operation as? [String: Any])?["requestBody"] as? [String: Any])?["content"] as? [String: Any])
                guard let schema = (content?["application/json"] as? [String: Any])?["schema"] else { continue }
                bodies += 1
                check(schema, "\(method) \(path)")
            }
        }
        #expect(bodies >= 15, "\(bodies) request bodies")
    }
}

@Suite struct OpenAPIValidatorTests {
    /// The check above can fail: a document whose operation has no responses is refused.
    @Test func refusesAnOperationWithoutResponses() throws {
        let broken = #"{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{}}}}}"#
        let document = try JSONDecoder().decode(OpenAPI.Document.self, from: Data(broken.utf8))
        #expect(throws: (any Error).self) { try document.validate() }
    }
}
