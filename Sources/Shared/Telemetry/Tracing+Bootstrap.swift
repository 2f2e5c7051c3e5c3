import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Traces' switch (docs/observability.md, "Tracing"): OpenTelemetry spans exported over OTLP/HTTP, configured by the
/// standard `OTEL_*` environment variables and off unless they ask for it. Off, no tracer is installed: spans are the
/// Tracing API's no-ops and nothing is exported.
public enum TracingSetup {
    /// Whether the environment turns traces on: `OTEL_TRACES_EXPORTER=otlp`, or an OTLP endpoint
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) without `OTEL_TRACES_EXPORTER=none`;
    /// never with `OTEL_SDK_DISABLED=true`.
    public static func isEnabled(environment: [String: String]) -> Bool {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return false }
        switch environment["OTEL_TRACES_EXPORTER"]?.lowercased() {
        case "otlp"?: return true
        case nil, ""?:
            return !(environment["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? "").isEmpty
                || !(environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] ?? "").isEmpty
        default: return false
        }
    }

    /// The log metadata provider that puts the current span's `trace_id` and `span_id` on every log line; nil when
    /// tracing is off (no per-line cost).
    public static func logMetadataProvider(environment: [String: String]) -> Logger.MetadataProvider? {
        isEnabled(environment: environment) ? OTel.makeLoggingMetadataProvider() : nil
    }

    /// Installs the OTLP/HTTP tracer when the environment turns traces on and returns its background service (the
    /// batch processor and exporter: run it in the process's service group, it flushes on graceful shutdown); nil when
    /// off. `serviceName` is the default of `OTEL_SERVICE_NAME`. Call once, before the first span.
    public static func bootstrap(serviceName: String, environment: [String: String], logger: Logger) throws -> (any Service)? {
        guard isEnabled(environment: environment) else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.diagnosticLogger = .custom(logger)
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        logger.info("Traces exported over OTLP/HTTP", metadata: ["service.name": "\(environment["OTEL_SERVICE_NAME"] ?? serviceName)"])
        return backend.service
    }
}
