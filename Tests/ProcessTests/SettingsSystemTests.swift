import Foundation
import TestClients
import Testing

/// What the settings pages read and add (docs/ui.md, "Settings pages"), against the real binaries: `GET /api/system`
/// signed in (database and WAL size, workers and janitor with their last contact, agents, every runtime setting with
/// its source), and `POST /api/keys`.
@Suite(.serialized) struct SettingsSystemTests {
    @Test func systemShowsSizesPeersAndWhereEachSettingCameFrom() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        // The port from a flag, the hub time zone from the environment, the rest defaults; the janitor likewise.
        let api = try Child(
            Binaries.path("bastion-api"),
            ["--data-dir", scratch.dataDir, "--port", "\(port)"],
            name: "bastion-api",
            logDir: scratch.path,
            environment: ["BASTION_HUB_TIMEZONE": "Asia/Shanghai", "BASTION_PORT": "1"]
        )
        defer { api.kill9() }
        #expect(await eventually { await HTTP.tryGet(base + "/api/health")?.status == 200 })
        let worker = try Child.bastion("bastion-worker", dataDir: scratch.dataDir, logDir: scratch.path, ["--worker-id", "settings-w1"])
        defer { worker.kill9() }
        let janitor = try Child(
            Binaries.path("bastion-janitor"),
            ["--data-dir", scratch.dataDir, "--run-retention-days", "30"],
            name: "bastion-janitor",
            logDir: scratch.path,
            environment: ["BASTION_INCOMPLETE_CLEANUP_DAYS": "2.5"]
        )
        defer { janitor.kill9() }

        // Signed out: versions only.
        let anonymous = try await HTTP.get(base + "/api/system", anonymous: true)
        #expect(anonymous.json?["runtime"] == nil && anonymous.json?["agents"] == nil, "\(anonymous.text)")

        try await HTTP.signIn(base)
        var system: [String: Any] = [:]
        #expect(
            await eventually {
                guard let json = try? await HTTP.get(base + "/api/system").json,
                    let bus = json["bus"] as? [String: Any],
                    (bus["workers"] as? [Any])?.count == 1, (bus["janitors"] as? [Any])?.count == 1,
                    let runtime = json["runtime"] as? [[String: Any]], runtime.contains(where: { $0["process"] as? String == "janitor" })
                else { return false }
                system = json
                return true
            },
            "worker, janitor and the janitor's settings"
        )
        let database = try #require(system["database"] as? [String: Any])
        #expect((database["size_bytes"] as? Int ?? 0) > 0, "\(database)")
        #expect((database["wal_bytes"] as? Int ?? -1) >= 0, "\(database)")
        let bus = try #require(system["bus"] as? [String: Any])
        let workers = try #require(bus["workers"] as? [[String: Any]])
        #expect(workers.first?["id"] as? String == "settings-w1")
        let connectedAt = workers.first?["connected_at"] as? Int ?? 0
        let lastContact = workers.first?["last_contact_at"] as? Int ?? 0
        #expect(connectedAt > 1_700_000_000 && lastContact >= connectedAt, "\(workers)")
        #expect((system["agents"] as? [Any])?.isEmpty == true)

        let runtime = try #require(system["runtime"] as? [[String: Any]])
        func setting(_ process: String, _ name: String) -> (value: String?, source: String?, restart: Bool?) {
            let entry = runtime.first { $0["process"] as? String == process && $0["name"] as? String == name }
            return (entry?["value"] as? String, entry?["source"] as? String, entry?["restart_required"] as? Bool)
        }
        // A flag beats the environment's BASTION_PORT=1, as OptionResolver resolves it.
        #expect(setting("api", "port") == ("\(port)", "flag", true))
        #expect(setting("api", "hub_timezone") == ("Asia/Shanghai", "env", true))
        #expect(setting("api", "host") == ("127.0.0.1", "default", true))
        #expect(setting("api", "data_dir") == (scratch.dataDir, "flag", true))
        #expect(setting("api", "trusted_proxies") == ("127.0.0.1/32, ::1/128", "default", true))
        #expect(setting("api", "log_level") == ("info", "default", true))
        #expect(setting("janitor", "run_retention_days") == ("30", "flag", true))
        #expect(setting("janitor", "incomplete_cleanup_days") == ("2.5", "env", true))
        #expect(setting("janitor", "maintenance_interval") == ("3600", "default", true))
        for entry in runtime {
            #expect((entry["option"] as? String)?.hasPrefix("--") == true && (entry["env"] as? String)?.hasPrefix("BASTION_") == true, "\(entry)")
        }

        // A janitor that is gone: its file stays, its settings are no longer shown as current.
        janitor.kill9()
        #expect(
            await eventually {
                let json = try? await HTTP.get(base + "/api/system").json
                let list = json?["runtime"] as? [[String: Any]] ?? []
                return !list.isEmpty && !list.contains { $0["process"] as? String == "janitor" }
            }
        )
    }

    @Test func keysAreCreatedByNameAndNeverReplaced() async throws {
        let scratch = Scratch()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let api = try Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(port)"])
        defer { api.kill9() }
        #expect(await eventually { await HTTP.tryGet(base + "/api/health")?.status == 200 })
        try await HTTP.signIn(base)

        let created = try await HTTP.send("POST", base + "/api/keys", json: ["name": "offsite-1"])
        #expect(created.status == 201, "\(created.status) \(created.text)")
        let recipient = try #require(created.json?["recipient"] as? String)
        #expect(recipient.hasPrefix("age1") && created.json?["identity"] == nil)

        let listed = try await HTTP.get(base + "/api/keys")
        #expect(listed.jsonArray?.map { $0["name"] as? String } == ["offsite-1"])
        let exported = try await HTTP.get(base + "/api/keys/offsite-1")
        #expect((exported.json?["identity"] as? String)?.hasPrefix("AGE-SECRET-KEY-1") == true)
        #expect(exported.json?["recipient"] as? String == recipient)
        // The private key is never kept by the browser's or a proxy's cache.
        #expect(exported.headers["cache-control"] == "no-store", "\(exported.headers)")

        let again = try await HTTP.send("POST", base + "/api/keys", json: ["name": "offsite-1"])
        #expect(again.status == 409 && again.json?["error"] as? String == "key_exists", "\(again.status) \(again.text)")
        let still = try await HTTP.get(base + "/api/keys/offsite-1")
        #expect(still.json?["identity"] as? String == exported.json?["identity"] as? String, "an existing key is never replaced")

        for name: Any in ["", "..", "a/b", String(repeating: "k", count: 65), 7, NSNull()] {
            let refused = try await HTTP.send("POST", base + "/api/keys", json: ["name": name])
            #expect(refused.status == 400 && refused.json?["error"] as? String == "invalid_name", "\(name): \(refused.status) \(refused.text)")
        }
        let extra = try await HTTP.send("POST", base + "/api/keys", json: ["name": "k2", "identity": "AGE-SECRET-KEY-1X"])
        #expect(extra.status == 400 && extra.json?["error"] as? String == "unknown_field", "\(extra.status) \(extra.text)")
        let anonymous = try await HTTP.send("POST", base + "/api/keys", json: ["name": "k3"], anonymous: true)
        #expect(anonymous.status == 401)
        #expect(try await HTTP.get(base + "/api/keys").jsonArray?.count == 1)
    }
}
