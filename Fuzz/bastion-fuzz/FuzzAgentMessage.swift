// Enabled once `AgentMessage` is in Core (docs/security.md, "Fuzzing"): remove the `#if` here and in main.swift.
#if FUZZ_PENDING_AGENT_MESSAGE
import Core

/// The agent link's messages (`AgentMessage.decode`, both ends of `/agent/ws`): any bytes are a message or an error,
/// never a trap, and a message decoded, encoded and decoded again is the same message.
enum FuzzAgentMessage {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let message = try? AgentMessage.decode(Array(bytes)) else { return }
        let encoded = message.encoded()
        check((try? AgentMessage.decode(Array(encoded.utf8))) == message, "decode → encode → decode changed the message: \(encoded)")
    }
}
#endif
