import Foundation
import TestClients
import Testing

@testable import Archive

@Suite struct AgeTests {
    func encrypt(_ plain: [UInt8], to recipient: String, pieces: Int = 7919) throws -> [UInt8] {
        let sink = MemorySink()
        let encryptor = try AgeEncryptor(recipient: recipient, next: sink)
        var offset = 0
        while offset < plain.count {
            let end = min(plain.count, offset + pieces)
            try plain[offset..<end].withUnsafeBytes { try encryptor.write($0) }
            offset = end
        }
        try encryptor.finish()
        return sink.bytes
    }

    func decrypt(_ sealed: [UInt8], identity: String) throws -> [UInt8] {
        let sink = MemorySink()
        let decryptor = try AgeDecryptor(identity: identity, next: sink)
        var offset = 0
        while offset < sealed.count {
            let end = min(sealed.count, offset + 100_000)
            try sealed[offset..<end].withUnsafeBytes { try decryptor.write($0) }
            offset = end
        }
        try decryptor.finish()
        return sink.bytes
    }

    @Test(arguments: [0, 1, 65535, 65536, 65537, 131_072, 300_001])
    func interoperatesWithTheAgeCommand(_ length: Int) throws {
        let dir = TemporaryDirectory()
        let (identity, recipient) = Age.generateIdentity()
        #expect(identity.hasPrefix("AGE-SECRET-KEY-1") && recipient.hasPrefix("age1"))
        #expect(try Age.recipient(ofIdentity: identity) == recipient)
        try identity.write(toFile: dir.path + "/key.txt", atomically: true, encoding: .utf8)
        var generator = SystemRandomNumberGenerator()
        let plain = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }

        // Ours → age -d.
        let sealed = try encrypt(plain, to: recipient)
        let decrypted = try Shell.run("age -d -i '\(dir.path)/key.txt'", input: Data(sealed), stderr: false)
        #expect(decrypted.status == 0 && Array(decrypted.data) == plain, "age -d failed for \(length) bytes")

        // age -r → ours.
        let fromAge = try Shell.run("age -r \(recipient)", input: Data(plain), stderr: false)
        #expect(fromAge.status == 0)
        #expect(try decrypt(Array(fromAge.data), identity: identity) == plain)

        // Wrong identity, flipped byte, truncation: refused.
        #expect(throws: AgeError.self) { try self.decrypt(sealed, identity: Age.generateIdentity().identity) }
        if sealed.count > 300 {
            var damaged = sealed
            damaged[damaged.count - 20] ^= 1
            #expect(throws: AgeError.self) { try self.decrypt(damaged, identity: identity) }
            #expect(throws: AgeError.self) { try self.decrypt(Array(sealed.dropLast(17)), identity: identity) }
        }
    }
}
