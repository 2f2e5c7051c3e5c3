import Foundation

/// One of a job's copy targets (docs/targets.md, "Copies"): after each successful backup, a `copy` run copies the
/// snapshot there, and the snapshot gains a location `copy:<key>`.
public struct JobCopy: Sendable, Equatable {
    public var target: JobSpec.Target

    public init(target: JobSpec.Target) {
        self.target = target
    }

    /// `copy:<key>`: the key is stable across edits of the list (it depends on the target's address only).
    public var locationId: String { JobCopy.locationId(of: target) }

    /// At most this many copies per job.
    public static let maxCopies = 4
    /// The keys one entry of `copies` takes.
    static let keys: Set<String> = ["target"]

    /// The primary location's id.
    public static let primaryLocationId = "primary"

    /// What identifies a target's place: its type and base directory, collection URL or remote (without a trailing `/`).
    public static func address(of target: JobSpec.Target) -> String {
        func trimmed(_ text: String) -> String {
            var text = text
            while text.hasSuffix("/") { text.removeLast() }
            return text
        }
        switch target {
        case .localDir(let local): return "local_dir \(trimmed(local.baseDir))"
        case .webdav(let webdav): return "webdav \(trimmed(webdav.baseURL))"
        case .rclone(let rclone): return "rclone \(trimmed(rclone.remote))"
        }
    }

    /// `copy:` and 12 hex digits of the FNV-1a 64-bit hash of the target's address.
    public static func locationId(of target: JobSpec.Target) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in address(of: target).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "copy:" + String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(12))
    }

    /// Whether `id` has the shape of a location id (`primary` or `copy:` and 12 hex digits).
    public static func isLocationId(_ id: String) -> Bool {
        if id == primaryLocationId { return true }
        guard id.hasPrefix("copy:") else { return false }
        let key = id.dropFirst(5)
        return key.count == 12 && key.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// Parses `copies`: a list of `{"target": {...}}`, each target as `spec.target`; none equal to the primary or to
    /// another copy.
    static func parse(_ value: JSONValue?, primary: JobSpec.Target) throws -> [JobCopy] {
        let items: [JSONValue]
        switch value {
        case nil, .null?: return []
        case .array(let array)?: items = array
        default: throw ValidationError.spec("copies", "invalid", "copies must be a list of {\"target\": {...}}")
        }
        guard items.count <= maxCopies else {
            throw ValidationError.spec("copies", "too_many", "a job takes at most \(maxCopies) copies")
        }
        var copies: [JobCopy] = []
        var seen: Set<String> = [address(of: primary)]
        for (index, item) in items.enumerated() {
            let field = "copies.\(index).target"
            guard case .object(let object) = item, case .object(let target)? = object["target"] else {
                throw ValidationError.spec(field, "required", "each copy must be {\"target\": {...}}")
            }
            guard case .string(let type)? = target["type"] else {
                throw ValidationError.spec("\(field).type", "required", "\(field).type is required")
            }
            let parsed = try JobSpec.parseTarget(type: type, .object(target), field: field)
            guard seen.insert(address(of: parsed)).inserted else {
                throw ValidationError.spec(field, "duplicate", "a copy target must differ from the primary target and from every other copy")
            }
            copies.append(JobCopy(target: parsed))
        }
        return copies
    }

    static func json(_ copies: [JobCopy]) -> JSONValue {
        .array(copies.map { JSONValue.object(["target": $0.target.json]) })
    }

    /// Every key under `copies` that the spec does not define (`copies.0.target.base_dri`).
    static func unknownFields(_ value: JSONValue?) -> [String] {
        guard case .array(let items)? = value else { return [] }
        var unknown: [String] = []
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item else { continue }
            unknown += object.keys.filter { !keys.contains($0) }.map { "copies.\(index).\($0)" }
            if case .object(let target)? = object["target"], case .string(let type)? = target["type"], let known = JobSpec.targetKeys(type) {
                unknown += target.keys.filter { !known.union(["type"]).contains($0) }.map { "copies.\(index).target.\($0)" }
            }
        }
        return unknown
    }
}
