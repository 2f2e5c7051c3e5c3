import Foundation
import GRDB
import TestClients
import Testing

@testable import Store
@testable import bastion_janitor

/// The janitor removes the test restore a restore drill's dead worker left (docs/architecture.md, "Restore drills"),
/// and leaves a running drill's alone.
@Suite struct DrillScratchTests {
    @Test func aDeadDrillsScratchIsRemovedAndALiveOnesKept() async throws {
        let dir = TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        try await database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO jobs (id, name, overlap_policy, spec_json, created_at, updated_at) VALUES ('j', 'job', 'queue', '{}', 0, 0)"
            )
            for (id, status) in [("lost", "failed"), ("live", "running")] {
                try db.execute(
                    sql:
                        "INSERT INTO runs (id, job_id, status, started_at, kind, operation_json) VALUES (?, 'j', ?, 0, 'verify', '{\"drill\":true}')",
                    arguments: [id, status]
                )
            }
        }
        let runs = dir.dataDirectory.runsPath
        for id in ["lost", "live", "unknown"] {
            try FileManager.default.createDirectory(atPath: "\(runs)/\(id)/drill/srv/app", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: "\(runs)/\(id)/drill/srv/app/file"))
        }
        // Another run's staging, not a drill's: not the janitor's.
        try FileManager.default.createDirectory(atPath: "\(runs)/other.read", withIntermediateDirectories: true)
        let pass = MaintenancePass(database: database, settings: .init(), logger: testLogger)
        let report = await pass.run(now: 1_800_000_000)
        #expect(report.failedSteps.isEmpty && report.drillScratchRemoved == 2)
        #expect(!FileManager.default.fileExists(atPath: "\(runs)/lost") && !FileManager.default.fileExists(atPath: "\(runs)/unknown"))
        #expect(FileManager.default.fileExists(atPath: "\(runs)/live/drill/srv/app/file"))
        #expect(FileManager.default.fileExists(atPath: "\(runs)/other.read"))
    }
}
