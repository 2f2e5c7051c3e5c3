import Foundation

/// Framing of the bus: a 4-byte big-endian payload length, then one UTF-8 JSON object.
public enum BusFrame {
    /// Largest payload accepted or produced (docs/architecture.md, "The bus").
    public static let maxPayloadBytes = 256 * 1024

    /// Encodes a message into one complete frame.
    public static func encode(_ message: BusMessage) throws -> [UInt8] {
        let payload = Array(message.jsonText.utf8)
        guard payload.count <= maxPayloadBytes else {
            throw BusFrameError.oversized(payload.count)
        }
        var frame = [UInt8]()
        frame.reserveCapacity(4 + payload.count)
        let length = UInt32(payload.count)
        frame.append(UInt8(truncatingIfNeeded: length >> 24))
        frame.append(UInt8(truncatingIfNeeded: length >> 16))
        frame.append(UInt8(truncatingIfNeeded: length >> 8))
        frame.append(UInt8(truncatingIfNeeded: length))
        frame.append(contentsOf: payload)
        return frame
    }

    /// Decodes one frame payload (without its length prefix).
    public static func decodePayload(_ payload: [UInt8]) throws -> BusMessage {
        let message: BusMessage?
        do {
            message = try BusMessage(payload: payload)
        } catch {
            throw BusFrameError.malformed(String(describing: error))
        }
        guard let message else { throw BusFrameError.malformed("not a bus message") }
        return message
    }
}

/// A frame that cannot be accepted; the connection that sent it is closed.
public enum BusFrameError: Error, Equatable, CustomStringConvertible {
    case oversized(Int)
    case malformed(String)

    public var description: String {
        switch self {
        case .oversized(let size): return "frame of \(size) bytes exceeds \(BusFrame.maxPayloadBytes)"
        case .malformed(let reason): return "malformed frame: \(reason)"
        }
    }
}

/// Reassembles frames from a byte stream that arrives in arbitrary chunks.
public struct BusFrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0
    public let maxPayloadBytes: Int

    public init(maxPayloadBytes: Int = BusFrame.maxPayloadBytes) {
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Appends received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 64 * 1024 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Returns the next complete payload, nil when more bytes are needed; throws on an oversized length.
    public mutating func nextPayload() throws -> [UInt8]? {
        let available = buffer.count - start
        guard available >= 4 else { return nil }
        let length =
            Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        guard length <= maxPayloadBytes else { throw BusFrameError.oversized(length) }
        guard available >= 4 + length else { return nil }
        let payload = Array(buffer[(start + 4)..<(start + 4 + length)])
        start += 4 + length
        return payload
    }

    /// Bytes buffered but not yet returned.
    public var bufferedCount: Int { buffer.count - start }
}
