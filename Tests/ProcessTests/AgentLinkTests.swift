import Foundation
import GRDB
import TestClients
import Testing

/// Agents and their link to the hub through the real binaries (docs/agents.md): enrolment, the WebSocket, one
/// connection per agent, the idle timeout, the hub restarting, revoke. Each agent has a data directory of its own.
@Suite(.serialized) struct AgentLinkTests {
    func token(_ fixture: RunsFixture, _ body: [String: Any] = ["remaining_uses": 2]) async throws -> String {
        let created = try await HTTP.send("POST", fixture.base + "/api/agents/enrollment-tokens", json: body)
        return try #require(created.json?["token"] as? String, "\(created.status) \(String(decoding: created.body, as: UTF8.self))")
    }

    func startAgent(_ fixture: RunsFixture, _ name: String, token: String? = nil) throws -> Child {
        var arguments = [
            "--hub-url", fixture.base, "--data-dir", fixture.scratch.path + "/agent-" + name, "--heartbeat-seconds", "1", "--name", name,
        ]
        // The token from the environment, never argv (docs/agents.md, "Enrolment").
        let child = try Child(
            Binaries.path("bastion-agent"),
            arguments,
            name: "agent-" + name,
            logDir: fixture.scratch.path,
            environment: token.map { ["BASTION_ENROLL_TOKEN": $0] } ?? [:]
        )
        fixture.children.append(child)
        return child
    }

    func agents(_ fixture: RunsFixture) async -> [String: [String: Any]] {
        guard let result = try? await HTTP.get(fixture.base + "/api/agents"),
            let list = try? JSONSerialization.jsonObject(with: result.body) as? [[String: Any]]
        else { return [:] }
        return Dictionary(uniqueKeysWithValues: list.compactMap { row in (row["name"] as? String).map { ($0, row) } })
    }

    func connected(_ fixture: RunsFixture, _ name: String) async -> Bool {
        await agents(fixture)[name]?["connected"] as? Bool == true
    }

    func bothConnected(_ fixture: RunsFixture) async -> Bool {
        let list = await agents(fixture)
        return list["a1"]?["connected"] as? Bool == true && list["a2"]?["connected"] as? Bool == true
    }

    func enroll(_ fixture: RunsFixture, _ token: String) async throws -> HTTPResult {
        try await HTTP.send("POST", fixture.base + "/agent/enroll", json: ["token": token, "name": "x"], anonymous: true)
    }

    @Test func agentsEnrolConnectAreReplacedSurviveAHubRestartTimeOutAndAreRevoked() async throws {
        let fixture = try await RunsFixture()
        // A two-use token: two agents, then a third use is refused; a malformed, an expired token each with its code.
        let two = try await token(fixture)
        let a1 = try startAgent(fixture, "a1", token: two)
        let a2 = try startAgent(fixture, "a2", token: two)
        let both = await eventually { await bothConnected(fixture) }
        #expect(both, "\(a1.log)\n\(a2.log)")
        let third = try await enroll(fixture, two)
        #expect(third.status == 401 && third.json?["error"] as? String == "invalid_token", "\(third.status)")
        #expect((third.json?["details"] as? [String: Any])?["reason"] as? String == "not_found")
        let malformed = try await enroll(fixture, "not-a-token")
        #expect(malformed.status == 401 && (malformed.json?["details"] as? [String: Any])?["reason"] as? String == "invalid_format")
        let expiring = try await token(fixture, ["ttl_seconds": 60])
        let (database, client) = try #require(fixture.writer())
        defer { Task { await client.shutdown() } }
        try await database.pool.write { db in try db.execute(sql: "UPDATE enrollment_tokens SET expires_at = 0") }
        let expired = try await enroll(fixture, expiring)
        #expect(expired.status == 401 && expired.json?["error"] as? String == "expired_token", "\(expired.status)")
        let noName = try await HTTP.send("POST", fixture.base + "/agent/enroll", json: ["token": try await token(fixture)], anonymous: true)
        #expect(noName.status == 400 && noName.json?["error"] as? String == "invalid_name")
        let badBody = try await HTTP.send("POST", fixture.base + "/agent/enroll", raw: "{", anonymous: true)
        #expect(badBody.status == 400 && badBody.json?["error"] as? String == "invalid_json")
        let tooLong = try await HTTP.send("POST", fixture.base + "/api/agents/enrollment-tokens", json: ["ttl_seconds": 10_000_000])
        #expect(tooLong.status == 400 && tooLong.json?["error"] as? String == "invalid_ttl_seconds")

        // agent.json: the key, readable by its owner only.
        let identityPath = fixture.scratch.path + "/agent-a1/agent.json"
        let attributes = try FileManager.default.attributesOfItem(atPath: identityPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let identity = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: identityPath))) as? [String: Any])
        let key = try #require(identity["agent_key"] as? String)
        #expect(await agents(fixture)["a1"]?["heartbeat_seconds"] as? Int == 1)

        // A second process with a1's identity: the newer connection replaces the older (4409), and the hub keeps the
        // newer one registered when the older goes away.
        try FileManager.default.createDirectory(atPath: fixture.scratch.path + "/agent-twin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: identityPath, toPath: fixture.scratch.path + "/agent-twin/agent.json")
        let twin = try startAgent(fixture, "twin")
        #expect(await eventually { a1.log.contains("code=4409") || twin.log.contains("code=4409") }, "\(a1.log)\n\(twin.log)")
        #expect(fixture.api.log.contains("closing its older connection"))
        twin.kill9()
        #expect(await eventually { await connected(fixture, "a1") })
        try await Task.sleep(for: .seconds(2))
        #expect(await connected(fixture, "a1"), "a late close of the older socket never unregisters the newer one")

        // Silent past 3 heartbeats: the hub closes the link. The agent, resumed, connects again.
        a2.signal(SIGSTOP)
        #expect(await eventually(timeout: .seconds(10)) { !(await connected(fixture, "a2")) })
        #expect(fixture.api.log.contains("idle timeout") || fixture.api.log.contains("Agent silent"))
        a2.signal(SIGCONT)
        #expect(await eventually(timeout: .seconds(40)) { await connected(fixture, "a2") }, "\(a2.log)")

        // The hub restarts: both agents come back by themselves (first delay spread over 0-10 s).
        fixture.api.signal(SIGTERM)
        _ = await fixture.api.waitForExit(timeout: .seconds(20))
        try fixture.startAPI()
        #expect(await eventually(timeout: .seconds(20)) { await HTTP.tryGet(fixture.base + "/api/ready")?.status == 200 })
        try await fixture.signIn()
        let back = await eventually(timeout: .seconds(30)) { await bothConnected(fixture) }
        #expect(back, "\(a1.log)\n\(a2.log)")

        // Rotate a2's key over its link: it stores the new key, the old one stops working, and it reconnects with the new.
        let a2Path = fixture.scratch.path + "/agent-a2/agent.json"
        func storedKey() throws -> String? {
            (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: a2Path))) as? [String: Any])?["agent_key"] as? String
        }
        let oldKey = try #require(try storedKey())
        let a2Id = try #require(await agents(fixture)["a2"]?["id"] as? String)
        let rotated = try await HTTP.send("POST", fixture.base + "/api/agents/\(a2Id)/rotate-key")
        #expect(rotated.status == 200, "\(rotated.status) \(String(decoding: rotated.body, as: UTF8.self))")
        let newKey = try #require(try storedKey())
        #expect(newKey != oldKey)
        // The agent reconnects with the new key, which then replaces the old one (both worked until it proved it).
        let oldRefused = await eventually {
            let old = try? await HTTP.get(fixture.base + "/agent/status", headers: ["Authorization": "Bearer \(oldKey)"], anonymous: true)
            return old?.status == 401 && old?.json?["error"] as? String == "unauthorized"
        }
        #expect(oldRefused, "\(a2.log)")
        let fresh = try await HTTP.get(fixture.base + "/agent/status", headers: ["Authorization": "Bearer \(newKey)"], anonymous: true)
        #expect(fresh.status == 200 && fresh.json?["agent_id"] as? String == a2Id)
        #expect(await eventually { await connected(fixture, "a2") }, "\(a2.log)")
        #expect(try await HTTP.send("POST", fixture.base + "/api/agents/nope/rotate-key").status == 404)

        // Revoke: the live socket closes (4401), the agent stops, and its key opens nothing any more.
        let a1Id = try #require(await agents(fixture)["a1"]?["id"] as? String)
        let revoked = try await HTTP.send("POST", fixture.base + "/api/agents/\(a1Id)/revoke")
        #expect(revoked.status == 200 && revoked.json?["revoked_at"] is Int)
        #expect(await a1.waitForExit(timeout: .seconds(15)) == 3, "\(a1.log)")
        #expect(a1.log.contains("code=4401"))
        let status = try await HTTP.get(fixture.base + "/agent/status", headers: ["Authorization": "Bearer \(key)"], anonymous: true)
        #expect(status.status == 401 && status.json?["error"] as? String == "revoked")
        do {
            _ = try await RawWebSocket.connect(port: fixture.port, path: "/agent/ws", headers: ["Authorization": "Bearer \(key)"])
            Issue.record("a revoked key opened the agent WebSocket")
        } catch let refused as RawWebSocket.Refused {
            #expect(refused.status == 401 && refused.body.contains("revoked"), "\(refused)")
        }
        do {
            _ = try await RawWebSocket.connect(port: fixture.port, path: "/agent/ws")
            Issue.record("no key opened the agent WebSocket")
        } catch let refused as RawWebSocket.Refused {
            #expect(refused.status == 401 && refused.body.contains("unauthorized"), "\(refused)")
        }
        #expect(try await HTTP.send("POST", fixture.base + "/api/agents/nope/revoke").status == 404)
        #expect(await connected(fixture, "a2"))
        // An agent that is not connected cannot receive a new key: nothing changes.
        a2.signal(SIGSTOP)
        #expect(await eventually(timeout: .seconds(10)) { !(await connected(fixture, "a2")) })
        let offline = try await HTTP.send("POST", fixture.base + "/api/agents/\(a2Id)/rotate-key")
        #expect(offline.status == 409 && offline.json?["error"] as? String == "agent_offline")
        a2.signal(SIGCONT)
    }
}
