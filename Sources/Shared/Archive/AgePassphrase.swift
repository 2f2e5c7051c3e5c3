import Crypto
import Foundation
import _CryptoExtras

/// age v1 files sealed with a passphrase (the `scrypt` recipient, what `age -p` writes and `age -d` opens): the
/// escrowed copy of a backup identity kept on targets (docs/recovery.md). Whole files in memory: they are small.
public enum AgePassphrase {
    /// log2 of scrypt's N when sealing: age's own default (2^18, 256 MiB, about a second).
    public static let workFactor = 18
    /// The largest log2 N an opened file may ask for: 2^20 takes 1 GiB (r = 8), so a hostile file cannot ask for more.
    public static let maxWorkFactor = 20
    /// The largest file `open` reads: an escrowed identity is a few hundred bytes.
    public static let maxFileBytes = 1 << 20
    static let saltLabel = "age-encryption.org/v1/scrypt"

    /// `plaintext` sealed to `passphrase`: header with the one `scrypt` stanza, MAC, nonce, STREAM chunks.
    public static func seal(_ plaintext: [UInt8], passphrase: String, workFactor: Int = workFactor) throws -> [UInt8] {
        guard !passphrase.isEmpty else { throw AgeError("empty passphrase") }
        guard workFactor >= 1, workFactor <= maxWorkFactor else { throw AgeError("scrypt work factor out of range") }
        var generator = SystemRandomNumberGenerator()
        let fileKey = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let wrapKey = try scrypt(passphrase, salt: salt, workFactor: workFactor)
        let wrapped = try ChaChaPoly.seal(fileKey, using: wrapKey, nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)))
        var header = "\(Age.headerLabel)\n-> scrypt \(Age.base64(salt)) \(workFactor)\n\(Age.base64(wrapped.ciphertext + wrapped.tag))\n---"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(header.utf8), using: Age.hkdf(fileKey, salt: [], info: "header"))
        header += " \(Age.base64(Array(mac)))\n"
        let nonce = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let payloadKey = Age.hkdf(fileKey, salt: nonce, info: "payload")
        var output = Array(header.utf8) + nonce
        var counter: UInt64 = 0
        var offset = 0
        repeat {
            let end = min(plaintext.count, offset + Age.chunkSize)
            let last = end == plaintext.count
            let box = try ChaChaPoly.seal(plaintext[offset..<end], using: payloadKey, nonce: Age.chunkNonce(counter, last: last))
            output += Array(box.ciphertext) + Array(box.tag)
            counter += 1
            offset = end
        } while offset < plaintext.count
        return output
    }

    /// The plaintext of a passphrase-sealed age file. Anything else (another recipient type, more than one stanza, a
    /// work factor above `maxWorkFactor`, a damaged or truncated file, a wrong passphrase) is an `AgeError`.
    public static func open(_ file: [UInt8], passphrase: String, maxWorkFactor: Int = maxWorkFactor) throws -> [UInt8] {
        let header = try parseHeader(file, maxWorkFactor: maxWorkFactor)
        let wrapKey = try scrypt(passphrase, salt: header.salt, workFactor: header.workFactor)
        let fileKey: [UInt8]
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)),
                ciphertext: header.wrapped.prefix(16),
                tag: header.wrapped.suffix(16)
            )
            fileKey = Array(try ChaChaPoly.open(box, using: wrapKey))
        } catch {
            throw AgeError("wrong passphrase (or a damaged file)")
        }
        guard
            HMAC<SHA256>.isValidAuthenticationCode(
                header.mac,
                authenticating: Array(file[0..<header.macInputEnd]),
                using: Age.hkdf(fileKey, salt: [], info: "header")
            )
        else { throw AgeError("header MAC mismatch") }
        let nonce = Array(file[header.payloadStart..<(header.payloadStart + 16)])
        let payloadKey = Age.hkdf(fileKey, salt: nonce, info: "payload")
        let sealed = file[(header.payloadStart + 16)...]
        let chunk = Age.chunkSize + 16
        guard sealed.count >= 16 else { throw AgeError("truncated payload") }
        var plaintext: [UInt8] = []
        var counter: UInt64 = 0
        var offset = sealed.startIndex
        while offset < sealed.endIndex {
            let end = min(sealed.endIndex, offset + chunk)
            let last = end == sealed.endIndex
            // Only the first chunk may be empty, and only when it is the last.
            guard end - offset > 16 || (last && counter == 0) else { throw AgeError("truncated payload") }
            do {
                let box = try ChaChaPoly.SealedBox(
                    nonce: Age.chunkNonce(counter, last: last),
                    ciphertext: sealed[offset..<(end - 16)],
                    tag: sealed[(end - 16)..<end]
                )
                plaintext += try ChaChaPoly.open(box, using: payloadKey)
            } catch {
                throw AgeError("payload chunk \(counter) does not authenticate (damaged data)")
            }
            counter += 1
            offset = end
        }
        return plaintext
    }

    struct Header {
        var salt: [UInt8]
        var workFactor: Int
        var wrapped: [UInt8]
        var mac: [UInt8]
        /// The MAC covers the header up to and including `---`.
        var macInputEnd: Int
        /// Where the 16-byte payload nonce starts.
        var payloadStart: Int
    }

    /// The header of a passphrase file, strictly as the age specification writes it: the version line, exactly one
    /// `-> scrypt <salt> <log2 N>` stanza with a 32-byte body, then `--- <mac>`.
    static func parseHeader(_ file: [UInt8], maxWorkFactor: Int) throws -> Header {
        guard file.count <= maxFileBytes else { throw AgeError("larger than \(maxFileBytes) bytes: not a key file") }
        var lines: [(text: String, end: Int)] = []
        var start = 0
        // The header is at most four lines; each is ASCII.
        while lines.count < 4 {
            guard let newline = file[start...].prefix(256).firstIndex(of: 10) else { throw AgeError("malformed header") }
            let line = file[start..<newline]
            guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { throw AgeError("malformed header") }
            lines.append((String(decoding: line, as: UTF8.self), newline))
            start = newline + 1
        }
        guard lines[0].text == Age.headerLabel else { throw AgeError("not an age v1 file") }
        let stanza = lines[1].text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard stanza.first == "->", stanza.count >= 2 else { throw AgeError("malformed header stanza") }
        guard stanza[1] == "scrypt" else { throw AgeError("not a passphrase file (its recipient is \(stanza[1].prefix(32)))") }
        guard stanza.count == 4, let salt = Age.unbase64(stanza[2]), salt.count == 16,
            let workFactor = Int(stanza[3]), String(workFactor) == stanza[3]
        else { throw AgeError("malformed scrypt stanza") }
        guard workFactor >= 1, workFactor <= maxWorkFactor else {
            throw AgeError("scrypt work factor \(workFactor) is above the \(maxWorkFactor) this reader allows")
        }
        guard let wrapped = Age.unbase64(lines[2].text), wrapped.count == 32 else { throw AgeError("malformed scrypt stanza body") }
        // An scrypt stanza must be the only one: the next line is the MAC line.
        guard lines[3].text.hasPrefix("--- ") else { throw AgeError("an scrypt stanza must be the only stanza") }
        guard let mac = Age.unbase64(String(lines[3].text.dropFirst(4))), mac.count == 32 else { throw AgeError("malformed header MAC") }
        let macLineStart = lines[2].end + 1
        guard file.count >= lines[3].end + 1 + 16 else { throw AgeError("truncated header") }
        return Header(salt: salt, workFactor: workFactor, wrapped: wrapped, mac: mac, macInputEnd: macLineStart + 3, payloadStart: lines[3].end + 1)
    }

    /// age's wrap key: scrypt(passphrase, "age-encryption.org/v1/scrypt" + salt, N = 2^workFactor, r = 8, p = 1), 32 bytes.
    static func scrypt(_ passphrase: String, salt: [UInt8], workFactor: Int) throws -> SymmetricKey {
        do {
            return try KDF.Scrypt.deriveKey(
                from: Array(passphrase.utf8),
                salt: Array(saltLabel.utf8) + salt,
                outputByteCount: 32,
                rounds: 1 << workFactor,
                blockSize: 8,
                parallelism: 1
            )
        } catch {
            throw AgeError("scrypt failed (\(error))")
        }
    }
}
