import Core
import Foundation
import OpenAPIKit30
import Testing

@testable import bastion_api

/// The OpenAPI document's `VaultwardenSource` names exactly the keys a vaultwarden job's source takes (the ones the
/// server stores) and refuses any other, as the server does (docs/vaultwarden.md).
@Suite struct VaultwardenOpenAPITests {
    @Test func theVaultwardenSourceSchemaIsTheSpecsSource() throws {
        let text = OpenAPIDocument.build().jsonString()
        let document = try JSONDecoder().decode(OpenAPI.Document.self, from: Data(text.utf8))
        try document.validate()
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let schema = try #require(((root["components"] as? [String: Any])?["schemas"] as? [String: Any])?["VaultwardenSource"] as? [String: Any])
        #expect(schema["additionalProperties"] as? Bool == false && schema["required"] as? [String] == ["data_dir"])
        let stored = try JobSpec.parse([
            "v": 1, "type": "vaultwarden", "source": ["data_dir": "/data"], "target": ["type": "local_dir", "base_dir": "/b"],
        ])
        guard case .object(let source)? = stored.storedJSON["source"] else {
            Issue.record("no stored source")
            return
        }
        #expect(Set(((schema["properties"] as? [String: Any]) ?? [:]).keys) == Set(source.keys))
    }
}
