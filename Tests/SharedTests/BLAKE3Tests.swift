import Foundation
import TestClients
import Testing

@testable import Archive

@Suite struct BLAKE3Tests {
    /// The official test vectors' input: byte i is i mod 251.
    static func input(_ length: Int) -> [UInt8] { (0..<length).map { UInt8($0 % 251) } }

    /// `b3sum` (Debian's, the reference implementation) over `bytes`.
    static func b3sum(_ bytes: [UInt8]) throws -> String {
        try Shell.run("b3sum --no-names", input: Data(bytes), stderr: false).trimmed
    }

    @Test func knownVectors() {
        // From the official test_vectors.json (hash of the i mod 251 input).
        #expect(BLAKE3.hex(Self.input(0)) == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
        #expect(BLAKE3.hex(Self.input(1)) == "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213")
    }

    @Test(arguments: [
        1, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 4097, 5120, 5121, 6144, 6145, 7168, 7169,
        8192, 8193, 9217, 13313, 16384, 31744, 65537, 102_400, 524_289, 525_312, 1_000_003, 3_145_735,
    ])
    func matchesB3sum(_ length: Int) throws {
        let bytes = Self.input(length)
        let expected = try Self.b3sum(bytes)
        #expect(BLAKE3.hex(bytes) == expected, "length \(length)")
        // Fed in uneven pieces, the hash is the same.
        var hasher = BLAKE3()
        var offset = 0
        var step = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            hasher.update(Array(bytes[offset..<end]))
            offset = end
            step = step * 3 % 1031 + 1
        }
        #expect(hasher.finalizeHex() == expected, "length \(length), incremental")
    }

    /// Pieces the size of real callers (zstd output blocks, file reads, odd sizes) cross chunk and subtree boundaries
    /// at every offset the wide kernel and its subtree alignment have to handle.
    @Test(arguments: [1024, 5 * 1024, 131_072, 1 << 20, 1000, 64 * 1024 + 1])
    func fixedPieces(_ piece: Int) throws {
        let bytes = Self.input(2_500_000)
        let expected = try Self.b3sum(bytes)
        var hasher = BLAKE3()
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + piece)
            bytes[offset..<end].withUnsafeBytes { hasher.update($0) }
            offset = end
        }
        #expect(hasher.finalizeHex() == expected, "pieces of \(piece)")
    }
}
