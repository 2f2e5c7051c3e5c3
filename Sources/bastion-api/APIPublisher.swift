import Bus
import Core

/// The API's after-COMMIT publisher (docs/architecture.md, "After COMMIT"): what its own transactions commit goes to
/// its WebSocket hub (events, progress) and, over the bus, to the workers (wakes, cancels). Workers' commits arrive
/// over the bus and take the same hub path in `BusServerService`.
struct APIPublisher: AfterCommitPublisher {
    let hub: RunEventsHub
    let bus: BusServer

    func publish(_ work: AfterCommit) {
        hub.publish(work.events)
        for update in work.progress { hub.publishProgress(update) }
        for topic in WakeTopic.allCases where work.wakes.contains(topic) { bus.broadcast(.wake(topic), to: topic.isForJanitor ? .janitor : .worker) }
        for runId in work.cancels { bus.broadcast(.cancel(runId: runId)) }
    }
}
