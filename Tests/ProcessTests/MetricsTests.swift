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
}
