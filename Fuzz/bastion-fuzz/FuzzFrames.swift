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
            // Inside the frames' span a lookup must answer: nil there would read nothing of a wanted file.
            let inside = offset >= 0 && offset / table.frameBytes < Int64(table.offsets.count)
            guard let found = table.frame(holding: offset) else {
                check(!inside, "frame(holding: \(offset)) answered nothing inside \(table.offsets.count) frames")
                continue
            }
            check(found.index == Int(offset / table.frameBytes), "frame(holding: \(offset)) answered frame \(found.index)")
            check(offset >= 0 && found.index < table.offsets.count, "frame(holding: \(offset)) answered frame \(found.index)")
            check(found.compressedOffset == table.offsets[found.index], "frame(holding: \(offset)) answered another frame's offset")
            check(found.skip >= 0 && found.skip < table.frameBytes, "frame(holding: \(offset)) skips \(found.skip)")
        }
    }
}
