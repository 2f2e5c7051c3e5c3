import Foundation
import TestClients
import Testing

/// The OpenAPI document against the real router and the running API: every registered route is documented, and
/// schemathesis (from PyPI, installed by `make test`) finds no 5xx and no response that contradicts the document.
@Suite(.serialized) struct APIContractTests {
    func document(_ fixture: RunsFixture) async throws -> [String: Any] {
        try #require(try await HTTP.get(fixture.base + "/api/openapi.json", anonymous: true).json)
    }

    @Test func everyRegisteredRouteIsDocumented() async throws {
        let fixture = try await RunsFixture()
        let paths = try #require(try await document(fixture)["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        let scratch = Scratch()
        let printer = try Child(
            Binaries.path("bastion-api"),
            ["--data-dir", scratch.dataDir, "--print-routes"],
            name: "routes",
            logDir: scratch.path
        )
        _ = await printer.waitForExit(timeout: .seconds(15))
        // `METHOD /path access`; the UI's files and /metrics are not part of the JSON API the document describes.
        let registered = Set(
            printer.log.split(separator: "\n").map { $0.split(separator: " ") }
                .filter { $0.count == 3 && ($0[1].hasPrefix("/api/") || $0[1].hasPrefix("/agent/")) }
                .map { "\($0[0]) \($0[1])" }
        )
        #expect(registered.count >= 30, "\(printer.log)")
        #expect(registered.subtracting(documented).isEmpty, "registered but not documented: \(registered.subtracting(documented).sorted())")
        #expect(documented.subtracting(registered).isEmpty, "documented but not registered: \(documented.subtracting(registered).sorted())")
    }

    @Test func schemathesisFindsNoServerErrorAndNoSchemaViolation() async throws {
        let fixture = try await RunsFixture()
        // Some data to find: a job with a run, a destination and a queued notification.
        let job = try await fixture.createJob(source: "/nonexistent.db")
        _ = try await fixture.enqueue(job)
        _ = try await HTTP.send("PUT", fixture.base + "/api/notifications/destinations/webhook/ops", json: ["url": "http://127.0.0.1:9/hook"])
        let credential = fixture.credential
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", "from schemathesis.cli import schemathesis; schemathesis()",
            "--config-file", repositoryRoot + "/Tests/Contract/schemathesis.toml",
            "run", fixture.base + "/api/openapi.json",
            // Signing out would end the session the run uses.
            "--exclude-path", "/api/auth/logout",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
                + "response_headers_conformance,negative_data_rejection,unsupported_method,allow_header_conformance,missing_required_header",
            // 30 s: an escrow PUT derives its scrypt key (work factor 2^18) in a debug build, over 10 s on a loaded machine.
            "--max-examples", "20", "--generation-deterministic", "--request-timeout", "30",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["BASTION_SESSION"] = String(credential.cookie.dropFirst("bastion_session=".count))
        environment["BASTION_CSRF"] = credential.csrf
        environment["NO_COLOR"] = "1"
        process.environment = environment
        // schemathesis keeps a cache in its working directory: keep it out of the repository.
        process.currentDirectoryURL = URL(fileURLWithPath: fixture.scratch.path)
        let output = fixture.scratch.path + "/schemathesis.out"
        FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(200)) }
        try handle.close()
        let log = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "schemathesis failed (exit \(process.terminationStatus)):\n\(log.suffix(6000))")
        #expect(log.contains("passed"), "\(log.suffix(2000))")
        #expect(!fixture.api.log.contains("Unhandled error"), "the API logged an unhandled error")
        if let summary = log.split(separator: "\n").last(where: { $0.contains("generated") }) { print("schemathesis: \(summary)") }
    }
}
