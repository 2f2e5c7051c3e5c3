import Foundation
import TestClients
import Testing

/// The served OpenAPI document as a second, independent validator reads it (`openapi-spec-validator` from PyPI), the
/// same document `bastion-api --print-openapi` prints for `web/gen-api-types.mjs`, and the run summaries real runs end
/// with checked against the document's schemas made strict (docs/ui.md, "One contract").
@Suite(.serialized) struct OpenAPIContractTests {
    func served(_ fixture: RunsFixture) async throws -> String {
        let response = try await HTTP.get(fixture.base + "/api/openapi.json", anonymous: true)
        #expect(response.status == 200)
        let path = fixture.scratch.path + "/openapi.json"
        try response.body.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func openapiSpecValidatorAcceptsTheServedDocumentAndItIsThePrintedOne() async throws {
        let fixture = try await RunsFixture()
        let path = try await served(fixture)
        let check = try Shell.run("python3 -m openapi_spec_validator '\(path)'")
        #expect(check.status == 0, "openapi-spec-validator:\n\(check.output.suffix(4000))")
        #expect(check.output.contains("OK"), "\(check.output)")
        let printed = try Shell.run("'\(Binaries.path("bastion-api"))' --print-openapi", stderr: false)
        #expect(printed.status == 0)
        let servedText = try String(contentsOfFile: path, encoding: .utf8)
        #expect(printed.trimmed == servedText.trimmingCharacters(in: .whitespacesAndNewlines), "--print-openapi prints what is served")
    }

    @Test func backupRestoreAndVerifySummariesProgressAndJobListMatchTheirSchemas() async throws {
        let fixture = try await RunsFixture()
        let document = try await served(fixture)
        let source = fixture.scratch.path + "/src"
        try FileManager.default.createDirectory(atPath: source + "/docs", withIntermediateDirectories: true)
        try "hello\n".write(toFile: source + "/docs/hello.txt", atomically: true, encoding: .utf8)
        try String(repeating: "line\n", count: 10_000).write(toFile: source + "/log.txt", atomically: true, encoding: .utf8)
        try await fixture.startWorker("w0")
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]],
            "target": ["type": "local_dir", "base_dir": fixture.targetDir],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "files", "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(String(decoding: created.body, as: UTF8.self))")
        let backup = try await fixture.enqueue(job).id
        func finished(_ run: String) async throws -> [String: Any] {
            _ = await eventually(timeout: .seconds(60)) { ["success", "failed"].contains(await fixture.status(run) ?? "") }
            return try await fixture.run(run)
        }
        #expect(try await finished(backup)["status"] as? String == "success")
        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(backup)/restore",
            json: ["destination": ["type": "local_fs", "directory": fixture.scratch.path + "/out"], "conflict_policy": "fail"]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String)
        let verifyRun = try #require(try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify").json?["run_id"] as? String)
        var arguments: [String] = []
        for (run, schema) in [(backup, "BackupSummary"), (restoreRun, "RestoreSummary"), (verifyRun, "VerifySummary")] {
            let finished = try await finished(run)
            #expect(finished["status"] as? String == "success", "\(finished)")
            let summary = try #require(finished["summary"] as? [String: Any], "\(schema): \(finished)")
            let file = fixture.scratch.path + "/\(schema).json"
            try JSONSerialization.data(withJSONObject: summary).write(to: URL(fileURLWithPath: file))
            arguments.append("\(schema)='\(file)'")
        }
        // What else the stricter UI types rely on: a finished run's progress, and a job in the list with its latest run.
        let progress = try #require(try await fixture.run(backup)["progress"] as? [String: Any])
        let jobs = try #require(try await HTTP.get(fixture.base + "/api/jobs").json?["items"] as? [[String: Any]])
        let listed = try #require(jobs.first)
        #expect(listed["latest_run_status"] as? String == "success", "\(listed)")
        // The runs list's rows, each with its summary (the lists left out), against RunListItem made strict.
        let rows = try #require(try await HTTP.get(fixture.base + "/api/runs?page_size=10").json?["items"] as? [[String: Any]])
        #expect(rows.count == 3 && rows.allSatisfy { $0["summary"] is [String: Any] }, "\(rows)")
        let listedRuns = rows.enumerated().map { ("RunListItem", $0.element, "RunListItem\($0.offset)") }
        for (schema, value, name) in [("RunProgress", progress, "RunProgress"), ("JobListItem", listed, "JobListItem")] + listedRuns {
            let file = fixture.scratch.path + "/\(name).json"
            try JSONSerialization.data(withJSONObject: value).write(to: URL(fileURLWithPath: file))
            arguments.append("\(schema)='\(file)'")
        }
        let check = try Shell.run("python3 '\(repositoryRoot)/Tests/Contract/check_summaries.py' '\(document)' \(arguments.joined(separator: " "))")
        #expect(check.status == 0, "summaries that contradict the document:\n\(check.output.suffix(4000))")
        #expect(check.output.contains("VerifySummary: checked"), "\(check.output)")
        #expect(check.output.components(separatedBy: "RunListItem: checked").count == 4, "\(check.output)")
    }
}
