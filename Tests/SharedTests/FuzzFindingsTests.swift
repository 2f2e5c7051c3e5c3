import Foundation
import Testing

@testable import Archive

/// Inputs the libFuzzer targets (`make fuzz`, docs/security.md, "Fuzzing") found crashing, kept as plain tests: each
/// is refused with an error now.
@Suite struct FuzzFindingsTests {
    /// A 512-byte ustar header with a valid checksum.
    static func header(name: String, size: Int, type: Character) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { block.replaceSubrange(offset..<(offset + text.utf8.count), with: text.utf8) }
        put(name, at: 0)
        put("0000644", at: 100)
        put(String(format: "%011o", size), at: 124)
        put(String(format: "%011o", 1_500_000_000), at: 136)
        put("        ", at: 148)
        put(String(type), at: 156)
        put("ustar\u{0}00", at: 257)
        put(String(format: "%06o", block.reduce(0) { $0 + Int($1) }) + "\u{0} ", at: 148)
        return block
    }

    static func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512) }

    /// Found by the `tar` target (input in Fuzz/Corpus/tar/regress-sparse-realsize-overflow.tar): a GNU sparse 1.0
    /// member whose `GNU.sparse.realsize` is -9223372036854775807 trapped on an arithmetic overflow while its map was
    /// checked against the size (TarReader.takeMapNumber): a worker crash loop. A negative real size
    /// is refused.
    @Test func aSparseMemberWithANegativeRealSizeIsRefused() throws {
        let pax = Array(
            ("22 GNU.sparse.major=1\n22 GNU.sparse.minor=0\n44 GNU.sparse.realsize=-9223372036854775807\n"
                + "21 GNU.sparse.name=f\n").utf8
        )
        let data = Self.padded(Array("1\n0\n5\n".utf8)) + Self.padded(Array("hello".utf8))
        let stream =
            Self.header(name: "PaxHeaders/f", size: pax.count, type: "x") + Self.padded(pax)
            + Self.header(name: "GNUSparseFile.0/f", size: data.count, type: "0") + data + [UInt8](repeating: 0, count: 1024)
        // Refused for its real size, not by a later check that a mended guard would leave to catch it.
        #expect {
            _ = try TarFormatTests.read(stream)
        } throws: { "\($0)".contains("negative GNU.sparse.realsize") }
    }
}
