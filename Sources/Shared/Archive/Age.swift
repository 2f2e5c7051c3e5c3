import Crypto
import Foundation

/// age v1 (https://age-encryption.org/v1) with X25519 recipients, built on swift-crypto: files `age -d -i KEY`
/// decrypts, and that this decrypts from `age -r`.
public enum Age {
    static let chunkSize = 64 * 1024
    static let headerLabel = "age-encryption.org/v1"

    /// A new identity: (`AGE-SECRET-KEY-1…`, `age1…`).
    public static func generateIdentity() -> (identity: String, recipient: String) {
        let key = Curve25519.KeyAgreement.PrivateKey()
        return (
            Bech32.encode(hrp: "AGE-SECRET-KEY-", data: Array(key.rawRepresentation)).uppercased(),
            Bech32.encode(hrp: "age", data: Array(key.publicKey.rawRepresentation))
        )
    }

    /// The recipient of an identity.
    public static func recipient(ofIdentity identity: String) throws -> String {
        Bech32.encode(hrp: "age", data: Array(try privateKey(identity).publicKey.rawRepresentation))
    }

    static func privateKey(_ identity: String) throws -> Curve25519.KeyAgreement.PrivateKey {
        guard let (hrp, data) = Bech32.decode(identity.trimmingCharacters(in: .whitespacesAndNewlines)), hrp == "age-secret-key-", data.count == 32
        else {
            throw AgeError("not an age X25519 identity")
        }
        return try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: data)
    }

    static func publicKey(_ recipient: String) throws -> Curve25519.KeyAgreement.PublicKey {
        guard let (hrp, data) = Bech32.decode(recipient), hrp == "age", data.count == 32 else { throw AgeError("not an age X25519 recipient") }
        return try Curve25519.KeyAgreement.PublicKey(rawRepresentation: data)
    }

    /// Unpadded standard base64, as age writes it.
    static func base64(_ bytes: some Collection<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    static func unbase64(_ text: String) -> [UInt8]? {
        guard !text.contains("=") else { return nil }
        let padded = text + String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: padded).map(Array.init)
    }

    static func hkdf(_ ikm: some ContiguousBytes, salt: [UInt8], info: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: ikm), salt: salt, info: Data(info.utf8), outputByteCount: 32)
    }

    static func chunkNonce(_ counter: UInt64, last: Bool) throws -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[3 + index] = UInt8(truncatingIfNeeded: counter >> (8 * (7 - index))) }
        bytes[11] = last ? 1 : 0
        return try ChaChaPoly.Nonce(data: bytes)
    }
}

public struct AgeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = "age: " + description }
}

/// Encrypts a stream to one X25519 recipient: header, 16-byte nonce, then 64 KiB STREAM chunks.
public final class AgeEncryptor: ByteSink {
    private let next: any ByteSink
    private let payloadKey: SymmetricKey
    private var buffer: [UInt8] = []
    private var counter: UInt64 = 0
    /// The header and the payload nonce: everything before the first chunk. A reader that has them (`frames.json`
    /// keeps a copy) and the identity can decrypt any chunk alone (`AgeDecryptor.start(header:atChunk:)`).
    public let header: [UInt8]

    public init(recipient: String, next: any ByteSink) throws {
        self.next = next
        let recipientKey = try Age.publicKey(recipient)
        var fileKey = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in fileKey.indices { fileKey[index] = generator.next() }
        let ephemeral = Curve25519.KeyAgreement.PrivateKey()
        let share = Array(ephemeral.publicKey.rawRepresentation)
        let shared = try ephemeral.sharedSecretFromKeyAgreement(with: recipientKey)
        let salt = share + Array(recipientKey.rawRepresentation)
        let wrapKey = shared.withUnsafeBytes { Age.hkdf(Array($0), salt: salt, info: "age-encryption.org/v1/X25519") }
        let wrapped = try ChaChaPoly.seal(fileKey, using: wrapKey, nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)))
        var header = "\(Age.headerLabel)\n-> X25519 \(Age.base64(share))\n\(Age.base64(wrapped.ciphertext + wrapped.tag))\n---"
        let macKey = Age.hkdf(fileKey, salt: [], info: "header")
        let mac = HMAC<SHA256>.authenticationCode(for: Data(header.utf8), using: macKey)
        header += " \(Age.base64(Array(mac)))\n"
        var nonce = [UInt8](repeating: 0, count: 16)
        for index in nonce.indices { nonce[index] = generator.next() }
        payloadKey = Age.hkdf(fileKey, salt: nonce, info: "payload")
        self.header = Array(header.utf8) + nonce
        try next.write(self.header)
        buffer.reserveCapacity(Age.chunkSize)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            // A full buffered chunk is known not to be the last only once more input arrives.
            if buffer.count == Age.chunkSize { try seal(last: false) }
            let take = min(Age.chunkSize - buffer.count, bytes.count - offset)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            offset += take
        }
    }

    public func finish() throws {
        try seal(last: true)
        try next.finish()
    }

    private func seal(last: Bool) throws {
        let box = try ChaChaPoly.seal(buffer, using: payloadKey, nonce: Age.chunkNonce(counter, last: last))
        try next.write(Array(box.ciphertext) + Array(box.tag))
        counter += 1
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Decrypts an age v1 stream with an X25519 identity (header MAC and every chunk authenticated).
public final class AgeDecryptor: ByteSink {
    private let next: any ByteSink
    private let identity: Curve25519.KeyAgreement.PrivateKey
    private var pending: [UInt8] = []
    private var payloadKey: SymmetricKey?
    private var counter: UInt64 = 0
    private static let sealedChunk = Age.chunkSize + 16

    public init(identity: String, next: any ByteSink) throws {
        self.identity = try Age.privateKey(identity)
        self.next = next
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        pending.append(contentsOf: bytes)
        if payloadKey == nil { try parseHeader() }
        guard payloadKey != nil else { return }
        // Keep at least one byte beyond a full chunk so the final chunk is decrypted by `finish`.
        var offset = 0
        while pending.count - offset > Self.sealedChunk {
            try open(Array(pending[offset..<(offset + Self.sealedChunk)]), last: false)
            offset += Self.sealedChunk
        }
        if offset > 0 { pending.removeFirst(offset) }
    }

    /// Starts decrypting at chunk `chunk` of a stream whose `header` (with the payload nonce) is known: the bytes
    /// written next are that chunk's ciphertext onwards (docs/formats.md, "Frames").
    public func start(header: [UInt8], atChunk chunk: UInt64) throws {
        pending = header
        try parseHeader()
        guard payloadKey != nil, pending.isEmpty else { throw AgeError("not a whole age header") }
        counter = chunk
    }

    /// Where chunk `chunk` starts in a stream with a header of `headerBytes`.
    public static func offset(ofChunk chunk: Int64, headerBytes: Int) -> Int64 { Int64(headerBytes) + chunk * Int64(sealedChunk) }

    /// At the end of the stream in a read that does not finish it: the last chunk held back is opened as the last.
    public func endOfStream() throws {
        guard payloadKey != nil, pending.count >= 16 else { return }
        try open(pending, last: true)
        pending.removeAll()
    }

    public func finish() throws {
        if payloadKey == nil { try parseHeader() }
        guard payloadKey != nil else { throw AgeError("truncated header") }
        guard pending.count >= 16, counter == 0 || pending.count > 16 else { throw AgeError("truncated payload") }
        try open(pending, last: true)
        pending.removeAll()
        try next.finish()
    }

    private func open(_ sealed: [UInt8], last: Bool) throws {
        guard let payloadKey else { return }
        let plaintext: Data
        do {
            let box = try ChaChaPoly.SealedBox(nonce: Age.chunkNonce(counter, last: last), ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
            plaintext = try ChaChaPoly.open(box, using: payloadKey)
        } catch let error as AgeError {
            throw error
        } catch {
            throw AgeError("payload chunk \(counter) does not authenticate (wrong key or damaged data)")
        }
        counter += 1
        // Outside the catch: what the stages after decryption throw (a restore's conflict, a cancel) is theirs, not a
        // chunk that fails to authenticate.
        try next.write(Array(plaintext))
    }

    private func parseHeader() throws {
        // The header ends at the line starting with "--- "; then 16 bytes of nonce.
        guard let macLineStart = Self.find(Array("\n--- ".utf8), in: pending) else {
            if pending.count > 4096 { throw AgeError("no header end in the first 4 KiB") }
            return
        }
        guard let lineEnd = pending[(macLineStart + 1)...].firstIndex(of: 10) else { return }
        guard pending.count >= lineEnd + 1 + 16 else { return }
        let headerText = String(decoding: pending[0..<macLineStart], as: UTF8.self)
        let lines = headerText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first == Age.headerLabel else { throw AgeError("not an age v1 file") }
        var fileKey: [UInt8]?
        var index = 1
        while index < lines.count {
            let arguments = lines[index].split(separator: " ").map(String.init)
            index += 1
            var body = ""
            while index < lines.count {
                let line = lines[index]
                index += 1
                body += line
                if line.count < 64 { break }
            }
            guard arguments.first == "->" else { throw AgeError("malformed header stanza") }
            guard fileKey == nil, arguments.count == 3, arguments[1] == "X25519", let share = Age.unbase64(arguments[2]), share.count == 32,
                let wrapped = Age.unbase64(body), wrapped.count == 32
            else { continue }
            let shareKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: share)
            let shared = try identity.sharedSecretFromKeyAgreement(with: shareKey)
            let salt = share + Array(identity.publicKey.rawRepresentation)
            let wrapKey = shared.withUnsafeBytes { Age.hkdf(Array($0), salt: salt, info: "age-encryption.org/v1/X25519") }
            if let box = try? ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)),
                ciphertext: wrapped.prefix(16),
                tag: wrapped.suffix(16)
            ), let key = try? ChaChaPoly.open(box, using: wrapKey) {
                fileKey = Array(key)
            }
        }
        guard let fileKey else { throw AgeError("no recipient stanza matches this identity") }
        let macText = String(decoding: pending[(macLineStart + 5)..<lineEnd], as: UTF8.self)
        guard let mac = Age.unbase64(macText),
            HMAC<SHA256>.isValidAuthenticationCode(
                mac,
                authenticating: Array(pending[0..<(macLineStart + 4)]),
                using: Age.hkdf(fileKey, salt: [], info: "header")
            )
        else { throw AgeError("header MAC mismatch") }
        let nonce = Array(pending[(lineEnd + 1)..<(lineEnd + 17)])
        payloadKey = Age.hkdf(fileKey, salt: nonce, info: "payload")
        pending.removeFirst(lineEnd + 17)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        }
        return nil
    }
}
