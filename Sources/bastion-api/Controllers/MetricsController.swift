import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus
import Shared

/// `GET /metrics`: Prometheus text format. Request counters and latency histograms, WebSocket clients and run events
/// come from swift-metrics as they happen; runs by status and bus connections are read at scrape time. Outside `/api`,
/// so a scraper needs no session (it is still subject to the HTTPS rule off loopback).
struct MetricsController {
    let services: APIServices
    let registry: PrometheusCollectorRegistry

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("metrics", use: scrape)
    }

    @Sendable func scrape(_ request: Request, context: AppRequestContext) async throws -> Response {
        let counts = try await services.database.runCountsByStatus()
        for status in RunStatus.allCases {
            registry.makeGauge(name: "bastion_runs", labels: [("status", status.rawValue)]).set(Double(counts[status] ?? 0))
        }
        let peers = services.bus.connectedPeers()
        for role in [BusRole.worker, .janitor] {
            registry.makeGauge(name: "bastion_bus_connections", labels: [("role", role.rawValue)])
                .set(Double(peers.filter { $0.role == role }.count))
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
}
