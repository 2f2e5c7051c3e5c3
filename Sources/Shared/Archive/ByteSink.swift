/// One stage of the archive pipeline (tar → zstd → age → parts): takes bytes, passes its output on. Used by one
/// thread at a time: the thread that builds or reads an archive, or for the stages after a `PipelinedSink`, the
/// thread it hands them to.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// No more input: flush everything and finish the stages downstream.
    func finish() throws
}

extension ByteSink {
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Collects everything in memory (tests, small indexes).
public final class MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
    public func finish() throws {}
}
