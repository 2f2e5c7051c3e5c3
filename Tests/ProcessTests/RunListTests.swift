import Foundation
import TestClients
import Testing

/// `GET /api/runs` through the real API: keyset pages that neither skip nor repeat a run while runs are added,
/// filters, job names, and bad cursors.
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
}
