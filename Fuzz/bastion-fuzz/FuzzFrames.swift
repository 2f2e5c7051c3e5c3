import Archive
import Core

/// `FrameTable(json:)` (a snapshot's `frames.json`, from a target) and its lookups: a table it reads, written again,
/// reads back the same (its per-frame hashes one per frame), a lookup at any offset answers a frame that holds it or
/// nil, and a frame's stored range for any payload size is nil or non-empty inside the payload, never a trap.
enum FuzzFrames {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let json = try? JSONValue.parse(bytes: bytes), let table = FrameTable(json: json) else { return }
        check(FrameTable(json: table.json) == table, "write → read changed the frame table")
        var probes: [Int64] = [0, 1, -1, .max, .min, table.frameBytes - 1, table.frameBytes, table.frameBytes &* Int64(table.offsets.count)]
        probes += table.offsets
        if let hashes = table.hashes { check(hashes.count == table.offsets.count, "\(hashes.count) hashes for \(table.offsets.count) frames") }
        let count = table.offsets.count
        let frames = Array(Set([0, 1, count / 2, count - 2, count - 1, count, -1]))
        for stored in [0, 1, table.offsets.last.map { $0 + 1 } ?? 0, Int64(1) << 40, .max / 2, .max] {
            for index in frames {
                guard let range = table.storedRange(ofFrame: index, storedBytes: stored) else { continue }
                check(index >= 0 && index < count, "a stored range for frame \(index) of \(count)")
                check(!range.isEmpty && range.lowerBound >= 0 && range.upperBound <= stored, "frame \(index)'s stored range \(range) in \(stored)")
            }
        }
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
