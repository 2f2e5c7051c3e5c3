import ArgumentParser
import Core
import Foundation

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
        var config = try JanitorConfig(common: common.resolve(), options: janitor)
        config.runtime = common.runtime(config.common) + config.runtime
        let logger = BastionLogging.bootstrap(level: config.common.logLevel, label: "bastion-janitor")
        let group = try buildServiceGroup(config, logger: logger)
        do {
            try RuntimeFile(pid: getpid(), settings: config.runtime).write(to: config.common.dataDirectory.janitorRuntimePath)
        } catch {
            logger.warning("Runtime settings not written for the system page", metadata: ["error": "\(error)"])
        }
        try await group.run()
    }
}
