import ArgumentParser
import Foundation
import Shared

/// Options only the worker takes.
struct WorkerOptions: ParsableArguments {
    @Option(
        name: .customLong("worker-id"),
        help: "Name shown in /api/system and stored on claimed runs. Env BASTION_WORKER_ID; default worker-<pid>-<random>."
    )
    var workerID: String?
}

/// The worker's resolved configuration.
struct WorkerConfig: Sendable {
    var common: CommonConfig
    var workerID: String

    init(common: CommonConfig, workerID: String? = nil) {
        self.common = common
        self.workerID = workerID ?? "worker-\(getpid())-\(String(UInt32.random(in: 0...0xffff), radix: 16))"
    }

    init(common: CommonConfig, options: WorkerOptions, resolver: OptionResolver = OptionResolver()) throws {
        let id = try resolver.resolve(options.workerID, env: "BASTION_WORKER_ID", default: "")
        self.init(common: common, workerID: id.isEmpty ? nil : id)
    }
}
