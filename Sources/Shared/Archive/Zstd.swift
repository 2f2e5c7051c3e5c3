import CZstd

/// A zstd failure, with libzstd's message.
public struct ZstdError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ code: Int) { description = "zstd: " + String(cString: ZSTD_getErrorName(code)) }
    init(message: String) { description = "zstd: " + message }
}

@inline(__always) func checkZstd(_ code: Int) throws -> Int {
    if ZSTD_isError(code) != 0 { throw ZstdError(code) }
    return code
}

/// Streaming zstd compression into a sink on the caller's thread (the entries index; the payload goes through
/// `FrameCompressor`). Output is a standard zstd frame, readable by `zstd -d`.
public final class ZstdCompressor: ByteSink {
    private let context: OpaquePointer
    private let next: any ByteSink
    private var output: [UInt8]

    public init(level: Int32 = 3, next: any ByteSink) throws {
        context = try Self.makeContext(level: level)
        self.next = next
        output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
    }

    /// A compression context at `level` with a content checksum per frame: corruption is caught by `zstd -d` and by
    /// restore, not only by the part hashes. The caller frees it.
    static func makeContext(level: Int32) throws -> OpaquePointer {
        guard let context = ZSTD_createCCtx() else { throw ZstdError(message: "cannot create a compression context") }
        do {
            _ = try checkZstd(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level))
            _ = try checkZstd(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1))
        } catch {
            ZSTD_freeCCtx(context)
            throw error
        }
        return context
    }

    deinit { ZSTD_freeCCtx(context) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try drive(&input, ZSTD_e_continue)
        }
    }

    public func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try drive(&input, ZSTD_e_end) != 0 {}
        try next.finish()
    }

    @discardableResult
    private func drive(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws -> Int {
        try output.withUnsafeMutableBytes { buffer in
            var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            let remaining = try checkZstd(ZSTD_compressStream2(context, &out, &input, directive))
            if out.pos > 0 { try next.write(UnsafeRawBufferPointer(rebasing: buffer[0..<out.pos])) }
            return remaining
        }
    }
}

/// Streaming zstd decompression into a sink. Accepts concatenated frames; `finish` fails on a truncated frame.
public final class ZstdDecompressor: ByteSink {
    private let context: OpaquePointer
    private let next: any ByteSink
    private var output: [UInt8]
    private var lastHint = 0

    public init(next: any ByteSink) throws {
        guard let context = ZSTD_createDCtx() else { throw ZstdError(message: "cannot create a decompression context") }
        self.context = context
        self.next = next
        output = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
    }

    deinit { ZSTD_freeDCtx(context) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try output.withUnsafeMutableBytes { buffer in
                var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                lastHint = try checkZstd(ZSTD_decompressStream(context, &out, &input))
                if out.pos > 0 { try next.write(UnsafeRawBufferPointer(rebasing: buffer[0..<out.pos])) }
            }
        }
        // Drain what the context still holds for this input.
        while true {
            let produced = try output.withUnsafeMutableBytes { buffer -> Int in
                var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
                // Only "frame complete" counts here: with no input, a finished context hints at the next header.
                if try checkZstd(ZSTD_decompressStream(context, &out, &empty)) == 0 { lastHint = 0 }
                if out.pos > 0 { try next.write(UnsafeRawBufferPointer(rebasing: buffer[0..<out.pos])) }
                return out.pos
            }
            if produced == 0 { break }
        }
    }

    public func finish() throws {
        guard lastHint == 0 else { throw ZstdError(message: "truncated input (the last frame is incomplete)") }
        try next.finish()
    }
}
