import Foundation
import TestClients
import Testing

/// `GET /api/runs` through the real API: keyset pages that neither skip nor repeat a run while runs are added,
/// filters, job names, and bad cursors; what each finished run did (its summary without the lists).
@Suite(.serialized) struct RunListTests {
    func page(_ fixture: RunsFixture, _ query: String) async throws -> (ids: [String], next: String?, json: [String: Any]) {
        let result = try await HTTP.get(fixture.base + "/api/runs?" + query)
        try #require(result.status == 200, "\(result.status) \(String(decoding: result.body, as: UTF8.self))")
        let json = try #require(result.json)
        let items = try #require(json["items"] as? [[String: Any]])
        return (items.compactMap { $0["id"] as? String }, json["next_cursor"] as? String, json)
    }

    @Test func cursorPagesWalkEveryRunOnceNewestFirst() async throws {
        let fixture = try await RunsFixture()
        let first = try await fixture.createJob(source: "/nonexistent.db", name: "first job")
        let second = try await fixture.createJob(source: "/nonexistent.db", name: "second job")
        var enqueued: [String] = []
        for index in 0..<45 { enqueued.append(try await fixture.enqueue(index.isMultiple(of: 3) ? second : first).id) }

        var walked: [String] = []
        var cursor: String?
        var pages = 0
        var added: String?
        repeat {
            let query = "page_size=20" + (cursor.map { "&cursor=\($0)" } ?? "")
            let result = try await page(fixture, query)
            #expect(result.json["total"] == nil && result.json["page"] == nil, "keyset pages carry no count")
            walked += result.ids
            cursor = result.next
            pages += 1
            // A run enqueued while paging moves no other run: nothing is skipped or repeated. (It sorts before the
            // cursor unless it started in the same second with a smaller id; then a later page shows it.)
            if pages == 1 { added = try await fixture.enqueue(first).id }
        } while cursor != nil && pages < 10
        let existing = walked.filter { $0 != added }
        #expect(existing.count == 45 && Set(existing) == Set(enqueued), "every run once")
        #expect(Set(walked).count == walked.count, "no run twice")

        // The same order as the numbered pages (which add page and total).
        let numbered = try await page(fixture, "page=1&page_size=100")
        #expect(numbered.json["total"] as? Int == 46 && numbered.json["page"] as? Int == 1)
        #expect(numbered.ids.filter { Set(walked).contains($0) } == walked)

        // Filters, and the job's name on every row.
        let byJob = try await page(fixture, "job_id=\(second)&page_size=100")
        #expect(byJob.ids.count == 15)
        let rows = try #require(byJob.json["items"] as? [[String: Any]])
        #expect(rows.allSatisfy { $0["job_name"] as? String == "second job" && $0["kind"] as? String == "backup" })
        #expect(try await page(fixture, "kind=restore").ids.isEmpty)
        #expect(try await page(fixture, "kind=backup&status=queued&page_size=5").ids.count == 5)

        for bad in ["cursor=not-a-cursor", "cursor=", "kind=cleanup", "cursor=" + String(repeating: "A", count: 400)] {
            let result = try await HTTP.get(fixture.base + "/api/runs?" + bad)
            #expect(result.status == 400, "\(bad): \(result.status)")
            #expect(["invalid_cursor", "invalid_query"].contains(result.json?["error"] as? String ?? ""), "\(bad)")
        }
    }

    /// The summary a list row carries: the detail's, every array left out (RunsController.RunListItemDTO.listed).
    static func withoutArrays(_ value: Any) -> Any {
        guard let object = value as? [String: Any] else { return value }
        return object.filter { !($0.value is [Any]) }.mapValues(withoutArrays)
    }

    /// JSON text with sorted keys: equal values, equal texts.
    static func text(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    static func hasArray(_ value: Any) -> Bool {
        guard let object = value as? [String: Any] else { return value is [Any] }
        return object.values.contains(where: hasArray)
    }

    /// The runs list and a job's runs say what each finished backup, restore and verify did (docs/ui.md, "What a run
    /// did"): the detail's summary with its counts, but none of the lists that grow with the data.
    @Test func finishedRunsCarryTheirSummaryWithoutItsLists() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        for index in 0..<3 { try "file \(index)\n".write(toFile: source + "/f\(index).txt", atomically: true, encoding: .utf8) }
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]], "target": ["type": "local_dir", "base_dir": fixture.targetDir],
            "pipeline": ["incremental": ["full_every": 5]],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "listed", "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(String(decoding: created.body, as: UTF8.self))")
        func row(_ run: String, _ path: String = "/api/runs?page_size=50") async throws -> [String: Any] {
            let result = try await HTTP.get(fixture.base + path)
            let items = try #require((result.json?["items"] as? [[String: Any]]) ?? result.jsonArray, "\(result.status)")
            return try #require(items.first { $0["id"] as? String == run }, "\(run) not in \(path)")
        }
        func finished(_ run: String) async throws {
            _ = await eventually(timeout: .seconds(60)) { !["queued", "running"].contains(await fixture.status(run) ?? "queued") }
            let detail = try await fixture.run(run)
            #expect(detail["status"] as? String == "success", "\(detail)")
        }

        // Queued (no worker yet): the row says so, its summary null.
        let first = try await fixture.enqueue(job).id
        let queuedRow = try await row(first)
        #expect(queuedRow.keys.contains("summary") && queuedRow["summary"] is NSNull, "\(queuedRow)")
        try await fixture.startWorker("w0")
        try await finished(first)
        try "changed, longer\n".write(toFile: source + "/f0.txt", atomically: true, encoding: .utf8)
        let second = try await fixture.enqueue(job).id
        try await finished(second)
        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(second)/restore",
            json: ["destination": ["type": "local_fs", "directory": fixture.scratch.path + "/out"], "conflict_policy": "fail"]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String, "\(String(decoding: restore.body, as: UTF8.self))")
        try await finished(restoreRun)
        let verify = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(second)/verify").json?["run_id"] as? String)
        try await finished(verify)

        for run in [first, second, restoreRun, verify] {
            let detail = try #require(try await fixture.run(run)["summary"] as? [String: Any], "\(run)")
            #expect(Self.hasArray(detail), "the detail's summary holds a list (else this test proves nothing): \(detail)")
            for path in ["/api/runs?page_size=50", "/api/jobs/\(job)/runs"] {
                let listed = try #require(try await row(run, path)["summary"] as? [String: Any], "\(path): \(run)")
                #expect(!Self.hasArray(listed), "\(path): \(listed)")
                #expect(try Self.text(listed) == Self.text(Self.withoutArrays(detail)), "\(path): \(listed) vs \(detail)")
            }
        }
        // What the UI's outcome line reads (web/src/lib/runOutcome.ts) is there.
        let backup = try #require(try await row(second)["summary"] as? [String: Any])
        let changes = try #require(backup["changes"] as? [String: Any], "\(backup)")
        #expect(
            changes["new"] as? Int == 0 && changes["changed"] as? Int == 1 && changes["unchanged"] as? Int == 2 && changes["removed"] as? Int == 0
        )
        #expect(((backup["metrics"] as? [String: Any])?["transfer_total_bytes"] as? Int ?? 0) > 0, "\(backup)")
        #expect((backup["incremental"] as? [String: Any])?["level"] as? Int == 1, "\(backup)")
        let restored = try #require(try await row(restoreRun)["summary"] as? [String: Any])
        #expect(
            restored["restored_files"] as? Int == 3 && restored["not_restored"] as? Int == 0 && restored["not_restored_entries"] == nil,
            "\(restored)"
        )
        let verified = try #require(try await row(verify)["summary"] as? [String: Any])
        #expect(verified["files_total"] as? Int == 3 && verified["sample_errors"] == nil, "\(verified)")
    }
}
