import Foundation
import TestClients
import Testing

/// The three real binaries on one fresh data directory, started at the same moment, repeatedly.
@Suite(.serialized) struct StartupShutdownTests {
    @Test(arguments: 0..<5)
    func threeProcessesRaceOnAFreshDirectoryThenStopGracefully(_ round: Int) async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        // All three spawned back to back: whoever gets the migration lock first creates the schema.
        let children = try [
            Child.bastion("bastion-worker", dataDir: scratch.dataDir, logDir: scratch.path),
            Child.bastion("bastion-janitor", dataDir: scratch.dataDir, logDir: scratch.path),
            Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(port)"]),
        ]
        defer {
            for child in children { child.kill9() }
        }

        #expect(await eventually { await HTTP.tryGet(base + "/api/ready")?.status == 200 }, "api never became ready")
        // Three processes starting at once, the first creating the schema: on a loaded machine (the whole suite) joining
        // the bus has taken longer than the default 15 s once.
        #expect(
            await eventually(timeout: .seconds(45)) {
                let workers = await systemPeers(base, "workers")?.count
                let janitors = await systemPeers(base, "janitors")?.count
                return workers == 1 && janitors == 1
            },
            "worker and janitor never joined the bus"
        )
        for child in children {
            #expect(child.isRunning, "\(child.name) died:\n\(child.log)")
        }
        let workers = await systemPeers(base, "workers") ?? []
        #expect(workers.first?["pid"] as? Int == Int(children[0].pid))

        // Alternate the two shutdown signals across rounds.
        let signal = round.isMultiple(of: 2) ? SIGTERM : SIGINT
        for child in children { child.signal(signal) }
        for child in children {
            let status = await child.waitForExit(timeout: .seconds(5))
            #expect(status == 0, "\(child.name) exit status \(String(describing: status)) after signal \(signal):\n\(child.log)")
        }
        #expect(access(scratch.socketPath, F_OK) != 0, "bus socket left behind")
        for child in children {
            #expect(!child.log.contains("database is locked"), "\(child.name):\n\(child.log)")
            #expect(!child.log.contains(" error "), "\(child.name) logged an error:\n\(child.log)")
        }
    }

    @Test func apiAnswersWithRequestIDsAndJSONErrors() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let api = try Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(port)"])
        defer { api.kill9() }
        #expect(await eventually { await HTTP.tryGet(base + "/api/health")?.status == 200 })

        let health = try await HTTP.get(base + "/api/health")
        #expect(health.json?["ok"] as? Bool == true)
        let generated = try #require(health.headers["x-request-id"])
        #expect(UUID(uuidString: generated) != nil)

        let ready = try await HTTP.get(base + "/api/ready", headers: ["x-request-id": "probe-ready-42"])
        #expect(ready.status == 200 && ready.json?["ok"] as? Bool == true)
        #expect(ready.headers["x-request-id"] == "probe-ready-42")

        // An id that would pollute logs is replaced.
        let insane = try await HTTP.get(base + "/api/health", headers: ["x-request-id": "bad id with spaces {}"])
        #expect(insane.headers["x-request-id"] != "bad id with spaces {}")

        // Anonymous callers learn what the original tells them, and nothing about paths or processes.
        let anonymous = try await HTTP.get(base + "/api/system", anonymous: true)
        #expect(anonymous.json?["insecure_http"] as? Bool == false && anonymous.json?["hub_timezone"] as? String == "UTC")
        #expect(anonymous.json?["database"] == nil && anonymous.json?["bus"] == nil, "\(String(decoding: anonymous.body, as: UTF8.self))")
        #expect(!String(decoding: anonymous.body, as: UTF8.self).contains(scratch.dataDir))
        try await HTTP.signIn(base)
        let system = try await HTTP.get(base + "/api/system")
        let database = try #require(system.json?["database"] as? [String: Any])
        #expect(database["journal_mode"] as? String == "wal")
        #expect((database["sqlite_version"] as? String)?.hasPrefix("3.") == true)
        #expect(database["path"] as? String == scratch.dataDir + "/bastion.db")
        #expect(system.json?["version"] as? String != nil)

        // An unknown /api path is a JSON 404 whoever asks (access is decided per route: there is none to protect); a
        // protected one is a JSON 401 without a session.
        let missing = try await HTTP.get(base + "/api/does-not-exist", headers: ["x-request-id": "probe-404"], anonymous: true)
        #expect(missing.status == 404)
        #expect(missing.json?["error"] as? String == "not_found")
        let protected = try await HTTP.get(base + "/api/jobs", anonymous: true)
        #expect(protected.status == 401 && protected.json?["error"] as? String == "unauthorized")
        #expect(missing.json?["message"] as? String != nil)
        #expect((missing.json?["details"] as? [String: Any])?["request_id"] as? String == "probe-404")
        #expect(missing.headers["content-type"]?.hasPrefix("application/json") == true)

        // Every log line of a request carries its id.
        #expect(await eventually { api.log.contains("request.id=probe-ready-42") })
        let lines = api.log.split(separator: "\n").filter { $0.contains("/api/ready") }
        #expect(!lines.isEmpty && lines.allSatisfy { $0.contains("request.id=") })
    }

    @Test func secondAPIOnTheSameDataDirectoryRefusesTheSocket() async throws {
        let scratch = Scratch()
        let port = freePort()
        let first = try Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(port)"])
        defer { first.kill9() }
        #expect(await eventually { access(scratch.socketPath, F_OK) == 0 })
        let second = try Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(freePort())"])
        defer { second.kill9() }
        let status = await second.waitForExit(timeout: .seconds(10))
        #expect(status != nil && status != 0)
        #expect(second.log.contains("already listening"))
        #expect(first.isRunning && access(scratch.socketPath, F_OK) == 0)
    }
}
