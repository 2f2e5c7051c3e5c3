import Bus
import Core
import Foundation
import Hummingbird
import Store

/// Liveness, readiness and what the system is made of.
struct SystemController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("health", use: health)
        group.get("ready", use: ready)
        group.get("system", use: system)
    }

    struct OK: ResponseEncodable {
        var ok: Bool
    }

    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> OK {
        OK(ok: true)
    }

    @Sendable func ready(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<OK> {
        do {
            try await services.database.ping()
            return EditedResponse(status: .ok, response: OK(ok: true))
        } catch {
            context.logger.warning("Readiness check failed", metadata: ["error": "\(error)"])
            return EditedResponse(status: .serviceUnavailable, response: OK(ok: false))
        }
    }

    /// What the original shows anyone (`version`, `build_time_unix`, `insecure_http`, `hub_timezone`); signed in,
    /// also the database with its file sizes, the connected processes with their last contact, the agents, and every
    /// setting the API (and the connected janitor) read at start with its source (paths and PIDs are not for anonymous
    /// callers; docs/ui.md, "Settings pages").
    struct SystemInfo: ResponseEncodable {
        struct Peer: Codable {
            var id: String
            var pid: Int32
            var connectedAt: Int64
            var lastContactAt: Int64
        }

        struct Bus: Codable {
            var socket: String
            var workers: [Peer]
            var janitors: [Peer]
        }

        struct Database: Codable {
            var path: String
            var sqliteVersion: String
            var journalMode: String
            /// `bastion.db` and `bastion.db-wal` on disk (0 when there is none).
            var sizeBytes: Int64
            var walBytes: Int64
        }

        struct AgentContact: Codable {
            var id: String
            var name: String
            var connected: Bool
            var lastSeenAt: Int64?
        }

        /// A `RuntimeSetting` and the process that read it (`api` or `janitor`).
        struct Setting: Codable {
            var process: String
            var name: String
            var option: String
            var env: String
            var value: String
            var source: OptionSource
            var restartRequired: Bool
        }

        var version: String
        var buildTimeUnix: Int64?
        var insecureHttp: Bool
        var hubTimezone: String
        var database: Omittable<Database> = .absent
        var bus: Omittable<Bus> = .absent
        var agents: Omittable<[AgentContact]> = .absent
        var runtime: Omittable<[Setting]> = .absent
    }

    @Sendable func system(_ request: Request, context: AppRequestContext) async throws -> SystemInfo {
        var info = SystemInfo(
            version: BastionVersion.current,
            buildTimeUnix: nil,
            insecureHttp: services.config.network.insecureHTTP,
            hubTimezone: services.config.hubTimezone
        )
        guard try await SessionCookie.session(request.headers, database: services.database) != nil else { return info }
        let contacts = services.bus.peerContacts()
        func list(_ role: BusRole) -> [SystemInfo.Peer] {
            contacts.filter { $0.peer.role == role }.map {
                SystemInfo.Peer(id: $0.peer.id, pid: $0.peer.pid, connectedAt: $0.connectedAt, lastContactAt: $0.lastFrameAt)
            }
        }
        let described = try await services.database.describe()
        info.database = .present(
            .init(
                path: described.path,
                sqliteVersion: described.sqliteVersion,
                journalMode: described.journalMode,
                sizeBytes: Self.fileSize(described.path),
                walBytes: Self.fileSize(described.path + "-wal")
            )
        )
        info.bus = .present(.init(socket: services.bus.socketPath, workers: list(.worker), janitors: list(.janitor)))
        let connectedAgents = await services.agents.connectedAgents
        info.agents = .present(
            try await services.database.agents().filter { $0.revokedAt == nil }.map {
                SystemInfo.AgentContact(id: $0.id, name: $0.name, connected: connectedAgents.contains($0.id), lastSeenAt: $0.lastSeenAt)
            }
        )
        func settings(_ process: String, _ list: [RuntimeSetting]) -> [SystemInfo.Setting] {
            list.map {
                SystemInfo.Setting(
                    process: process,
                    name: $0.name,
                    option: $0.option,
                    env: $0.env,
                    value: $0.value,
                    source: $0.source,
                    restartRequired: $0.restartRequired
                )
            }
        }
        var runtime = settings("api", services.config.runtime)
        // The janitor's file, while the janitor that wrote it is connected (an older file would show stale values).
        if let file = RuntimeFile.read(from: services.config.common.dataDirectory.janitorRuntimePath),
            contacts.contains(where: { $0.peer.role == .janitor && $0.peer.pid == file.pid })
        {
            runtime += settings("janitor", file.settings)
        }
        info.runtime = .present(runtime)
        return info
    }

    /// A file's size in bytes, 0 when it is missing.
    static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}
