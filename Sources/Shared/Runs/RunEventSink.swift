import Core
import Foundation
import Store
import Synchronization

/// Collects a running run's events and writes them in batches: one transaction per flush, at most every 20 ms, or
/// at once when 256 are waiting (docs/architecture.md, "Database", issue: coalesce bursts). `emit` never blocks the executor.
public final class RunEventSink: RunEvents {
    public static let maxBatch = 256
    public static let flushInterval: Duration = .milliseconds(20)

    private let database: AppDatabase
    private let runId: String
    private let buffer = Mutex<[NewRunEvent]>([])
    private let wake = WakeSignal()
    private let stopped = Mutex(false)

    public init(database: AppDatabase, runId: String) {
        self.database = database
        self.runId = runId
    }

    /// Queues an event for the next flush.
    public func emit(_ event: NewRunEvent) {
        let count = buffer.withLock { events -> Int in
            events.append(event)
            return events.count
        }
        // The first event starts a flush window; a full batch ends it early.
        if count == 1 || count >= Self.maxBatch { wake.signal() }
    }

    /// The flush loop; runs next to the executor until `stop()`, then writes whatever is still buffered and returns.
    /// It sleeps while nothing is buffered; after the first event it waits at most `flushInterval` (less if a batch
    /// fills) and writes everything in one go. It is the only writer, so events commit in the order they were
    /// emitted, and all of them commit before its caller goes on to the run's terminal write. (Cancelling the task
    /// that runs it would cancel a write in flight: stop it instead.)
    public func run() async {
        while !stopped.withLock({ $0 }), !Task.isCancelled {
            if buffer.withLock({ $0.isEmpty }) {
                _ = await wake.wait(timeout: .seconds(3600))
                continue
            }
            _ = await wake.wait(timeout: Self.flushInterval)
            await flush()
        }
        await flush()
    }

    /// Ends `run()` after a last flush.
    public func stop() {
        stopped.withLock { $0 = true }
        wake.signal()
    }

    /// Writes the buffered events (up to `maxBatch` per transaction). A batch that fails to write goes back to the
    /// front of the buffer for the next flush.
    func flush() async {
        while true {
            let batch = buffer.withLock { events -> [NewRunEvent] in
                let batch = Array(events.prefix(Self.maxBatch))
                events.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                try await database.appendEvents(runId: runId, batch)
            } catch {
                buffer.withLock { $0.insert(contentsOf: batch, at: 0) }
                return
            }
        }
    }
}
