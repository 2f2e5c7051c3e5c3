import CZstd
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a snapshot's `entries.jsonl.zst` one entry at a time, decompressing as it goes: memory stays bounded
/// whatever the number of entries. Lines that are not JSON objects are skipped (the manifest's count then tells).
final class EntriesIndexReader {
    private let path: String
    private let descriptor: Int32
    private let context: OpaquePointer
    private var input: [UInt8]
    private var inputPosition = 0
    private var inputSize = 0
    private var endOfFile = false
    private var output: [UInt8]
    /// Decompressed bytes not yet returned as lines, from `pendingStart`.
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var lastHint = 0
    private var outputWasFull = false
    /// Entries returned so far.
    private(set) var count: Int64 = 0

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ArchiveError.corrupt("\(URL(fileURLWithPath: path).lastPathComponent) is missing") }
        guard let context = ZSTD_createDCtx() else {
            close(descriptor)
            throw ZstdError(message: "cannot create a decompression context")
        }
        self.context = context
        input = [UInt8](repeating: 0, count: ZSTD_DStreamInSize())
        output = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
    }

    deinit {
        close(descriptor)
        ZSTD_freeDCtx(context)
    }

    /// The next entry, or nil after the last.
    func next() throws -> JSONValue? {
        while let line = try nextLine() {
            if line.isEmpty { continue }
            if let entry = try? JSONValue.parse(String(decoding: line, as: UTF8.self)), case .object = entry {
                count += 1
                return entry
            }
        }
        return nil
    }

    private func nextLine() throws -> ArraySlice<UInt8>? {
        while true {
            if let newline = pending[pendingStart...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pendingStart..<newline]
                pendingStart = newline + 1
                return line
            }
            if try !fill() {
                guard pendingStart < pending.count else { return nil }
                let line = pending[pendingStart...]
                pendingStart = pending.count
                return line
            }
        }
    }

    /// Appends more decompressed bytes to `pending`; false when the file is exhausted.
    private func fill() throws -> Bool {
        if pendingStart > 0 {
            pending.removeSubrange(0..<pendingStart)
            pendingStart = 0
        }
        while true {
            if inputPosition == inputSize && !endOfFile {
                let got = input.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if got < 0 {
                    if errno == EINTR { continue }
                    throw POSIXFailure("read \(path)")
                }
                inputPosition = 0
                inputSize = got
                endOfFile = got == 0
            }
            // Out of input: done, unless the last call filled the output buffer and zstd may hold more.
            if endOfFile && inputPosition == inputSize && !outputWasFull {
                guard lastHint == 0 else { throw ArchiveError.corrupt("\(URL(fileURLWithPath: path).lastPathComponent) is truncated") }
                return false
            }
            let produced = try input.withUnsafeBytes { source in
                try output.withUnsafeMutableBytes { target -> Int in
                    var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: inputSize, pos: inputPosition)
                    var outBuffer = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                    lastHint = try checkZstd(ZSTD_decompressStream(context, &outBuffer, &inBuffer))
                    inputPosition = inBuffer.pos
                    return outBuffer.pos
                }
            }
            outputWasFull = produced == output.count
            if produced > 0 {
                pending.append(contentsOf: output[0..<produced])
                return true
            }
        }
    }
}
