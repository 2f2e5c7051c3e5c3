import HTTPTypes
import Hummingbird
import Synchronization

/// Every route the API registered (method, path pattern, access), recorded as controllers add them. It answers
/// `405 method_not_allowed` (with `Allow`) for a known path with the wrong method, and lets tests enumerate the
/// router (`--print-routes`): the OpenAPI document lists every route, and every route refuses whom it should.
final class RouteTable: Sendable {
    struct Route: Sendable, Hashable {
        var method: HTTPRequest.Method
        /// `/api/jobs/{id}`-style pattern (OpenAPI syntax, as Hummingbird describes paths).
        var path: String
        var access: RouteAccess
    }

    private let routes = Mutex<[Route]>([])

    var all: [Route] { routes.withLock { $0 } }

    func record(_ method: HTTPRequest.Method, _ path: String, access: RouteAccess) {
        routes.withLock { $0.append(Route(method: method, path: path, access: access)) }
    }

    /// The methods registered for the pattern the router picks for `path`: of the patterns that match, a constant
    /// segment wins over a parameter at the first place they differ, as in the router's trie (`/api/jobs/bulk` is
    /// POST only, not also the GET, PUT and DELETE of `/api/jobs/{id}`).
    func methods(matching path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var candidates: [(route: Route, pattern: [Substring])] = all.compactMap { route in
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: true)
            guard !pattern.contains("**"), pattern.count == segments.count else { return nil }
            return zip(pattern, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 } ? (route, pattern) : nil
        }
        for index in segments.indices where candidates.contains(where: { !$0.pattern[index].hasPrefix("{") }) {
            candidates.removeAll { $0.pattern[index].hasPrefix("{") }
        }
        return candidates.map(\.route.method)
    }
}

/// A router group that records what it registers in a `RouteTable` and puts each route behind its access decision
/// (`RouteAccess.of`, `AccessResponder`): the only way routes are added to the API's router.
struct RecordingRouterGroup: RouterMethods {
    typealias Context = AppRequestContext

    let inner: RouterGroup<Context>
    let prefix: String
    let table: RouteTable
    let gate: AccessGate
    /// The access of routes not in the public list.
    let access: RouteAccess

    @discardableResult func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
    where Responder.Context == Context {
        let pattern = prefix + (path.description == "/" ? "" : path.description)
        let routeAccess = RouteAccess.of(method, pattern.isEmpty ? "/" : pattern, groupDefault: access)
        table.record(method, pattern.isEmpty ? "/" : pattern, access: routeAccess)
        inner.on(path, method: method, responder: AccessResponder(access: routeAccess, gate: gate, inner: responder))
        return self
    }

    func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        inner.add(middleware: middleware)
        return self
    }
}
