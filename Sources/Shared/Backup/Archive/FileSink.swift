import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes a stream to `<path>.partial`; `finish` syncs it and renames it to `path` (never a half-written `path`).
public final class FileSink: ByteSink {
    public let path: String
    private var descriptor: Int32
    public private(set) var size: Int64 = 0
    private var hasher: BLAKE3?

    /// With `hashing`, the BLAKE3 of the written bytes is available as `hash` after `finish`.
    public init(path: String, hashing: Bool = false) throws {
        self.path = path
        unlink(path + ".partial")
        descriptor = open(path + ".partial", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXFailure("create \(path).partial") }
        hasher = hashing ? BLAKE3() : nil
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(path + ".partial")
        }
    }

    public private(set) var hash: String?

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        hasher?.update(bytes)
        var remaining = bytes.count
        while remaining > 0 {
            let written = Glibc.write(descriptor, base, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw POSIXFailure("write \(path).partial")
            }
            base += written
            remaining -= written
        }
        size += Int64(bytes.count)
    }

    public func finish() throws {
        guard fsync(descriptor) == 0 else { throw POSIXFailure("fsync \(path).partial") }
        close(descriptor)
        descriptor = -1
        guard rename(path + ".partial", path) == 0 else { throw POSIXFailure("rename \(path).partial") }
        hash = hasher?.finalizeHex()
    }
}

/// A failed system call, with errno's text.
public struct POSIXFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public let code: Int32

    public init(_ what: String, code: Int32 = errno) {
        self.code = code
        description = "\(what): \(String(cString: strerror(code)))"
    }
}
