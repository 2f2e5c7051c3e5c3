import Bus
import Foundation
import Logging
import TestClients
import Testing

/// The worker's run loop: it looks for work when woken over the bus or at its safety timeout, and otherwise sleeps.
@Suite(.serialized) struct WorkerWakeTests {
    static let looked = "Looked for work"

    @Test func wakeOverTheBusAndNoPollingInBetween() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let api = try Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(port)"])
        defer { api.kill9() }
        let worker = try Child.bastion(
            "bastion-worker",
            dataDir: scratch.dataDir,
            logDir: scratch.path,
            ["--log-level", "debug", "--safety-poll-seconds", "3600", "--worker-id", "w-test"]
        )
        defer { worker.kill9() }
        #expect(await eventually { await systemPeers(base, "workers")?.first?["id"] as? String == "w-test" })
        // One look at start, one after connecting; then silence.
        #expect(await eventually { worker.count(Self.looked) >= 2 })
        try await Task.sleep(for: .milliseconds(300))
        let settled = worker.count(Self.looked)
        try await Task.sleep(for: .seconds(2))
        #expect(worker.count(Self.looked) == settled, "worker polled without a wake:\n\(worker.log)")

        // Another process (here: the test, as a janitor would) sends `wake runs`; the API relays it to the worker.
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let client = BusClient(socketPath: scratch.socketPath, peer: BusPeer(role: .janitor, id: "test-waker"), logger: logger)
        client.start()
        #expect(await eventually { client.isConnected })
        for round in 1...3 {
            client.send(.wake(.runs))
            #expect(await eventually(timeout: .seconds(5)) { worker.count("reason=signaled") >= settled - 1 + round })
        }
        // Topics other than runs do not wake the run loop.
        let beforeJobs = worker.count(Self.looked)
        client.send(.wake(.jobs))
        try await Task.sleep(for: .milliseconds(500))
        #expect(worker.count(Self.looked) == beforeJobs)
        await client.shutdown()
    }

    @Test func safetyTimeoutAloneKeepsTheLoopAliveWhileTheAPIIsDown() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        // No API at all: the worker runs on its safety timeout.
        let worker = try Child.bastion(
            "bastion-worker",
            dataDir: scratch.dataDir,
            logDir: scratch.path,
            ["--log-level", "debug", "--safety-poll-seconds", "0.3", "--worker-id", "w-alone"]
        )
        defer { worker.kill9() }
        #expect(await eventually(timeout: .seconds(10)) { worker.count("reason=timeout") >= 3 })

        // The API comes up later: the worker connects (backoff) and is listed.
        let api = try Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(port)"])
        defer { api.kill9() }
        #expect(await eventually { await systemPeers(base, "workers")?.first?["id"] as? String == "w-alone" })

        // The API is killed outright and restarted: the worker reconnects; it never stopped.
        api.kill9()
        let api2 = try Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(port)"])
        defer { api2.kill9() }
        #expect(await eventually { await systemPeers(base, "workers")?.first?["id"] as? String == "w-alone" })
        #expect(worker.isRunning)
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(5)) == 0)
    }
}
