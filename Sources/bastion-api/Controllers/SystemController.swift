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
    /// also the database and the connected processes (paths and PIDs are not for anonymous callers).
    struct SystemInfo: ResponseEncodable {
        struct Peer: Codable {
            var id: String
            var pid: Int32
        }

        struct Bus: Codable {
            var socket: String
            var workers: [Peer]
            var janitors: [Peer]
        }

        var version: String
        var buildTimeUnix: Int64?
        var insecureHttp: Bool
        var hubTimezone: String
        var database: Omittable<DatabaseDescription> = .absent
        var bus: Omittable<Bus> = .absent
    }

    @Sendable func system(_ request: Request, context: AppRequestContext) async throws -> SystemInfo {
        var info = SystemInfo(
            version: BastionVersion.current,
            buildTimeUnix: nil,
            insecureHttp: services.config.network.insecureHTTP,
            hubTimezone: services.config.hubTimezone
        )
        guard try await SessionCookie.session(request.headers, database: services.database) != nil else { return info }
        let peers = services.bus.connectedPeers()
        func list(_ role: BusRole) -> [SystemInfo.Peer] {
            peers.filter { $0.role == role }.map { SystemInfo.Peer(id: $0.id, pid: $0.pid) }
        }
        info.database = .present(try await services.database.describe())
        info.bus = .present(.init(socket: services.bus.socketPath, workers: list(.worker), janitors: list(.janitor)))
        return info
    }
}
