import Core
import Foundation
import Logging
import Secrets
import Store

/// The worker's delivery engine: claims due notifications one at a time, checks the switches, decrypts the
/// destination, sends, and records the outcome (retry schedule in `NotificationRetry`).
public struct NotificationDeliverer: Sendable {
    public let database: AppDatabase
    let dataDirectory: DataDirectory
    let sender: NotificationSender
    public let clock: SchedulerClock
    let logger: Logger

    public init(
        database: AppDatabase,
        dataDirectory: DataDirectory,
        sender: NotificationSender = NotificationSender(),
        clock: SchedulerClock,
        logger: Logger
    ) {
        self.database = database
        self.dataDirectory = dataDirectory
        self.sender = sender
        self.clock = clock
        self.logger = logger
    }

    /// Sends every notification that is due, one after another, until none is (or the task is cancelled).
    /// Returns how many attempts were made.
    @discardableResult
    public func deliverDue() async -> Int {
        var attempts = 0
        while !Task.isCancelled {
            let delivery: NotificationDelivery?
            do {
                delivery = try await database.claimDueNotification(now: clock.now())
            } catch is CancellationError {
                return attempts  // shutting down
            } catch {
                logger.error("Claiming a notification failed", metadata: ["error": "\(error)"])
                return attempts
            }
            guard let delivery else { return attempts }
            attempts += 1
            let outcome = await attempt(delivery)
            var metadata: Logger.Metadata = [
                "notification.id": "\(delivery.record.id)", "run.id": "\(delivery.record.runId)",
                "channel": "\(delivery.record.channel)", "destination": "\(delivery.record.destination)",
            ]
            do {
                let status = try await database.finishNotification(delivery, outcome: outcome, now: clock.now())
                metadata["status"] = "\(status?.rawValue ?? "taken over")"
                switch outcome {
                case .sent: logger.info("Notification sent", metadata: metadata)
                case .canceled(let reason):
                    metadata["reason"] = "\(reason)"
                    logger.info("Notification canceled", metadata: metadata)
                case .failed(let error):
                    metadata["error"] = "\(error)"
                    logger.warning("Notification attempt failed", metadata: metadata)
                }
            } catch {
                // Left in `sending`: the janitor re-queues it after the lease.
                logger.error("Recording a notification outcome failed", metadata: ["notification.id": "\(delivery.record.id)", "error": "\(error)"])
            }
        }
        return attempts
    }

    /// The earliest due time of a queued notification.
    public func nextDue() async throws -> Int64? {
        try await database.nextNotificationDue()
    }

    func attempt(_ delivery: NotificationDelivery) async -> DeliveryOutcome {
        let record = delivery.record
        if record.channel == NotificationRecord.pingChannel { return await ping(delivery) }
        guard let channel = NotificationChannel(rawValue: record.channel) else { return .canceled("unsupported channel \(record.channel)") }
        guard delivery.settings.enabled else { return .canceled("notifications disabled") }
        guard delivery.settings.allows(channel) else { return .canceled("channel disabled") }
        guard let enabled = delivery.destinationEnabled, let sealed = delivery.sealedConfig else { return .canceled("destination deleted") }
        guard enabled else { return .canceled("destination disabled") }
        let config: DestinationConfig
        do {
            let plaintext = try SecretBox.open(in: dataDirectory).open(sealed, kind: record.channel, name: record.destination)
            guard let parsed = DestinationConfig.fromSecretJSON(channel: channel, try JSONValue.parse(String(decoding: plaintext, as: UTF8.self)))
            else { return .failed("destination secret is unreadable") }
            config = parsed
        } catch {
            return .failed("\(error)")
        }
        do {
            try await sender.send(
                RunNotification(run: delivery.run, runId: record.runId, jobName: delivery.jobName),
                to: config,
                settings: delivery.settings,
                notificationId: record.id,
                attempt: record.attempts + 1,
                now: clock.now()
            )
            return .sent
        } catch {
            return .failed("\(error)")
        }
    }

    /// The largest failure-ping body: the run's summary, or without it when it would not fit.
    public static let maxPingBodyBytes = 10 * 1024

    /// One job ping (channel `ping`): its URL is in the row, not in a destination; the switches of notifications do
    /// not apply. A failure ping's body is the run's status, error and summary as JSON (at most `maxPingBodyBytes`).
    func ping(_ delivery: NotificationDelivery) async -> DeliveryOutcome {
        guard case .object(let payload)? = delivery.ping, case .string(let url)? = payload["url"], case .string(let event)? = payload["event"]
        else { return .canceled("ping without a URL") }
        var body = Data()
        if event == JobPings.Event.failure.rawValue {
            body = Self.failurePingBody(RunNotification(run: delivery.run, runId: delivery.record.runId, jobName: delivery.jobName))
        }
        do {
            try await sender.ping(url: url, body: body)
            return .sent
        } catch {
            return .failed("\(error)")
        }
    }

    static func failurePingBody(_ notification: RunNotification) -> Data {
        func number(_ value: Int64?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }
        var object: [String: JSONValue] = [
            "run_id": .string(notification.runId), "job_id": .string(notification.jobId), "job_name": .string(notification.jobName),
            "status": .string(notification.status), "error": notification.error.map(JSONValue.string) ?? .null,
            "started_at": number(notification.startedAt), "ended_at": number(notification.endedAt),
            "summary": notification.summary ?? .null,
        ]
        var body = Data(JSONValue.object(object).jsonString().utf8)
        if body.count > maxPingBodyBytes {
            object["summary"] = .null
            object["summary_truncated"] = .bool(true)
            if case .string(let error)? = object["error"], error.utf8.count > maxPingBodyBytes / 2 {
                object["error"] = .string(String(decoding: Array(error.utf8.prefix(maxPingBodyBytes / 2)), as: UTF8.self))
            }
            body = Data(JSONValue.object(object).jsonString().utf8)
        }
        return body
    }
}
