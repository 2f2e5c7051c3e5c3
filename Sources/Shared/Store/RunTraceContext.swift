import Tracing

/// A run's trace context in the database (`runs.trace_context`, docs/observability.md "Tracing"): the W3C `traceparent`
/// of the span that enqueued the run, so the worker that claims it continues the same trace. Without a tracer
/// (tracing off) nothing is injected and the column stays NULL.
public enum RunTraceContext {
    /// The current span's `traceparent`, nil when there is none or tracing is off.
    public static func current() -> String? {
        guard let context = ServiceContext.current else { return nil }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryCarrier())
        return carrier["traceparent"]
    }

    /// The context to start a span under: the stored `traceparent`'s, or the top level when there is none (or it does
    /// not parse: the propagator ignores it).
    public static func context(traceparent: String?) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let traceparent else { return context }
        InstrumentationSystem.instrument.extract(["traceparent": traceparent], into: &context, using: DictionaryCarrier())
        return context
    }
}

/// A string dictionary as a propagation carrier (the database column, the bus's and the agents' frames).
public struct DictionaryCarrier: Injector, Extractor {
    public init() {}

    public func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }

    public func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}
