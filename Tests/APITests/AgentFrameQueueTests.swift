import Core
import Synchronization
import Testing

@testable import bastion_api

/// An agent link's frame queue under a processor that does not take (docs/security.md, "Agents").
@Suite struct AgentFrameQueueTests {
    final class Progress: Sendable {
        let state = Mutex((pushed: 0, done: false))
    }

    /// A processor stalled (its writes to an agent that does not read block) while the agent keeps sending 1 MiB frames:
    /// the reader stops after a few MiB, not after `limit` (256) frames of 1 MiB each.
    @Test func aStalledProcessorHoldsAFewMiBNotTwoHundredFramesOfOneMiB() async {
        let queue = AgentFrameQueue()
        let frame = String(repeating: "x", count: AgentMessage.Limits.agentFrameBytes)
        let progress = Progress()
        let reader = Task {
            for _ in 0..<64 {
                guard await queue.push(.invalid(frame), bytes: frame.utf8.count) else { break }
                progress.state.withLock { $0.pushed += 1 }
            }
            progress.state.withLock { $0.done = true }
        }
        // Until the reader waits on a full queue, or has pushed all 64 frames without ever waiting.
        while !queue.isFull && !progress.state.withLock({ $0.done }) { await Task.yield() }
        let (pushed, done) = progress.state.withLock { ($0.pushed, $0.done) }
        #expect(!done && queue.isFull, "the reader queued \(pushed) frames of 1 MiB without waiting")
        #expect(pushed * AgentMessage.Limits.agentFrameBytes < queue.byteLimit)
        queue.close()
        await reader.value
    }
}
