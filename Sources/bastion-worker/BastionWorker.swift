import ArgumentParser
import Core
import Foundation
import Telemetry

@main
struct BastionWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bastion-worker",
        abstract: "Claims and executes Bastion runs; start as many as you like."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var worker: WorkerOptions

    func run() async throws {
        PrivateFiles.restrictNewFiles()
        let config = try WorkerConfig(common: common.resolve(), options: worker)
        let environment = ProcessInfo.processInfo.environment
        let logger = BastionLogging.bootstrap(
            level: config.common.logLevel,
            label: "bastion-worker",
            metadataProvider: TracingSetup.logMetadataProvider(environment: environment)
        )
        let tracing = try TracingSetup.bootstrap(serviceName: "bastion-worker", environment: environment, logger: logger)
        // Before anything else: two live workers never share an id (docs/architecture.md, "Workers").
        try config.common.dataDirectory.create()
        let identity = try WorkerIdentityLock(workerID: config.workerID, dataDirectory: config.common.dataDirectory)
        CrashNote.install(path: CrashNote.path(workerID: config.workerID, dataDirectory: config.common.dataDirectory))
        let group = try buildServiceGroup(config, logger: logger, tracing: tracing)
        try await group.run()
        withExtendedLifetime(identity) {}
    }
}
