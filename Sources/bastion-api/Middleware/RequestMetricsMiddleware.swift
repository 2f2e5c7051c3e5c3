import Dispatch
import Hummingbird
import Metrics

/// Counts requests by route pattern, method and final status, and records their latency (swift-metrics, exported by
/// `GET /metrics`). Placed inside `RequestIDMiddleware` and outside `ErrorMiddleware`, so it sees rendered errors.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try await next(request, context)
        // The router fills in the matched pattern (`/api/jobs/{id}`): bounded label values, never raw paths.
        let dimensions = [
            ("route", context.endpointPath ?? "unmatched"), ("method", request.method.rawValue), ("status", "\(response.status.code)"),
        ]
        Counter(label: "bastion_http_requests_total", dimensions: dimensions).increment()
        Timer(label: "bastion_http_request_duration_seconds", dimensions: Array(dimensions.prefix(2)))
            .recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
        return response
    }
}
