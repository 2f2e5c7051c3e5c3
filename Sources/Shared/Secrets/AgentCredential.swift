import Crypto
import Foundation

/// Enrolment tokens and agent keys (docs/agents.md, "Enrolment"): 32 random bytes in unpadded base64url, as the
/// original; the hub stores only the SHA-256 of the decoded bytes.
public enum AgentCredential {
    /// A fresh credential: the text to hand out once, and the hash to store.
    public static func generate() -> (text: String, hash: Data) {
        let text = SessionToken.generate()
        return (text, hash(text)!)
    }

    /// The SHA-256 of the decoded bytes; nil when `text` is not 32 bytes of unpadded base64url.
    public static func hash(_ text: String) -> Data? {
        guard text.count == 43, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        let base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "="
        guard let bytes = Data(base64Encoded: base64), bytes.count == 32 else { return nil }
        return Data(SHA256.hash(data: bytes))
    }
}
