import Bus
import Core
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// `GET /metrics`: Prometheus text format. Request counters and latency histograms (Hummingbird's
/// `MetricsMiddleware`: `hb_requests`, `http_server_request_duration`, `http_server_active_requests`), WebSocket
/// clients and run events come from swift-metrics as they happen; runs by status and bus connections are read at scrape time. Outside `/api`,
/// so a scraper needs no session (it is still subject to the HTTPS rule off loopback).
struct MetricsController {
    let services: APIServices
    let registry: PrometheusCollectorRegistry

    /// The swift-metrics backend: Prometheus, with the dots of swift-metrics labels (`hb.requests`, `http.route`)
    /// turned into the underscores Prometheus names allow.
    static func factory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { label, dimensions in
            func clean(_ text: String) -> String { text.replacingOccurrences(of: ".", with: "_") }
            return (clean(label), dimensions.map { (clean($0.0), $0.1) })
        }
        return factory
    }

    func addRoutes(to router: RecordingRouterGroup) {
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
