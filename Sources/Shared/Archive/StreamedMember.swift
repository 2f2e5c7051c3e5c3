import Core
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Bytes of unknown length an archive member is made of as they arrive: a dump tool's stdout through a pipe
/// (docs/formats.md, "Streamed members"). Read on the build's walking thread only.
public protocol StreamedSource: AnyObject {
    /// Reads up to `buffer.count` bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Called once the stream ended: throws when whatever produced it failed (a dump tool's non-zero exit), so the
    /// snapshot is never marked complete.
    func finish() throws
}

/// A member of the archive whose bytes come from a stream: `open` is called on the build's thread when its turn
/// comes (after the walked roots, in the order given).
public struct StreamedInput: Sendable {
    /// The member's archive path (`postgres/app.dump`); a long stream becomes `<path>.000001`, `.000002`, ...
    public var archivePath: String
    public var open: @Sendable () throws -> any StreamedSource

    public init(archivePath: String, open: @escaping @Sendable () throws -> any StreamedSource) {
        self.archivePath = archivePath
        self.open = open
    }
}

/// What a streamed input became: its member(s) in order (join them to get the stream back) and its length.
public struct StreamedResult: Sendable, Equatable {
    public var archivePath: String
    public var members: [String]
    public var size: Int64

    public init(archivePath: String, members: [String], size: Int64) {
        self.archivePath = archivePath
        self.members = members
        self.size = size
    }

    public var json: JSONValue {
        .object(["path": .string(archivePath), "members": .array(members.map(JSONValue.string)), "size": .number(Double(size))])
    }
}

/// A file descriptor read until its end (a pipe's reading side); closes it on `finish` or when released.
public final class DescriptorSource: StreamedSource {
    private var descriptor: Int32
    private let onFinish: () throws -> Void

    /// `onFinish` runs after the end of the stream (e.g. waits for the process and checks its exit).
    public init(descriptor: Int32, onFinish: @escaping () throws -> Void = {}) {
        self.descriptor = descriptor
        self.onFinish = onFinish
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw ArchiveBuilder.SourceError(description: POSIXFailure("read the dump stream").description)
        }
    }

    public func finish() throws {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        try onFinish()
    }
}
