import Foundation
import TestClients
import Testing

/// Browsing, comparing and managing snapshots through the real API, worker and janitor (docs/architecture.md,
/// "Browsing snapshots"): two backups of a tree changed in between.
@Suite(.serialized) struct BrowseTests {
    static func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func backup(_ fixture: RunsFixture, _ job: String) async throws -> String {
        let run = try await fixture.enqueue(job).id
        let finished = await eventually(timeout: .seconds(60)) { await fixture.status(run) == "success" }
        let log = try await fixture.events(run)
        #expect(finished, "\(log)")
        return run
    }

    func json(_ url: String) async throws -> (status: Int, body: [String: Any]) {
        let result = try await HTTP.get(url)
        return (result.status, result.json ?? [:])
    }

    @Test func browseDiffVersionsOverviewArchiveAndDelete() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        for name in ["docs/a.txt", "docs/b.txt", "docs/deep/er/c.txt", "gone.txt", "keep.txt"] { try Self.write(source + "/" + name, name) }
        try await fixture.startWorker("w0")
        let created = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: [
                "name": "Files", "schedule": "0 3 * * *",
                "spec": [
                    "v": 1, "type": "filesystem", "source": ["paths": [source]], "target": ["type": "local_dir", "base_dir": fixture.targetDir],
                ],
            ]
        )
        let job = try #require(created.json?["id"] as? String)
        let first = try await backup(fixture, job)
        // The worker catalogued the snapshot as it finished.
        #expect(FileManager.default.fileExists(atPath: "\(fixture.dataDir)/catalog/\(first).sqlite"))
        #expect(try await fixture.events(first).contains { $0["kind"] as? String == "catalog" })

        try Self.write(source + "/docs/a.txt", "A changed, longer")
        unlink(source + "/gone.txt")
        try Self.write(source + "/new/fresh.txt", "fresh")
        let second = try await backup(fixture, job)

        // One level at a time from the top: the directories above the source are implied.
        let top = try await json(fixture.base + "/api/runs/\(second)/entries")
        #expect(top.status == 200)
        let topItems = try #require(top.body["items"] as? [[String: Any]])
        #expect(topItems.count == 1 && topItems[0]["implied"] as? Bool == true && topItems[0]["kind"] as? String == "dir")
        let sourcePath = String(source.dropFirst())
        let listing = try await json(fixture.base + "/api/runs/\(second)/entries?prefix=\(sourcePath)")
        let names = (listing.body["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(names == ["docs", "new", "keep.txt"], "\(listing)")
        // Paging: two pages of two and one, the same entries.
        let page1 = try await json(fixture.base + "/api/runs/\(second)/entries?prefix=\(sourcePath)/docs&limit=2")
        let cursor = try #require(page1.body["next_cursor"] as? String)
        let page2 = try await json(fixture.base + "/api/runs/\(second)/entries?prefix=\(sourcePath)/docs&limit=2&cursor=\(cursor)")
        let paged = ((page1.body["items"] as? [[String: Any]] ?? []) + (page2.body["items"] as? [[String: Any]] ?? [])).compactMap {
            $0["name"] as? String
        }
        #expect(paged == ["deep", "a.txt", "b.txt"] && page2.body["next_cursor"] is NSNull)
        let file = try #require((page2.body["items"] as? [[String: Any]])?.first)
        #expect(file["size"] as? Int == 10 && (file["hash"] as? String)?.count == 64 && file["path"] as? String == "\(sourcePath)/docs/b.txt")
        // Search below a directory, at any depth.
        let found = try await json(fixture.base + "/api/runs/\(second)/entries?prefix=\(sourcePath)&q=C.TXT")
        #expect((found.body["items"] as? [[String: Any]])?.compactMap { $0["path"] as? String } == ["\(sourcePath)/docs/deep/er/c.txt"])

        // Bad input: each a clear error.
        let bad: [(String, Int, String)] = [
            ("/api/runs/\(second)/entries?prefix=\(sourcePath)/nope", 404, "path_not_found"),
            ("/api/runs/\(second)/entries?cursor=%21%21", 400, "invalid_cursor"),
            ("/api/runs/\(second)/entries?prefix=\(sourcePath)&cursor=\(cursor)", 400, "invalid_cursor"),
            ("/api/runs/\(second)/entries?kind=socket", 400, "invalid_query"),
            ("/api/runs/\(second)/entries?limit=0", 400, "invalid_query"),
            ("/api/runs/\(second)/entries?prefix_b64=%%%", 400, "invalid_query"),
            ("/api/runs/nope/entries", 404, "run_not_found"),
            ("/api/jobs/\(job)/diff?from=\(first)", 400, "invalid_query"),
            ("/api/jobs/\(job)/diff?from=\(first)&to=nope", 404, "run_not_found"),
            ("/api/jobs/\(job)/diff?from=\(first)&to=\(second)&change=moved", 400, "invalid_query"),
            ("/api/jobs/\(job)/diff?from=\(first)&to=\(second)&cursor=zzz", 400, "invalid_cursor"),
            ("/api/jobs/nope/diff?from=\(first)&to=\(second)", 404, "job_not_found"),
            ("/api/jobs/\(job)/versions", 400, "invalid_query"),
        ]
        for (path, status, code) in bad {
            let result = try await HTTP.get(fixture.base + path)
            #expect(
                result.status == status && result.json?["error"] as? String == code,
                "\(path): \(result.status) \(String(decoding: result.body, as: UTF8.self))"
            )
        }

        // What changed: exactly the edits.
        let diff = try await json(fixture.base + "/api/jobs/\(job)/diff?from=\(first)&to=\(second)")
        #expect(diff.status == 200, "\(diff)")
        let changes = (diff.body["items"] as? [[String: Any]] ?? []).map { item in
            "\(item["change"] as? String ?? "") \((item["path"] as? String ?? "").replacingOccurrences(of: sourcePath + "/", with: ""))"
        }
        #expect(Set(changes) == ["changed docs/a.txt", "removed gone.txt", "added new", "added new/fresh.txt"], "\(changes)")
        #expect(diff.body["totals"] as? [String: Int] == ["added": 2, "removed": 1, "changed": 1])
        let onlyRemoved = try await json(fixture.base + "/api/jobs/\(job)/diff?from=\(first)&to=\(second)&change=removed")
        #expect((onlyRemoved.body["items"] as? [[String: Any]])?.count == 1)

        // One file across snapshots.
        let versions = try await json(fixture.base + "/api/jobs/\(job)/versions?path=\(sourcePath)/docs/a.txt")
        let history = (versions.body["items"] as? [[String: Any]] ?? []).map { "\($0["run_id"] as? String ?? "") \($0["change"] as? String ?? "")" }
        #expect(history == ["\(second) changed", "\(first) added"], "\(versions)")

        // The overview: one card with its 30-day strip; a failing job comes first.
        let broken = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: [
                "name": "Zulu broken",
                "spec": [
                    "v": 1, "type": "filesystem", "source": ["paths": ["/nonexistent/x"]],
                    "target": ["type": "local_dir", "base_dir": fixture.targetDir],
                ],
            ]
        )
        let brokenId = try #require(broken.json?["id"] as? String)
        let failing = try await fixture.enqueue(brokenId).id
        #expect(await eventually(timeout: .seconds(30)) { await fixture.status(failing) == "failed" })
        let overview = try await json(fixture.base + "/api/dashboard")
        let cards = try #require(overview.body["jobs"] as? [[String: Any]])
        #expect(cards.compactMap { $0["name"] as? String } == ["Zulu broken", "Files"], "failed first: \(cards)")
        #expect(cards[0]["state"] as? String == "failed" && cards[1]["state"] as? String == "ok")
        let strip = try #require(cards[1]["days"] as? [[String: Any]])
        #expect(strip.count == 30 && strip.last?["success"] as? Int == 2, "\(strip.last ?? [:])")
        #expect((cards[1]["last_success"] as? [String: Any])?["run_id"] as? String == second)
        #expect((overview.body["last24h"] as? [String: Int])?["failed"] == 1, "\(overview.body)")
        // Newest first by start second (runs of the same second in id order).
        #expect((overview.body["recent_runs"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.sorted() == [first, second, failing].sorted())
        // Run search by job name.
        let searched = try await json(fixture.base + "/api/runs?q=zulu")
        #expect((searched.body["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [failing])

        // Archive: gone from the overview, back after unarchive.
        #expect(try await HTTP.send("POST", fixture.base + "/api/jobs/\(brokenId)/archive").json?["archived_at"] is Int)
        #expect((try await json(fixture.base + "/api/dashboard").body["jobs"] as? [[String: Any]])?.count == 1)
        #expect(try await HTTP.send("POST", fixture.base + "/api/jobs/\(brokenId)/unarchive").json?["archived_at"] is NSNull)
        #expect(try await HTTP.send("POST", fixture.base + "/api/jobs/nope/archive").status == 404)

        // Sizes on snapshot rows; delete: a pinned one needs force; the janitor deletes it at once (a wake, not its
        // hourly pass), with its catalog.
        let rows = try JSONSerialization.jsonObject(with: try await HTTP.get(fixture.base + "/api/jobs/\(job)/snapshots").body) as? [[String: Any]]
        #expect(rows?.first?["source_files"] as? Int == 5 && (rows?.first?["transfer_bytes"] as? Int ?? 0) > 0, "\(rows ?? [])")
        let janitor = try Child.bastion(
            "bastion-janitor",
            dataDir: fixture.dataDir,
            logDir: fixture.scratch.path,
            ["--maintenance-interval", "3600"]
        )
        fixture.children.append(janitor)
        #expect(await eventually { await systemPeers(fixture.base, "janitors")?.isEmpty == false })
        _ = try await HTTP.send("POST", fixture.base + "/api/runs/\(first)/pin")
        let refused = try await HTTP.send("DELETE", fixture.base + "/api/runs/\(first)/snapshot")
        #expect(refused.status == 409 && refused.json?["error"] as? String == "snapshot_pinned")
        let queued = try await HTTP.send("DELETE", fixture.base + "/api/runs/\(first)/snapshot?force=true")
        #expect(queued.status == 200 && queued.json?["status"] as? String == "deleting", "\(queued.status)")
        #expect(await eventually(timeout: .seconds(15)) { !FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(first)") })
        #expect(await eventually { !FileManager.default.fileExists(atPath: "\(fixture.dataDir)/catalog/\(first).sqlite") })
        let gone = try await HTTP.get(fixture.base + "/api/runs/\(first)/entries")
        #expect(gone.status == 410 && gone.json?["error"] as? String == "snapshot_deleted")
        #expect(try await HTTP.send("DELETE", fixture.base + "/api/runs/\(first)/snapshot").json?["error"] as? String == "snapshot_not_present")
        #expect(try await HTTP.send("DELETE", fixture.base + "/api/runs/\(second)/snapshot?force=maybe").status == 400)
    }
}
