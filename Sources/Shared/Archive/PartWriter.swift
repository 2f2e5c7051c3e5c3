import Foundation

/// Takes each finished part off the staging directory to a remote target (docs/targets.md, "Writing a snapshot"). Called
/// on the builder's thread right after a part is closed; it may block (one upload in flight while the next part is
/// written) and owns the file from then on.
public protocol PartShipper: AnyObject, Sendable {
    func ship(_ part: PartWriter.Part, path: String) throws
}

/// The last stage of the pipeline: cuts the stream into `payload.part000001`, `payload.part000002`, … of
/// `partSize` bytes each (the last one shorter; no empty parts), each written as `.partial`, synced and renamed,
/// with the BLAKE3 of its bytes. `afterPart` runs between parts (cancellation checks). A part an earlier attempt of
/// the run already wrote with exactly these bytes is kept, not rewritten (`FileSink`'s `keepIdentical`), so a run
/// stopped by a worker restart resumes without writing its finished parts again.
public final class PartWriter: ByteSink {
    public struct Part: Sendable, Equatable {
        public var name: String
        public var size: Int64
        public var hash: String
    }

    public let directory: String
    public let partSize: Int64
    public private(set) var parts: [Part] = []
    public private(set) var totalBytes: Int64 = 0
    /// Parts kept from an earlier attempt (identical bytes, not rewritten).
    public private(set) var keptParts = 0
    private var current: FileSink?
    private let afterPart: () throws -> Void
    /// Where finished parts go when the directory is only staging (a remote target).
    private let shipper: (any PartShipper)?

    public init(directory: String, partSize: Int64, shipper: (any PartShipper)? = nil, afterPart: @escaping () throws -> Void = {}) {
        self.directory = directory
        self.partSize = partSize
        self.shipper = shipper
        self.afterPart = afterPart
    }

    public static func name(_ index: Int) -> String {
        let digits = String(index)
        return "payload.part" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if current == nil {
                current = try FileSink(path: "\(directory)/\(Self.name(parts.count + 1))", hashing: true, keepIdentical: true)
            }
            let room = Int(partSize - current!.size)
            let take = min(room, bytes.count - offset)
            try current!.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            offset += take
            totalBytes += Int64(take)
            if current!.size == partSize { try closePart() }
        }
    }

    /// Closes the last part and removes parts an earlier, longer attempt left beyond it.
    public func finish() throws {
        if current != nil { try closePart() }
        var stale = parts.count + 1
        while unlink("\(directory)/\(Self.name(stale))") == 0 { stale += 1 }
    }

    private func closePart() throws {
        guard let part = current else { return }
        try part.finish()
        if part.kept { keptParts += 1 }
        let finished = Part(name: URL(fileURLWithPath: part.path).lastPathComponent, size: part.size, hash: part.hash ?? "")
        parts.append(finished)
        current = nil
        try shipper?.ship(finished, path: part.path)
        try afterPart()
    }
}
