import Bus
import Core
import Logging
import Synchronization
import Tracing

/// The API's after-COMMIT publisher (docs/architecture.md, "After COMMIT"): what its own transactions commit goes to
/// its WebSocket hub (events, progress) and, over the bus, to the workers (wakes, cancels). Workers' commits arrive
/// over the bus and take the same hub path in `BusServerService`.
struct APIPublisher: AfterCommitPublisher {
    let hub: RunEventsHub
    let bus: BusServer
    /// The agents' side of the same hints: `wake runs` looks for agent work, a cancel reaches the agent holding the run.
    var agents: AgentRelay = AgentRelay()

    func publish(_ work: AfterCommit) {
        hub.publish(work.events)
        for update in work.progress { hub.publishProgress(update) }
        if work.wakes.contains(.runs) { agents.runsWoken() }
        if !work.cancels.isEmpty { agents.canceled(Array(work.cancels)) }
        for topic in WakeTopic.allCases where work.wakes.contains(topic) {
            busHop("bus wake \(topic.rawValue)") { bus.broadcast(.wake(topic), to: topic.isForJanitor ? .janitor : .worker) }
        }
        for runId in work.cancels { busHop("bus cancel") { bus.broadcast(.cancel(runId: runId)) } }
    }

    /// A bus hop sent on behalf of a traced request: a producer span under it (docs/observability.md, "Tracing");
    /// untraced commits (the workers' relayed ones, tracing off) send without a span.
    private func busHop(_ name: String, _ send: () -> Void) {
        guard ServiceContext.current != nil else { return send() }
        withSpan(name, ofKind: .producer) { _ in send() }
    }
}

/// Hands wakes and cancels to the agent gateway, which exists only once the services do (the database it uses is
/// opened with the publisher that holds this).
final class AgentRelay: Sendable {
    private let gateway = Mutex<AgentGateway?>(nil)
    let logger = Logger(label: "agents")

    func attach(_ agents: AgentGateway) { gateway.withLock { $0 = agents } }

    func runsWoken() {
        guard let agents = gateway.withLock({ $0 }) else { return }
        let logger = logger
        Task { await agents.dispatchAll(logger: logger) }
    }

    func canceled(_ runIds: [String]) {
        guard let agents = gateway.withLock({ $0 }) else { return }
        Task { await agents.cancel(runIds: runIds) }
    }
}
