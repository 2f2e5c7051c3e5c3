import Foundation

/// Hands items from the calling thread (the producer) to a thread of its own (the consumer) through a bounded queue:
/// at most `limit` (by `weight`) waiting, so two cores work on one stream the way two processes of a shell pipeline do.
/// Used by backups (the walk and its system calls on one side, tar, hashing and the index on the other) and by
/// restores (`PipelinedSink`).
///
/// Use it only through `run`, which guarantees the consumer has stopped when it returns. A failure on either side stops
/// both; the consumer's failure is what the producer's next `push` or `finish` throws.
final class Handoff<Item>: @unchecked Sendable {
    // @unchecked Sendable: the queue and the flags are only touched with `condition` locked; items cross threads once,
    // from the producer to the consumer, and are not touched by the producer after `push`.
    private let limit: Int
    private let weight: (Item) -> Int
    private let condition = NSCondition()
    private var queue: [Item] = []
    private var head = 0
    private var queuedWeight = 0
    private var producerFinished = false
    private var abandoned = false
    private var consumerError: (any Error)?
    private var consumerDone = false

    /// The consumer was told to stop (the producer failed): it must return without finishing its output.
    struct Abandoned: Error {}

    private init(limit: Int, weight: @escaping (Item) -> Int) {
        self.limit = limit
        self.weight = weight
    }

    /// Runs `consume` on a new thread and `produce` on this one; returns once both are done.
    static func run<T>(
        limit: Int,
        weight: @escaping (Item) -> Int,
        consume: @escaping (Handoff<Item>) throws -> Void,
        produce: (Handoff<Item>) throws -> T
    ) throws -> T {
        let handoff = Handoff(limit: limit, weight: weight)
        let consumer = UncheckedBox(consume)
        let thread = Thread { handoff.consumeLoop(consumer.value) }
        thread.name = "bastion-pipeline"
        thread.start()
        do {
            let result = try produce(handoff)
            try handoff.finish()
            return result
        } catch {
            handoff.abandon()
            throw handoff.failure ?? error
        }
    }

    /// Queues an item, waiting while the queue is full.
    func push(_ item: Item) throws {
        let itemWeight = weight(item)
        condition.lock()
        defer { condition.unlock() }
        while queuedWeight >= limit && consumerError == nil && !consumerDone { condition.wait() }
        if let consumerError { throw consumerError }
        if consumerDone { throw ArchiveError.corrupt("data after the end of the stream") }
        queue.append(item)
        queuedWeight += itemWeight
        condition.broadcast()
    }

    /// The next item for the consumer; nil once the producer finished and everything was taken.
    func next() throws -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count && !producerFinished && !abandoned { condition.wait() }
        if abandoned { throw Abandoned() }
        if head == queue.count { return nil }
        let item = queue[head]
        head += 1
        if head == queue.count || head > 64 {
            queue.removeFirst(head)
            head = 0
        }
        queuedWeight -= weight(item)
        condition.broadcast()
        return item
    }

    /// No more items: waits for the consumer to finish. Calling it again does nothing more.
    func finish() throws {
        condition.lock()
        defer { condition.unlock() }
        producerFinished = true
        condition.broadcast()
        while !consumerDone { condition.wait() }
        if let consumerError { throw consumerError }
    }

    private var failure: (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return consumerError
    }

    /// Stops the consumer and waits until it has.
    private func abandon() {
        condition.lock()
        defer { condition.unlock() }
        abandoned = true
        condition.broadcast()
        while !consumerDone { condition.wait() }
    }

    private func consumeLoop(_ consume: (Handoff<Item>) throws -> Void) {
        var error: (any Error)?
        do { try consume(self) } catch is Abandoned {} catch let failure { error = failure }
        condition.lock()
        consumerError = error
        consumerDone = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Carries a value that is not `Sendable` to the one thread that will use it.
struct UncheckedBox<Value>: @unchecked Sendable {
    // @unchecked Sendable: created on one thread and used only by the thread it is handed to.
    let value: Value

    init(_ value: Value) { self.value = value }
}
