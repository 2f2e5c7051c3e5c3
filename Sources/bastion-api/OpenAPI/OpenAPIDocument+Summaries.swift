import Core

/// The summaries a run ends with (`Run.summary`), by kind: what a backup stored, what a restore wrote, what a verify
/// checked (docs/ui.md, "One contract"). A failed run keeps the part it got to, so few members are required, and
/// every summary may carry more members than these (they stay open). No array is required, at any depth: a run list's
/// row carries the summary without them (`RunsController.RunListItemDTO.listed`).
extension OpenAPIDocument {
    /// A path in a summary's list: as text, plus `path_b64` when the bytes are not UTF-8.
    static let summaryProblem = S.object(["path": S.string, "path_b64": S.string, "reason": S.string], required: ["path", "reason"])

    static let summaryComponents: [String: JSONValue] = [
        "BackupSummary": S.object(
            [
                "target": .object(["type": "object", "additionalProperties": true, "description": "where the snapshot is (its target and run)"]),
                "artifact_format": S.string, "entries_count": S.integer, "parts": S.integer,
                "metrics": S.object([
                    "source_total": S.object(["files": S.integer, "dirs": S.integer, "bytes": S.integer]),
                    "transfer_total_bytes": .object([
                        "type": "integer", "format": "int64", "description": "bytes stored on the target (after compression and encryption)",
                    ]),
                ]),
                "filesystem": S.object(["warnings_total": S.integer, "errors_total": S.integer]),
                "warnings": S.integer,
                "incremental": S.object(
                    ["level": S.integer, "base_run_id": S.nullableString, "chain": S.array(S.string)],
                    required: ["level", "base_run_id"]
                ),
                "consistency": S.ref("SourceConsistency"),
                // Incremental jobs: the regular files compared with the previous snapshot's (BackupSummary.FileChanges).
                "changes": S.object(["new": S.integer, "changed": S.integer, "unchanged": S.integer, "removed": S.integer]),
                "sqlite": S.object(
                    ["path": S.string, "snapshot_name": S.string, "integrity_check": S.any],
                    required: ["path", "snapshot_name"]
                ),
                "vaultwarden": S.anyObject,
                "database": S.anyObject,
            ],
            required: ["artifact_format", "metrics"]
        ),
        "RestoreSummary": S.object(
            [
                "destination": .object([
                    "description": "files: the directory (or the WebDAV base URL); database: {type, engine, server}",
                    "anyOf": [S.string, S.object(["type": S.string, "engine": S.string, "server": S.string])],
                ]),
                "destination_type": S.enumeration(["webdav"]),
                "source_run_id": S.nullableString,
                "restored_files": S.integer, "restored_bytes": S.integer, "skipped": S.integer,
                "not_restored": S.integer, "not_restored_entries": S.array(summaryProblem),
                "warnings": S.integer, "warning_entries": S.array(summaryProblem),
                "not_kept": .object(["type": "integer", "format": "int64", "description": "WebDAV: entries it cannot hold (devices, fifos)"]),
                "not_kept_entries": S.array(S.anyObject), "note": S.string,
                "server_version": S.string,
                "restored": S.array(S.object(["from": S.string, "to": S.nullableString])),
            ],
            required: ["destination"]
        ),
        "VerifySummary": S.object(
            [
                "ok": S.boolean, "error": S.string,
                "files_total": S.integer, "files_ok": S.integer, "files_failed": S.integer, "entries_failed": S.integer,
                "sample_errors": S.array(S.string), "warnings": S.integer, "sample_warnings": S.array(S.string),
                "sqlite_ok": .object(["type": "boolean", "nullable": true]),
                "sqlite": S.object(["name": S.nullableString, "integrity_check": S.array(S.string)], required: ["name"], nullable: true),
                "database": S.object(
                    [
                        "dumps": S.array(
                            S.object(["path": S.string, "database": S.nullableString, "ok": S.boolean, "error": S.nullableString])
                        )
                    ],
                    required: [],
                    nullable: true
                ),
                "drill": S.object(
                    [
                        "pick": S.string, "test_restore": S.boolean, "restored_files": S.integer, "restored_bytes": S.integer,
                        "compared": S.boolean, "entries_compared": S.integer, "not_compared": S.integer, "mismatches": S.integer,
                        "sample_mismatches": S.array(S.string),
                    ],
                    required: ["pick", "test_restore"]
                ),
            ],
            required: []
        ),
    ]

    /// `Run.summary`: one of the three (a copy's summary is open), or null while the run has none.
    static let runSummary: JSONValue = .object([
        "nullable": true,
        "description": "by the run's kind: BackupSummary, RestoreSummary or VerifySummary (a restore drill is a verify with `drill`)",
        "anyOf": [S.ref("BackupSummary"), S.ref("RestoreSummary"), S.ref("VerifySummary")],
    ])

    /// `RunListItem.summary`: the same schemas, the arrays left out (`RunsController.RunListItemDTO.listed`).
    static let listedRunSummary: JSONValue = .object([
        "nullable": true,
        "description": "as Run.summary, without its arrays (samples, per-file entries, the chain, dumps): the run itself has them",
        "anyOf": [S.ref("BackupSummary"), S.ref("RestoreSummary"), S.ref("VerifySummary")],
    ])
}
