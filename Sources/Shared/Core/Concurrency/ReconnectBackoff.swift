/// Exponential backoff with full jitter, for bus reconnects (docs/architecture.md, "The bus") and an agent's link to
/// the hub (docs/agents.md, "Reconnecting").
///
/// The ceiling doubles from `base` to `cap` with each failed attempt; the delay is uniform in `[0, ceiling]`.
/// It resets only after a connection that stayed up for `healthyAfter`, so a server that accepts and drops at once
/// does not get hammered.
public struct ReconnectBackoff: Sendable {
    public let base: Duration
    public let cap: Duration
    public let healthyAfter: Duration
    public private(set) var attempt = 0

    public init(base: Duration = .milliseconds(50), cap: Duration = .seconds(5), healthyAfter: Duration = .seconds(5)) {
        self.base = base
        self.cap = cap
        self.healthyAfter = healthyAfter
    }

    /// The current ceiling before jitter.
    public var ceiling: Duration {
        var value = base
        for _ in 0..<min(attempt, 30) where value < cap {
            value *= 2
        }
        return min(value, cap)
    }

    /// Returns the next delay and counts the attempt.
    public mutating func nextDelay<R: RandomNumberGenerator>(using generator: inout R) -> Duration {
        let limit = ceiling
        attempt += 1
        let nanos = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(nanos, 0), using: &generator))
    }

    public mutating func nextDelay() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    /// Called when a connection ends after having been up for `uptime`.
    public mutating func connectionEnded(after uptime: Duration) {
        if uptime >= healthyAfter { attempt = 0 }
    }
}
