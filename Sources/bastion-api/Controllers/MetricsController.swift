import Bus
import Core
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus
import Store
import Synchronization

/// `GET /metrics`: Prometheus text format. Request counters and latency histograms (Hummingbird's
/// `MetricsMiddleware`: `hb_requests`, `http_server_request_duration`, `http_server_active_requests`), WebSocket
/// clients and run events come from swift-metrics as they happen; runs by status and bus connections are read at scrape time. Outside `/api`,
/// so a scraper needs no session (it is still subject to the HTTPS rule off loopback).
struct MetricsController {
    let services: APIServices
    let registry: PrometheusCollectorRegistry
    /// The per-job gauges the last scrape set, so a job that is archived, deleted or renamed loses its old series.
    let jobGauges = JobGauges()

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
        try await setJobGauges()
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }

    /// The backup figures people alert on, per job (docs/observability.md, "Backup metrics"), labelled `job_id` only:
    /// `/metrics` is public (scrapers carry no session) and a job's name is not for anonymous callers (docs/security.md,
    /// "The access list"). Last success time, its duration, bytes stored and source files and bytes, and whether the
    /// last finished backup succeeded. A job that never succeeded has only the last-run series.
    private func setJobGauges() async throws {
        let jobs = try await services.database.jobBackupMetrics()
        var made: [Gauge] = []
        func set(_ name: String, _ job: JobBackupMetrics, _ value: Int64?) {
            guard let value else { return }
            let gauge = registry.makeGauge(name: name, labels: [("job_id", job.jobId)])
            gauge.set(Double(value))
            made.append(gauge)
        }
        for job in jobs {
            set("bastion_job_last_success_timestamp_seconds", job, job.lastSuccessAt)
            set("bastion_job_last_success_duration_seconds", job, job.lastSuccessDurationSeconds)
            set("bastion_job_last_success_stored_bytes", job, job.lastSuccessStoredBytes)
            set("bastion_job_last_success_source_bytes", job, job.lastSuccessSourceBytes)
            set("bastion_job_last_success_files", job, job.lastSuccessFiles)
            set("bastion_job_last_run_timestamp_seconds", job, job.lastRunAt)
            set("bastion_job_last_run_success", job, job.lastRunSucceeded.map { $0 ? 1 : 0 })
        }
        for stale in jobGauges.replace(with: made) { registry.unregisterGauge(stale) }
    }
}

/// The per-job gauges of the last scrape.
final class JobGauges: Sendable {
    private let gauges = Mutex<[ObjectIdentifier: Gauge]>([:])

    /// Keeps `current` and returns the gauges of the previous scrape that are not in it.
    func replace(with current: [Gauge]) -> [Gauge] {
        let next = Dictionary(current.map { (ObjectIdentifier($0), $0) }, uniquingKeysWith: { first, _ in first })
        return gauges.withLock { previous in
            defer { previous = next }
            return previous.filter { next[$0.key] == nil }.map(\.value)
        }
    }
}
