import Foundation
import TestClients
import Testing

/// `GET /metrics` of the real API, in Prometheus text format.
@Suite(.serialized) struct MetricsTests {
    @Test func exportsRequestsLatencyWebSocketsRunsEventsAndBusConnections() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let job = try await fixture.createJob(source: "/nonexistent.db")
        _ = try await HTTP.get(fixture.base + "/api/jobs")
        _ = try await HTTP.get(fixture.base + "/api/jobs/nope")
        let run = try await fixture.enqueue(job).id
        #expect(await eventually { await fixture.status(run) == "failed" })
        try await fixture.startWorker("w1")
        let ws = try await fixture.webSocket(fixture.wsPath(run))
        defer { ws.shutdown() }
        // The stream counts itself once it runs (after the 101): its first event proves it does.
        #expect(try await ws.nextEvent()?["seq"] as? Int == 1)

        let scrape = try await HTTP.get(fixture.base + "/metrics", anonymous: true)
        #expect(scrape.status == 200 && scrape.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = String(decoding: scrape.body, as: UTF8.self)
        let jobs = ["http_route=\"/api/jobs\"", "http_request_method=\"GET\"", "http_response_status_code=\"200\""]
        #expect((sample(text, "hb_requests", jobs) ?? 0) >= 1, "\(text)")
        #expect((sample(text, "hb_requests", ["http_route=\"/api/jobs/{id}\"", "http_response_status_code=\"404\""]) ?? 0) >= 1)
        #expect(sample(text, "http_server_request_duration_bucket", ["http_route=\"/api/jobs\""]) != nil)
        #expect(sample(text, "bastion_websocket_clients") == 1)
        #expect(sample(text, "bastion_runs", ["status=\"failed\""]) == 1)
        #expect(sample(text, "bastion_runs", ["status=\"success\""]) == 0)
        #expect(sample(text, "bastion_bus_connections", ["role=\"worker\""]) == 2)
        #expect((sample(text, "bastion_run_events_published_total") ?? 0) >= 3, "queued, start, failed at least")
    }

    /// The backup figures people alert on, per job (by id, never by name): last success time, duration, bytes and files;
    /// the last run's outcome; a renamed job's old series gone (docs/observability.md, "Backup metrics").
    @Test func exportsEachJobsLastSuccessDurationBytesAndFiles() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let good = try await fixture.createJob(source: try fixture.makeSourceDatabase(pages: 64), name: "nightly-\"db\"")
        let bad = try await fixture.createJob(source: "/nonexistent.db", name: "broken")
        let ok = try await fixture.enqueue(good).id
        #expect(await eventually(timeout: .seconds(60)) { await fixture.status(ok) == "success" })
        let failed = try await fixture.enqueue(bad).id
        #expect(await eventually(timeout: .seconds(60)) { await fixture.status(failed) == "failed" })
        let run = try await fixture.run(ok)
        let summary = try #require(run["summary"] as? [String: Any])
        let metrics = try #require(summary["metrics"] as? [String: Any])
        let source = try #require(metrics["source_total"] as? [String: Any])

        let text = String(decoding: try await HTTP.get(fixture.base + "/metrics", anonymous: true).body, as: UTF8.self)
        // Per job by its id only: the scrape is anonymous, and job names are not for anonymous callers.
        #expect(!text.contains("nightly") && !text.contains("broken"), "\(text)")
        let goodLabels = ["job_id=\"\(good)\""]
        let ended = try #require(sample(text, "bastion_job_last_success_timestamp_seconds", goodLabels), "\(text)")
        #expect(abs(ended - Date().timeIntervalSince1970) < 600)
        #expect(sample(text, "bastion_job_last_success_duration_seconds", goodLabels).map { $0 >= 0 } == true)
        #expect(sample(text, "bastion_job_last_success_stored_bytes", goodLabels) == (metrics["transfer_total_bytes"] as? NSNumber)?.doubleValue)
        #expect(sample(text, "bastion_job_last_success_source_bytes", goodLabels) == (source["bytes"] as? NSNumber)?.doubleValue)
        #expect(sample(text, "bastion_job_last_success_files", goodLabels) == (source["files"] as? NSNumber)?.doubleValue)
        #expect(sample(text, "bastion_job_last_run_success", goodLabels) == 1)
        // The failed job: a last run, not a success, and no success series.
        let badLabels = ["job_id=\"\(bad)\""]
        #expect(sample(text, "bastion_job_last_run_success", badLabels) == 0)
        #expect(sample(text, "bastion_job_last_run_timestamp_seconds", badLabels) != nil)
        #expect(sample(text, "bastion_job_last_success_timestamp_seconds", badLabels) == nil)

        // Deleted: its series leave the next scrape.
        let archived = try await HTTP.send("DELETE", fixture.base + "/api/jobs/\(good)")
        #expect(archived.status < 300, "\(archived.status)")
        let after = String(decoding: try await HTTP.get(fixture.base + "/metrics", anonymous: true).body, as: UTF8.self)
        #expect(sample(after, "bastion_job_last_success_timestamp_seconds", ["job_id=\"\(good)\""]) == nil, "\(after)")
    }
}
