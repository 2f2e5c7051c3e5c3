import Foundation
import GRDB
import Testing

/// Schedule macros over HTTP against the real API (docs/architecture.md, "Jobs and specs"): `@daily` is stored as
/// typed with its next runs, the preview answers it, and every other `@` word is a 400 that changes nothing.
@Suite(.serialized) struct ScheduleMacroTests {
    @Test func macrosAreSchedulesAndOtherAtWordsAreRefused() async throws {
        let fixture = try await RunsFixture()
        let spec: [String: Any] = [
            "v": 1, "type": "sqlite", "source": ["path": "/srv/app.db"], "target": ["type": "local_dir", "base_dir": "/backups"],
        ]
        let created = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: ["name": "nightly", "spec": spec, "schedule": " @daily ", "schedule_timezone": "America/New_York"]
        )
        #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self))")
        #expect(created.json?["schedule"] as? String == "@daily")
        let id = try #require(created.json?["id"] as? String)
        let detail = try await HTTP.get(fixture.base + "/api/jobs/\(id)")
        let next = try #require(detail.json?["next_run_at"] as? [Int])
        #expect(next.count == 5)
        // Local midnight in New York: 04:00 or 05:00 UTC, a day (23 to 25 hours) apart.
        #expect(next.allSatisfy { [4, 5].contains($0 % 86_400 / 3600) && $0 % 3600 == 0 }, "\(next)")
        let preview = try await HTTP.send(
            "POST",
            fixture.base + "/api/schedules/preview",
            json: ["schedule": "@Weekly", "timezone": "UTC", "count": 2]
        )
        #expect(preview.status == 200)
        let weekly = try #require(preview.json?["next"] as? [Int])
        #expect(weekly.count == 2 && weekly[1] - weekly[0] == 7 * 86_400 && ((weekly[0] / 86_400) + 4) % 7 == 0, "Sundays at 00:00 UTC: \(weekly)")

        let before = try await fixture.readDatabase { db in try Row.fetchAll(db, sql: "SELECT * FROM jobs ORDER BY 1").map(\.description) }
        for bad in ["@every 5m", "@reboot", "@daily 5", "@", "@ daily", "@hourly@daily", "@" + String(repeating: "x", count: 100_000)] {
            for (path, body) in [
                ("/api/schedules/preview", ["schedule": bad] as [String: Any]),
                ("/api/jobs", ["name": "n", "spec": spec, "schedule": bad]),
                ("/api/jobs/\(id)", ["name": "nightly", "spec": spec, "schedule": bad]),
            ] {
                let result = try await HTTP.send(path == "/api/jobs/\(id)" ? "PUT" : "POST", fixture.base + path, json: body)
                #expect(result.status == 400 && result.json?["error"] as? String == "invalid_schedule", "\(path) \(bad.prefix(20)): \(result.status)")
                #expect(result.body.count < 1000, "the refusal echoes the schedule back whole")
            }
        }
        let after = try await fixture.readDatabase { db in try Row.fetchAll(db, sql: "SELECT * FROM jobs ORDER BY 1").map(\.description) }
        #expect(after == before, "a refused schedule changed the jobs")
    }
}
