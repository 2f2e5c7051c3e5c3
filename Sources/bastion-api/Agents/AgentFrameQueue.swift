import Core
import Synchronization

/// One agent link's decoded frames between its reader and its processor (docs/agents.md, "Frames in one transaction").
///
/// The reader decodes each frame as it arrives and queues it; at most `limit` frames and `byteLimit` bytes of them wait
/// (past either the reader stops reading, so the agent's socket backs up as it does under its budget: a stalled
/// processor holds a few MiB per link, not `limit` frames of 1 MiB). The processor takes everything queued at
/// once and `coalesce` turns consecutive event frames of one run and claim into one step: their events are stored in
/// one transaction and acknowledged by one cumulative `event_ack`. Frames keep their order; a frame that does not
/// decode is queued as `.invalid` after the frames before it, and nothing after it is read.
final class AgentFrameQueue: Sendable {
    enum Item: Sendable {
        /// A decoded frame.
        case message(AgentMessage)
        /// A frame the hub does not understand: the link closes with 4400 and this reason.
        case invalid(String)
    }

    private struct State {
        var items: [Item] = []
        /// The frame bytes of `items`.
        var bytes = 0
        var taker: CheckedContinuation<[Item]?, Never>?
        var pusher: CheckedContinuation<Bool, Never>?
        /// The reader is done: what is queued is still taken, then `take` answers nil.
        var finished = false
        /// The processor is done: pushes answer false, nothing queued is taken.
        var closed = false
    }

    /// The most events one coalesced step stores (one transaction stays short: other writers wait for it).
    static let maxEventsPerStep = 2_000

    let limit: Int
    let byteLimit: Int
    private let state = Mutex(State())

    init(limit: Int = 256, byteLimit: Int = 4 << 20) {
        self.limit = limit
        self.byteLimit = byteLimit
    }

    /// Whether a push is waiting for the processor (the queue is full).
    var isFull: Bool { state.withLock { $0.pusher != nil } }

    /// Queues `item` (a frame of `bytes` bytes); waits while `limit` items or `byteLimit` bytes are queued. False once
    /// the processor is done (stop reading).
    func push(_ item: Item, bytes: Int = 0) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let (taker, items, now) = state.withLock { state -> (CheckedContinuation<[Item]?, Never>?, [Item], Bool?) in
                guard !state.closed else { return (nil, [], false) }
                state.items.append(item)
                state.bytes += bytes
                var handed: [Item] = []
                let taker = state.taker
                if taker != nil {
                    state.taker = nil
                    handed = state.items
                    state.items = []
                    state.bytes = 0
                }
                if state.items.count >= limit || state.bytes >= byteLimit {
                    state.pusher = continuation
                    return (taker, handed, nil)
                }
                return (taker, handed, true)
            }
            taker?.resume(returning: items)
            if let now { continuation.resume(returning: now) }
        }
    }

    /// Everything queued, in order; waits while nothing is. Nil when the reader is done and all was taken, or after
    /// `close`.
    func take() async -> [Item]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[Item]?, Never>) in
                let (pusher, result) = state.withLock { state -> (CheckedContinuation<Bool, Never>?, [Item]??) in
                    if state.closed { return (nil, .some(nil)) }
                    if !state.items.isEmpty {
                        let items = state.items
                        state.items = []
                        state.bytes = 0
                        let pusher = state.pusher
                        state.pusher = nil
                        return (pusher, .some(items))
                    }
                    if state.finished { return (nil, .some(nil)) }
                    state.taker = continuation
                    return (nil, nil)
                }
                pusher?.resume(returning: true)
                if let result { continuation.resume(returning: result) }
            }
        } onCancel: {
            close()
        }
    }

    /// The reader is done (the link closed, or it queued `.invalid`).
    func finish() {
        let taker = state.withLock { state -> CheckedContinuation<[Item]?, Never>? in
            state.finished = true
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume(returning: nil)
    }

    /// The processor is done: a waiting push answers false, a waiting take nil, and what is queued is dropped.
    func close() {
        let (taker, pusher) = state.withLock { state in
            state.closed = true
            state.items = []
            state.bytes = 0
            defer {
                state.taker = nil
                state.pusher = nil
            }
            return (state.taker, state.pusher)
        }
        taker?.resume(returning: nil)
        pusher?.resume(returning: false)
    }

    /// `items` with consecutive `run_event`/`run_events` frames of the same run and claim merged into one
    /// `run_events` (at most `maxEventsPerStep` events each), in order.
    static func coalesce(_ items: [Item]) -> [Item] {
        var steps: [Item] = []
        for item in items {
            guard case .message(let message) = item, let (runId, token, events) = message.events else {
                steps.append(item)
                continue
            }
            if case .message(let previous)? = steps.last, let (lastRun, lastToken, queued) = previous.events, lastRun == runId, lastToken == token,
                queued.count + events.count <= maxEventsPerStep
            {
                steps[steps.count - 1] = .message(.runEvents(runId: runId, claimToken: token, queued + events))
            } else {
                steps.append(item)
            }
        }
        return steps
    }
}

extension AgentMessage {
    /// The run, claim and events of a `run_event` or `run_events` frame.
    fileprivate var events: (String, String, [AgentEvent])? {
        switch self {
        case .runEvent(let runId, let token, let event): (runId, token, [event])
        case .runEvents(let runId, let token, let events): (runId, token, events)
        default: nil
        }
    }
}
