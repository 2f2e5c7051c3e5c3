import Hummingbird

/// Per-request context: Hummingbird's core storage plus the request id every log line and error carries.
struct AppRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var requestID: String = ""

    init(source: Source) {
        coreContext = .init(source: source)
    }
}
