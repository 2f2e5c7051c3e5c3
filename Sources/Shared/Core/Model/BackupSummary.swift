/// `runs.summary_json` of a successful (or `skip_fail`-failed) backup (docs/formats.md, "Run summaries"): where the
/// snapshot is, what it holds, what was read around. Written by the archive executors; read by the snapshot
/// records, the restore and verify endpoints and the notifications. Restores and verifies write summaries of their
/// own shapes.
public struct BackupSummary: Sendable, Equatable {
    /// Totals of the source as the build counted them.
    public struct Totals: Sendable, Equatable {
        public var files: Int64
        public var dirs: Int64
        public var bytes: Int64

        public init(files: Int64, dirs: Int64, bytes: Int64) {
            self.files = files
            self.dirs = dirs
            self.bytes = bytes
        }
    }

    /// How the files of an incremental job's snapshot compare with the previous snapshot's (the run page says what the
    /// backup did with them, docs/ui.md "Run pages"): regular files only, by the same rule that decides what is stored.
    /// A job without `pipeline.incremental` knows no previous snapshot: it has none.
    public struct FileChanges: Sendable, Equatable {
        /// Not in the previous snapshot: stored.
        public var new: Int64 = 0
        /// In it, but changed since: stored again.
        public var changed: Int64 = 0
        /// Unchanged: a reference to the snapshot that holds the bytes.
        public var unchanged: Int64 = 0
        /// In the previous snapshot, gone (or left out) now.
        public var removed: Int64 = 0

        public init(new: Int64 = 0, changed: Int64 = 0, unchanged: Int64 = 0, removed: Int64 = 0) {
            self.new = new
            self.changed = changed
            self.unchanged = unchanged
            self.removed = removed
        }

        public var json: JSONValue {
            .object([
                "new": .number(Double(new)), "changed": .number(Double(changed)), "unchanged": .number(Double(unchanged)),
                "removed": .number(Double(removed)),
            ])
        }

        /// Reads `changes`; nil unless all four are counts (whole, not negative): an agent's summary is outside input.
        public init?(json: JSONValue?) {
            guard let json, let new = json["new"]?.int64Value, let changed = json["changed"]?.int64Value,
                let unchanged = json["unchanged"]?.int64Value, let removed = json["removed"]?.int64Value,
                min(new, changed, unchanged, removed) >= 0
            else { return nil }
            self.init(new: new, changed: changed, unchanged: unchanged, removed: removed)
        }
    }

    /// What a `sqlite` backup adds: the database copied and its integrity check (`null` when not asked for).
    public struct SQLiteSource: Sendable, Equatable {
        public var path: String
        public var snapshotName: String
        public var integrityCheck: JSONValue

        public init(path: String, snapshotName: String, integrityCheck: JSONValue) {
            self.path = path
            self.snapshotName = snapshotName
            self.integrityCheck = integrityCheck
        }
    }

    public static let artifactFormat = "archive_v1"

    /// `target`: where the snapshot is (its target and run).
    public var location: RunLocation
    public var targetType: String { location.target.type }
    /// The snapshot's directory on a `local_dir` target; nil on remote targets.
    public var runDirectory: String? { location.localDirectory }
    public var entriesCount: Int64
    public var parts: Int
    public var source: Totals
    public var transferBytes: Int64
    public var filesystemWarnings: Int
    public var filesystemErrors: Int
    /// Everything read around (also `runs.warnings`).
    public var warnings: Int
    public var sqlite: SQLiteSource?
    /// What a `vaultwarden` backup adds (docs/vaultwarden.md): the data directory, the database copy's size, tables'
    /// row counts and integrity check, the attachments and sends on disk.
    public var vaultwarden: JSONValue?
    /// Set for the snapshots of a job with `pipeline.incremental`: `incremental: {level, base_run_id, chain}`.
    public var chain: SnapshotChain?
    /// Files that changed while they were read (filesystem and Vaultwarden backups): `consistency: {changed_total, ...}`.
    public var consistency: SourceConsistency?
    /// Incremental jobs only: `changes: {new, changed, unchanged, removed}`.
    public var changes: FileChanges?

    public init(
        location: RunLocation,
        entriesCount: Int64,
        parts: Int,
        source: Totals,
        transferBytes: Int64,
        filesystemWarnings: Int,
        filesystemErrors: Int,
        sqlite: SQLiteSource? = nil
    ) {
        self.location = location
        self.entriesCount = entriesCount
        self.parts = parts
        self.source = source
        self.transferBytes = transferBytes
        self.filesystemWarnings = filesystemWarnings
        self.filesystemErrors = filesystemErrors
        self.warnings = filesystemWarnings + filesystemErrors
        self.sqlite = sqlite
    }

    /// The stored form.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "target": location.json,
            "artifact_format": .string(Self.artifactFormat),
            "entries_count": .number(Double(entriesCount)),
            "parts": .number(Double(parts)),
            "metrics": .object([
                "source_total": .object([
                    "files": .number(Double(source.files)), "dirs": .number(Double(source.dirs)), "bytes": .number(Double(source.bytes)),
                ]),
                "transfer_total_bytes": .number(Double(transferBytes)),
            ]),
            "filesystem": .object(["warnings_total": .number(Double(filesystemWarnings)), "errors_total": .number(Double(filesystemErrors))]),
            "warnings": .number(Double(warnings)),
        ]
        if let chain { object["incremental"] = chain.json(runId: location.runId) }
        if let vaultwarden { object["vaultwarden"] = vaultwarden }
        if let consistency { object["consistency"] = consistency.json }
        if let changes { object["changes"] = changes.json }
        if let sqlite {
            object["sqlite"] = .object([
                "path": .string(sqlite.path), "snapshot_name": .string(sqlite.snapshotName), "integrity_check": sqlite.integrityCheck,
            ])
        }
        return .object(object)
    }

    /// Reads a stored backup summary; nil when `json` is not one (another kind of run, another format).
    public init?(json: JSONValue?) {
        guard let json, json["artifact_format"]?.stringValue == Self.artifactFormat, let location = RunLocation(json: json["target"])
        else { return nil }
        func count(_ value: JSONValue?) -> Int64 { value?.int64Value ?? 0 }
        let totals = json["metrics"]?["source_total"]
        self.init(
            location: location,
            entriesCount: count(json["entries_count"]),
            parts: Int(count(json["parts"])),
            source: Totals(files: count(totals?["files"]), dirs: count(totals?["dirs"]), bytes: count(totals?["bytes"])),
            transferBytes: count(json["metrics"]?["transfer_total_bytes"]),
            filesystemWarnings: Int(count(json["filesystem"]?["warnings_total"])),
            filesystemErrors: Int(count(json["filesystem"]?["errors_total"]))
        )
        warnings = Int(count(json["warnings"]))
        chain = SnapshotChain(json: json["incremental"], runId: location.runId)
        vaultwarden = json["vaultwarden"]
        consistency = SourceConsistency(json: json["consistency"])
        changes = FileChanges(json: json["changes"])
        if let sqlite = json["sqlite"], let path = sqlite["path"]?.stringValue, let name = sqlite["snapshot_name"]?.stringValue {
            self.sqlite = SQLiteSource(path: path, snapshotName: name, integrityCheck: sqlite["integrity_check"] ?? .null)
        }
    }
}
