import CZstd
import Core
import Foundation

/// The payload's zstd stage (docs/formats.md, "Frames"): the tar stream cut into independent zstd frames of
/// `frameBytes` uncompressed bytes each (the last one shorter), compressed on `workers` threads of its own (not
/// Dispatch's pool, which a blocking build already occupies) and written downstream in order. `zstd -d` reads the
/// concatenation like any zstd file; a reader that knows where frame k starts (`frameOffsets[k]`) decodes uncompressed
/// bytes `k * frameBytes ..< (k + 1) * frameBytes` alone, so a restore of a few files decodes only the frames that
/// hold them.
public final class FrameCompressor: ByteSink {
    public static let defaultFrameBytes = 4 << 20

    /// The frame size for parts of `partSize`: at most a quarter of a part (one member's frames rarely touch more parts
    /// than its bytes do), 4 MiB at most, 64 KiB at least.
    public static func frameBytes(forPartSize partSize: Int64) -> Int {
        Int(min(Int64(defaultFrameBytes), max(64 << 10, partSize / 4)))
    }

    /// One frame on its way: compressed on a pool thread, written by the caller's thread in order.
    private final class Job: @unchecked Sendable {
        // @unchecked Sendable: the compressing thread owns it between `put` and `done.signal()`, the writer before and
        // after (`done.wait()`).
        var input: [UInt8]
        /// Sized for the worst case once; `outputCount` bytes of it are the frame.
        var output: [UInt8]
        var outputCount = 0
        var failure: (any Error)?
        let done = DispatchSemaphore(value: 0)

        init(input: [UInt8], output: [UInt8]) {
            self.input = input
            self.output = output
        }
    }

    private let next: any ByteSink
    private let level: Int32
    public let frameBytes: Int
    private let workers: Int
    private var pending: [UInt8] = []
    private var inFlight: [Job] = []
    /// Buffers of written frames, reused: a fresh 4 MiB allocation per frame is a fresh mmap and its page faults.
    private var freeInputs: [[UInt8]] = []
    private var freeOutputs: [[UInt8]] = []
    private let contexts = ContextPool()
    private let queue = JobQueue()
    private var threadsStarted = 0
    /// Where each frame starts in the compressed stream, in order.
    public private(set) var frameOffsets: [Int64] = []
    /// Compressed bytes written downstream.
    public private(set) var compressedBytes: Int64 = 0

    public init(level: Int32 = 3, frameBytes: Int = FrameCompressor.defaultFrameBytes, workers: Int = 1, next: any ByteSink) {
        self.level = level
        self.frameBytes = frameBytes
        self.workers = max(1, workers)
        self.next = next
        pending.reserveCapacity(frameBytes)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let take = min(frameBytes - pending.count, bytes.count - offset)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            offset += take
            if pending.count == frameBytes { try submit() }
        }
    }

    deinit { queue.close() }

    public func finish() throws {
        if !pending.isEmpty { try submit() }
        while !inFlight.isEmpty { try writeOldest() }
        queue.close()
        try next.finish()
    }

    private func submit() throws {
        let output = freeOutputs.popLast() ?? [UInt8](repeating: 0, count: ZSTD_compressBound(frameBytes))
        let job = Job(input: pending, output: output)
        pending = freeInputs.popLast() ?? []
        pending.removeAll(keepingCapacity: true)
        pending.reserveCapacity(frameBytes)
        // At most one frame per worker compressing and one more waiting: bounded memory, and the workers stay busy.
        while inFlight.count > workers { try writeOldest() }
        inFlight.append(job)
        if threadsStarted < workers {
            let (contexts, level, queue) = (contexts, level, queue)
            let thread = Thread {
                while let job = queue.take() {
                    do {
                        job.outputCount = try contexts.compress(job.input, into: &job.output, level: level)
                    } catch {
                        job.failure = error
                    }
                    job.done.signal()
                }
            }
            thread.name = "bastion-zstd-\(threadsStarted)"
            thread.start()
            threadsStarted += 1
        }
        queue.put(job)
    }

    /// Frames waiting for a compressing thread; closed at the end, which lets the threads return.
    private final class JobQueue: @unchecked Sendable {
        // @unchecked Sendable: every field is guarded by `condition`.
        private let condition = NSCondition()
        private var jobs: [Job] = []
        private var closed = false

        func put(_ job: Job) {
            condition.lock()
            jobs.append(job)
            condition.signal()
            condition.unlock()
        }

        func take() -> Job? {
            condition.lock()
            defer { condition.unlock() }
            while jobs.isEmpty && !closed { condition.wait() }
            return jobs.isEmpty ? nil : jobs.removeFirst()
        }

        func close() {
            condition.lock()
            closed = true
            condition.broadcast()
            condition.unlock()
        }
    }

    private func writeOldest() throws {
        let job = inFlight.removeFirst()
        job.done.wait()
        if let failure = job.failure { throw failure }
        frameOffsets.append(compressedBytes)
        try job.output.withUnsafeBytes { try next.write(UnsafeRawBufferPointer(rebasing: $0[0..<job.outputCount])) }
        compressedBytes += Int64(job.outputCount)
        freeInputs.append(job.input)
        freeOutputs.append(job.output)
    }

    /// Compression contexts reused across frames (one is created per thread that needs one at the same time).
    private final class ContextPool: @unchecked Sendable {
        // @unchecked Sendable: `free` is guarded by `lock`; a context is used by one thread at a time.
        private let lock = NSLock()
        private var free: [OpaquePointer] = []

        deinit { for context in free { ZSTD_freeCCtx(context) } }

        /// Compresses `input` into `output` (at least `ZSTD_compressBound(input.count)` long); the frame's size.
        func compress(_ input: [UInt8], into output: inout [UInt8], level: Int32) throws -> Int {
            let context = try take(level: level)
            defer { give(context) }
            return try output.withUnsafeMutableBytes { out in
                try input.withUnsafeBytes { source in
                    try checkZstd(ZSTD_compress2(context, out.baseAddress, out.count, source.baseAddress, source.count))
                }
            }
        }

        private func take(level: Int32) throws -> OpaquePointer {
            if let context = lock.withLock({ free.popLast() }) { return context }
            return try ZstdCompressor.makeContext(level: level)
        }

        private func give(_ context: OpaquePointer) { lock.withLock { free.append(context) } }
    }
}

/// `frames.json` (docs/formats.md, "Frames"): where each zstd frame of the payload starts in the compressed stream
/// (before encryption), frame k holding uncompressed bytes `k * frame_bytes ..< (k + 1) * frame_bytes`.
public struct FrameTable: Sendable, Equatable {
    public var frameBytes: Int64
    public var offsets: [Int64]
    /// An encrypted payload's age header with its nonce (public: it opens every part 1), so a reader can decrypt the
    /// chunks that hold a frame without reading the stream's start.
    public var ageHeader: [UInt8]?

    public init(frameBytes: Int64, offsets: [Int64], ageHeader: [UInt8]? = nil) {
        self.frameBytes = frameBytes
        self.offsets = offsets
        self.ageHeader = ageHeader
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["frame_bytes": .number(Double(frameBytes)), "offsets": .array(offsets.map { .number(Double($0)) })]
        if let ageHeader { object["age_header_b64"] = .string(Data(ageHeader).base64EncodedString()) }
        return .object(object)
    }

    /// Nil unless every offset is a whole number, the first 0 and each larger than the one before.
    public init?(json: JSONValue) {
        guard let frameBytes = json["frame_bytes"]?.int64Value, frameBytes >= 512, frameBytes < 1 << 32,
            case .array(let values)? = json["offsets"]
        else { return nil }
        var offsets: [Int64] = []
        offsets.reserveCapacity(values.count)
        for value in values {
            guard let number = value.int64Value, number >= 0, offsets.last.map({ number > $0 }) ?? (number == 0) else { return nil }
            offsets.append(number)
        }
        self.frameBytes = frameBytes
        self.offsets = offsets
        switch json["age_header_b64"] {
        case nil: ageHeader = nil
        case .string(let encoded)?:
            guard let bytes = Data(base64Encoded: encoded), bytes.count < 4096 else { return nil }
            ageHeader = Array(bytes)
        default: return nil
        }
    }

    /// The frame holding uncompressed offset `offset`, and where it starts compressed; nil past the last frame.
    public func frame(holding offset: Int64) -> (index: Int, compressedOffset: Int64, skip: Int64)? {
        let index = Int(offset / frameBytes)
        guard offset >= 0, index < offsets.count else { return nil }
        return (index, offsets[index], offset - Int64(index) * frameBytes)
    }
}
