import Core

/// `manifest.json` of an `archive_v1` snapshot (docs/formats.md, "`archive_v1` snapshot"): who wrote it, the
/// pipeline that turns the tar stream into parts, every artifact with its size and BLAKE3, and the entries index.
/// Written by `ArchiveBuilder`, read by `Snapshot`; this type is the one place its shape is spelled out.
public struct Manifest: Sendable, Equatable {
    /// A file of the snapshot: a payload part or the entries index.
    public struct Artifact: Sendable, Equatable {
        public var name: String
        public var size: Int64
        /// BLAKE3, lowercase hex.
        public var hash: String

        public init(name: String, size: Int64, hash: String) {
            self.name = name
            self.size = size
            self.hash = hash
        }

        public var isPayloadPart: Bool { name.hasPrefix("payload.part") }
    }

    public static let formatVersion = 1
    public static let format = "archive_v1"
    public static let entriesIndexName = "entries.jsonl.zst"
    public static let framesName = "frames.json"

    public typealias Chain = SnapshotChain

    public var jobId: String
    public var runId: String
    /// ISO 8601, UTC.
    public var startedAt: String
    public var endedAt: String
    /// Maximum bytes of one payload part.
    public var splitBytes: Int64
    /// The age key's name when the payload is encrypted (`pipeline.encryption = "age"`), nil for `none`.
    public var encryptionKey: String?
    public var artifacts: [Artifact]
    public var entriesCount: Int64
    /// The entries index is age-encrypted to the payload's recipient (`entry_index.encryption: "age"`): every snapshot
    /// of an encrypted job written since the index was encrypted (docs/formats.md, "The entries index").
    public var entriesIndexEncrypted: Bool
    /// The members and index lines are in walk order (`entry_index.order: "walk"`, docs/formats.md, "Walk order"): the
    /// snapshots of incremental jobs written since, so the next snapshot merges with the index as it walks.
    public var entriesInWalkOrder: Bool
    /// Uncompressed bytes per zstd frame when the payload is cut into independent frames (`frames.json` says where
    /// each starts); nil for snapshots written before frames.
    public var frameBytes: Int64?
    /// Set on the snapshots of a job with `pipeline.incremental`, the full ones included.
    public var chain: Chain?
    /// A database job's snapshot (docs/databases.md): engine, server version, each dump's database and member(s), and
    /// the exact restore commands. Kept as written; readers check what they use.
    public var database: JSONValue?

    /// The stored size of all payload parts.
    public var payloadBytes: Int64 { payloadParts.reduce(0) { $0 + $1.size } }

    public init(
        jobId: String,
        runId: String,
        startedAt: String,
        endedAt: String,
        splitBytes: Int64,
        encryptionKey: String?,
        artifacts: [Artifact],
        entriesCount: Int64,
        frameBytes: Int64? = nil,
        chain: Chain? = nil,
        entriesIndexEncrypted: Bool = false,
        entriesInWalkOrder: Bool = false,
        database: JSONValue? = nil
    ) {
        self.database = database
        self.entriesInWalkOrder = entriesInWalkOrder
        self.entriesIndexEncrypted = entriesIndexEncrypted
        self.jobId = jobId
        self.runId = runId
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.splitBytes = splitBytes
        self.encryptionKey = encryptionKey
        self.artifacts = artifacts
        self.entriesCount = entriesCount
        self.frameBytes = frameBytes
        self.chain = chain
    }

    /// The frames artifact, when the payload has one.
    public var framesArtifact: Artifact? { artifacts.first { $0.name == Self.framesName } }

    /// The payload parts in stream order.
    public var payloadParts: [Artifact] { artifacts.filter(\.isPayloadPart).sorted { $0.name < $1.name } }

    public var json: JSONValue {
        var pipeline: [String: JSONValue] = [
            "format": .string(Self.format), "tar": "pax", "compression": "zstd", "encryption": encryptionKey == nil ? "none" : "age",
            "split_bytes": .number(Double(splitBytes)),
        ]
        if let encryptionKey { pipeline["encryption_key"] = .string(encryptionKey) }
        if let frameBytes { pipeline["frame_bytes"] = .number(Double(frameBytes)) }
        var object: [String: JSONValue] = [
            "format_version": .number(Double(Self.formatVersion)), "job_id": .string(jobId), "run_id": .string(runId),
            "started_at": .string(startedAt), "ended_at": .string(endedAt),
            "pipeline": .object(pipeline),
            "artifacts": .array(
                artifacts.map {
                    .object(["name": .string($0.name), "size": .number(Double($0.size)), "hash_alg": "blake3", "hash": .string($0.hash)])
                }
            ),
            "entry_index": .object(
                ["name": .string(Self.entriesIndexName), "count": .number(Double(entriesCount))]
                    .merging(entriesIndexEncrypted ? ["encryption": "age"] : [:]) { $1 }
                    .merging(entriesInWalkOrder ? ["order": "walk"] : [:]) { $1 }
            ),
        ]
        if let chain, case .object(var incremental) = chain.json(runId: runId) {
            incremental["gnu_tar_commands"] = .array(
                (chain.before + [runId]).map { .string(Self.extractCommand(run: $0, encrypted: encryptionKey != nil)) }
            )
            object["incremental"] = .object(incremental)
        }
        if let database { object["database"] = database }
        return .object(object)
    }

    /// How GNU tar extracts one snapshot of a chain, run in the job's directory on the target (the snapshots in chain
    /// order reproduce the tree, deletions included).
    public static func extractCommand(run: String, encrypted: Bool) -> String {
        "cat \(run)/payload.part* | " + (encrypted ? "age -d -i KEY | " : "")
            + "zstd -d | tar -xG --xattrs --xattrs-include='*' --acls --numeric-owner -p -f - -C DEST"
    }

    /// A file name in one directory: not empty, not `.` or `..`, no `/` or NUL, at most 255 bytes.
    public static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && name.utf8.count <= 255 && !name.utf8.contains(UInt8(ascii: "/"))
            && !name.utf8.contains(0)
    }

    /// Why a manifest cannot be used.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Reads a manifest; anything this version cannot read exactly is `Invalid`.
    public init(json: JSONValue) throws {
        guard case .array(let artifacts)? = json["artifacts"], let pipeline = json["pipeline"] else {
            throw Invalid(description: "not a manifest (no artifacts or pipeline)")
        }
        if let format = pipeline["format"]?.stringValue, format != Self.format { throw Invalid(description: "unsupported format \(format)") }
        switch pipeline["encryption"] {
        case nil, .string("none")?:
            encryptionKey = nil
        case .string("age")?:
            guard let key = pipeline["encryption_key"]?.stringValue else {
                throw Invalid(description: "the manifest says age but names no encryption_key")
            }
            encryptionKey = key
        default:
            throw Invalid(description: "unsupported encryption")
        }
        jobId = json["job_id"]?.stringValue ?? ""
        runId = json["run_id"]?.stringValue ?? ""
        startedAt = json["started_at"]?.stringValue ?? ""
        endedAt = json["ended_at"]?.stringValue ?? ""
        splitBytes = pipeline["split_bytes"]?.int64Value ?? 0
        // A number that is there but out of range is damage, not an absent field.
        for (value, field) in [
            (pipeline["split_bytes"], "split_bytes"), (pipeline["frame_bytes"], "frame_bytes"), (json["entry_index"]?["count"], "entry_index.count"),
        ] {
            if let value, value != .null, value.int64Value == nil { throw Invalid(description: "\(field) is not a whole number below 2^53") }
        }
        // Sizes are whole numbers below 2^53 (`int64Value`) and their total fits in an Int64, so no sum of them traps;
        // names are plain file names, so no read or fetch leaves the snapshot's directory (docs/security.md).
        var total: Int64 = 0
        self.artifacts = try artifacts.map { artifact in
            guard let name = artifact["name"]?.stringValue, let size = artifact["size"]?.int64Value, size >= 0,
                let hash = artifact["hash"]?.stringValue
            else { throw Invalid(description: "an artifact without name, size or hash (or a size out of range)") }
            guard Self.isPlainName(name) else { throw Invalid(description: "an artifact name that is not a plain file name") }
            let (sum, overflow) = total.addingReportingOverflow(size)
            guard !overflow else { throw Invalid(description: "the artifacts' sizes add up past 2^63") }
            total = sum
            return Artifact(name: name, size: size, hash: hash)
        }
        guard splitBytes >= 0 else { throw Invalid(description: "a negative split_bytes") }
        entriesCount = json["entry_index"]?["count"]?.int64Value ?? -1
        switch json["entry_index"]?["encryption"] {
        case nil, .string("none")?: entriesIndexEncrypted = false
        case .string("age")? where encryptionKey != nil: entriesIndexEncrypted = true
        default: throw Invalid(description: "unsupported entry_index encryption")
        }
        // Any other value is an order this version does not know: the index is read as unordered.
        entriesInWalkOrder = json["entry_index"]?["order"]?.stringValue == "walk"
        frameBytes = pipeline["frame_bytes"]?.int64Value.flatMap { $0 >= 512 && $0 < 4_294_967_296 ? $0 : nil }
        if let incremental = json["incremental"] {
            guard let chain = Chain(json: incremental, runId: runId) else {
                throw Invalid(description: "an incremental section whose chain does not end at this run")
            }
            self.chain = chain
        } else {
            chain = nil
        }
        switch json["database"] {
        case nil, .null?: database = nil
        case .object(let section)?: database = .object(section)
        default: throw Invalid(description: "a database section that is not an object")
        }
    }
}
