import Core
import Foundation
import Hummingbird
import Notifications
import Secrets
import Store

/// Notifications: global settings, destinations (addresses encrypted in `secrets`), and the delivery queue
/// (docs/architecture.md).
struct NotificationsController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("notifications/settings", use: settings)
        group.put("notifications/settings", use: updateSettings)
        group.get("notifications/destinations", use: destinations)
        group.put("notifications/destinations/:channel/:name", use: saveDestination)
        group.delete("notifications/destinations/:channel/:name", use: deleteDestination)
        group.post("notifications/destinations/:channel/:name/enabled", use: setEnabled)
        group.post("notifications/destinations/:channel/:name/test", use: test)
        group.get("notifications/queue", use: queue)
        group.post("notifications/queue/:id/retry-now", use: retryNow)
        group.post("notifications/queue/:id/cancel", use: cancel)
    }

    // MARK: - Settings

    /// The settings document as it is stored (`NotificationSettings.json`).
    typealias SettingsDTO = JSONValue

    @Sendable func settings(_ request: Request, context: AppRequestContext) async throws -> SettingsDTO {
        try await services.database.notificationSettings().json
    }

    /// `PUT /api/notifications/settings`: members left out keep their current value.
    @Sendable func updateSettings(_ request: Request, context: AppRequestContext) async throws -> SettingsDTO {
        let body = try await RequestInput.object(request, known: ["enabled", "channels", "templates"])
        if case .object(let channels)? = body["channels"] {
            for (name, entry) in channels {
                if case .object(let object) = entry { try RequestInput.refuseUnknownKeys(object, known: ["enabled"], at: "channels.\(name)") }
            }
        }
        if case .object(let templates)? = body["templates"] {
            try RequestInput.refuseUnknownKeys(templates, known: ["wecom_markdown", "email", "ntfy"], at: "templates")
            if case .object(let email)? = templates["email"] {
                try RequestInput.refuseUnknownKeys(email, known: ["subject", "body"], at: "templates.email")
            }
            if case .object(let ntfy)? = templates["ntfy"] {
                try RequestInput.refuseUnknownKeys(ntfy, known: ["title", "body"], at: "templates.ntfy")
            }
        }
        let current = try await services.database.notificationSettings()
        let updated: NotificationSettings
        do {
            updated = try NotificationSettings.parse(.object(body), base: current)
        } catch let error as ValidationError {
            throw RequestInput.badRequest(error)
        }
        try await services.database.saveNotificationSettings(updated)
        return updated.json
    }

    // MARK: - Destinations

    struct DestinationDTO: ResponseEncodable {
        var channel: String
        var name: String
        var enabled: Bool
        var createdAt: Int64
        var updatedAt: Int64
        /// E-mail: `{host, port, tls, username, from, to, has_password, has_ca_cert}`; ntfy: `{server, priority, tags,
        /// has_token}` (`DestinationConfig.publicJSON`); absent for webhook and WeCom, whose URLs are credentials.
        var config: JSONValue?

        init(_ destination: NotificationDestination, config: DestinationConfig? = nil) {
            channel = destination.channel.rawValue
            name = destination.name
            enabled = destination.enabled
            createdAt = destination.createdAt
            updatedAt = destination.updatedAt
            self.config = config?.publicJSON
        }
    }

    @Sendable func destinations(_ request: Request, context: AppRequestContext) async throws -> [DestinationDTO] {
        var result: [DestinationDTO] = []
        for destination in try await services.database.notificationDestinations() {
            var config: DestinationConfig?
            if destination.channel == .email || destination.channel == .ntfy {
                config = try await storedConfig(channel: destination.channel, name: destination.name)
            }
            result.append(DestinationDTO(destination, config: config))
        }
        return result
    }

    /// The destination's decrypted configuration; nil when there is none or it is unreadable.
    func storedConfig(channel: NotificationChannel, name: String) async throws -> DestinationConfig? {
        guard let sealed = try await services.database.notificationDestinationSecret(channel: channel, name: name),
            let plaintext = try? SecretBox.open(in: services.config.common.dataDirectory).open(sealed, kind: channel.rawValue, name: name),
            let value = try? JSONValue.parse(String(decoding: plaintext, as: UTF8.self))
        else { return nil }
        return DestinationConfig.fromSecretJSON(channel: channel, value)
    }

    /// `PUT …/destinations/{channel}/{name}` with `{url, secret?, enabled?}` (webhook), `{webhook_url, enabled?}`
    /// (wecom_bot), `{host, port?, tls?, username?, password?, from, to, ca_cert_pem?, enabled?}` (email) or `{url,
    /// token?, priority?, tags?, enabled?}` (ntfy): creates or replaces the destination; the whole configuration is
    /// encrypted under `master.key`. An e-mail password or ntfy token left out is kept from the stored one (`null`
    /// removes it), so a form that never sees it can save the rest.
    @Sendable func saveDestination(_ request: Request, context: AppRequestContext) async throws -> DestinationDTO {
        let (channel, name) = try Self.destinationKey(context)
        let body = try await RequestInput.object(request, known: DestinationConfig.keys(channel))
        var config: DestinationConfig
        do {
            config = try DestinationConfig.parse(channel: channel, body)
        } catch let error as ValidationError {
            throw RequestInput.badRequest(error)
        }
        if let previous = try await storedConfig(channel: channel, name: name) {
            config = config.keepingCredential(of: previous, body: body)
        }
        let savedConfig = config
        var enabled: Bool?
        switch body["enabled"] {
        case nil, .null?: enabled = nil
        case .bool(let flag)?: enabled = flag
        default: throw APIError(status: .badRequest, code: "invalid_enabled", message: "enabled must be true or false", details: ["field": "enabled"])
        }
        let sealed = try SecretBox.open(in: services.config.common.dataDirectory)
            .seal(Data(config.secretJSON.jsonString().utf8), kind: channel.rawValue, name: name)
        let destination = try await services.database.saveNotificationDestination(channel: channel, name: name, sealed: sealed, enabled: enabled)
        context.logger.info("Notification destination saved", metadata: ["channel": "\(channel.rawValue)", "destination": "\(name)"])
        return DestinationDTO(destination, config: savedConfig)
    }

    @Sendable func deleteDestination(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (channel, name) = try Self.destinationKey(context)
        guard try await services.database.deleteNotificationDestination(channel: channel, name: name) else { throw APIError.destinationNotFound }
        return Response(status: .noContent)
    }

    /// `POST …/{channel}/{name}/enabled {enabled}`.
    @Sendable func setEnabled(_ request: Request, context: AppRequestContext) async throws -> DestinationDTO {
        let (channel, name) = try Self.destinationKey(context)
        let body = try await RequestInput.object(request, known: ["enabled"])
        guard case .bool(let enabled)? = body["enabled"] else {
            throw APIError(status: .badRequest, code: "invalid_enabled", message: "enabled must be true or false", details: ["field": "enabled"])
        }
        guard let destination = try await services.database.setNotificationDestinationEnabled(channel: channel, name: name, enabled: enabled)
        else { throw APIError.destinationNotFound }
        return DestinationDTO(destination)
    }

    struct TestResult: ResponseEncodable {
        var ok: Bool
    }

    /// `POST …/{channel}/{name}/test`: sends a test message now, from the API, and reports the outcome (502
    /// `notification_test_failed` with the receiver's answer when it fails). Works on disabled destinations too.
    @Sendable func test(_ request: Request, context: AppRequestContext) async throws -> TestResult {
        let (channel, name) = try Self.destinationKey(context)
        guard let sealed = try await services.database.notificationDestinationSecret(channel: channel, name: name) else {
            throw APIError.destinationNotFound
        }
        let plaintext = try SecretBox.open(in: services.config.common.dataDirectory).open(sealed, kind: channel.rawValue, name: name)
        guard let config = DestinationConfig.fromSecretJSON(channel: channel, try JSONValue.parse(String(decoding: plaintext, as: UTF8.self)))
        else { throw APIError(status: .conflict, code: "destination_unreadable", message: "the destination's stored address is unreadable") }
        let now = unixNow()
        do {
            try await NotificationSender().send(
                .test(now: now),
                to: config,
                settings: try await services.database.notificationSettings(),
                notificationId: "test-\(UUID().uuidString.lowercased())",
                attempt: 1,
                now: now
            )
        } catch {
            throw APIError(status: .badGateway, code: "notification_test_failed", message: "\(error)")
        }
        return TestResult(ok: true)
    }

    static func destinationKey(_ context: AppRequestContext) throws -> (NotificationChannel, String) {
        let rawChannel = try context.parameters.require("channel")
        guard let channel = NotificationChannel(rawValue: rawChannel) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_channel",
                message: "unknown channel \(rawChannel) (webhook, wecom_bot, email, ntfy)",
                details: ["field": "channel"]
            )
        }
        let name = try context.parameters.require("name").removingPercentEncoding ?? ""
        do {
            try DestinationConfig.validateName(name)
        } catch let error as ValidationError {
            throw RequestInput.badRequest(error)
        }
        return (channel, name)
    }

    // MARK: - Queue

    struct NotificationDTO: ResponseEncodable {
        var id: String
        var runId: String
        var channel: String
        var destination: String
        var status: String
        var attempts: Int
        var nextAttemptAt: Int64
        var createdAt: Int64
        var updatedAt: Int64
        var lastError: String?

        init(record: NotificationRecord) {
            id = record.id
            runId = record.runId
            channel = record.channel
            destination = record.destination
            status = record.status.rawValue
            attempts = record.attempts
            nextAttemptAt = record.nextAttemptAt
            createdAt = record.createdAt
            updatedAt = record.updatedAt
            lastError = record.lastError
        }
    }

    struct QueuePage: ResponseEncodable {
        var items: [NotificationDTO]
        var nextCursor: String?
    }

    /// `GET /api/notifications/queue?status=&channel=&page_size=&cursor=`: newest first, keyset-paged with an opaque
    /// `next_cursor` (null on the last page).
    @Sendable func queue(_ request: Request, context: AppRequestContext) async throws -> QueuePage {
        let parameters = request.uri.queryParameters
        var status: NotificationStatus?
        if let raw = parameters.get("status") {
            guard let parsed = NotificationStatus(rawValue: raw) else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_query",
                    message: "status must be one of \(NotificationStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                    details: ["field": "status"]
                )
            }
            status = parsed
        }
        let channel = parameters.get("channel")
        if let channel, NotificationChannel(rawValue: channel) == nil, channel != NotificationRecord.pingChannel {
            throw APIError(
                status: .badRequest,
                code: "invalid_query",
                message: "channel must be webhook, wecom_bot, email, ntfy or ping",
                details: ["field": "channel"]
            )
        }
        let pageSize = try RequestInput.paging(request).pageSize
        let before = try RequestInput.cursor(request).map { ($0.time, $0.id) }
        let items = try await services.database.notifications(status: status, channel: channel, before: before, limit: pageSize + 1)
        let page = Array(items.prefix(pageSize))
        let next = items.count > pageSize ? page.last.map { ListCursor(time: $0.createdAt, id: $0.id).token } : nil
        return QueuePage(items: page.map(NotificationDTO.init), nextCursor: next)
    }

    @Sendable func retryNow(_ request: Request, context: AppRequestContext) async throws -> NotificationDTO {
        let record = try Self.changed(try await services.database.retryNotificationNow(id: try context.parameters.require("id")), action: "retried")
        return NotificationDTO(record: record)
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> NotificationDTO {
        NotificationDTO(
            record: try Self.changed(try await services.database.cancelNotification(id: try context.parameters.require("id")), action: "canceled")
        )
    }

    static func changed(_ change: NotificationChange, action: String) throws -> NotificationRecord {
        switch change {
        case .changed(let record): return record
        case .notFound: throw APIError(status: .notFound, code: "notification_not_found", message: "notification not found")
        case .invalidState(let status):
            throw APIError(
                status: .conflict,
                code: "invalid_state",
                message: "a \(status.rawValue) notification cannot be \(action)",
                details: ["status": status.rawValue]
            )
        }
    }
}

extension APIError {
    static let destinationNotFound = APIError(status: .notFound, code: "destination_not_found", message: "notification destination not found")
}
