import ArgumentParser
import Core
import Foundation
import Logging
import Runs
import Store

/// `bastion-agent`: runs on another host, with a data directory of its own, and talks to the hub only through one
/// outbound WebSocket (docs/agents.md). The first start enrols with a token; later starts reuse `agent.json`.
@main
struct BastionAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bastion-agent", abstract: "A Bastion agent: backs up this host for a hub.")

    @Option(help: "The hub's URL (http://host:port/ or https://…), as the agent reaches it.") var hubUrl: String
    @Option(help: "The agent's own data directory (agent.json lives here, mode 0600).") var dataDir: String
    @Option(help: "A file holding an enrolment token from the hub (only for the first start; or env BASTION_ENROLL_TOKEN).")
    var enrollTokenFile: String?
    @Option(help: "The name the hub shows (default: this host's name).") var name: String?
    @Option(help: "Seconds between pings; the hub closes a link silent for 3 of them.") var heartbeatSeconds: Int = 15
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String = "info"
    @Option(help: "Pause between SQLite online-backup steps of 100 pages, in ms (tests slow a copy down with it).")
    var sqliteStepPauseMs: Int = 10
    @Flag(
        help: ArgumentHelp(
            "Run the before/after hooks of the jobs the hub sends (commands run as this agent's user; docs/hooks.md). "
                + "Without it, a job with hooks fails with hooks_not_allowed."
        )
    )
    var allowHooks = false
    @Option(help: "A database dump is held in memory up to this many MiB before its archive member is written (1...4096).")
    var dumpChunkMib: Int = 64

    func run() async throws {
        PrivateFiles.restrictNewFiles()
        var logger = Logger(label: "bastion-agent")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        guard (1...4096).contains(dumpChunkMib) else { throw ValidationError("--dump-chunk-mib must be 1...4096") }
        guard (1...300).contains(heartbeatSeconds) else { throw ValidationError("--heartbeat-seconds must be 1...300") }
        guard let hub = HubAddress(hubUrl) else { throw ValidationError("--hub-url must be an http:// or https:// URL") }
        let directory = DataDirectory(path: dataDir)
        try directory.create()
        let identity: AgentIdentity
        if let stored = try AgentIdentity.load(from: directory) {
            guard stored.hubURL == hub.base else {
                throw ValidationError("\(directory.path)/agent.json belongs to the hub at \(stored.hubURL), not \(hub.base)")
            }
            identity = stored
        } else {
            guard let token = try enrollmentToken() else {
                throw ValidationError(
                    "not enrolled yet: pass --enroll-token-file PATH or set BASTION_ENROLL_TOKEN (create a token in the hub's Agents page)"
                )
            }
            let agentName = name ?? ProcessInfo.processInfo.hostName
            identity = try await Enrollment.enroll(hub: hub, token: token, name: agentName)
            try identity.save(in: directory)
            logger.info("Enrolled", metadata: ["agent.id": "\(identity.agentId)", "hub": "\(hub.base)"])
        }
        let link = HubLink(hub: hub, identity: identity, directory: directory, heartbeat: .seconds(heartbeatSeconds), logger: logger)
        let staging = directory.runsPath
        let runner = AgentRunner(
            store: try AgentStore(path: directory.path + "/agent.db"),
            executors: [
                SQLiteBackupExecutor(stepPause: .milliseconds(sqliteStepPauseMs), stagingDirectory: staging),
                FilesystemBackupExecutor(stagingDirectory: staging, snapshotRecords: directory.snapshotsPath),
                VaultwardenBackupExecutor(stepPause: .milliseconds(sqliteStepPauseMs), stagingDirectory: staging),
                RestoreExecutor(stagingDirectory: staging),
                VerifyExecutor(workDirectory: staging),
                CopyExecutor(stagingDirectory: staging),
                DatabaseDumpExecutor(engine: PostgresEngine(), stagingDirectory: staging, streamChunkBytes: dumpChunkMib << 20),
                DatabaseDumpExecutor(engine: MariaDBEngine(), stagingDirectory: staging, streamChunkBytes: dumpChunkMib << 20),
            ],
            logger: logger,
            allowHooks: allowHooks,
            send: { await link.send($0) }
        )
        // btrfs snapshots left by an agent process that died (docs/architecture.md, "Filesystem snapshots").
        SourceSnapshots.sweep(records: directory.snapshotsPath, logger: logger)
        try runner.resume()
        let outcome = await link.run(runner: runner)
        switch outcome {
        case .revoked(let reason):
            logger.critical("The hub refuses this agent's key", metadata: ["reason": "\(reason)"])
            throw ExitCode(3)
        case .stopped:
            return
        }
    }

    /// The enrolment token, from `--enroll-token-file` or `BASTION_ENROLL_TOKEN`: never from the command line, which
    /// every local user can read in /proc (docs/security.md, "Agents").
    private func enrollmentToken() throws -> String? {
        if let path = enrollTokenFile {
            guard let text = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read --enroll-token-file \(path)") }
            return String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let variable = ProcessInfo.processInfo.environment["BASTION_ENROLL_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        return variable?.isEmpty == false ? variable : nil
    }
}
