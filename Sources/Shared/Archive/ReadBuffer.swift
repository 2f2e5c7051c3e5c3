import Synchronization

/// A 1 MiB buffer a backup reads a large file into, handed from the walk to the writer thread and back through a
/// `ReadBuffer.Pool`, so reading a big file allocates (and page-faults) nothing per chunk.
final class ReadBuffer: @unchecked Sendable {
    // @unchecked Sendable: one thread at a time owns it: the walk fills it, the handoff carries it, the writer uses it
    // and gives it back to the pool, after which the walk may take it again.
    static let size = 1 << 20
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: ReadBuffer.size, alignment: 64)

    deinit { bytes.deallocate() }

    /// Buffers given back by the writer, at most 16 kept.
    final class Pool: Sendable {
        private let free = Mutex<[ReadBuffer]>([])

        func take() -> ReadBuffer { free.withLock { $0.popLast() } ?? ReadBuffer() }

        func give(_ buffer: ReadBuffer) {
            free.withLock { if $0.count < 16 { $0.append(buffer) } }
        }
    }
}
