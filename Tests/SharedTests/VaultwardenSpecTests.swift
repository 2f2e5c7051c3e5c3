import Core
import Testing

/// The `vaultwarden` job spec (docs/vaultwarden.md): both JSON shapes, the stored form, every refusal by field.
@Suite struct VaultwardenSpecTests {
    static let target: JSONValue = ["type": "local_dir", "base_dir": "/backups"]

    static func problem(_ spec: JSONValue) -> String? {
        do {
            _ = try JobSpecUnknownFieldsTests.save(spec)
            return nil
        } catch let error as ValidationError {
            return "\(error.code) \(error.field)"
        } catch {
            return "\(error)"
        }
    }

    @Test func bothShapesParseToTheSameStoredSpec() throws {
        let v1 = try JobSpec.parse([
            "v": 1, "type": "vaultwarden",
            "source": ["data_dir": "/srv/vaultwarden/data/", "consistency_policy": "fail", "consistency_fail_threshold": 3],
            "target": Self.target,
        ])
        let v2 = try JobSpec.parse([
            "v": 2,
            "source": [
                "type": "vaultwarden", "version": 1,
                "config": ["data_dir": "/srv/vaultwarden/data/", "consistency_policy": "fail", "consistency_fail_threshold": 3],
            ],
            "target": ["type": "local_dir", "version": 1, "config": ["base_dir": "/backups"]],
        ])
        #expect(v1 == v2)
        #expect(v1.type == "vaultwarden")
        guard case .vaultwarden(let source) = v1.source else {
            Issue.record("not a vaultwarden source: \(v1.source)")
            return
        }
        #expect(source == VaultwardenSource(dataDir: "/srv/vaultwarden/data/", consistencyPolicy: "fail", consistencyFailThreshold: 3))
        // The stored form reads back as itself, with the defaults written out.
        #expect(try JobSpec.parse(v1.storedJSON) == v1)
        let defaults = try JobSpec.parse(["v": 1, "type": "vaultwarden", "source": ["data_dir": "/data"], "target": Self.target])
        #expect(defaults.storedJSON["source"] == ["data_dir": "/data", "consistency_policy": "warn", "consistency_fail_threshold": 0])
        #expect(Self.problem(["v": 1, "type": "vaultwarden", "source": ["data_dir": "/data"], "target": Self.target]) == nil)
    }

    @Test func badValuesAndUnknownKeysAreRefusedByField() {
        let cases: [(JSONValue, String)] = [
            (["data_dir": "data"], "invalid_spec spec.source.data_dir"),
            (["data_dir": ""], "invalid_spec spec.source.data_dir"),
            ([:], "invalid_spec spec.source.data_dir"),
            (["data_dir": 7], "invalid_spec spec.source.data_dir"),
            (["data_dir": "/data", "consistency_policy": "never"], "invalid_spec spec.source.consistency_policy"),
            (["data_dir": "/data", "consistency_fail_threshold": -1], "invalid_spec spec.source.consistency_fail_threshold"),
            (["data_dir": "/data", "consistency_fail_threshold": .number(1.5)], "invalid_spec spec.source.consistency_fail_threshold"),
            (["data_dir": "/data", "consistency_fail_threshold": "3"], "invalid_spec spec.source.consistency_fail_threshold"),
            (["data_dir": "/data", "path": "/data/db.sqlite3"], "unknown_field spec.source.path"),
            (["data_dir": "/data", "exclude": ["icon_cache"]], "unknown_field spec.source.exclude"),
        ]
        for (source, expected) in cases {
            let spec: JSONValue = ["v": 1, "type": "vaultwarden", "source": source, "target": Self.target]
            #expect(Self.problem(spec) == expected, "\(source)")
        }
        let v2: JSONValue = [
            "v": 2, "source": ["type": "vaultwarden", "config": ["data_dir": "/data", "datadir": "/x"]],
            "target": ["type": "local_dir", "config": ["base_dir": "/backups"]],
        ]
        #expect(Self.problem(v2) == "unknown_field spec.source.config.datadir")
        // archive_v1 only: a raw tree of a live database would be no backup of it.
        let raw: JSONValue = [
            "v": 1, "type": "vaultwarden", "source": ["data_dir": "/data"], "target": Self.target, "pipeline": ["format": "raw_tree_v1"],
        ]
        #expect(Self.problem(raw) == "invalid_spec spec.pipeline.format")
    }
}
