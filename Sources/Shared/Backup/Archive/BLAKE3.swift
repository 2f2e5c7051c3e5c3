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
    static let chunkStart: UInt32 = 1
    static let chunkEnd: UInt32 = 2
    static let parent: UInt32 = 4
    static let root: UInt32 = 8
    static let blockLength = 64
    static let chunkLength = 1024

    /// An 8-word chaining value.
    struct CV: Sendable {
        var w: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
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

    public func finalizeHex() -> String {
        var text = ""
        text.reserveCapacity(64)
        let digits = Array("0123456789abcdef".utf8)
        for byte in finalize() {
            text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
            text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 15)]))
        }
        return text
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
                        UInt8(Self.chunkStart),
                        UInt8(Self.chunkEnd),
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
                            bastion_blake3_hash_many(subtree, width, 1, key, 0, 0, UInt8(Self.parent), 0, 0, subtree)
                            level += 1
                        }
                        let cv = UnsafeRawPointer(subtree).withMemoryRebound(to: UInt32.self, capacity: 8) { words in
                            CV(w: (words[0], words[1], words[2], words[3], words[4], words[5], words[6], words[7]))
                        }
                        addSubtreeCV(CV(w: Self.littleEndian(cv.w)), level: level, start: start)
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

    static func littleEndian(
        _ w: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    ) -> (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) {
        (
            UInt32(littleEndian: w.0), UInt32(littleEndian: w.1), UInt32(littleEndian: w.2), UInt32(littleEndian: w.3),
            UInt32(littleEndian: w.4), UInt32(littleEndian: w.5), UInt32(littleEndian: w.6), UInt32(littleEndian: w.7)
        )
    }

    /// What finalizing the current chunk yields (not yet compressed: it may be the root).
    private func chunkOutput() -> Output {
        var words = [UInt32](repeating: 0, count: 16)
        block.withUnsafeBytes { raw in
            for index in 0..<16 { words[index] = raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self).littleEndian }
        }
        return Output(
            cv: chunkCV,
            block: words,
            counter: chunkCounter,
            blockLength: UInt32(blockLength),
            flags: Self.chunkEnd | (blocksCompressed == 0 ? Self.chunkStart : 0)
        )
    }

    static func parentOutput(left: CV, right: CV) -> Output {
        let l = left.w
        let r = right.w
        return Output(
            cv: CV(w: iv),
            block: [l.0, l.1, l.2, l.3, l.4, l.5, l.6, l.7, r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7],
            counter: 0,
            blockLength: 64,
            flags: parent
        )
    }

    struct Output {
        var cv: CV
        var block: [UInt32]
        var counter: UInt64
        var blockLength: UInt32
        var flags: UInt32

        func chainingValue() -> CV {
            block.withUnsafeBytes {
                BLAKE3.compress(cv, block: $0.baseAddress!, counter: counter, blockLength: blockLength, flags: flags, native: true)
            }
        }

        /// The first 32 output bytes (this implementation offers no extended output).
        func rootBytes() -> [UInt8] {
            let out = block.withUnsafeBytes {
                BLAKE3.compress(cv, block: $0.baseAddress!, counter: 0, blockLength: blockLength, flags: flags | BLAKE3.root, native: true)
            }
            var bytes = [UInt8]()
            bytes.reserveCapacity(32)
            for word in [out.w.0, out.w.1, out.w.2, out.w.3, out.w.4, out.w.5, out.w.6, out.w.7] {
                bytes.append(UInt8(truncatingIfNeeded: word))
                bytes.append(UInt8(truncatingIfNeeded: word >> 8))
                bytes.append(UInt8(truncatingIfNeeded: word >> 16))
                bytes.append(UInt8(truncatingIfNeeded: word >> 24))
            }
            return bytes
        }
    }

    @inline(__always)
    static func compressCV(_ cv: CV, block: UnsafeRawPointer, counter: UInt64, blockLength: UInt32, flags: UInt32) -> CV {
        compress(cv, block: block, counter: counter, blockLength: blockLength, flags: flags, native: false)
    }

    /// The compression function, truncated to the 8 words a chaining value or a 32-byte hash needs. `block` is 64
    /// bytes: little-endian bytes, or (`native`) already 16 host words.
    @inline(__always)
    static func compress(_ cv: CV, block: UnsafeRawPointer, counter: UInt64, blockLength: UInt32, flags: UInt32, native: Bool) -> CV {
        @inline(__always) func word(_ index: Int) -> UInt32 {
            native
                ? block.load(fromByteOffset: index * 4, as: UInt32.self)
                : UInt32(littleEndian: block.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
        }
        var m = (
            word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7),
            word(8), word(9), word(10), word(11), word(12), word(13), word(14), word(15)
        )
        var s0 = cv.w.0
        var s1 = cv.w.1
        var s2 = cv.w.2
        var s3 = cv.w.3
        var s4 = cv.w.4
        var s5 = cv.w.5
        var s6 = cv.w.6
        var s7 = cv.w.7
        var s8 = iv.0
        var s9 = iv.1
        var s10 = iv.2
        var s11 = iv.3
        var s12 = UInt32(truncatingIfNeeded: counter)
        var s13 = UInt32(truncatingIfNeeded: counter >> 32)
        var s14 = blockLength
        var s15 = flags

        @inline(__always) func g(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32, _ x: UInt32, _ y: UInt32) {
            a = a &+ b &+ x
            d = (d ^ a).rotatedRight(16)
            c = c &+ d
            b = (b ^ c).rotatedRight(12)
            a = a &+ b &+ y
            d = (d ^ a).rotatedRight(8)
            c = c &+ d
            b = (b ^ c).rotatedRight(7)
        }

        for round in 0..<7 {
            g(&s0, &s4, &s8, &s12, m.0, m.1)
            g(&s1, &s5, &s9, &s13, m.2, m.3)
            g(&s2, &s6, &s10, &s14, m.4, m.5)
            g(&s3, &s7, &s11, &s15, m.6, m.7)
            g(&s0, &s5, &s10, &s15, m.8, m.9)
            g(&s1, &s6, &s11, &s12, m.10, m.11)
            g(&s2, &s7, &s8, &s13, m.12, m.13)
            g(&s3, &s4, &s9, &s14, m.14, m.15)
            if round < 6 {
                // The message permutation 2,6,3,10,7,0,4,13,1,11,12,5,9,14,15,8.
                m = (m.2, m.6, m.3, m.10, m.7, m.0, m.4, m.13, m.1, m.11, m.12, m.5, m.9, m.14, m.15, m.8)
            }
        }
        return CV(w: (s0 ^ s8, s1 ^ s9, s2 ^ s10, s3 ^ s11, s4 ^ s12, s5 ^ s13, s6 ^ s14, s7 ^ s15))
    }
}

extension UInt32 {
    @inline(__always) func rotatedRight(_ count: UInt32) -> UInt32 { (self >> count) | (self << (32 - count)) }
}
