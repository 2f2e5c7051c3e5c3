import Core

/// The after-COMMIT publisher of a process that reaches the API through a `BusClient` (a worker, the janitor): each
/// committed batch of events goes as one `events` frame (split only when it outgrows a frame), progress as `progress`
/// frames, cancels as `cancel`; a wake signals this process's own loop for that topic and, for the topics in
/// `relayed`, goes to the API, which relays it to every worker (docs/architecture.md, "After COMMIT").
public struct BusClientPublisher: AfterCommitPublisher {
    public let client: BusClient
    public let local: [WakeTopic: WakeSignal]
    public let relayed: Set<WakeTopic>

    public init(client: BusClient, local: [WakeTopic: WakeSignal] = [:], relayed: Set<WakeTopic> = Set(WakeTopic.allCases)) {
        self.client = client
        self.local = local
        self.relayed = relayed
    }

    public func publish(_ work: AfterCommit) {
        for message in BusMessage.eventBatches(work.events) { client.send(message) }
        for update in work.progress { client.send(.progress(update)) }
        for runId in work.cancels { client.send(.cancel(runId: runId)) }
        for topic in WakeTopic.allCases where work.wakes.contains(topic) {
            local[topic]?.signal()
            if relayed.contains(topic) { client.send(.wake(topic)) }
        }
    }
}
