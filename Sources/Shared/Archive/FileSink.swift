import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes a stream to `<path>.partial`; `finish` syncs it, checks its size and renames it to `path` (never a
/// half-written `path`).
///
/// With `keepIdentical`, a file already at `path` (left by an earlier attempt of the same run) is compared with the
/// stream instead of being rewritten: while every byte matches nothing is written, and when the stream ends at the
/// file's length the file is kept as it is (`kept`). At the first difference the matched prefix is copied into
/// `.partial` and writing goes on as usual. Comparing bytes, not trusting the size alone, keeps a part that no
/// longer matches the source (changed between attempts) from being listed with the new stream's hash.
public final class FileSink: ByteSink {
    public let path: String
    private var descriptor: Int32 = -1
    /// The earlier file being compared, while everything so far matched.
    private var existing: Int32 = -1
    private var scratch: [UInt8] = []
    public private(set) var size: Int64 = 0
    /// After `finish`: the file already at `path` had exactly these bytes and was kept.
    public private(set) var kept = false
    private var hasher: BLAKE3?

    /// With `hashing`, the BLAKE3 of the written bytes is available as `hash` after `finish`.
    public init(path: String, hashing: Bool = false, keepIdentical: Bool = false) throws {
        self.path = path
        hasher = hashing ? BLAKE3() : nil
        unlink(path + ".partial")
        if keepIdentical {
            existing = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            var info = stat()
            if existing >= 0, fstat(existing, &info) != 0 || info.st_mode & S_IFMT != S_IFREG {
                close(existing)
                existing = -1
            }
        }
        if existing < 0 { try createPartial() }
    }

    deinit {
        if existing >= 0 { close(existing) }
        if descriptor >= 0 {
            close(descriptor)
            unlink(path + ".partial")
        }
    }

    public private(set) var hash: String?

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.baseAddress != nil else { return }
        hasher?.update(bytes)
        if existing >= 0 {
            if try existingMatches(bytes) {
                size += Int64(bytes.count)
                return
            }
            try diverge()
        }
        try writeAll(bytes)
        size += Int64(bytes.count)
    }

    public func finish() throws {
        if existing >= 0 {
            var info = stat()
            if fstat(existing, &info) == 0, Int64(info.st_size) == size {
                close(existing)
                existing = -1
                kept = true
                hash = hasher?.finalizeHex()
                return
            }
            try diverge()
        }
        guard fsync(descriptor) == 0 else { throw POSIXFailure("fsync \(path).partial") }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw POSIXFailure("stat \(path).partial") }
        guard Int64(info.st_size) == size else {
            throw POSIXFailure("\(path).partial has \(info.st_size) bytes, \(size) were written", code: EIO)
        }
        close(descriptor)
        descriptor = -1
        guard rename(path + ".partial", path) == 0 else { throw POSIXFailure("rename \(path).partial") }
        hash = hasher?.finalizeHex()
    }

    private func createPartial() throws {
        descriptor = open(path + ".partial", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXFailure("create \(path).partial") }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
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
    }

    /// Reads up to `count` bytes of the earlier file at `offset` into `scratch`; the number read (short only at its end).
    private func readExisting(at offset: Int64, count: Int) throws -> Int {
        if scratch.count < count { scratch = [UInt8](repeating: 0, count: count) }
        var got = 0
        while got < count {
            let read = scratch.withUnsafeMutableBytes { pread(existing, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
            if read < 0 {
                if errno == EINTR { continue }
                throw POSIXFailure("read \(path)")
            }
            if read == 0 { break }
            got += read
        }
        return got
    }

    private func existingMatches(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        let got = try readExisting(at: size, count: bytes.count)
        return got == bytes.count && scratch.withUnsafeBytes { memcmp($0.baseAddress!, bytes.baseAddress!, got) } == 0
    }

    /// The stream left the earlier file: write `.partial` from the matched prefix on.
    private func diverge() throws {
        try createPartial()
        var copied: Int64 = 0
        while copied < size {
            let got = try readExisting(at: copied, count: Int(min(1 << 20, size - copied)))
            guard got > 0 else { throw POSIXFailure("read \(path)", code: EIO) }
            try scratch.withUnsafeBytes { try writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
            copied += Int64(got)
        }
        close(existing)
        existing = -1
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
