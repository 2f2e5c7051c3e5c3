import Core
import Foundation
import Testing

@testable import bastion_api

/// A list row's summary (`RunsController.RunListItemDTO.listed`): the counts a row shows, none of the lists that grow
/// with the data, so a page of 50 runs stays small whatever the runs met.
@Suite struct RunListItemTests {
    @Test func aRestoreWithManyProblemsListsItsCountsOnly() {
        let problem: JSONValue = .object(["path": .string(String(repeating: "p", count: 200)), "reason": .string("permission denied")])
        let summary: JSONValue = .object([
            "destination": .string("/restore"), "restored_files": .number(35), "skipped": .number(2), "not_restored": .number(10_000),
            "not_restored_entries": .array(Array(repeating: problem, count: 10_000)), "warnings": .number(1),
            "warning_entries": .array([problem]),
        ])
        let listed = RunsController.RunListItemDTO.listed(summary)
        #expect(
            listed
                == .object([
                    "destination": .string("/restore"), "restored_files": .number(35), "skipped": .number(2), "not_restored": .number(10_000),
                    "warnings": .number(1),
                ])
        )
        #expect(listed.jsonString().utf8.count < 200)
    }

    @Test func nestedListsGoAndObjectsAndNullsStay() {
        let summary: JSONValue = .object([
            "artifact_format": .string("archive_v1"),
            "incremental": .object(["level": .number(2), "base_run_id": .string("r1"), "chain": .array([.string("r0"), .string("r1")])]),
            "consistency": .object(["changed_total": .number(3), "sample": .array([.object(["path": .string("a")])])]),
            "sqlite": .null,
        ])
        #expect(
            RunsController.RunListItemDTO.listed(summary)
                == .object([
                    "artifact_format": .string("archive_v1"), "incremental": .object(["level": .number(2), "base_run_id": .string("r1")]),
                    "consistency": .object(["changed_total": .number(3)]), "sqlite": .null,
                ])
        )
    }

    /// What makes `listed` keep to the document: no summary schema requires an array, at any depth (a new required
    /// list would make every list row contradict its schema).
    @Test func noSummarySchemaRequiresAnArray() throws {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.build().jsonString().utf8)) as? [String: Any])
        let schemas = try #require((root["components"] as? [String: Any])?["schemas"] as? [String: Any])
        func check(_ schema: Any?, _ at: String) {
            guard let schema = schema as? [String: Any] else { return }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for name in schema["required"] as? [String] ?? [] {
                #expect((properties[name] as? [String: Any])?["type"] as? String != "array", "\(at).\(name) is a required array")
            }
            for (name, property) in properties { check(property, "\(at).\(name)") }
            for key in ["items", "anyOf", "allOf", "oneOf"] {
                for member in schema[key] as? [Any] ?? [schema[key] as Any] { check(member, "\(at).\(key)") }
            }
        }
        for name in ["BackupSummary", "RestoreSummary", "VerifySummary", "SourceConsistency"] { check(schemas[name], name) }
    }
}
