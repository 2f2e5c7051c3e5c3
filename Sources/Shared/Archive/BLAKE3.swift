import CBLAKE3

/// BLAKE3 (256-bit output), written from the specification (https://github.com/BLAKE3-team/BLAKE3-specs).
/// Incremental: `update` any number of times, then `finalize`. Runs of whole chunks go to the wide kernel (CBLAKE3:
/// AVX2 or SSE2, 8 or 4 chunks at a time) and the aligned subtrees they form are reduced there too (spec §5.3); the
/// last chunk of an update, partial blocks and the root stay on the scalar path here. Checked against the official
/// test vectors and `b3sum`.
public struct BLAKE3: Sendable {
    static let iv: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A, 0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19
    )
    static let chunkStart: UInt8 = 1
    static let chunkEnd: UInt8 = 2
    static let parent: UInt8 = 4
    static let root: UInt8 = 8
    static let blockLength = 64
    static let chunkLength = 1024

    /// An 8-word chaining value.
    struct CV: Sendable {
        var w: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

        init(w: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)) {
            self.w = w
        }

        /// From 32 little-endian bytes (the wide kernel's output).
        init(littleEndian raw: UnsafeRawPointer) {
            func word(_ index: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)) }
            w = (word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7))
        }

        /// The 32 little-endian bytes.
        var bytes: [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(32)
            for word in [w.0, w.1, w.2, w.3, w.4, w.5, w.6, w.7] { withUnsafeBytes(of: word.littleEndian) { out.append(contentsOf: $0) } }
            return out
        }
    }

    // Chunk state.
    private var chunkCV = CV(w: BLAKE3.iv)
    private var chunkCounter: UInt64 = 0
    private var block = [UInt8](repeating: 0, count: 64)
    private var blockLength = 0
    private var blocksCompressed = 0
    /// Chaining values of completed subtrees, one per set bit of the number of completed chunks.
    private var stack: [CV] = []

    public init() {}

    /// The wide kernel this CPU runs: "avx2", "sse2" or "portable".
    public static var kernel: String { String(cString: bastion_blake3_kernel()) }

    /// The hash of `bytes` as lowercase hex.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var hasher = BLAKE3()
        hasher.update(Array(bytes))
        return hasher.finalizeHex()
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ input: UnsafeRawBufferPointer) {
        guard var base = input.baseAddress else { return }
        var remaining = input.count
        while remaining > 0 {
            // A full chunk ended and more input follows: push it and start the next chunk.
            if blocksCompressed * Self.blockLength + blockLength == Self.chunkLength {
                let output = chunkOutput()
                addSubtreeCV(output.chainingValue(), level: 0, start: chunkCounter)
                chunkCounter += 1
                chunkCV = CV(w: Self.iv)
                blocksCompressed = 0
                blockLength = 0
                for index in 0..<64 { block[index] = 0 }
            }
            // Whole chunks straight from the input, many at a time, while the chunk state is empty. The last chunk of
            // the input stays behind: it may turn out to be the root.
            if blocksCompressed == 0 && blockLength == 0 && remaining > Self.chunkLength {
                let chunks = min((remaining - 1) / Self.chunkLength, Self.wideChunks)
                addWideChunks(UnsafeRawPointer(base), count: chunks)
                base += chunks * Self.chunkLength
                remaining -= chunks * Self.chunkLength
                continue
            }
            // Fast path: whole blocks straight from the input while the buffer is empty and more than one block
            // of this chunk remains after it (the last block of a chunk must wait to learn whether it is last).
            if blockLength == 0 {
                while remaining > Self.blockLength && blocksCompressed < 15 {
                    chunkCV = Self.compressCV(
                        chunkCV,
                        block: UnsafeRawPointer(base),
                        counter: chunkCounter,
                        blockLength: 64,
                        flags: blocksCompressed == 0 ? Self.chunkStart : 0
                    )
                    blocksCompressed += 1
                    base += 64
                    remaining -= 64
                }
            }
            // Buffer the rest of the current block; compress it only when more input arrives.
            if blockLength == Self.blockLength {
                chunkCV = block.withUnsafeBytes {
                    Self.compressCV(
                        chunkCV,
                        block: $0.baseAddress!,
                        counter: chunkCounter,
                        blockLength: 64,
                        flags: blocksCompressed == 0 ? Self.chunkStart : 0
                    )
                }
                blocksCompressed += 1
                blockLength = 0
                for index in 0..<64 { block[index] = 0 }
            }
            let take = min(Self.blockLength - blockLength, remaining)
            if take > 0 {
                block.withUnsafeMutableBytes { copy in
                    (copy.baseAddress! + blockLength).copyMemory(from: base, byteCount: take)
                }
                blockLength += take
                base += take
                remaining -= take
            }
        }
    }

    /// The 32-byte hash.
    public func finalize() -> [UInt8] {
        var output = chunkOutput()
        var index = stack.count
        while index > 0 {
            index -= 1
            output = Self.parentOutput(left: stack[index], right: output.chainingValue())
        }
        return output.rootBytes()
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The hash as 64 lowercase hex digits (built in one buffer: this runs once per archived file).
    public func finalizeHex() -> String {
        let bytes = finalize()
        return String(unsafeUninitializedCapacity: 64) { text in
            for (index, byte) in bytes.enumerated() {
                text[2 * index] = Self.hexDigits[Int(byte >> 4)]
                text[2 * index + 1] = Self.hexDigits[Int(byte & 15)]
            }
            return 64
        }
    }

    /// The most chunks handed to the wide kernel at once (512 KiB of input, 16 KiB of chaining values).
    static let wideChunks = 512

    /// Hashes `count` whole chunks starting at chunk `chunkCounter` with the wide kernel, then splits them into the
    /// largest subtrees aligned to their own size, reduces each to one chaining value (parents, again wide) and pushes
    /// it onto the stack.
    private mutating func addWideChunks(_ input: UnsafeRawPointer, count: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count * 32) { cvs in
            let out = cvs.baseAddress!
            withUnsafePointer(to: Self.iv) { key in
                key.withMemoryRebound(to: UInt32.self, capacity: 8) { key in
                    bastion_blake3_hash_many(
                        input.assumingMemoryBound(to: UInt8.self),
                        count,
                        Self.chunkLength / Self.blockLength,
                        key,
                        chunkCounter,
                        1,
                        0,
                        Self.chunkStart,
                        Self.chunkEnd,
                        out
                    )
                    let first = chunkCounter
                    var done = 0
                    while done < count {
                        // The largest power of two that fits what is left and divides the subtree's first chunk number.
                        var size = 1 << (Int.bitWidth - 1 - (count - done).leadingZeroBitCount)
                        let start = first + UInt64(done)
                        if start != 0 { size = min(size, 1 << start.trailingZeroBitCount) }
                        var level = 0
                        var width = size
                        let subtree = out + done * 32
                        while width > 1 {
                            width /= 2
                            bastion_blake3_hash_many(subtree, width, 1, key, 0, 0, Self.parent, 0, 0, subtree)
                            level += 1
                        }
                        addSubtreeCV(CV(littleEndian: subtree), level: level, start: start)
                        done += size
                    }
                    chunkCounter = first + UInt64(count)
                }
            }
        }
    }

    /// Pushes the chaining value of the subtree of `2^level` chunks that starts at chunk `start`, merging it with the
    /// completed subtrees of the same size to its left (one stack entry per set bit of the chunks done).
    private mutating func addSubtreeCV(_ cv: CV, level: Int, start: UInt64) {
        var cv = cv
        var total = (start >> UInt64(level)) + 1
        while total & 1 == 0 {
            cv = Self.parentOutput(left: stack.removeLast(), right: cv).chainingValue()
            total >>= 1
        }
        stack.append(cv)
    }

    /// What finalizing the current chunk yields (not yet compressed: it may be the root).
    private func chunkOutput() -> Output {
        Output(
            cv: chunkCV,
            block: block,
            counter: chunkCounter,
            blockLength: UInt8(blockLength),
            flags: Self.chunkEnd | (blocksCompressed == 0 ? Self.chunkStart : 0)
        )
    }

    static func parentOutput(left: CV, right: CV) -> Output {
        Output(cv: CV(w: iv), block: left.bytes + right.bytes, counter: 0, blockLength: 64, flags: parent)
    }

    struct Output {
        var cv: CV
        /// 64 little-endian bytes, zero-padded after `blockLength`.
        var block: [UInt8]
        var counter: UInt64
        var blockLength: UInt8
        var flags: UInt8

        func chainingValue() -> CV {
            block.withUnsafeBytes { BLAKE3.compressCV(cv, block: $0.baseAddress!, counter: counter, blockLength: blockLength, flags: flags) }
        }

        /// The first 32 output bytes (this implementation offers no extended output).
        func rootBytes() -> [UInt8] {
            block.withUnsafeBytes {
                BLAKE3.compressCV(cv, block: $0.baseAddress!, counter: 0, blockLength: blockLength, flags: flags | BLAKE3.root).bytes
            }
        }
    }

    /// The compression function (CBLAKE3's, shared with its portable kernel), truncated to the 8 words a chaining
    /// value or a 32-byte hash needs. `block` is 64 little-endian bytes.
    static func compressCV(_ cv: CV, block: UnsafeRawPointer, counter: UInt64, blockLength: UInt8, flags: UInt8) -> CV {
        var out = cv
        withUnsafeMutableBytes(of: &out.w) { words in
            bastion_blake3_compress(
                words.baseAddress!.assumingMemoryBound(to: UInt32.self),
                block.assumingMemoryBound(to: UInt8.self),
                blockLength,
                counter,
                flags
            )
        }
        return out
    }
}
