import CFileSystem
import Dispatch

/// Runs blocking work on a global dispatch queue so it never occupies a cooperative-pool thread. Afterwards the memory
/// the work freed goes back to the system (`malloc_trim`): builds and restores allocate on threads of their own, and
/// glibc keeps what such threads free in their arenas, so a long-lived worker's RSS would grow run after run.
public func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            let result = Result { try work() }
            bastion_malloc_trim()
            continuation.resume(with: result)
        }
    }
}

/// Sleeps until `done` is true (checked every 10 ms) or `interval` passes; the last value of `done`. For progress loops
/// that report every interval but must not outlive the work they report on by a whole interval.
public func waitUntil(upTo interval: Duration, _ done: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + interval
    while !done(), ContinuousClock.now < deadline {
        try? await Task.sleep(for: min(.milliseconds(10), deadline - ContinuousClock.now))
    }
    return done()
}
