import ArgumentParser
import Bus
import Core
import Foundation
import Metrics
import Prometheus
import Store
import Telemetry

@main
struct BastionAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bastion-api",
        abstract: "Bastion's HTTP API, run-event WebSockets, web UI and the bus socket."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var api: APIOptions

    /// Prints every registered route (`METHOD /path access`) and exits: how the OpenAPI completeness test and the
    /// access test (`RouteAccessTests`) see the router.
    @Flag(name: .customLong("print-routes"), help: .hidden) var printRoutes = false

    /// Prints the OpenAPI document (`GET /api/openapi.json`) and exits, without a data directory or a server: what
    /// `web/gen-api-types.mjs` turns into the UI's types (docs/ui.md, "One contract").
    @Flag(name: .customLong("print-openapi"), help: "Print the OpenAPI document and exit.") var printOpenAPI = false

    func run() async throws {
        if printOpenAPI {
            print(OpenAPIController.body)
            return
        }
        PrivateFiles.restrictNewFiles()
        var config = try APIConfig(common: common.resolve(), options: api)
        config.runtime = common.runtime(config.common) + config.runtime
        if printRoutes {
            let services = APIServices(
                database: try AppDatabase.open(in: config.common.dataDirectory),
                bus: BusServer(socketPath: config.common.dataDirectory.socketPath, logger: .init(label: "routes")),
                hub: RunEventsHub(),
                config: config
            )
            _ = buildRouter(services)
            for route in services.routes.all { print("\(route.method.rawValue) \(route.path) \(route.access.rawValue)") }
            return
        }
        let environment = ProcessInfo.processInfo.environment
        let logger = BastionLogging.bootstrap(
            level: config.common.logLevel,
            label: "bastion-api",
            metadataProvider: TracingSetup.logMetadataProvider(environment: environment)
        )
        let tracing = try TracingSetup.bootstrap(serviceName: "bastion-api", environment: environment, logger: logger)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(MetricsController.factory(registry: registry))
        let group = try await buildServiceGroup(config, logger: logger, metrics: registry, tracing: tracing)
        try await group.run()
    }
}
