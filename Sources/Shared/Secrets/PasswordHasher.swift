import CArgon2
import Dispatch
import Foundation
import Synchronization

/// Argon2id password hashes as PHC strings (libargon2; the original's parameters: m = 19456 KiB, t = 2, p = 1,
/// 16-byte random salt, 32-byte output).
///
/// Hashing is deliberately expensive (tens of milliseconds and 19 MiB each), so it never runs on Swift's cooperative
/// pool: each call runs on a dispatch queue, and at most `maxConcurrent` run at once (the rest wait without holding a
/// thread), which bounds both memory and the CPU taken from every other request. The default leaves one core free for
/// serving (measured on 2 cores: /api/health p99 during 50 concurrent logins ~100 ms with 2 hashers, 35–65 ms with 1,
/// and the logins finish no later: Argon2 is memory-bound).
public final class PasswordHasher: Sendable {
    public struct Parameters: Sendable {
        public var memoryKiB: UInt32 = 19456
        public var iterations: UInt32 = 2
        public var parallelism: UInt32 = 1

        public init() {}
    }

    public let parameters: Parameters
    private let queue = DispatchQueue(label: "bastion.password-hasher", attributes: .concurrent)
    private let slots: Mutex<(free: Int, waiting: [CheckedContinuation<Void, Never>])>
    private let decoyHash = Mutex<String?>(nil)

    public init(parameters: Parameters = Parameters(), maxConcurrent: Int = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)) {
        self.parameters = parameters
        slots = Mutex((maxConcurrent, []))
    }

    /// A new PHC string for `password`.
    public func hash(_ password: String) async throws -> String {
        let parameters = parameters
        return try await run {
            var salt = [UInt8](repeating: 0, count: 16)
            var generator = SystemRandomNumberGenerator()
            for index in salt.indices { salt[index] = generator.next() }
            let length = argon2_encodedlen(parameters.iterations, parameters.memoryKiB, parameters.parallelism, 16, 32, Argon2_id)
            var encoded = [CChar](repeating: 0, count: length)
            let bytes = Array(password.utf8)
            let status = argon2_hash(
                parameters.iterations,
                parameters.memoryKiB,
                parameters.parallelism,
                bytes,
                bytes.count,
                salt,
                salt.count,
                nil,
                32,
                &encoded,
                length,
                Argon2_id,
                UInt32(ARGON2_VERSION_13.rawValue)
            )
            guard status == ARGON2_OK.rawValue else { throw PasswordHashError(code: status) }
            return String(cString: encoded)
        }
    }

    /// Checks `password` against a user's hash, or, when there is no such user, against a decoy hash made once with
    /// the same parameters: an unknown username costs the same work as a wrong password.
    public func verify(_ password: String, againstUserHash encoded: String?) async -> Bool {
        if let encoded { return await verify(password, against: encoded) }
        let decoy: String
        if let cached = decoyHash.withLock({ $0 }) {
            decoy = cached
        } else {
            decoy = (try? await hash(UUID().uuidString)) ?? ""
            decoyHash.withLock { $0 = decoy }
        }
        _ = await verify(password, against: decoy)
        return false
    }

    /// Whether `password` matches the PHC string `encoded` (false for a malformed string).
    public func verify(_ password: String, against encoded: String) async -> Bool {
        (try? await run { argon2id_verify(encoded, Array(password.utf8), password.utf8.count) == ARGON2_OK.rawValue }) ?? false
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let immediate = slots.withLock { state -> Bool in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if immediate { continuation.resume() }
        }
    }

    private func release() {
        let next = slots.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

/// libargon2 refused to hash (out of memory, bad parameters).
public struct PasswordHashError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var description: String { String(cString: argon2_error_message(code)) }
}
