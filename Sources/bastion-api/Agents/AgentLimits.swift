import Store

/// What one agent may send the hub (docs/agents.md, "Limits"), so a flooding agent only slows itself.
struct AgentLimits: Sendable {
    /// Events per second, refilled continuously; a burst of twice as many passes at once.
    var eventsPerSecond = 500
    /// Event bytes (message and fields) per second: 2 KiB per event of the rate, a burst of twice as many.
    var bytesPerSecond: Int { eventsPerSecond * 2048 }
    /// Events stored per run; past it they are acknowledged and dropped, with one warning in the run's log.
    var eventsPerRun: Int64 = AppDatabase.maxAgentEventsPerRun
}

/// One connection's token buckets (events and bytes). Every frame costs at least one event, so pings, acks and
/// progress samples are paced too. The connection's reader waits out a debt before it reads the next frame: the agent's
/// socket backs up and its sends block, nothing is dropped, and no other connection or the UI waits for it.
struct AgentBudget {
    let limits: AgentLimits
    private var events: Double
    private var bytes: Double
    private var refilled = ContinuousClock.now

    init(limits: AgentLimits) {
        self.limits = limits
        events = Double(2 * limits.eventsPerSecond)
        bytes = Double(2 * limits.bytesPerSecond)
    }

    /// Spends a frame's cost; returns how long the reader must wait before the next frame (zero within the budget).
    mutating func spend(events count: Int, bytes size: Int, now: ContinuousClock.Instant = .now) -> Duration {
        let elapsed = now - refilled
        refilled = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let eventRate = Double(limits.eventsPerSecond)
        let byteRate = Double(limits.bytesPerSecond)
        events = min(2 * eventRate, events + seconds * eventRate) - Double(max(1, count))
        bytes = min(2 * byteRate, bytes + seconds * byteRate) - Double(size)
        let wait = max(-events / eventRate, -bytes / byteRate, 0)
        return .seconds(min(wait, 60))
    }
}
