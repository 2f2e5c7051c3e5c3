import Foundation

/// Where a notification goes: a named destination of one of these channels (docs/architecture.md, "Notifications").
/// Job pings are not a channel of destinations: their queue rows have channel `ping` (`NotificationRecord.pingChannel`).
public enum NotificationChannel: String, Sendable, Codable, CaseIterable {
    case webhook
    case wecomBot = "wecom_bot"
    /// SMTP through libcurl.
    case email
    /// One POST to an ntfy topic.
    case ntfy
}

/// `notifications.status`.
public enum NotificationStatus: String, Sendable, Codable, CaseIterable {
    case queued, sending, sent, failed, canceled
}

/// One row of the delivery queue: a finished run × one destination, or one ping of a job's `pings` (channel `ping`).
public struct NotificationRecord: Sendable, Equatable {
    /// The queue's channel for job pings; their `destination` is `pings.<index>.<event>` and the URL is in the row.
    public static let pingChannel = "ping"

    public var id: String
    public var runId: String
    public var channel: String
    /// The destination's name (the original's column name).
    public var destination: String
    public var status: NotificationStatus
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var createdAt: Int64
    public var updatedAt: Int64
    public var lastError: String?

    public init(
        id: String,
        runId: String,
        channel: String,
        destination: String,
        status: NotificationStatus,
        attempts: Int,
        nextAttemptAt: Int64,
        createdAt: Int64,
        updatedAt: Int64,
        lastError: String? = nil
    ) {
        self.id = id
        self.runId = runId
        self.channel = channel
        self.destination = destination
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastError = lastError
    }
}

/// The retry schedule: `30·2^(n-1)` seconds after the n-th failed attempt, capped at 3,600 s; 10 attempts at most.
public enum NotificationRetry {
    public static let maxAttempts = 10
    public static let timeout: Duration = .seconds(10)

    /// Seconds to wait after `attempts` failed attempts (1 → 30, 2 → 60, … 8+ → 3600).
    public static func delay(afterAttempts attempts: Int) -> Int64 {
        let exponent = max(0, min(attempts - 1, 20))
        return min(3600, 30 << Int64(exponent))
    }
}
