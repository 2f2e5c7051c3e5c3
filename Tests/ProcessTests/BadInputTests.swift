import Foundation
import GRDB
import Testing

/// Bad input of every kind gets a clear 4xx with the original's code and changes nothing in the database.
@Suite(.serialized) struct BadInputTests {
    func snapshot(_ fixture: RunsFixture) async throws -> [String] {
        try await fixture.readDatabase { db in
            try ["jobs", "runs", "run_events"].map { table in
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1")
                return "\(table): \(rows.map(\.description).joined(separator: "|"))"
            }
        }
    }

    @Test func badRequestsAreRefusedAndChangeNothing() async throws {
        let fixture = try await RunsFixture()
        let source = try fixture.makeSourceDatabase(pages: 1)
        let jobId = try await fixture.createJob(source: source)
        let run = try await fixture.enqueue(jobId).id
        let before = try await snapshot(fixture)
        let base = fixture.base
        let goodSpec: [String: Any] = ["v": 1, "type": "sqlite", "source": ["path": source], "target": ["type": "local_dir", "base_dir": "/tmp/x"]]
        func job(_ overrides: [String: Any]) -> [String: Any] {
            var body: [String: Any] = ["name": "n", "spec": goodSpec]
            for (key, value) in overrides { body[key] = value }
            return body
        }

        let cases: [(String, String, [String: Any]?, String?, Int, String)] = [
            ("GET", "/api/jobs/nope", nil, nil, 404, "job_not_found"),
            ("PUT", "/api/jobs/nope", job([:]), nil, 404, "job_not_found"),
            ("DELETE", "/api/jobs/nope", nil, nil, 404, "job_not_found"),
            ("POST", "/api/jobs/nope/run", nil, nil, 404, "job_not_found"),
            ("GET", "/api/jobs/nope/runs", nil, nil, 404, "job_not_found"),
            ("GET", "/api/runs/nope", nil, nil, 404, "run_not_found"),
            ("POST", "/api/runs/nope/cancel", nil, nil, 404, "run_not_found"),
            ("GET", "/api/runs/nope/events", nil, nil, 404, "run_not_found"),
            ("POST", "/api/jobs", job(["name": "  "]), nil, 400, "invalid_name"),
            ("POST", "/api/jobs", job(["name": 42]), nil, 400, "invalid_name"),
            ("POST", "/api/jobs", job(["schedule": "61 * * * *"]), nil, 400, "invalid_schedule"),
            ("POST", "/api/jobs", job(["schedule": "5 0 * * * *"]), nil, 400, "invalid_schedule"),
            ("POST", "/api/jobs", job(["schedule": "0 0 0 * * * *"]), nil, 400, "invalid_schedule"),
            ("POST", "/api/jobs", job(["schedule": "* * * FOO *"]), nil, 400, "invalid_schedule"),
            ("POST", "/api/jobs", job(["schedule": "0 0 31 2 *"]), nil, 400, "invalid_schedule"),
            ("POST", "/api/schedules/preview", ["schedule": "0 0 30 2 *"], nil, 400, "invalid_schedule"),
            ("POST", "/api/schedules/preview", ["schedule": "0 3 * * *", "timezone": "Nowhere/City"], nil, 400, "invalid_timezone"),
            ("POST", "/api/schedules/preview", ["schedule": "0 3 * * *", "count": 0], nil, 400, "invalid_count"),
            ("POST", "/api/jobs", job(["schedule_timezone": "Mars/Olympus_Mons"]), nil, 400, "invalid_timezone"),
            ("POST", "/api/jobs", job(["schedule_timezone": "EST5EDTX"]), nil, 400, "invalid_timezone"),
            ("POST", "/api/jobs", job(["overlap_policy": "sometimes"]), nil, 400, "invalid_overlap_policy"),
            ("POST", "/api/jobs", ["name": "n"], nil, 400, "invalid_spec"),
            (
                "POST", "/api/jobs", job(["spec": ["v": 1, "type": "sqlite", "source": [:], "target": ["type": "local_dir", "base_dir": "/x"]]]), nil,
                400, "invalid_spec"
            ),
            (
                "POST", "/api/jobs",
                job(["spec": ["v": 1, "type": "sqlite", "source": ["path": "/a"], "target": ["type": "local_dir", "base_dir": "relative"]]]), nil,
                400, "invalid_spec"
            ),
            (
                "POST", "/api/jobs",
                job([
                    "spec": [
                        "v": 1, "type": "sqlite", "source": ["path": "/a"],
                        "target": ["type": "local_dir", "base_dir": "/x", "part_size_bytes": 1000],
                    ]
                ]), nil, 400, "invalid_spec"
            ),
            (
                "POST", "/api/jobs",
                job(["spec": ["v": 1, "type": "filesystem", "source": ["paths": []], "target": ["type": "local_dir", "base_dir": "/x"]]]), nil, 400,
                "invalid_spec"
            ),
            (
                "POST", "/api/jobs", job(["spec": ["v": 1, "type": "tape", "source": [:], "target": ["type": "local_dir", "base_dir": "/x"]]]), nil,
                400, "invalid_spec"
            ),
            (
                "POST", "/api/jobs",
                job([
                    "spec": [
                        "v": 1, "type": "filesystem", "source": ["paths": ["/srv"], "exclude": ["*.[tmp"]],
                        "target": ["type": "local_dir", "base_dir": "/x"],
                    ]
                ]), nil, 400, "invalid_spec"
            ),
            (
                "POST", "/api/jobs",
                job([
                    "spec": [
                        "v": 1, "type": "filesystem", "source": ["paths": ["/srv"]],
                        "target": ["type": "local_dir", "base_dir": "/x"], "notifications": ["mode": "custom", "webhook": [" "]],
                    ]
                ]), nil, 400, "invalid_spec"
            ),
            ("POST", "/api/jobs", job(["spec": ["v": 3]]), nil, 400, "invalid_spec"),
            ("POST", "/api/jobs", job(["spec": "sqlite"]), nil, 400, "invalid_spec"),
            ("POST", "/api/jobs", nil, "{\"name\": ", 400, "invalid_json"),
            ("POST", "/api/jobs", nil, "[1, 2]", 400, "invalid_json"),
            ("POST", "/api/jobs", nil, "", 400, "invalid_json"),
            ("PUT", "/api/jobs/\(jobId)", job(["schedule": "bad"]), nil, 400, "invalid_schedule"),
            ("POST", "/api/runs/\(run)/cancel", nil, "{\"reason\": 5}", 400, "invalid_reason"),
            ("POST", "/api/runs/\(run)/cancel", nil, "not json", 400, "invalid_json"),
            ("GET", "/api/runs/\(run)/events?after_seq=-1", nil, nil, 400, "invalid_query"),
            ("GET", "/api/runs/\(run)/events?after_seq=abc", nil, nil, 400, "invalid_query"),
            ("GET", "/api/runs/\(run)/events?limit=501", nil, nil, 400, "invalid_query"),
            ("GET", "/api/runs?status=bogus", nil, nil, 400, "invalid_query"),
            ("GET", "/api/runs?page=0", nil, nil, 400, "invalid_query"),
            ("GET", "/api/jobs?page_size=0", nil, nil, 400, "invalid_query"),
            ("GET", "/api/jobs?sort=random", nil, nil, 400, "invalid_query"),
        ]
        for (method, path, json, raw, status, code) in cases {
            let result = try await HTTP.send(method, base + path, json: json, raw: raw)
            #expect(result.status == status, "\(method) \(path) \(raw ?? "") → \(result.status) \(String(decoding: result.body, as: UTF8.self))")
            #expect(result.json?["error"] as? String == code, "\(method) \(path): \(String(decoding: result.body, as: UTF8.self))")
            #expect(result.json?["message"] as? String != nil)
        }
        // A body over 2 MiB is refused before it is parsed.
        let huge = try await HTTP.send("POST", base + "/api/jobs", raw: "{\"name\": \"" + String(repeating: "x", count: 3 << 20) + "\"}")
        #expect(huge.status == 413)
        #expect(try await snapshot(fixture) == before, "a refused request changed the database")
        #expect(!fixture.api.log.contains(" error "), "bad input logged an error:\n\(fixture.api.log)")
    }

    @Test func bothSpecShapesAreAcceptedAndStoredTheSameWay() async throws {
        let fixture = try await RunsFixture()
        let v1: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": ["/srv/data"], "exclude": ["*.tmp"]],
            "target": ["type": "local_dir", "base_dir": "/backups", "part_size_bytes": 1_048_576],
        ]
        let v2: [String: Any] = [
            "v": 2, "source": ["type": "filesystem", "version": 1, "config": ["paths": ["/srv/data"], "exclude": ["*.tmp"]]],
            "target": ["type": "local_dir", "version": 1, "config": ["base_dir": "/backups", "part_size_bytes": 1_048_576], "auth_refs": [:]],
        ]
        var stored: [NSDictionary] = []
        for spec in [v1, v2] {
            let created = try await HTTP.send(
                "POST",
                fixture.base + "/api/jobs",
                json: ["name": "fs", "spec": spec, "schedule": "0 3 * * SUN", "schedule_timezone": "Europe/Berlin"]
            )
            #expect(created.status == 201)
            stored.append(try #require(created.json?["spec"] as? NSDictionary))
            #expect(created.json?["schedule_timezone"] as? String == "Europe/Berlin")
        }
        #expect(stored[0] == stored[1])
        let preview = try await HTTP.send(
            "POST",
            fixture.base + "/api/schedules/preview",
            json: ["schedule": "0 3 * * *", "timezone": "Europe/Berlin", "count": 3]
        )
        let next = try #require(preview.json?["next"] as? [Int])
        #expect(next.count == 3 && zip(next, next.dropFirst()).allSatisfy { $1 - $0 >= 82_800 && $1 - $0 <= 90_000 })
        let listed = try await HTTP.get(fixture.base + "/api/jobs")
        let id = try #require((listed.json?["items"] as? [[String: Any]])?.first?["id"] as? String)
        let detail = try await HTTP.get(fixture.base + "/api/jobs/\(id)")
        #expect((detail.json?["next_run_at"] as? [Int])?.count == 5)
        let list = try await HTTP.get(fixture.base + "/api/jobs")
        #expect(list.json?["total"] as? Int == 2)
        let firstId = try #require((list.json?["items"] as? [[String: Any]])?.first?["id"] as? String)
        let run = try await fixture.enqueue(firstId)
        let page = try await HTTP.get(fixture.base + "/api/jobs?sort=name_asc&page=1&page_size=10")
        let item = try #require((page.json?["items"] as? [[String: Any]])?.first { $0["id"] as? String == firstId })
        #expect(item["latest_run_id"] as? String == run.id)
        #expect(item["latest_run_status"] as? String == "queued")
        #expect(item["schedule_timezone"] as? String == "Europe/Berlin")
        #expect(item["spec"] == nil, "the list leaves the spec to the detail view")
    }

    @Test func aKnownPathWithTheWrongMethodIs405() async throws {
        let fixture = try await RunsFixture()
        for (method, path, allowed) in [
            ("DELETE", "/api/runs", "GET"), ("PUT", "/api/runs/abc/cancel", "POST"), ("GET", "/api/schedules/preview", "POST"),
            ("PATCH", "/api/jobs/xyz", "DELETE, GET, PUT"), ("POST", "/api/health", "GET"),
            // A constant segment wins over a parameter, as in the router: not also /api/jobs/{id}'s methods.
            ("OPTIONS", "/api/jobs/bulk", "POST"), ("GET", "/api/jobs/bulk", "POST"),
        ] {
            let result = try await HTTP.send(method, fixture.base + path)
            #expect(result.status == 405 && result.json?["error"] as? String == "method_not_allowed", "\(method) \(path): \(result.status)")
            #expect(result.headers["allow"] == allowed, "\(method) \(path)")
        }
        let unknown = try await HTTP.get(fixture.base + "/api/no/such/thing")
        #expect(unknown.status == 404 && unknown.json?["error"] as? String == "not_found")
    }
}
