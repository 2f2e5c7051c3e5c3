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
}
