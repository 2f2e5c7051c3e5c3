import Crypto
import Foundation
import TestClients
import Testing
import _CryptoExtras

@testable import Archive

/// The escrowed identity's format: age's scrypt recipient, checked against RFC 7914 and the `age` binary both ways.
@Suite struct AgePassphraseTests {
    static let agePTY = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Support/age_pty.py"

    func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// RFC 7914 section 12, the vectors within reach of a test (N = 1024 and N = 16384).
    @Test func scryptMatchesRFC7914() throws {
        let second = try KDF.Scrypt.deriveKey(
            from: Array("password".utf8),
            salt: Array("NaCl".utf8),
            outputByteCount: 64,
            rounds: 1024,
            blockSize: 8,
            parallelism: 16
        )
        #expect(
            second.withUnsafeBytes { hex($0) }
                == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        )
        let third = try KDF.Scrypt.deriveKey(
            from: Array("pleaseletmein".utf8),
            salt: Array("SodiumChloride".utf8),
            outputByteCount: 64,
            rounds: 16384,
            blockSize: 8,
            parallelism: 1
        )
        #expect(
            third.withUnsafeBytes { hex($0) }
                == "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"
        )
    }

    @Test(arguments: [0, 1, 180, 65536, 65537, 200_000])
    func roundTripsAndRefusesDamage(_ length: Int) throws {
        let plain = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let sealed = try AgePassphrase.seal(plain, passphrase: "correct horse battery", workFactor: 10)
        #expect(try AgePassphrase.open(sealed, passphrase: "correct horse battery") == plain)
        #expect(throws: AgeError.self) { try AgePassphrase.open(sealed, passphrase: "correct horse batterY") }
        var damaged = sealed
        damaged[damaged.count - 1] ^= 1
        #expect(throws: AgeError.self) { try AgePassphrase.open(damaged, passphrase: "correct horse battery") }
        #expect(throws: AgeError.self) { try AgePassphrase.open(Array(sealed.dropLast(17)), passphrase: "correct horse battery") }
    }

    @Test func refusesHostileHeaders() throws {
        let sealed = try AgePassphrase.seal(Array("AGE-SECRET-KEY-1X".utf8), passphrase: "pass phrase 12", workFactor: 10)
        let text = String(decoding: sealed, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let stanza = lines[1].split(separator: " ").map(String.init)
        // A work factor past the bound is refused before any scrypt runs (2^30 would take 128 GiB).
        for factor in ["30", "21", "0", "018", "-1", "x"] {
            let hostile = sealed.replacing(Array(lines[1].utf8), with: Array("-> scrypt \(stanza[2]) \(factor)".utf8))
            #expect(throws: AgeError.self) { try AgePassphrase.open(hostile, passphrase: "pass phrase 12") }
        }
        // A second stanza beside scrypt, an X25519 file, garbage, an empty file, a huge file.
        let twoStanzas = sealed.replacing(Array((lines[2] + "\n").utf8), with: Array((lines[2] + "\n-> X25519 abc\nabc\n").utf8))
        #expect(throws: AgeError.self) { try AgePassphrase.open(twoStanzas, passphrase: "pass phrase 12") }
        let x25519 = MemorySink()
        let encryptor = try AgeEncryptor(recipient: Age.generateIdentity().recipient, next: x25519)
        try encryptor.finish()
        #expect(throws: AgeError.self) { try AgePassphrase.open(x25519.bytes, passphrase: "pass phrase 12") }
        #expect(throws: AgeError.self) { try AgePassphrase.open([], passphrase: "pass phrase 12") }
        #expect(throws: AgeError.self) { try AgePassphrase.open(Array("age-encryption.org/v1\n\n\n\n".utf8), passphrase: "x") }
        #expect(throws: AgeError.self) {
            try AgePassphrase.open([UInt8](repeating: 0x41, count: AgePassphrase.maxFileBytes + 1), passphrase: "x")
        }
    }

    /// The fuzz seeds were sealed by another implementation (Python's hashlib.scrypt and `cryptography`, work factor
    /// 1–2, passphrase `fuzz`): they open here, and a work factor above the caller's bound is refused before scrypt.
    @Test func opensFilesSealedElsewhere() throws {
        let corpus =
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
            + "/Fuzz/Corpus/agepassphrase"
        let identity = try Array(Data(contentsOf: URL(fileURLWithPath: corpus + "/identity.age")))
        #expect(String(decoding: try AgePassphrase.open(identity, passphrase: "fuzz", maxWorkFactor: 2), as: UTF8.self).hasPrefix("AGE-SECRET-KEY-1"))
        #expect(
            try AgePassphrase.open(Array(Data(contentsOf: URL(fileURLWithPath: corpus + "/empty.age"))), passphrase: "fuzz", maxWorkFactor: 2).isEmpty
        )
        let twoChunks = try AgePassphrase.open(Array(Data(contentsOf: URL(fileURLWithPath: corpus + "/two-chunks.age"))), passphrase: "fuzz")
        #expect(twoChunks == Array((0..<300).flatMap { _ in (0...255).map(UInt8.init) }))
        #expect(throws: AgeError.self) { try AgePassphrase.open(identity, passphrase: "fuzz", maxWorkFactor: 0) }
    }

    /// Ours → `age -d`, and `age -p` → ours, with the passphrase typed on a pseudo-terminal (age reads it nowhere else).
    @Test func interoperatesWithTheAgeCommand() throws {
        let dir = TemporaryDirectory()
        let identity = Age.generateIdentity().identity + "\n"
        let passphrase = "a passphrase only we know"
        let sealed = try AgePassphrase.seal(Array(identity.utf8), passphrase: passphrase)
        #expect(String(decoding: sealed.prefix(40), as: UTF8.self).contains("-> scrypt "))
        try Data(sealed).write(to: URL(fileURLWithPath: dir.path + "/key.age"))
        let decrypted = try Shell.run("python3 '\(Self.agePTY)' '\(passphrase)' age -d -o '\(dir.path)/key.txt' '\(dir.path)/key.age'")
        #expect(decrypted.status == 0, "age -d: \(String(decoding: decrypted.data, as: UTF8.self))")
        #expect((try? String(contentsOfFile: dir.path + "/key.txt", encoding: .utf8)) == identity)

        try Data(identity.utf8).write(to: URL(fileURLWithPath: dir.path + "/plain.txt"))
        let encrypted = try Shell.run("python3 '\(Self.agePTY)' '\(passphrase)' age -p -o '\(dir.path)/by-age.age' '\(dir.path)/plain.txt'")
        #expect(encrypted.status == 0, "age -p: \(String(decoding: encrypted.data, as: UTF8.self))")
        let byAge = try Array(Data(contentsOf: URL(fileURLWithPath: dir.path + "/by-age.age")))
        #expect(try AgePassphrase.open(byAge, passphrase: passphrase) == Array(identity.utf8))
        #expect(throws: AgeError.self) { try AgePassphrase.open(byAge, passphrase: passphrase + "!") }
    }
}
