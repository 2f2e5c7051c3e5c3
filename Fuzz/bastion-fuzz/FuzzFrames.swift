import Archive
import Core

/// `FrameTable(json:)` (a snapshot's `frames.json`, from a target) and its lookup: a table it reads, written again,
/// reads back the same, and a lookup at any offset answers a frame that holds it or nil, never a trap.
enum FuzzFrames {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let json = try? JSONValue.parse(bytes: bytes), let table = FrameTable(json: json) else { return }
        check(FrameTable(json: table.json) == table, "write → read changed the frame table")
        var probes: [Int64] = [0, 1, -1, .max, .min, table.frameBytes - 1, table.frameBytes, table.frameBytes &* Int64(table.offsets.count)]
        probes += table.offsets
        for offset in probes {
            guard let found = table.frame(holding: offset) else { continue }
            check(offset >= 0 && found.index < table.offsets.count, "frame(holding: \(offset)) answered frame \(found.index)")
            check(found.compressedOffset == table.offsets[found.index], "frame(holding: \(offset)) answered another frame's offset")
            check(found.skip >= 0 && found.skip < table.frameBytes, "frame(holding: \(offset)) skips \(found.skip)")
        }
    }
}
