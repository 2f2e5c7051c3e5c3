import Foundation
import Synchronization

/// A level-triggered wake-up for one loop: `signal()` from anywhere; `wait(timeout:)` returns at the first signal,
/// at the timeout, or on task cancellation. A signal that arrives while nobody waits is remembered (once), so a
/// wake between two waits is never lost.
public final class WakeSignal: Sendable {
    /// Why `wait` returned.
    public enum Reason: String, Sendable {
        case signaled, timeout, cancelled
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Reason, Never>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var pending = false
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Wakes every current waiter, or the next one if none waits.
    public func signal() {
        let woken = state.withLock { state -> [Waiter] in
            if state.waiters.isEmpty {
                state.pending = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in woken {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: .signaled)
        }
    }

    /// Waits for a signal, at most `timeout`.
    public func wait(timeout: Duration) async -> Reason {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Reason, Never>) in
                let immediate = state.withLock { state -> Reason? in
                    if state.pending {
                        state.pending = false
                        return .signaled
                    }
                    if Task.isCancelled { return .cancelled }
                    state.waiters[id] = Waiter(continuation: continuation, timer: nil)
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                    return
                }
                let timer = Task { [self] in
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled { finish(id, .timeout) }
                }
                let stillWaiting = state.withLock { state -> Bool in
                    guard state.waiters[id] != nil else { return false }
                    state.waiters[id]?.timer = timer
                    return true
                }
                if !stillWaiting { timer.cancel() }
            }
        } onCancel: {
            finish(id, .cancelled)
        }
    }

    private func finish(_ id: UInt64, _ reason: Reason) {
        guard let waiter = state.withLock({ $0.waiters.removeValue(forKey: id) }) else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(returning: reason)
    }
}
