import Core
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a snapshot's `entries.jsonl.zst` one entry at a time: 64 KiB of the file at a time through a
/// `ZstdDecompressor` into a line buffer, so memory stays bounded whatever the number of entries. Lines that are not
/// JSON objects are skipped (the manifest's count then tells). A line longer than `lineLimit` is an error, so an index
/// from a hostile target cannot hold the reader's memory (docs/security.md, "Archives and restore").
public final class EntriesIndexReader {
    /// The longest line read: a member's extended headers are at most 16 MiB (`TarReader`), 22 MiB in base64.
    static let lineLimit = 32 << 20

    private let path: String
    private let descriptor: Int32
    private let lines = LineBuffer()
    private let decompressor: ZstdDecompressor
    private var input = [UInt8](repeating: 0, count: 1 << 16)
    private var endOfFile = false
    /// Entries returned so far.
    public private(set) var count: Int64 = 0

    public init(path: String) throws {
        self.path = path
        decompressor = try ZstdDecompressor(next: lines)
        descriptor = try Snapshot.openRegularFile(path, name: URL(fileURLWithPath: path).lastPathComponent)
    }

    deinit { close(descriptor) }

    /// The next entry, or nil after the last.
    public func next() throws -> JSONValue? {
        while let line = try nextLine() {
            if line.isEmpty { continue }
            if let entry = try? JSONValue.parse(bytes: line), case .object = entry {
                count += 1
                return entry
            }
        }
        return nil
    }

    /// The next entry as fields, for reads that take a few fields of every line (`IndexLine`).
    func nextFields() throws -> IndexLine? {
        while let line = try nextLine() {
            if line.isEmpty { continue }
            // A copy of its own: a slice would keep the line buffer shared, and its next write would copy it whole.
            if let fields = IndexLine(Array(line)[...]) {
                count += 1
                return fields
            }
        }
        return nil
    }

    private func nextLine() throws -> ArraySlice<UInt8>? {
        while true {
            if let line = lines.popLine() { return line }
            if endOfFile { return lines.popRest() }
            guard lines.pendingCount <= Self.lineLimit else {
                throw ArchiveError.corrupt("\(URL(fileURLWithPath: path).lastPathComponent) has a line longer than \(Self.lineLimit) bytes")
            }
            let got = input.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw POSIXFailure("read \(path)")
            }
            if got == 0 {
                endOfFile = true
                try decompressor.finish()  // a truncated last frame is an error
            } else {
                try input.withUnsafeBytes { try decompressor.write(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
            }
        }
    }
}

/// Decompressed bytes waiting to be split into lines.
private final class LineBuffer: ByteSink {
    private var bytes: [UInt8] = []
    private var start = 0

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        if start > 0 {
            bytes.removeSubrange(0..<start)
            start = 0
        }
        bytes.append(contentsOf: chunk)
    }

    func finish() throws {}

    /// The next complete line (without its newline), if one is buffered.
    func popLine() -> ArraySlice<UInt8>? {
        guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        defer { start = newline + 1 }
        return bytes[start..<newline]
    }

    /// Bytes buffered after the last line returned.
    var pendingCount: Int { bytes.count - start }

    /// What is left after the last newline (a last line without one), once.
    func popRest() -> ArraySlice<UInt8>? {
        guard start < bytes.count else { return nil }
        defer { start = bytes.count }
        return bytes[start...]
    }
}
