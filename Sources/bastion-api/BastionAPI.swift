import ArgumentParser
import Shared

@main
struct BastionAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bastion-api",
        abstract: "Bastion's HTTP API, run-event WebSockets, web UI and the bus socket."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var api: APIOptions

    func run() async throws {
        let config = try APIConfig(common: common.resolve(), options: api)
        let logger = BastionLogging.bootstrap(level: config.common.logLevel, label: "bastion-api")
        let group = try await buildServiceGroup(config, logger: logger)
        try await group.run()
    }
}
