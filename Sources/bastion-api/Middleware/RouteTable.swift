import HTTPTypes
import Hummingbird
import Synchronization

/// Every route the API registered (method + path pattern), recorded as controllers add them. It answers
/// `405 method_not_allowed` (with `Allow`) for a known path with the wrong method, and lets a test check that the
/// OpenAPI document lists every route.
final class RouteTable: Sendable {
    struct Route: Sendable, Hashable {
        var method: HTTPRequest.Method
        /// `/api/jobs/{id}`-style pattern (OpenAPI syntax, as Hummingbird describes paths).
        var path: String
    }

    private let routes = Mutex<[Route]>([])

    var all: [Route] { routes.withLock { $0 } }

    func record(_ method: HTTPRequest.Method, _ path: String) {
        routes.withLock { $0.append(Route(method: method, path: path)) }
    }

    /// The methods registered for routes whose pattern matches `path`.
    func methods(matching path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return all.filter { route in
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: true)
            guard pattern.count == segments.count else { return false }
            return zip(pattern, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.map(\.method)
    }
}

/// A router group that records what it registers in a `RouteTable`.
struct RecordingRouterGroup<Context: RequestContext>: RouterMethods {
    let inner: RouterGroup<Context>
    let prefix: String
    let table: RouteTable

    @discardableResult func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
    where Responder.Context == Context {
        table.record(method, prefix + (path.description == "/" ? "" : path.description))
        inner.on(path, method: method, responder: responder)
        return self
    }

    func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        inner.add(middleware: middleware)
        return self
    }
}
