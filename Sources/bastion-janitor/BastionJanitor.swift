import ArgumentParser
import Core

@main
struct BastionJanitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bastion-janitor",
        abstract: "Prunes expired rows and old runs, optimizes and checkpoints the Bastion database."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var janitor: JanitorOptions

    func run() async throws {
        PrivateFiles.restrictNewFiles()
        let config = try JanitorConfig(common: common.resolve(), options: janitor)
        let logger = BastionLogging.bootstrap(level: config.common.logLevel, label: "bastion-janitor")
        let group = try buildServiceGroup(config, logger: logger)
        try await group.run()
    }
}
