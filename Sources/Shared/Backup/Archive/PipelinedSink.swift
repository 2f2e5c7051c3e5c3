import Foundation

/// Hands a stream to `next` on a thread of its own through a bounded queue (at most `limit` bytes waiting), so the
/// stages before it (reading parts, checking their BLAKE3, decrypting, decompressing) and the stages after it (tar
/// parsing, hashing or writing files) run on two cores, as `zstd -d | tar -x` does with two processes.
///
/// Use it only through `PipelinedSink.run`, which guarantees the consumer thread has stopped when it returns: a
/// failure on either side stops both, and the consumer's failure is what the producer's next `write` or `finish`
/// throws.
public final class PipelinedSink: ByteSink, @unchecked Sendable {
    // @unchecked Sendable: the queue and flags are only touched with `condition` locked; `next` is used by the
    // consumer thread alone once it has started.
    private let next: any ByteSink
    private let limit: Int
    private let condition = NSCondition()
    private var queue: [[UInt8]] = []
    private var head = 0
    private var queuedBytes = 0
    private var producerFinished = false
    private var abandoned = false
    private var consumerError: (any Error)?
    private var consumerDone = false

    private init(next: any ByteSink, limit: Int) {
        self.next = next
        self.limit = limit
    }

    /// Runs `produce` on this thread with a sink that forwards to `next` on another; returns once both are done.
    public static func run<T>(next: any ByteSink, limit: Int = 8 << 20, _ produce: (any ByteSink) throws -> T) throws -> T {
        let sink = PipelinedSink(next: next, limit: limit)
        let thread = Thread { sink.consume() }
        thread.name = "bastion-pipeline"
        thread.start()
        do {
            let result = try produce(sink)
            try sink.finish()
            return result
        } catch {
            sink.abandon()
            throw sink.failure ?? error
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        let chunk = [UInt8](bytes)
        condition.lock()
        defer { condition.unlock() }
        while queuedBytes >= limit && consumerError == nil && !consumerDone { condition.wait() }
        if let consumerError { throw consumerError }
        if consumerDone { throw ArchiveError.corrupt("data after the end of the stream") }
        queue.append(chunk)
        queuedBytes += chunk.count
        condition.broadcast()
    }

    /// Waits for the consumer to write everything and finish `next`. Calling it again does nothing more.
    public func finish() throws {
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

    /// Stops the consumer without finishing `next` and waits until it has.
    private func abandon() {
        condition.lock()
        defer { condition.unlock() }
        abandoned = true
        condition.broadcast()
        while !consumerDone { condition.wait() }
    }

    private func consume() {
        var error: (any Error)?
        while true {
            condition.lock()
            while head == queue.count && !producerFinished && !abandoned { condition.wait() }
            if abandoned || head == queue.count {
                let finishing = !abandoned
                condition.unlock()
                if finishing {
                    do { try next.finish() } catch let failure { error = failure }
                }
                break
            }
            let chunk = queue[head]
            queue[head] = []
            head += 1
            if head == queue.count || head > 64 {
                queue.removeFirst(head)
                head = 0
            }
            queuedBytes -= chunk.count
            condition.broadcast()
            condition.unlock()
            do {
                try chunk.withUnsafeBytes { try next.write($0) }
            } catch let failure {
                error = failure
                break
            }
        }
        condition.lock()
        consumerError = error
        consumerDone = true
        condition.broadcast()
        condition.unlock()
    }
}
