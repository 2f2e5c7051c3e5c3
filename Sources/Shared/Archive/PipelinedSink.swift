import Foundation

/// Hands a stream to `next` on a thread of its own through a bounded queue (at most `limit` bytes waiting), so the
/// stages before it (reading parts, checking their BLAKE3, decrypting, decompressing) and the stages after it (tar
/// parsing, hashing or writing files) run on two cores, as `zstd -d | tar -x` does with two processes.
///
/// Use it only through `PipelinedSink.run`, which guarantees the consumer thread has stopped when it returns: a
/// failure on either side stops both, and the consumer's failure is what the producer's next `write` or `finish`
/// throws.
public final class PipelinedSink: ByteSink {
    private let handoff: Handoff<[UInt8]>

    private init(_ handoff: Handoff<[UInt8]>) {
        self.handoff = handoff
    }

    /// Runs `produce` on this thread with a sink that forwards to `next` on another; returns once both are done.
    public static func run<T>(next: any ByteSink, limit: Int = 8 << 20, _ produce: (any ByteSink) throws -> T) throws -> T {
        try Handoff<[UInt8]>.run(
            limit: limit,
            weight: \.count,
            consume: { handoff in
                while let chunk = try handoff.next() { try chunk.withUnsafeBytes { try next.write($0) } }
                try next.finish()
            },
            produce: { handoff in try produce(PipelinedSink(handoff)) }
        )
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        try handoff.push([UInt8](bytes))
    }

    /// Waits for the consumer to write everything and finish `next`. Calling it again does nothing more.
    public func finish() throws {
        try handoff.finish()
    }
}
