import Core
import Crypto
import Foundation

/// Seals and opens `secrets` rows (docs/architecture.md, "HTTP edge"): each secret has its own key, HKDF-SHA256 of the master key with
/// info `secrets-v1:{node}:{kind}:{name}`, used with ChaCha20-Poly1305 under a random nonce and the AAD
/// `{node}:{kind}:{name}`, so a ciphertext moved to another row does not open.
public struct SecretBox: Sendable {
    /// What is stored in the row's `kid`, `nonce` and `ciphertext` columns.
    public struct Sealed: Sendable, Equatable {
        public var kid: Int
        public var nonce: Data
        public var ciphertext: Data

        public init(kid: Int, nonce: Data, ciphertext: Data) {
            self.kid = kid
            self.nonce = nonce
            self.ciphertext = ciphertext
        }
    }

    public let masterKey: MasterKey

    public init(masterKey: MasterKey) {
        self.masterKey = masterKey
    }

    /// The box over `<data-dir>/master.key`, created on first use.
    public static func open(in dataDirectory: DataDirectory) throws -> SecretBox {
        try dataDirectory.create()
        return SecretBox(masterKey: try MasterKey.loadOrCreate(path: dataDirectory.masterKeyPath))
    }

    public func seal(_ plaintext: Data, nodeId: String = "hub", kind: String, name: String) throws -> Sealed {
        let label = "\(nodeId):\(kind):\(name)"
        let key = Self.secretKey(masterKey.activeKey, label: label)
        let box = try ChaChaPoly.seal(plaintext, using: key, authenticating: Data(label.utf8))
        return Sealed(kid: masterKey.activeKid, nonce: Data(Array(box.nonce)), ciphertext: Data(Array(box.ciphertext + box.tag)))
    }

    public func open(_ sealed: Sealed, nodeId: String = "hub", kind: String, name: String) throws -> Data {
        guard let master = masterKey.key(kid: sealed.kid) else { throw SecretError.unknownKey(kid: sealed.kid) }
        let label = "\(nodeId):\(kind):\(name)"
        do {
            let box = try ChaChaPoly.SealedBox(combined: sealed.nonce + sealed.ciphertext)
            return try ChaChaPoly.open(box, using: Self.secretKey(master, label: label), authenticating: Data(label.utf8))
        } catch {
            throw SecretError.decryptionFailed(kind: kind, name: name)
        }
    }

    static func secretKey(_ master: SymmetricKey, label: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("secrets-v1:\(label)".utf8), outputByteCount: 32)
    }
}
