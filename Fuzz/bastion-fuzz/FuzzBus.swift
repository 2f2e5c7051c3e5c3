import Bus
import Core

/// The bus's frame decoder and message reader, on a byte stream cut into pieces of the size the first byte says: every
/// message read is written and read back to the same message.
enum FuzzBus {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else { return }
        let piece = Int(first) + 1
        let stream = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
        var decoder = BusFrameDecoder(maxPayloadBytes: 64 * 1024)
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + piece)
            decoder.append(UnsafeRawBufferPointer(rebasing: stream[offset..<end]))
            offset = end
            do {
                while let payload = try decoder.nextPayload() {
                    check(payload.count <= decoder.maxPayloadBytes, "a payload over the limit")
                    guard let message = try? BusFrame.decodePayload(payload) else { continue }
                    roundTrip(message)
                }
            } catch {
                return  // An oversized length: the connection is closed.
            }
        }
    }

    static func roundTrip(_ message: BusMessage) {
        // Written again, a message can outgrow a frame (numbers in full); that is refused, not a crash.
        guard let frame = try? BusFrame.encode(message) else { return }
        let length = Int(frame[0]) << 24 | Int(frame[1]) << 16 | Int(frame[2]) << 8 | Int(frame[3])
        check(length == frame.count - 4, "the frame's length prefix is wrong")
        do {
            let again = try BusFrame.decodePayload(Array(frame[4...]))
            check(again == message, "write → read changed the message: \(message.jsonText)")
        } catch {
            check(false, "a message the bus wrote does not read back (\(error)): \(message.jsonText)")
        }
    }
}
