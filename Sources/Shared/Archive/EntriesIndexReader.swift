import Core
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a snapshot's `entries.jsonl.zst` one entry at a time: 64 KiB of the file at a time through a
/// `ZstdDecompressor` into a line buffer, so memory stays bounded whatever the number of entries. Lines that are not
/// JSON objects are skipped (the manifest's count then tells). The index comes from a target, which may be hostile
/// (docs/security.md, "Targets and secrets"): a line longer than `maxLineBytes` is `ArchiveError.corrupt` (a zstd bomb
/// without newlines never grows the buffer past it, checked as it decompresses), and so is an entry beyond
/// `maxEntries` (the manifest's count).
public final class EntriesIndexReader {
    /// The longest line accepted: a member's extended headers are at most 16 MiB (`TarReader`), 22 MiB in base64.
    public static let maxLineBytes = 32 << 20
    private let path: String
    private let descriptor: Int32
    private let lines = LineBuffer(limit: EntriesIndexReader.maxLineBytes)
    private let maxEntries: Int64?
    /// [age decrypt →] zstd → lines.
    private let decoder: any ByteSink
    private var input = [UInt8](repeating: 0, count: 1 << 16)
    private var endOfFile = false
    /// Entries returned so far.
    public private(set) var count: Int64 = 0

    /// `identity` decrypts an index written encrypted (`entry_index.encryption: "age"`, docs/formats.md); `maxEntries`:
    /// at most this many entries (the manifest's `entry_index.count`), nil for no limit.
    public init(path: String, identity: String? = nil, maxEntries: Int64? = nil) throws {
        self.path = path
        self.maxEntries = maxEntries
        let decompressor = try ZstdDecompressor(next: lines)
        decoder = try identity.map { try AgeDecryptor(identity: $0, next: decompressor) } ?? decompressor
        descriptor = try Snapshot.openRegularFile(path, name: URL(fileURLWithPath: path).lastPathComponent)
    }

    deinit { close(descriptor) }

    /// The next entry, or nil after the last.
    public func next() throws -> JSONValue? {
        while let line = try nextLine() {
            if line.isEmpty { continue }
            if let entry = try? JSONValue.parse(bytes: line), case .object = entry {
                try countEntry()
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
                try countEntry()
                return fields
            }
        }
        return nil
    }

    private func countEntry() throws {
        count += 1
        if let maxEntries, count > maxEntries {
            throw ArchiveError.corrupt("\(Manifest.entriesIndexName) holds more entries than the manifest's \(maxEntries)")
        }
    }

    private func nextLine() throws -> ArraySlice<UInt8>? {
        while true {
            if let line = lines.popLine() { return line }
            if endOfFile { return lines.popRest() }
            let got = input.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw POSIXFailure("read \(path)")
            }
            if got == 0 {
                endOfFile = true
                try decoder.finish()  // a truncated last frame (or age chunk) is an error
            } else {
                try input.withUnsafeBytes { try decoder.write(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
            }
        }
    }
}

/// Decompressed bytes waiting to be split into lines; more than `limit` bytes without a newline is an error.
private final class LineBuffer: ByteSink {
    private var bytes: [UInt8] = []
    private var start = 0
    private let limit: Int
    /// Bytes after the last newline written (a line still growing).
    private var tail = 0

    init(limit: Int) { self.limit = limit }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        if start > 0 {
            bytes.removeSubrange(0..<start)
            start = 0
        }
        // Only the bytes after the last newline can grow without bound.
        tail = chunk.lastIndex(of: UInt8(ascii: "\n")).map { chunk.count - $0 - 1 } ?? tail + chunk.count
        guard tail <= limit else { throw ArchiveError.corrupt("a line of \(Manifest.entriesIndexName) is longer than \(limit) bytes") }
        bytes.append(contentsOf: chunk)
    }

    func finish() throws {}

    /// The next complete line (without its newline), if one is buffered.
    func popLine() -> ArraySlice<UInt8>? {
        guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        defer { start = newline + 1 }
        return bytes[start..<newline]
    }

    /// What is left after the last newline (a last line without one), once.
    func popRest() -> ArraySlice<UInt8>? {
        guard start < bytes.count else { return nil }
        defer { start = bytes.count }
        return bytes[start...]
    }
}
