import Foundation
import TestClients
import Testing

@testable import Shared

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
        8192, 8193, 16384, 31744, 102_400, 1_000_003,
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
}
