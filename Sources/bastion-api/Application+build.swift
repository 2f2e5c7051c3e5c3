import Bus
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
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

    init(source: Source) {
        coreContext = .init(source: source)
        webSocket = .init()
    }
}

/// Builds the router with its middleware and controllers. Tests drive this directly.
func buildRouter(_ services: APIServices) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    // Hummingbird's request metrics (count by route pattern, method and status; duration; active requests), placed
    // outside ErrorMiddleware so rendered errors count with their status.
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware(routes: services.routes))
    router.add(middleware: EdgePolicyMiddleware(policy: services.config.network))
    router.add(middleware: AuthMiddleware(database: services.database))
    let api = RecordingRouterGroup(inner: router.group("api"), prefix: "/api", table: services.routes)
    SystemController(services: services).addRoutes(to: api)
    AuthController(services: services, hasher: services.hasher).addRoutes(to: api)
    JobsController(services: services).addRoutes(to: api)
    RunsController(services: services).addRoutes(to: api)
    NotificationsController(services: services).addRoutes(to: api)
    KeysController(services: services).addRoutes(to: api)
    SnapshotsController(services: services).addRoutes(to: api)
    BrowseController(services: services).addRoutes(to: api)
    DashboardController(services: services).addRoutes(to: api)
    TargetsController(services: services).addRoutes(to: api)
    let agents = AgentsController(services: services)
    agents.addRoutes(to: api)
    agents.addAgentRoutes(to: RecordingRouterGroup(inner: router.group("agent"), prefix: "/agent", table: services.routes))
    OpenAPIController().addRoutes(to: api)
    // Reached when the WebSocket router declined the upgrade: answer why, as JSON.
    api.get("runs/:id/events/ws") { request, context -> Response in
        _ = try await services.runEvents.validate(request, runId: try context.parameters.require("id"), peer: context.peerAddress)
        throw APIError(status: .upgradeRequired, code: "websocket_required", message: "this endpoint speaks WebSocket only")
    }
    MetricsController(services: services, registry: services.metrics).addRoutes(to: router)
    UIController(root: services.config.uiDirectory).addRoutes(to: router)
    return router
}

/// The router consulted for WebSocket upgrades. Every upgrade request reaching it has passed the gate in front of
/// the upgrade handler (`GatedWebSocketChannel`: edge rule, session, Origin, query, run), which answers refusals
/// itself, so it does not check them again.
func buildWebSocketRouter(_ services: APIServices) -> Router<WebSocketContext> {
    let router = Router(context: WebSocketContext.self)
    let runEvents = services.runEvents
    router.ws(
        "/api/runs/:id/events/ws",
        shouldUpgrade: { _, context in
            context.parameters.get("id") == nil ? .dontUpgrade : .upgrade([:])
        },
        onUpgrade: { inbound, outbound, context in
            guard let id = context.requestContext.parameters.get("id") else { return }
            let after = (try? RunsController.afterSeq(context.request)) ?? 0
            await runEvents.stream(runId: id, afterSeq: after, inbound: inbound, outbound: outbound, logger: context.logger)
        }
    )
    let agents = services.agents
    router.ws(
        "/agent/ws",
        shouldUpgrade: { request, _ in
            (try? await agents.authenticate(request.headers)) == nil ? .dontUpgrade : .upgrade([:])
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
    return HTTPServerBuilder { responder in
        GatedWebSocketChannel(
            inner: HTTP1WebSocketUpgradeChannel(
                responder: responder,
                webSocketResponder: webSocketResponder,
                configuration: .init(ws: .init(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(20))))
            ),
            check: { uri, headers, authority, peer in
                if URI(uri).path == "/agent/ws" { return await agents.refusal(headers: headers, peer: peer) }
                return await runEvents.refusal(uri: uri, headers: headers, authority: authority, peer: peer)
            }
        )
    }
}

/// Builds the API's one `ServiceGroup`: the bus server, then the HTTP application (shut down in reverse order).
func buildServiceGroup(
    _ config: APIConfig,
    logger: Logger,
    metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
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
    try await bus.start()
    let services = APIServices(database: database, bus: bus, hub: hub, config: config, metrics: metrics)
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
            services: [BusServerService(bus: bus, hub: hub, agents: relay, logger: logger), app, RunEventsHubService(hub: hub)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}
