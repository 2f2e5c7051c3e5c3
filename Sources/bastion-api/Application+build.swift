import Hummingbird
import Logging
import ServiceLifecycle
import Shared

/// Everything the API's handlers share.
struct APIServices: Sendable {
    let database: AppDatabase
    let bus: BusServer
    let config: APIConfig
}

/// Builds the router with its middleware and controllers. Tests drive this directly.
func buildRouter(_ services: APIServices) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: ErrorMiddleware())
    SystemController(services: services).addRoutes(to: router.group("api"))
    return router
}

/// Builds the API's one `ServiceGroup`: the bus server, then the HTTP application (shut down in reverse order).
func buildServiceGroup(_ config: APIConfig, logger: Logger) async throws -> ServiceGroup {
    let database = try AppDatabase.open(in: config.common.dataDirectory)
    let bus = BusServer(socketPath: config.common.dataDirectory.socketPath, logger: logger)
    try await bus.start()
    let services = APIServices(database: database, bus: bus, config: config)
    let app = Application(
        router: buildRouter(services),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "bastion"),
        onServerRunning: { channel in
            logger.info("API listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
        },
        logger: logger
    )
    return ServiceGroup(
        configuration: .init(
            services: [BusServerService(bus: bus, logger: logger), app],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
}
