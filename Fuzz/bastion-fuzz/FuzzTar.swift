import Archive
import Core

/// `TarReader` (a restore's or verify's payload, from a target): the same stream fed whole and in pieces gives the
/// same members and the same outcome, and each file's content and holes add up to its size.
enum FuzzTar {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else { return }
        let stream = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
        let whole = read(stream, piece: max(stream.count, 1))
        let pieces = read(stream, piece: Int(first) % 64 * 8 + 1)
        check(whole == pieces, "fed in pieces, the stream reads differently:\n\(whole)\n\(pieces)")
    }

    static func read(_ stream: UnsafeRawBufferPointer, piece: Int) -> Recorder.Outcome {
        let recorder = Recorder()
        let reader = TarReader(delegate: recorder)
        do {
            var offset = 0
            while offset < stream.count {
                let end = min(stream.count, offset + piece)
                try reader.write(UnsafeRawBufferPointer(rebasing: stream[offset..<end]))
                offset = end
            }
            try reader.finish()
        } catch {
            recorder.outcome.error = String(describing: error)
        }
        return recorder.outcome
    }

    /// Records what the reader delivers (content as a count and a checksum, so pieces compare equal) and checks each
    /// member as it ends.
    final class Recorder: TarReaderDelegate {
        struct Member: Equatable {
            var entry: TarEntry
            var content: Int64 = 0
            var holes: Int64 = 0
            var checksum: UInt64 = 0
        }

        struct Outcome: Equatable {
            var members: [Member] = []
            var error: String?
        }

        var outcome = Outcome()
        var current: Member?

        func begin(_ entry: TarEntry) throws {
            check(current == nil, "begin inside a member")
            if let sparse = entry.sparse {
                var end: Int64 = 0
                for segment in sparse {
                    check(segment.offset >= end && segment.length >= 0, "sparse segments out of order: \(sparse)")
                    end = segment.offset + segment.length
                }
                check(end <= entry.size, "sparse segments pass the size \(entry.size): \(sparse)")
            }
            check(entry.size >= 0, "a negative size")
            current = Member(entry: entry)
        }

        func content(_ bytes: UnsafeRawBufferPointer) throws {
            check(current != nil, "content outside a member")
            current!.content += Int64(bytes.count)
            for byte in bytes { current!.checksum = current!.checksum &* 31 &+ UInt64(byte) }
        }

        func hole(_ count: Int64) throws {
            check(current != nil && count > 0, "a hole outside a member or of \(count) bytes")
            current!.holes += count
            // A hole reads as zeros.
            for _ in 0..<min(count, 1) { current!.checksum = current!.checksum &* 31 }
        }

        func end(_ entry: TarEntry) throws {
            guard let member = current else {
                check(false, "end without begin")
                return
            }
            check(member.entry == entry, "end of another member")
            check(member.content + member.holes == entry.size, "content \(member.content) + holes \(member.holes) != size \(entry.size)")
            outcome.members.append(member)
            current = nil
        }
    }
}
