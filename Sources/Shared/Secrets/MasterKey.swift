import Core
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `<data-dir>/master.key`: the keys that encrypt `secrets` rows (docs/architecture.md, "HTTP edge").
///
/// JSON `{version: 1, active_kid, keys: [{kid, key_b64, created_at}]}`, mode 0600. Created on first use by whichever
/// process needs it first; creation writes a temporary file and `link(2)`s it into place, which fails when the file
/// already exists, so two processes racing on a fresh directory end up with the same key.
public struct MasterKey: Sendable {
    public struct Entry: Sendable {
        public var kid: Int
        public var keyB64: String
        public var createdAt: Int64
    }

    struct File {
        var version: Int
        var activeKid: Int
        var keys: [Entry]

        var json: JSONValue {
            .object([
                "version": .number(Double(version)), "active_kid": .number(Double(activeKid)),
                "keys": .array(
                    keys.map {
                        .object(["kid": .number(Double($0.kid)), "key_b64": .string($0.keyB64), "created_at": .number(Double($0.createdAt))])
                    }
                ),
            ])
        }

        init(version: Int, activeKid: Int, keys: [Entry]) {
            self.version = version
            self.activeKid = activeKid
            self.keys = keys
        }

        init?(json: JSONValue) {
            guard let version = json["version"]?.intValue, let active = json["active_kid"]?.intValue, case .array(let entries)? = json["keys"]
            else { return nil }
            var keys: [Entry] = []
            for entry in entries {
                guard let kid = entry["kid"]?.intValue, let key = entry["key_b64"]?.stringValue else { return nil }
                keys.append(Entry(kid: kid, keyB64: key, createdAt: entry["created_at"]?.int64Value ?? 0))
            }
            self.init(version: version, activeKid: active, keys: keys)
        }
    }

    public let activeKid: Int
    /// Raw key bytes by id (kept as `Data`: `SymmetricKey` is not `Sendable`).
    private let keys: [Int: Data]

    /// The key with id `kid`, if the file has it.
    public func key(kid: Int) -> SymmetricKey? { keys[kid].map { SymmetricKey(data: $0) } }

    /// The key new secrets are encrypted with.
    public var activeKey: SymmetricKey { SymmetricKey(data: keys[activeKid]!) }

    /// Reads `path`, creating it with one fresh 32-byte key when it does not exist.
    public static func loadOrCreate(path: String) throws -> MasterKey {
        if let existing = try load(path: path) { return existing }
        let entry = Entry(kid: 1, keyB64: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }, createdAt: unixNow())
        let data = Array(File(version: 1, activeKid: 1, keys: [entry]).json.jsonString().utf8)
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SecretError.masterKey("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        defer { unlink(temporary) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced else { throw SecretError.masterKey("cannot write \(temporary)") }
        // link(2) never replaces an existing file: the first process to get here wins, everyone reads its key.
        if link(temporary, path) != 0, errno != EEXIST {
            throw SecretError.masterKey("cannot install \(path): \(String(cString: strerror(errno)))")
        }
        guard let installed = try load(path: path) else { throw SecretError.masterKey("\(path) vanished") }
        return installed
    }

    /// Reads `path`; nil when it does not exist.
    public static func load(path: String) throws -> MasterKey? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let file: File
        do {
            guard let parsed = File(json: try JSONValue.parse(bytes: data)) else { throw SecretError.masterKey("not a master key document") }
            file = parsed
        } catch {
            throw SecretError.masterKey("\(path) is not a valid master key file: \(error)")
        }
        var keys: [Int: Data] = [:]
        for entry in file.keys {
            guard let bytes = Data(base64Encoded: entry.keyB64), bytes.count == 32 else {
                throw SecretError.masterKey("\(path): key \(entry.kid) is not 32 bytes of base64")
            }
            keys[entry.kid] = bytes
        }
        guard file.version == 1, keys[file.activeKid] != nil else {
            throw SecretError.masterKey("\(path): unsupported version or missing active key")
        }
        return MasterKey(activeKid: file.activeKid, keys: keys)
    }
}

/// Failures of secret storage.
public enum SecretError: Error, Sendable, CustomStringConvertible {
    case masterKey(String)
    case unknownKey(kid: Int)
    case decryptionFailed(kind: String, name: String)

    public var description: String {
        switch self {
        case .masterKey(let message): return "master key: \(message)"
        case .unknownKey(let kid): return "secret encrypted with key \(kid), which master.key does not have"
        case .decryptionFailed(let kind, let name): return "secret \(kind)/\(name) does not decrypt (wrong key or tampered)"
        }
    }
}
