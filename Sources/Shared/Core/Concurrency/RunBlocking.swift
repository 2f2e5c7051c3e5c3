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

/// The other way round: from blocking work (a `runBlocking` thread, never a cooperative-pool thread) waits for async
/// work and returns its result. The archive builder uploads each finished part to a remote target this way.
public func awaitFromBlocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingResult<T>()
    Task { box.set(await Result(catching: work)) }
    return try box.wait().get()
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

private final class BlockingResult<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?

    func set(_ value: Result<T, any Error>) {
        result = value
        done.signal()
    }

    func wait() -> Result<T, any Error> {
        done.wait()
        return result!
    }
}
