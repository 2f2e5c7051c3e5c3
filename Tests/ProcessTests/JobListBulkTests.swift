import Foundation
import TestClients
import Testing

/// `GET /api/jobs`'s filters and `POST /api/jobs/bulk` through the real API (docs/ui.md, "Jobs at scale"): what each
/// filter keeps, per-id outcomes of a bulk action, and a clear 400 with nothing changed for every hostile request.
@Suite(.serialized) struct JobListBulkTests {
    func list(_ fixture: RunsFixture, _ query: String) async throws -> (names: [String], ids: [String], total: Int) {
        let result = try await HTTP.get(fixture.base + "/api/jobs?" + query)
        try #require(result.status == 200, "\(query): \(result.status) \(result.text)")
        let json = try #require(result.json)
        let items = try #require(json["items"] as? [[String: Any]])
        return (items.compactMap { $0["name"] as? String }, items.compactMap { $0["id"] as? String }, json["total"] as? Int ?? -1)
    }

    func bulk(_ fixture: RunsFixture, _ body: Any) async throws -> HTTPResult {
        try await HTTP.send("POST", fixture.base + "/api/jobs/bulk", json: body)
    }

    func createFilesystemJob(_ fixture: RunsFixture, name: String) async throws -> String {
        let result = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: [
                "name": name,
                "spec": [
                    "v": 1, "type": "filesystem", "source": ["paths": ["/nonexistent"]],
                    "target": ["type": "local_dir", "base_dir": fixture.targetDir],
                ],
            ]
        )
        try #require(result.status == 201, "\(result.text)")
        return try #require(result.json?["id"] as? String)
    }

    @Test func filtersKeepWhatTheySayAndCountWhatTheyKeep() async throws {
        let fixture = try await RunsFixture()
        var sqlite: [String] = []
        for index in 0..<6 { sqlite.append(try await fixture.createJob(source: "/nonexistent.db", name: "db \(index)")) }
        var files: [String] = []
        for index in 0..<4 { files.append(try await createFilesystemJob(fixture, name: "files \(index) 100%_x")) }
        // Latest runs: two sqlite jobs queued (no worker), the rest never ran.
        _ = try await fixture.enqueue(sqlite[0])
        _ = try await fixture.enqueue(sqlite[1])
        #expect(try await HTTP.send("POST", fixture.base + "/api/jobs/\(files[0])/archive").status == 200)

        #expect(try await list(fixture, "page_size=100").total == 9, "archived jobs are left out by default")
        #expect(try await list(fixture, "archived=all").total == 10)
        #expect(try await list(fixture, "include_archived=true").total == 10, "the first API's switch still works")
        #expect(try await list(fixture, "archived=archived").ids == [files[0]])
        #expect(try await list(fixture, "type=sqlite").total == 6)
        #expect(try await list(fixture, "type=filesystem&archived=all").total == 4)
        #expect(try await list(fixture, "type=postgres").total == 0)
        #expect(Set(try await list(fixture, "status=queued").ids) == Set(sqlite[0...1]))
        #expect(try await list(fixture, "status=never").total == 7)
        #expect(try await list(fixture, "status=failed").total == 0)
        #expect(try await list(fixture, "node=hub").total == 9)
        #expect(try await list(fixture, "q=DB%204").names == ["db 4"], "name search ignores ASCII case")
        #expect(try await list(fixture, "q=%25").total == 3, "% is taken literally")
        #expect(try await list(fixture, "q=_").total == 3, "_ is taken literally")
        #expect(try await list(fixture, "q=x%25").total == 0)
        // Filters combine, and the count is of what they keep, not of the page.
        let paged = try await list(fixture, "type=sqlite&status=never&sort=name_asc&page=2&page_size=3")
        #expect(paged.total == 4 && paged.names == ["db 5"])

        let bad = [
            "status=exploded", "status=", "type=zip", "node=not-an-agent", "node=" + String(repeating: "a", count: 300), "archived=maybe",
            "archived=all&include_archived=true", "include_archived=yes", "sort=random", "q=" + String(repeating: "x", count: 201),
            "page=0", "page_size=0", "page=abc",
        ]
        for query in bad {
            let result = try await HTTP.get(fixture.base + "/api/jobs?" + query)
            #expect(result.status == 400, "\(query): \(result.status)")
            #expect(result.json?["error"] as? String == "invalid_query", "\(query): \(result.text)")
        }
    }

    @Test func bulkActionsAnswerEachIdInOneTransaction() async throws {
        let fixture = try await RunsFixture()
        var ids: [String] = []
        for index in 0..<5 { ids.append(try await fixture.createJob(source: "/nonexistent.db", name: "job \(index)")) }
        let rejecting = try await fixture.createJob(source: "/nonexistent.db", overlap: "reject", name: "rejecting")
        _ = try await fixture.enqueue(rejecting)
        let unknown = "00000000-0000-0000-0000-000000000000"

        // Archive three and an unknown id: three done, the unknown one named, nothing else touched.
        let archived = try await bulk(fixture, ["action": "archive", "ids": [ids[0], ids[1], unknown, ids[2]]])
        #expect(archived.status == 200, "\(archived.text)")
        let answer = try #require(archived.json)
        #expect(answer["done"] as? Int == 3 && answer["failed"] as? Int == 1 && answer["unchanged"] as? Int == 0)
        let results = try #require(answer["results"] as? [[String: Any]])
        #expect(results.map { $0["id"] as? String } == [ids[0], ids[1], unknown, ids[2]], "one result per id, in the order given")
        #expect(results[2]["result"] as? String == "not_found" && results[2]["ok"] as? Bool == false)
        #expect(Set(try await list(fixture, "archived=archived").ids) == Set(ids[0...2]))

        // Again: already archived is `unchanged`, not a failure.
        let again = try #require(try await bulk(fixture, ["action": "archive", "ids": [ids[0]]]).json)
        #expect(again["unchanged"] as? Int == 1 && again["failed"] as? Int == 0)

        // Run now: an archived job is refused by name, a reject-policy job with a queued run is rejected (with its run).
        let run = try await bulk(fixture, ["action": "run", "ids": [ids[3], ids[4], ids[0], rejecting]])
        #expect(run.status == 200, "\(run.text)")
        let runResults = try #require(run.json?["results"] as? [[String: Any]])
        #expect(runResults.map { $0["result"] as? String } == ["done", "done", "job_archived", "rejected"])
        #expect(runResults[0]["run_status"] as? String == "queued" && runResults[0]["run_id"] is String)
        #expect(runResults[3]["run_status"] as? String == "rejected")
        #expect(run.json?["done"] as? Int == 2 && run.json?["failed"] as? Int == 2)
        #expect(Set(try await list(fixture, "status=queued&q=job").ids) == Set([ids[3], ids[4]]))
        // Run now of one archived job: refused the same way, nothing queued.
        let single = try await HTTP.send("POST", fixture.base + "/api/jobs/\(ids[0])/run", json: [String: Any]())
        #expect(single.status == 409 && single.json?["error"] as? String == "job_archived", "\(single.status) \(single.text)")
        #expect(try await list(fixture, "archived=archived&status=queued").total == 0)

        // Unarchive brings them back.
        let unarchived = try #require(try await bulk(fixture, ["action": "unarchive", "ids": Array(ids[0...2])]).json)
        #expect(unarchived["done"] as? Int == 3)
        #expect(try await list(fixture, "archived=archived").total == 0)
    }

    @Test func hostileBulkRequestsAreClear400sAndChangeNothing() async throws {
        let fixture = try await RunsFixture()
        let id = try await fixture.createJob(source: "/nonexistent.db", name: "only")
        let many = (0..<10_000).map { String(format: "00000000-0000-0000-0000-%012d", $0) }
        let cases: [(body: Any, code: String)] = [
            (["action": "delete", "ids": [id]], "invalid_action"),
            (["action": "ARCHIVE", "ids": [id]], "invalid_action"),
            (["action": 1, "ids": [id]], "invalid_action"),
            (["ids": [id]], "invalid_action"),
            (["action": "archive"], "invalid_ids"),
            (["action": "archive", "ids": []], "invalid_ids"),
            (["action": "archive", "ids": id], "invalid_ids"),
            (["action": "archive", "ids": [id, 7]], "invalid_ids"),
            (["action": "archive", "ids": [id, NSNull()]], "invalid_ids"),
            (["action": "archive", "ids": [id, ["id": id]]], "invalid_ids"),
            (["action": "archive", "ids": [""]], "invalid_ids"),
            (["action": "archive", "ids": [String(repeating: "a", count: 129)]], "invalid_ids"),
            (["action": "archive", "ids": [id, id]], "duplicate_id"),
            (["action": "archive", "ids": [id] + many], "too_many_ids"),
            (["action": "archive", "ids": [id] + many.prefix(500)], "too_many_ids"),
            (["action": "archive", "ids": [id], "force": true], "unknown_field"),
        ]
        for (body, code) in cases {
            let result = try await bulk(fixture, body)
            #expect(result.status == 400, "\(code): \(result.status) \(result.text)")
            #expect(result.json?["error"] as? String == code, "\(code): \(result.text)")
        }
        for raw in ["", "[]", "{\"action\": \"archive\", \"ids\": [", "\"archive\"", "null"] {
            let result = try await HTTP.send("POST", fixture.base + "/api/jobs/bulk", raw: raw)
            #expect(result.status == 400, "\(raw): \(result.status) \(result.text)")
        }
        // Nothing above archived or ran the job.
        let job = try #require(try await HTTP.get(fixture.base + "/api/jobs?archived=all").json?["items"] as? [[String: Any]])
        #expect(job.count == 1 && job[0]["archived_at"] is NSNull && job[0]["latest_run_id"] is NSNull)
        // 500 distinct ids is the most one request takes, and unknown ones are answered one by one.
        let bounded = try await bulk(fixture, ["action": "unarchive", "ids": Array(many.prefix(500))])
        #expect(bounded.status == 200 && bounded.json?["failed"] as? Int == 500)
        // Without a session or CSRF token: refused before anything.
        let anonymous = try await HTTP.send("POST", fixture.base + "/api/jobs/bulk", json: ["action": "archive", "ids": [id]], anonymous: true)
        #expect([401, 403].contains(anonymous.status))
    }
}
