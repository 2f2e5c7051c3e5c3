import Bus
import Core
import Foundation
import Metrics
import NIOCore
import Synchronization

/// The API's in-process run-event fan-out (docs/architecture.md, "Run events over WebSocket": bounded buffers, idle pruning).
///
/// Each subscriber gets its own bounded queue (`capacity`, 1024 by default). `publish` never waits: a subscriber
/// that falls behind loses its oldest queued deliveries and is flagged `lagged`; it then re-reads the database
/// (the source of truth) from the last seq it sent. Per-run entries are created on subscribe and pruned once they
/// have had no subscriber for `idleTTL` (10 min), checked every 128 operations.
public final class RunEventsHub: Sendable {
    /// What a subscriber receives.
    public enum Delivery: Sendable, Equatable {
        /// An event and its frame: the text encoded once where it was committed (`event.json`), copied once into a
        /// buffer that every subscriber's socket writes as it is.
        case event(RunEvent, frame: ByteBuffer)
        /// A live progress frame, `{"type":"progress","run_id":…,"progress":{…}}`, encoded once for all subscribers.
        case progress(frame: ByteBuffer)
        /// A wake-up the subscriber asked for (timers); carries nothing.
        case tick
    }

    /// The WebSocket frame of a progress update: the same JSON as the bus's `progress` message
    /// (`{"type":"progress","run_id":…,"progress":{…}}`; docs/architecture.md, "Run events over WebSocket").
    public static func progressFrame(_ update: RunProgress.Update) -> String {
        BusMessage.progress(update).jsonText
    }

    /// One subscriber's end: a bounded queue its consumer takes whole (`next()`), so a socket writes every frame
    /// pending for it together (docs/architecture.md, "Run events over WebSocket").
    public final class Subscription: Sendable {
        public let runId: String
        let id: UInt64
        let capacity: Int
        private struct Queue {
            var pending: [Delivery] = []
            var waiter: CheckedContinuation<[Delivery]?, Never>?
            var finished = false
            var lagged = false
        }
        private let queue = Mutex(Queue())
        private weak let hub: RunEventsHub?

        init(runId: String, id: UInt64, capacity: Int, hub: RunEventsHub) {
            self.runId = runId
            self.id = id
            self.capacity = capacity
            self.hub = hub
        }

        /// Queues deliveries, keeping the newest `capacity`; dropping any flags the subscriber `lagged`.
        func deliver(_ deliveries: some Collection<Delivery>) {
            let woken = queue.withLock { queue -> (CheckedContinuation<[Delivery]?, Never>, [Delivery])? in
                guard !queue.finished else { return nil }
                queue.pending.append(contentsOf: deliveries)
                if queue.pending.count > capacity {
                    queue.pending.removeFirst(queue.pending.count - capacity)
                    queue.lagged = true
                }
                guard let waiter = queue.waiter else { return nil }
                queue.waiter = nil
                defer { queue.pending = [] }
                return (waiter, queue.pending)
            }
            if let (waiter, pending) = woken { waiter.resume(returning: pending) }
        }

        func deliver(_ delivery: Delivery) { deliver(CollectionOfOne(delivery)) }

        /// Everything delivered since the last call, oldest first; waits while there is nothing. Nil once finished
        /// and taken.
        public func next() async -> [Delivery]? {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<[Delivery]?, Never>) in
                    let ready = queue.withLock { queue -> [Delivery]?? in
                        if !queue.pending.isEmpty {
                            defer { queue.pending = [] }
                            return .some(queue.pending)
                        }
                        if queue.finished { return .some(nil) }
                        queue.waiter = continuation
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            } onCancel: {
                finish()
            }
        }

        /// True (once) when deliveries were dropped since the last call.
        public func takeLagged() -> Bool {
            queue.withLock { queue in
                defer { queue.lagged = false }
                return queue.lagged
            }
        }

        /// Wakes the consumer with a `.tick` (timers use it; it goes through the same bounded queue).
        public func poke() {
            deliver(.tick)
        }

        /// Ends the queue: what is pending is still taken, then `next()` answers nil.
        func finish() {
            let waiter = queue.withLock { queue in
                queue.finished = true
                defer { queue.waiter = nil }
                return queue.waiter
            }
            waiter?.resume(returning: nil)
        }

        /// Ends the queue and unsubscribes.
        public func cancel() {
            finish()
            hub?.unsubscribe(self)
        }
    }

    private struct Entry {
        var subscribers: [UInt64: Subscription] = [:]
        var lastUsed: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var nextID: UInt64 = 0
        var operations = 0
        var closed = false
    }

    public let capacity: Int
    public let idleTTL: Duration
    private let state = Mutex(State())

    /// Run events handed to the hub (the API's own commits and every worker's, as the bus delivered them).
    static let published = Counter(label: "bastion_run_events_published_total")

    public init(capacity: Int = 1024, idleTTL: Duration = .seconds(600)) {
        self.capacity = capacity
        self.idleTTL = idleTTL
    }

    /// Subscribes to a run's live events. Subscribe first, then read the database: nothing falls in between.
    public func subscribe(runId: String) -> Subscription {
        state.withLock { state in
            state.nextID += 1
            let subscription = Subscription(runId: runId, id: state.nextID, capacity: capacity, hub: self)
            if state.closed {
                subscription.finish()
                return subscription
            }
            state.entries[runId, default: Entry(lastUsed: .now)].subscribers[subscription.id] = subscription
            state.entries[runId]?.lastUsed = .now
            countOperation(&state)
            return subscription
        }
    }

    /// Hands committed events to their runs' subscribers. Never blocks.
    public func publish(_ events: [RunEvent]) {
        guard !events.isEmpty else { return }
        Self.published.increment(by: events.count)
        var targets: [(Subscription, Int)] = []
        state.withLock { state in
            for (index, event) in events.enumerated() {
                guard var entry = state.entries[event.runId] else { continue }
                entry.lastUsed = .now
                state.entries[event.runId] = entry
                for subscriber in entry.subscribers.values { targets.append((subscriber, index)) }
            }
            countOperation(&state)
        }
        // Each event's frame is made once; each subscriber gets all of this commit's deliveries in one call.
        var frames: [Int: ByteBuffer] = [:]
        var batches: [UInt64: (Subscription, [Delivery])] = [:]
        for (subscriber, index) in targets {
            let frame = frames[index] ?? ByteBuffer(string: events[index].json)
            frames[index] = frame
            batches[subscriber.id, default: (subscriber, [])].1.append(.event(events[index], frame: frame))
        }
        for (subscriber, deliveries) in batches.values { subscriber.deliver(deliveries) }
    }

    /// Hands a progress update to its run's subscribers (dropped when there are none). Never blocks.
    public func publishProgress(_ update: RunProgress.Update) {
        let subscribers = state.withLock { state -> [Subscription] in
            guard let entry = state.entries[update.runId] else { return [] }
            return Array(entry.subscribers.values)
        }
        guard !subscribers.isEmpty else { return }
        let frame = Delivery.progress(frame: ByteBuffer(string: Self.progressFrame(update)))
        for subscriber in subscribers { subscriber.deliver(frame) }
    }

    func unsubscribe(_ subscription: Subscription) {
        state.withLock { state in
            state.entries[subscription.runId]?.subscribers[subscription.id] = nil
            state.entries[subscription.runId]?.lastUsed = .now
            countOperation(&state)
        }
    }

    /// Ends every subscription and refuses new ones (graceful shutdown: streams end so connections can drain).
    public func close() {
        let subscribers = state.withLock { state -> [Subscription] in
            state.closed = true
            defer { state.entries.removeAll() }
            return state.entries.values.flatMap { $0.subscribers.values }
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Removes entries without subscribers that have been idle for `idleTTL` as of `now`. Returns how many.
    @discardableResult
    public func prune(now: ContinuousClock.Instant = .now) -> Int {
        state.withLock { state in prune(&state, now: now) }
    }

    /// Runs that currently have an entry (for tests and metrics).
    public var entryCount: Int { state.withLock { $0.entries.count } }

    public var subscriberCount: Int { state.withLock { $0.entries.values.reduce(0) { $0 + $1.subscribers.count } } }

    private func countOperation(_ state: inout State) {
        state.operations += 1
        if state.operations % 128 == 0 { _ = prune(&state, now: .now) }
    }

    private func prune(_ state: inout State, now: ContinuousClock.Instant) -> Int {
        let stale = state.entries.filter { $0.value.subscribers.isEmpty && now - $0.value.lastUsed >= idleTTL }.map(\.key)
        for key in stale { state.entries[key] = nil }
        return stale.count
    }
}
