import ArgumentParser

/// Benchmarks that print figures next to a baseline measured in the same run. Run with `make bench`.
@main
struct BastionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bastion-bench",
        abstract: "Bastion benchmarks (each prints its baseline from the same run).",
        subcommands: [
            BusLatencyBenchmark.self, ClaimThroughputBenchmark.self, ClaimWorkerCommand.self, EventAppendBenchmark.self,
            EndToEndLatencyBenchmark.self, ArchiveBenchmark.self, RunListBenchmark.self, EventFeedCommand.self, CatalogBenchmark.self,
            AgentEventsBenchmark.self, AgentFloodBenchmark.self, TargetsBenchmark.self, IncrementalBenchmark.self, DatabaseBenchmark.self,
            BandwidthBenchmark.self, FleetBenchmark.self,
        ]
    )
}
