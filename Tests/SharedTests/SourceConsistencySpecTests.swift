import Core
import Testing

/// The filesystem source's `snapshot_mode`, `consistency_policy` and `consistency_fail_threshold` (docs/architecture.md,
/// "Consistency of live files", "Filesystem snapshots"): defaults, refusals by name, the stored form; and the summary's
/// `consistency` part read back as written.
@Suite struct SourceConsistencySpecTests {
    struct NotFilesystem: Error {}

    static func source(_ extra: [String: JSONValue], v2: Bool = false) throws -> FilesystemSource {
        var config: [String: JSONValue] = ["paths": ["/srv"]]
        for (key, value) in extra { config[key] = value }
        let spec: JSONValue =
            v2
            ? [
                "v": 2, "source": ["type": "filesystem", "config": .object(config)],
                "target": ["type": "local_dir", "config": ["base_dir": "/backups"]],
            ]
            : ["v": 1, "type": "filesystem", "source": .object(config), "target": ["type": "local_dir", "base_dir": "/backups"]]
        #expect(JobSpec.unknownFields(spec).isEmpty, "\(JobSpec.unknownFields(spec))")
        guard case .filesystem(let source) = try JobSpec.parse(spec).source else { throw NotFilesystem() }
        return source
    }

    @Test func defaultsAreOffWarnAndZero() throws {
        let source = try Self.source([:])
        #expect(source.snapshotMode == "off" && source.consistencyPolicy == "warn" && source.consistencyFailThreshold == 0)
    }

    @Test func settingsAreReadFromBothShapesAndStored() throws {
        for v2 in [false, true] {
            let source = try Self.source(
                ["snapshot_mode": "required", "consistency_policy": "fail", "consistency_fail_threshold": 3],
                v2: v2
            )
            #expect(source.snapshotMode == "required" && source.consistencyPolicy == "fail" && source.consistencyFailThreshold == 3)
        }
        let spec = try JobSpec.parse([
            "v": 1, "type": "filesystem", "source": ["paths": ["/srv"], "snapshot_mode": "auto", "consistency_policy": "ignore"],
            "target": ["type": "local_dir", "base_dir": "/backups"],
        ])
        let stored = spec.storedJSON["source"]
        #expect(stored?["snapshot_mode"] == "auto" && stored?["consistency_policy"] == "ignore" && stored?["consistency_fail_threshold"] == 0)
        #expect(try JobSpec.parse(spec.storedJSON) == spec)
    }

    @Test func badValuesAreRefusedByName() {
        let cases: [(String, JSONValue)] = [
            ("snapshot_mode", "always"), ("snapshot_mode", true), ("consistency_policy", "abort"),
            ("consistency_fail_threshold", -1), ("consistency_fail_threshold", .number(1.5)), ("consistency_fail_threshold", "3"),
            ("consistency_fail_threshold", .number(1e12)),
        ]
        for (key, value) in cases {
            do {
                _ = try Self.source([key: value])
                Issue.record("\(key): \(value) was accepted")
            } catch let error as ValidationError {
                #expect(error.field == "source.\(key)" && error.code == "invalid_spec" && error.reason == "invalid", "\(error)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func theSummaryPartCountsEveryFileAndNamesTheFirstFifty() {
        var consistency = SourceConsistency(policy: "fail", failThreshold: 70)
        for index in 0..<80 { consistency.record("/srv/f\(index)", index.isMultiple(of: 2) ? .size : .mtime) }
        consistency.record("/srv/gone", .deleted)
        #expect(consistency.changedTotal == 81 && consistency.samples.count == 50 && consistency.exceedsThreshold)
        let json = consistency.json
        #expect(json["size_total"] == 40 && json["mtime_total"] == 40 && json["deleted_total"] == 1 && json["sample_truncated"] == true)
        #expect(SourceConsistency(json: json) == consistency)
        #expect(SourceConsistency(json: ["policy": "nonsense"]) == nil)
        #expect(!SourceConsistency(policy: "warn").exceedsThreshold)
    }
}
