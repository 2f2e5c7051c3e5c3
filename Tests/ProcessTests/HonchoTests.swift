import Foundation
import TestClients
import Testing

/// The Procfile as a user runs it, through honcho.
@Suite(.serialized) struct HonchoTests {
    static let honcho: String? = {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/honcho"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    func honcho(_ arguments: [String], scratch: Scratch, port: Int, name: String) throws -> Child {
        let honcho = try #require(Self.honcho, "honcho is not installed (scripts/install-deps.sh installs it)")
        return try Child(
            honcho,
            ["-f", repositoryRoot + "/Procfile", "-d", repositoryRoot, "--no-colour"] + arguments,
            name: name,
            logDir: scratch.path,
            environment: [
                "BASTION_BIN": Binaries.directory, "BASTION_DATA_DIR": scratch.dataDir, "BASTION_PORT": "\(port)",
                "PYTHONUNBUFFERED": "1",
            ]
        )
    }

    @Test func procfileBringsUpEverythingAndScalesWorkers() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let all = try honcho(["start", "-c", "worker=2"], scratch: scratch, port: port, name: "honcho")
        defer { all.kill9() }
        #expect(
            await eventually(timeout: .seconds(20)) {
                let workers = await systemPeers(base, "workers")?.count
                let janitors = await systemPeers(base, "janitors")?.count
                return workers == 2 && janitors == 1
            },
            "honcho output:\n\(all.log)"
        )
        all.signal(SIGTERM)
        #expect(await all.waitForExit(timeout: .seconds(10)) != nil)
        #expect(await eventually(timeout: .seconds(5)) { access(scratch.socketPath, F_OK) != 0 })
        #expect(!all.log.contains("database is locked"))
    }

    @Test func oneProcessRestartsWhileTheOthersKeepRunning() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let core = try honcho(["start", "api", "janitor"], scratch: scratch, port: port, name: "honcho-core")
        defer { core.kill9() }
        var worker = try honcho(["start", "worker"], scratch: scratch, port: port, name: "honcho-worker")
        defer { worker.kill9() }
        #expect(await eventually(timeout: .seconds(20)) { await systemPeers(base, "workers")?.count == 1 })
        let firstPID = await systemPeers(base, "workers")?.first?["pid"] as? Int

        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(10)) != nil)
        #expect(await eventually { await systemPeers(base, "workers")?.count == 0 })
        #expect(await HTTP.tryGet(base + "/api/health")?.status == 200, "api went down with the worker")

        worker = try honcho(["start", "worker"], scratch: scratch, port: port, name: "honcho-worker2")
        #expect(await eventually(timeout: .seconds(20)) { await systemPeers(base, "workers")?.count == 1 })
        let secondPID = await systemPeers(base, "workers")?.first?["pid"] as? Int
        #expect(firstPID != nil && secondPID != nil && firstPID != secondPID)
        #expect(await systemPeers(base, "janitors")?.count == 1)
        worker.signal(SIGTERM)
        core.signal(SIGTERM)
        _ = await worker.waitForExit(timeout: .seconds(10))
        _ = await core.waitForExit(timeout: .seconds(10))
    }
}
