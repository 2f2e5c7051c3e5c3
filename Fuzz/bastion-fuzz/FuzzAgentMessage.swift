import Core

/// The agent link's messages (`AgentMessage.decode`, both ends of `/agent/ws`): any bytes are a message or an error,
/// never a trap, and a message decoded, encoded and decoded again is the same message.
enum FuzzAgentMessage {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let message = try? AgentMessage.decode(String(decoding: bytes, as: UTF8.self)) else { return }
        let encoded = message.text
        check((try? AgentMessage.decode(encoded)) == message, "decode → encode → decode changed the message: \(encoded)")
    }
}
