import Bus
import Core
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import Metrics
import NIOCore
import Prometheus
import Secrets
import ServiceLifecycle
import Store

/// Everything the API's handlers share.
struct APIServices: Sendable {
    let database: AppDatabase
    let bus: BusServer
    let hub: RunEventsHub
    let config: APIConfig
    /// Where swift-metrics records (bootstrapped by `main`) and what `GET /metrics` emits.
    var metrics = PrometheusCollectorRegistry()
    let hasher = PasswordHasher()
    let routes = RouteTable()
    /// Snapshot catalogs and diffs, built once however many requests ask (docs/formats.md, "The snapshot catalog").
    let catalogs = SnapshotCatalogs()
    /// Single-file downloads from remote targets: their staging and their limit.
    let fileReads: RemoteFileReads
    /// The agents' WebSockets (docs/agents.md).
    let agents: AgentGateway

    init(
        database: AppDatabase,
        bus: BusServer,
        hub: RunEventsHub,
        config: APIConfig,
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        self.database = database
        self.bus = bus
        self.hub = hub
        self.config = config
        self.metrics = metrics
        fileReads = RemoteFileReads(data: config.common.dataDirectory)
        agents = AgentGateway(database: database, policy: config.network, limits: config.agentLimits)
    }

    var runEvents: RunEventsWebSocket {
        RunEventsWebSocket(database: database, hub: hub, closeDelay: config.webSocketCloseDelay, policy: config.network)
    }
}

/// The WebSocket routes' context (hummingbird-websocket needs its own).
struct WebSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    /// The TCP peer's IP address (the HTTPS rule and the Origin check need it).
    let peerAddress: String?
    /// The connection's channel: the run-events stream writes a client's pending frames on it together.
    let channel: any Channel

    init(source: Source) {
        coreContext = .init(source: source)
        webSocket = .init()
        peerAddress = source.channel.remoteAddress?.ipAddress
        channel = source.channel
    }
}

/// Builds the router with its middleware and controllers. Tests drive this directly.
func buildRouter(_ services: APIServices) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    // A span for each request, named by its route pattern, continuing a caller's `traceparent` (docs/observability.md,
    // "Tracing"); a no-op while tracing is off.
    router.add(middleware: TracingMiddleware(redactingQueryParameters: ["token", "ticket", "key"]))
    router.add(middleware: RequestIDMiddleware())
    // Hummingbird's request metrics (count by route pattern, method and status; duration; active requests), placed
    // outside ErrorMiddleware so rendered errors count with their status.
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware(routes: services.routes))
    // Nothing above decides anything; from here on every path has one spelling (docs/security.md, "Canonical paths").
    router.add(middleware: CanonicalPathMiddleware())
    router.add(middleware: EdgePolicyMiddleware(policy: services.config.network))
    // Access is decided per route, as each is registered (RecordingRouterGroup, docs/security.md, "The access list").
    let gate = AccessGate(database: services.database, agents: services.agents)
    func group(_ prefix: String, _ access: RouteAccess) -> RecordingRouterGroup {
        RecordingRouterGroup(inner: router.group(RouterPath(prefix)), prefix: prefix, table: services.routes, gate: gate, access: access)
    }
    let api = group("/api", .session)
    SystemController(services: services).addRoutes(to: api)
    AuthController(services: services, hasher: services.hasher).addRoutes(to: api)
    JobsController(services: services).addRoutes(to: api)
    RunsController(services: services).addRoutes(to: api)
    NotificationsController(services: services).addRoutes(to: api)
    KeysController(services: services).addRoutes(to: api)
    RecoveryController(services: services).addRoutes(to: api)
    SnapshotsController(services: services).addRoutes(to: api)
    BrowseController(services: services).addRoutes(to: api)
    DashboardController(services: services).addRoutes(to: api)
    TargetsController(services: services).addRoutes(to: api)
    let agents = AgentsController(services: services)
    agents.addRoutes(to: api)
    agents.addAgentRoutes(to: group("/agent", .agent))
    OpenAPIController().addRoutes(to: api)
    // Reached when the WebSocket router declined the upgrade: answer why, as JSON.
    api.get("runs/:id/events/ws") { request, context -> Response in
        _ = try await services.runEvents.validate(request, runId: try context.parameters.require("id"), peer: context.peerAddress)
        throw APIError(status: .upgradeRequired, code: "websocket_required", message: "this endpoint speaks WebSocket only")
    }
    let root = group("", .session)
    MetricsController(services: services, registry: services.metrics).addRoutes(to: root)
    UIController(root: services.config.uiDirectory).addRoutes(to: root)
    return router
}

/// The router consulted for WebSocket upgrades. Every upgrade request reaching it has passed the gate in front of
/// the upgrade handler (`GatedWebSocketChannel`: canonical path, edge rule, session, Origin, query, run), which
/// answers refusals itself; `shouldUpgrade` runs the same checks again, so whatever spelling of the headers slipped
/// past the gate still meets them before a socket opens (docs/security.md, "WebSocket upgrades").
func buildWebSocketRouter(_ services: APIServices) -> Router<WebSocketContext> {
    let router = Router(context: WebSocketContext.self)
    let policy = services.config.network
    let runEvents = services.runEvents
    router.ws(
        "/api/runs/:id/events/ws",
        shouldUpgrade: { request, context in
            guard policy.allowsHost(request.head.authority) else { return .dontUpgrade }
            let refusal = await runEvents.refusal(
                uri: request.head.path ?? "",
                headers: request.headers,
                authority: request.head.authority,
                peer: context.peerAddress
            )
            return refusal == nil ? .upgrade([:]) : .dontUpgrade
        },
        onUpgrade: { inbound, outbound, context in
            guard let id = context.requestContext.parameters.get("id") else { return }
            let after = (try? RunsController.afterSeq(context.request)) ?? 0
            await runEvents.stream(
                runId: id,
                afterSeq: after,
                inbound: inbound,
                outbound: outbound,
                channel: context.requestContext.channel,
                logger: context.logger
            )
        }
    )
    let agents = services.agents
    router.ws(
        "/agent/ws",
        shouldUpgrade: { request, context in
            guard policy.allowsHost(request.head.authority) else { return .dontUpgrade }
            return await agents.refusal(uri: request.head.path ?? "", headers: request.headers, peer: context.peerAddress) == nil
                ? .upgrade([:]) : .dontUpgrade
        },
        onUpgrade: { inbound, outbound, context in
            guard let agent = try? await agents.authenticate(context.request.headers) else { return }
            await agents.serve(agent: agent, inbound: inbound, outbound: outbound, logger: context.logger)
        }
    )
    return router
}

/// HTTP/1 with the run-events WebSocket upgrade, behind the gate that answers refused upgrades with their real
/// status (see `GatedWebSocketChannel`).
func gatedWebSocketServer(_ services: APIServices) -> HTTPServerBuilder {
    let webSocketResponder = buildWebSocketRouter(services).buildResponder()
    let runEvents = services.runEvents
    let agents = services.agents
    let policy = services.config.network
    return HTTPServerBuilder { responder in
        GatedWebSocketChannel(
            inner: HTTP1WebSocketUpgradeChannel(
                responder: responder,
                webSocketResponder: webSocketResponder,
                configuration: .init(ws: .init(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(20))))
            ),
            check: { uri, headers, authority, peer in
                // A name this API does not answer to (DNS rebinding, docs/security.md, "Host names").
                guard policy.allowsHost(authority) else {
                    return await gateRefusal(uri: uri, headers: headers, peer: peer, policy: nil) { _ in throw APIError.hostNotAllowed(authority) }
                }
                // Any spelling that is not canonical is refused here; a canonical path that is neither WebSocket goes
                // on to the HTTP router (and its access decisions).
                guard let path = try? RequestPath.canonical(uri) else {
                    return await gateRefusal(uri: uri, headers: headers, peer: peer, policy: nil) { _ in }
                }
                if path == "/agent/ws" { return await agents.refusal(uri: uri, headers: headers, peer: peer) }
                if RunEventsWebSocket.runId(inPath: path) != nil {
                    return await runEvents.refusal(uri: uri, headers: headers, authority: authority, peer: peer)
                }
                return nil
            }
        )
    }
}

/// Builds the API's one `ServiceGroup`: the bus server, then the HTTP application (shut down in reverse order).
func buildServiceGroup(
    _ config: APIConfig,
    logger: Logger,
    metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    tracing: (any Service)? = nil
) async throws
    -> ServiceGroup
{
    let hub = RunEventsHub()
    let bus = BusServer(socketPath: config.common.dataDirectory.socketPath, logger: logger)
    // What the API itself commits (enqueue, cancel, job edits, notification retries) reaches its WebSocket
    // subscribers and, as wakes and cancels, the workers.
    let relay = AgentRelay()
    let database = try AppDatabase.open(
        in: config.common.dataDirectory,
        traceLogger: logger,
        publisher: APIPublisher(hub: hub, bus: bus, agents: relay)
    )
    try await reportUnknownJobFields(database, logger: logger)
    // Database writes per second, one of the hub's budgets (docs/agents.md, "The hub at fleet size").
    let commits = Counter(label: "bastion_db_commits_total")
    database.onCommit { commits.increment() }
    try await bus.start()
    let services = APIServices(database: database, bus: bus, hub: hub, config: config, metrics: metrics)
    services.fileReads.sweep(logger: logger)
    relay.attach(services.agents)
    let app = Application(
        router: buildRouter(services),
        server: gatedWebSocketServer(services),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "bastion"),
        onServerRunning: { channel in
            logger.info("API listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
        },
        logger: logger
    )
    return ServiceGroup(
        configuration: .init(
            // The tracing exporter first: a group stops in reverse order, so it flushes the others' last spans.
            services: [tracing].compactMap { $0 } + [
                BusServerService(bus: bus, hub: hub, agents: relay, logger: logger), app, RunEventsHubService(hub: hub),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}

/// Logs a warning for every stored job whose spec has keys the spec does not define (saved before saving refused
/// them, docs/security.md, "Unknown fields"). The jobs are left as they are and still run; the keys are ignored.
func reportUnknownJobFields(_ database: AppDatabase, logger: Logger) async throws {
    var every = JobListQuery()
    every.archived = .all
    let jobs = try await database.listJobs(every).items
    for item in jobs {
        let unknown = JobSpec.unknownFields(item.job.spec)
        guard !unknown.isEmpty else { continue }
        logger.warning(
            "Stored job has fields the server does not know: they are ignored; edit the job to remove them",
            metadata: [
                "job.id": "\(item.job.id)", "job.name": "\(item.job.name)", "fields": "\(unknown.map { "spec." + $0 }.joined(separator: ","))",
            ]
        )
    }
}
