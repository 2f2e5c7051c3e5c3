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
    /// Told each frame's compressed span right before its bytes go downstream (`FrameHasher.expect`).
    public var willWriteFrame: ((_ start: Int64, _ end: Int64) -> Void)?

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
        willWriteFrame?(compressedBytes, compressedBytes + Int64(job.outputCount))
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
/// (before encryption), frame k holding uncompressed bytes `k * frame_bytes ..< (k + 1) * frame_bytes`, and (since
/// per-frame hashes) the BLAKE3 of each frame's stored bytes (`storedRange(ofFrame:storedBytes:)`), so a reader takes
/// one frame from a target, checked, without the rest of its part.
public struct FrameTable: Sendable, Equatable {
    public var frameBytes: Int64
    public var offsets: [Int64]
    /// An encrypted payload's age header with its nonce (public: it opens every part 1), so a reader can decrypt the
    /// chunks that hold a frame without reading the stream's start.
    public var ageHeader: [UInt8]?
    /// The BLAKE3 (lowercase hex) of each frame's stored bytes, one per offset; nil in snapshots written before them.
    public var hashes: [String]?

    public init(frameBytes: Int64, offsets: [Int64], ageHeader: [UInt8]? = nil, hashes: [String]? = nil) {
        self.frameBytes = frameBytes
        self.offsets = offsets
        self.ageHeader = ageHeader
        self.hashes = hashes
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["frame_bytes": .number(Double(frameBytes)), "offsets": .array(offsets.map { .number(Double($0)) })]
        if let ageHeader { object["age_header_b64"] = .string(Data(ageHeader).base64EncodedString()) }
        if let hashes { object["hashes"] = .array(hashes.map(JSONValue.string)) }
        return .object(object)
    }

    /// Nil unless every offset is a whole number, the first 0 and each larger than the one before, and `hashes`, when
    /// present, holds one 64-digit lowercase hex BLAKE3 per offset.
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
        switch json["hashes"] {
        case nil: hashes = nil
        case .array(let values)?:
            guard values.count == offsets.count else { return nil }
            var hashes: [String] = []
            hashes.reserveCapacity(values.count)
            for value in values {
                guard let hash = value.stringValue, Self.isHash(hash) else { return nil }
                hashes.append(hash)
            }
            self.hashes = hashes
        default: return nil
        }
    }

    static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The frame holding uncompressed offset `offset`, and where it starts compressed; nil past the last frame.
    public func frame(holding offset: Int64) -> (index: Int, compressedOffset: Int64, skip: Int64)? {
        let index = Int(offset / frameBytes)
        guard offset >= 0, index < offsets.count else { return nil }
        return (index, offsets[index], offset - Int64(index) * frameBytes)
    }

    /// The stored bytes (of the payload's parts joined, `storedBytes` long) that frame `index`'s hash covers: its
    /// compressed bytes; when encrypted, the whole age chunks that hold them (from the chunk holding the frame's first
    /// byte to the end of the chunk holding its last, the stream's end for the last frame). Two frames of an encrypted
    /// payload may share a chunk, whose bytes then count in both hashes. Nil when the table and `storedBytes` disagree
    /// (an offset past the end, a frame of no bytes).
    public func storedRange(ofFrame index: Int, storedBytes: Int64) -> Range<Int64>? {
        guard index >= 0, index < offsets.count, storedBytes >= 0 else { return nil }
        let start = offsets[index]
        let next = index + 1 < offsets.count ? offsets[index + 1] : nil
        guard let ageHeader else {
            let end = next ?? storedBytes
            guard start < end, end <= storedBytes else { return nil }
            return start..<end
        }
        // Offsets are below 2^53 (`int64Value`): the chunk arithmetic stays far from Int64's end.
        let header = Int64(ageHeader.count)
        let chunk = Int64(Age.chunkSize)
        let sealed = chunk + 16
        let first = header + (start / chunk) * sealed
        let end = next.map { min(header + (($0 - 1) / chunk + 1) * sealed, storedBytes) } ?? storedBytes
        guard first < end, end <= storedBytes else { return nil }
        return first..<end
    }
}

/// Hashes each frame's stored bytes (`FrameTable.storedRange`) as the stored stream goes by on its way to the parts:
/// the compressor announces each frame's compressed span before its bytes leave it (`expect`), which an encryptor
/// downstream holds back by at most one chunk, so every span is known before its first stored byte arrives.
public final class FrameHasher: ByteSink {
    private let next: any ByteSink
    /// The age header's length when the stream is encrypted (the stored stream starts with it).
    /// Set once the encryptor that feeds it exists, before any frame.
    public var ageHeaderBytes: Int?
    private var spans: [(range: Range<Int64>, hasher: BLAKE3)] = []
    private var position: Int64 = 0
    /// One per frame, in order, once its last stored byte went by.
    public private(set) var hashes: [String] = []

    public init(ageHeaderBytes: Int?, next: any ByteSink) {
        self.ageHeaderBytes = ageHeaderBytes
        self.next = next
    }

    /// Frame bytes `start ..< end` of the compressed stream are about to be written.
    public func expect(compressed start: Int64, end: Int64) {
        let range: Range<Int64>
        if let ageHeaderBytes {
            let (header, chunk) = (Int64(ageHeaderBytes), Int64(Age.chunkSize))
            // Ends are clipped to the stream's end in `finish` (the last chunk is shorter).
            range = (header + (start / chunk) * (chunk + 16))..<(header + ((end - 1) / chunk + 1) * (chunk + 16))
        } else {
            range = start..<end
        }
        spans.append((range, BLAKE3()))
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        let end = position + Int64(bytes.count)
        for index in spans.indices where spans[index].range.lowerBound < end && spans[index].range.upperBound > position {
            let from = Int(max(spans[index].range.lowerBound, position) - position)
            let to = Int(min(spans[index].range.upperBound, end) - position)
            spans[index].hasher.update(UnsafeRawBufferPointer(rebasing: bytes[from..<to]))
        }
        position = end
        while let first = spans.first, first.range.upperBound <= position {
            hashes.append(first.hasher.finalizeHex())
            spans.removeFirst()
        }
        try next.write(bytes)
    }

    public func finish() throws {
        // The last frame's chunk ends with the stream.
        for frame in spans { hashes.append(frame.hasher.finalizeHex()) }
        spans.removeAll()
        try next.finish()
    }
}
