import Archive
import Core
import Store

/// The OpenAPI 3.0 description of every route (`GET /api/openapi.json`). A process test compares its paths with the
/// routes the API registered, and schemathesis checks the running API against it.
enum OpenAPIDocument {
    typealias S = Schema

    struct Operation {
        var method: String
        var path: String
        var summary: String
        var tag: String
        var parameters: [JSONValue] = []
        var body: JSONValue? = nil
        var bodyRequired = true
        /// Documented success responses (status → schema; nil = no body).
        var responses: [String: JSONValue?]
        var isPublic = false
        /// Longer prose (CommonMark), when the summary is not enough.
        var description: String? = nil
        /// The success responses' media type (a download is `application/octet-stream`).
        var mediaType = "application/json"
    }

    static func pathParameter(_ name: String) -> JSONValue {
        .object(["name": .string(name), "in": "path", "required": true, "schema": S.string])
    }

    static func query(_ name: String, _ schema: JSONValue, _ description: String) -> JSONValue {
        .object(["name": .string(name), "in": "query", "required": false, "schema": schema, "description": .string(description)])
    }

    static let paging = [
        query("page", .object(["type": "integer", "minimum": 1, "maximum": 1_000_000]), "1-based page (default 1)"),
        query("page_size", .object(["type": "integer", "minimum": 1]), "items per page (default 20, at most 100)"),
    ]

    /// A retention count rule: `-1` (all) or 0...100000 (docs/retention.md).
    static let retentionCount: JSONValue = .object([
        "type": "integer", "minimum": -1, "maximum": 100_000, "nullable": true, "description": "-1 keeps all",
    ])

    /// The components that are request bodies.
    static let requestComponents: Set<String> = ["JobInput", "NotificationSettingsInput", "TargetSecretInput", "DestinationInput", "RetentionInput"]

    /// A request body's schema as the API reads it: every object with `properties` refuses any other key
    /// (`additionalProperties: false`; docs/security.md, "Unknown fields"). The job spec's own keys are checked by
    /// the server (`JobSpec.unknownFields`), not described here.
    static func closed(_ schema: JSONValue) -> JSONValue {
        guard case .object(var object) = schema else { return schema }
        if case .object(let properties)? = object["properties"] {
            object["properties"] = .object(properties.mapValues(closed))
            if object["additionalProperties"] == nil { object["additionalProperties"] = false }
        }
        return .object(object)
    }

    static let components: [String: JSONValue] = [
        "Error": S.object(
            [
                "error": S.string, "message": S.string,
                "details": .object([
                    "type": "object", "properties": .object(["request_id": S.string, "params": S.anyObject]),
                    "required": .array(["request_id"]), "additionalProperties": true,
                ]),
            ],
            required: ["error", "message", "details"]
        ),
        "OK": S.object(["ok": S.boolean]),
        "BusPeerContact": S.object(["id": S.string, "pid": S.integer, "connected_at": S.integer, "last_contact_at": S.integer]),
        "RuntimeSetting": S.object([
            "process": S.enumeration(["api", "janitor"]), "name": S.string, "option": S.string, "env": S.string, "value": S.string,
            "source": S.enumeration(["flag", "env", "default"]), "restart_required": S.boolean,
        ]),
        "Job": S.object(
            [
                "id": S.string, "name": S.string, "agent_id": S.nullableString, "schedule": S.nullableString,
                "schedule_timezone": S.string, "overlap_policy": S.enumeration(["queue", "reject"]), "created_at": S.integer,
                "updated_at": S.integer, "archived_at": S.nullableInteger, "spec": S.anyObject, "next_run_at": S.array(S.integer),
                "type": S.nullableString,
            ],
            required: [
                "id", "name", "agent_id", "schedule", "schedule_timezone", "overlap_policy", "created_at", "updated_at", "archived_at", "type",
            ]
        ),
        "JobListItem": S.object(
            [
                "id": S.string, "name": S.string, "agent_id": S.nullableString, "schedule": S.nullableString,
                "schedule_timezone": S.string, "overlap_policy": S.enumeration(["queue", "reject"]), "created_at": S.integer,
                "updated_at": S.integer, "archived_at": S.nullableInteger, "latest_run_id": S.nullableString,
                "latest_run_status": S.enumeration(RunStatus.allCases.map(\.rawValue), nullable: true), "latest_run_started_at": S.nullableInteger,
                "latest_run_ended_at": S.nullableInteger,
                "type": S.nullableString, "next_run_at": S.array(S.integer),
            ]
        ),
        "JobInput": S.object(
            [
                "name": S.string(minLength: 1, maxLength: 200), "schedule": S.nullableString, "schedule_timezone": S.nullableString,
                "overlap_policy": S.enumeration(["queue", "reject"], nullable: true),
                "spec": .object([
                    "type": "object",
                    "description": "v1 or v2 job spec (docs/architecture.md, Jobs and specs); its `hooks` section is the JobHooks schema",
                ]),
                "agent_id": .object([
                    "type": "string", "nullable": true, "description": "the agent that runs the job (docs/agents.md); null: the hub",
                ]),
            ],
            required: ["name", "spec"]
        ),
        "JobHooks": .object([
            "type": "object", "additionalProperties": false,
            "description": "commands run before and after each backup run, as the worker's or agent's user (docs/hooks.md)",
            "properties": .object([
                "before": .object(["type": "array", "maxItems": 16, "items": S.ref("JobHook")]),
                "after": .object(["type": "array", "maxItems": 16, "items": S.ref("JobHook")]),
                "continue_on_before_failure": S.boolean,
            ]),
        ]),
        "JobHook": .object([
            "type": "object", "additionalProperties": false, "required": ["argv"],
            "properties": .object([
                "argv": .object([
                    "type": "array", "minItems": 1, "maxItems": 256, "description": "argv[0] an absolute path; no shell",
                    "items": S.string(minLength: 1, maxLength: 4096),
                ]),
                "cwd": .object(["type": "string", "pattern": "^/", "maxLength": 4096, "description": "default /"]),
                "timeout_seconds": .object(["type": "integer", "minimum": 1, "maximum": 86400, "description": "default 300"]),
                "env": .object([
                    "type": "object", "maxProperties": 64, "additionalProperties": S.string(maxLength: 4096),
                    "description": "names [A-Za-z_][A-Za-z0-9_]*, not BASTION_*",
                ]),
            ]),
        ]),
        // The `source` of a `vaultwarden` job spec (V1; V2: `source.config`), checked by the server as the spec's other
        // keys are (docs/vaultwarden.md).
        "VaultwardenSource": .object([
            "type": "object", "additionalProperties": false, "required": ["data_dir"],
            "description": "source of a vaultwarden job spec (V1 source; V2 source.config); pipeline.format must be archive_v1",
            "properties": .object([
                "data_dir": .object(["type": "string", "pattern": "^/", "description": "absolute path of Vaultwarden's data directory"]),
                "consistency_policy": .object(["type": "string", "enum": ["warn", "fail", "ignore"], "default": "warn"]),
                "consistency_fail_threshold": .object(["type": "integer", "minimum": 0, "maximum": 1_000_000_000, "default": 0]),
            ]),
        ]),
        "RunKind": S.enumeration(RunKind.allCases.map(\.rawValue)),
        "RunListItem": S.object([
            "id": S.string, "job_id": S.string, "job_name": S.nullableString, "kind": S.ref("RunKind"), "status": S.ref("RunStatus"),
            "started_at": S.integer,
            "ended_at": S.nullableInteger,
            "error": S.nullableString, "warnings": S.integer, "node_id": S.string,
            "summary": listedRunSummary,
        ]),
        "RunStatus": S.enumeration(RunStatus.allCases.map(\.rawValue)),
        // `sample` is not required: a run list's row leaves every array out (RunListItem.summary).
        "SourceConsistency": S.object(
            [
                "policy": S.enumeration(SourceConsistency.policies), "fail_threshold": S.integer, "changed_total": S.integer,
                "deleted_total": S.integer, "replaced_total": S.integer, "size_total": S.integer, "mtime_total": S.integer,
                "ctime_total": S.integer, "sample_truncated": S.boolean,
                "sample": S.array(
                    S.object(["path": S.string, "reason": S.enumeration(SourceConsistency.Reason.allCases.map(\.rawValue))])
                ),
            ],
            required: [
                "policy", "fail_threshold", "changed_total", "deleted_total", "replaced_total", "size_total", "mtime_total", "ctime_total",
                "sample_truncated",
            ]
        ),
        "Run": S.object([
            "id": S.string, "job_id": S.string, "job_name": S.nullableString, "node_id": S.string, "kind": S.ref("RunKind"),
            "operation": .object(["type": "object", "nullable": true, "additionalProperties": true]), "status": S.ref("RunStatus"),
            "started_at": S.integer, "ended_at": S.nullableInteger, "cancel_requested_at": S.nullableInteger,
            "cancel_requested_by_user_id": S.nullableInteger, "cancel_reason": S.nullableString,
            "progress": .object(["allOf": [S.ref("RunProgress")], "nullable": true]),
            // By kind (OpenAPIDocument+Summaries.swift); a backup's `consistency` part: docs/architecture.md,
            // "Consistency of live files".
            "summary": runSummary,
            "error": S.nullableString, "worker_id": S.nullableString, "heartbeat_at": S.nullableInteger, "scheduled_for": S.nullableInteger,
            "warnings": S.integer,
        ]),
        "RunEvent": S.object([
            "run_id": S.string, "seq": S.integer, "ts": S.integer, "level": S.enumeration(["info", "warn", "error"]), "kind": S.string,
            "message": S.string, "fields": .object(["type": "object", "nullable": true, "additionalProperties": true]),
        ]),
        // Only the counts a stage has (a database dump counts pages, not files).
        "RunProgressCounts": S.object(["files": S.integer, "dirs": S.integer, "bytes": S.integer, "pages": S.integer], required: []),
        "RunProgress": S.object(
            [
                "v": .object(["type": "integer", "enum": .array([1])]), "kind": S.enumeration(RunKind.allCases.map(\.rawValue)), "stage": S.string,
                "ts": S.integer,
                "done": S.ref("RunProgressCounts"), "total": S.ref("RunProgressCounts"), "rate_bps": S.integer, "eta_seconds": S.integer,
                "stages": S.array(S.object(["stage": S.string, "started_ms": S.integer], required: ["stage", "started_ms"])),
            ],
            required: ["v", "kind", "stage", "ts", "done"]
        ),
        "RunProgressFrame": S.object(["type": S.enumeration(["progress"]), "run_id": S.string, "progress": S.ref("RunProgress")]),
        "NotificationSettings": S.object([
            "enabled": S.boolean,
            "channels": S.object([
                "webhook": S.object(["enabled": S.boolean]), "wecom_bot": S.object(["enabled": S.boolean]),
                "email": S.object(["enabled": S.boolean]), "ntfy": S.object(["enabled": S.boolean]),
            ]),
            "templates": S.object([
                "wecom_markdown": S.string, "email": S.object(["subject": S.string, "body": S.string]),
                "ntfy": S.object(["title": S.string, "body": S.string]),
            ]),
            "template_variables": S.array(S.string),
        ]),
        "NotificationSettingsInput": S.object(
            [
                "enabled": S.boolean,
                "channels": S.object(
                    [
                        "webhook": S.object(["enabled": S.boolean]), "wecom_bot": S.object(["enabled": S.boolean]),
                        "email": S.object(["enabled": S.boolean]), "ntfy": S.object(["enabled": S.boolean]),
                    ],
                    required: []
                ),
                "templates": S.object(
                    [
                        "wecom_markdown": S.string(minLength: 1, maxLength: 4096),
                        "email": S.object(
                            ["subject": S.string(minLength: 1, maxLength: 512), "body": S.string(minLength: 1, maxLength: 65536)],
                            required: []
                        ),
                        "ntfy": S.object(
                            ["title": S.string(minLength: 1, maxLength: 512), "body": S.string(minLength: 1, maxLength: 4096)],
                            required: []
                        ),
                    ],
                    required: []
                ),
            ],
            required: []
        ),
        "Destination": S.object(
            [
                "channel": S.enumeration(NotificationChannel.allCases.map(\.rawValue)), "name": S.string, "enabled": S.boolean,
                "created_at": S.integer, "updated_at": S.integer,
                "config": .object([
                    "type": "object",
                    "description":
                        "email: {host, port, tls, username, from, to, has_password, has_ca_cert}; ntfy: {server, priority, tags, has_token}; null for webhook and wecom_bot",
                    "additionalProperties": true, "nullable": true,
                ]),
            ],
            required: ["channel", "name", "enabled", "created_at", "updated_at"]
        ),
        "TargetSecret": S.object([
            "kind": S.enumeration(["webdav", "rclone", "postgres", "mariadb"]), "name": S.string, "created_at": S.integer,
            "updated_at": S.integer,
            "used_by": S.array(S.string),
        ]),
        "TargetSecretInput": .object([
            "type": "object",
            "description":
                "webdav: {username, password, url} (the secret is sent to url's origin only); rclone: {config} (the remote's section as `rclone config show` prints it; allowlisted backends and options); postgres, mariadb: {password} (a database job's server, docs/databases.md)",
            "properties": .object(["username": S.string, "password": S.string, "url": S.string, "config": S.string]),
        ]),
        "TargetTest": S.object([
            "ok": S.boolean,
            "steps": S.array(
                S.object(
                    [
                        "step": S.enumeration(["connect", "create", "write", "read", "delete"]), "ok": S.boolean,
                        "ms": .object(["type": "number"]), "code": S.nullableString, "message": S.nullableString, "hint": S.nullableString,
                    ],
                    required: ["step", "ok", "ms"]
                )
            ),
        ]),
        "IncompleteCleanup": S.object(
            [
                "run_id": S.string, "job_id": S.string, "job_name": S.nullableString, "node_id": S.string, "target": S.nullableString,
                "target_type": S.nullableString, "status": S.enumeration(["queued", "retrying", "done", "ignored", "abandoned"]),
                "attempts": S.integer, "next_attempt_at": S.integer, "last_error": S.nullableString, "created_at": S.integer,
                "updated_at": S.integer, "run_status": S.string, "run_ended_at": S.nullableInteger,
            ],
            required: ["run_id", "job_id", "node_id", "status", "attempts", "next_attempt_at", "created_at", "updated_at", "run_status"]
        ),
        "DestinationInput": .object([
            "type": "object",
            "description":
                "webhook: {url, secret?, enabled?}; wecom_bot: {webhook_url, enabled?}; email: {host, port?, tls?, username?, password?, from, to, ca_cert_pem?, enabled?} (a password left out is kept); ntfy: {url, token?, priority?, tags?, enabled?} (a token left out is kept)",
            "properties": .object([
                "url": S.string, "webhook_url": S.string, "secret": S.nullableString,
                "enabled": .object(["type": "boolean", "nullable": true]),
                "host": S.string, "port": .object(["type": "integer", "minimum": 1, "maximum": 65535]),
                "tls": S.enumeration(["none", "starttls", "implicit"]), "username": S.nullableString, "password": S.nullableString,
                "from": S.string, "to": S.array(S.string), "ca_cert_pem": S.nullableString, "token": S.nullableString,
                "priority": .object(["type": "integer", "minimum": 1, "maximum": 5, "nullable": true]), "tags": S.array(S.string),
            ]),
        ]),
        "Snapshot": S.object(
            [
                "run_id": S.string, "job_id": S.string, "status": S.enumeration(["present", "deleting", "deleted", "missing", "error"]),
                "ended_at": S.integer, "pinned_at": S.nullableInteger, "run_dir": S.nullableString, "reasons": S.array(S.string),
                "buckets": .object([
                    "type": "object", "additionalProperties": S.string,
                    "description": "retention preview: for each count rule that keeps the snapshot, the period it stands for",
                ]),
                "source_files": S.nullableInteger, "source_dirs": S.nullableInteger, "source_bytes": S.nullableInteger,
                "transfer_bytes": S.nullableInteger, "chain_level": S.nullableInteger, "base_run_id": S.nullableString, "dependants": S.integer,
                "locations": S.array(S.ref("SnapshotLocation")),
            ],
            required: [
                "run_id", "job_id", "status", "ended_at", "pinned_at", "run_dir", "source_files", "source_dirs", "source_bytes", "transfer_bytes",
                "chain_level", "base_run_id", "dependants",
            ]
        ),
        "SnapshotLocation": S.object(
            [
                "id": S.string, "type": S.string, "display": S.string,
                "status": S.enumeration(["present", "copying", "failed", "deleting", "deleted", "missing", "error"]), "copied_at": S.integer,
                "last_error": S.string, "copy_run_id": S.string,
            ],
            required: ["id", "type", "display", "status"]
        ),
        "SnapshotEntry": S.object(
            [
                "name": S.string, "name_b64": S.string, "path": S.string, "path_b64": S.string,
                "kind": S.enumeration(BrowseController.kinds), "size": S.integer, "mtime": S.nullableInteger,
                "mtime_nsec": S.nullableInteger, "mode": S.nullableInteger, "uid": S.nullableInteger, "gid": S.nullableInteger,
                "hash": S.nullableString, "link_target": S.nullableString, "link_target_b64": S.string, "implied": S.boolean,
            ],
            required: ["name", "path", "kind", "size", "mtime", "mtime_nsec", "mode", "uid", "gid", "hash", "link_target", "implied"]
        ),
        "SnapshotChangeSide": S.object(
            [
                "kind": S.string, "size": S.integer, "hash": S.nullableString, "mode": S.nullableInteger, "mtime": S.nullableInteger,
                "mtime_nsec": S.nullableInteger, "link_target": S.nullableString,
            ],
            nullable: true
        ),
        "RunRef": S.object(
            [
                "run_id": S.string, "status": S.ref("RunStatus"), "started_at": S.integer, "ended_at": S.nullableInteger,
                "error": S.nullableString,
            ],
            nullable: true
        ),
        "Agent": S.object([
            "id": S.string, "name": S.string, "created_at": S.integer, "revoked_at": S.nullableInteger, "last_seen_at": S.nullableInteger,
            "connected": S.boolean, "version": S.nullableString, "heartbeat_seconds": S.nullableInteger, "running_runs": S.integer,
        ]),
        "StatusCounts": S.object(["success": S.integer, "failed": S.integer, "canceled": S.integer, "rejected": S.integer]),
        "RetentionInput": S.object(
            [
                "retention": S.object(
                    [
                        "enabled": S.boolean, "keep_last": retentionCount, "keep_hourly": retentionCount, "keep_daily": retentionCount,
                        "keep_weekly": retentionCount, "keep_monthly": retentionCount, "keep_yearly": retentionCount,
                        "keep_within": .object([
                            "type": "string", "pattern": "^([0-9]+[ymdh])+$", "nullable": true,
                            "description": "restic's duration (years, months, days, hours), counted back from the newest snapshot",
                        ]),
                        "keep_days": .object(["type": "integer", "minimum": 0, "maximum": 3650, "nullable": true]),
                        "max_delete_per_tick": .object(["type": "integer", "minimum": 1, "maximum": 10_000]),
                        "max_delete_per_day": .object(["type": "integer", "minimum": 1, "maximum": 100_000]),
                    ],
                    required: []
                )
            ],
            required: []
        ),
        "Notification": S.object([
            "id": S.string, "run_id": S.string, "channel": S.string, "destination": S.string,
            "status": S.enumeration(NotificationStatus.allCases.map(\.rawValue)), "attempts": S.integer, "next_attempt_at": S.integer,
            "created_at": S.integer, "updated_at": S.integer, "last_error": S.nullableString,
        ]),
    ]

    static func page(_ item: String) -> JSONValue {
        S.object(["items": S.array(S.ref(item)), "page": S.integer, "page_size": S.integer, "total": S.integer])
    }

    static let credentials = S.object(["username": S.string, "password": S.string])

    /// A target as a job names it, for a recovery.
    static let recoveryTarget = S.object(
        [
            "type": S.enumeration(["local_dir", "webdav", "rclone"]), "base_dir": S.string, "base_url": S.string, "remote": S.string,
            "secret_name": S.string, "part_size_bytes": S.integer,
        ],
        required: ["type"]
    )

    static let operations: [Operation] = [
        Operation(
            method: "get",
            path: "/api/secrets/{kind}",
            summary: "Credentials of one kind (webdav, rclone, postgres, mariadb): names and dates, never values",
            tag: "targets",
            responses: ["200": S.array(S.ref("TargetSecret"))]
        ),
        Operation(
            method: "put",
            path: "/api/secrets/{kind}/{name}",
            summary: "Create or replace a target credential (sealed with the master key)",
            tag: "targets",
            body: S.ref("TargetSecretInput"),
            responses: ["200": S.ref("TargetSecret")]
        ),
        Operation(
            method: "delete",
            path: "/api/secrets/{kind}/{name}",
            summary: "Delete a target credential (409 secret_in_use while a job names it)",
            tag: "targets",
            responses: ["204": nil]
        ),
        Operation(
            method: "post",
            path: "/api/targets/test",
            summary: "Test a target: connect, create, write, read back, delete a small object; each step's outcome",
            tag: "targets",
            body: S.object(
                [
                    "type": S.enumeration(["local_dir", "webdav", "rclone"]), "base_dir": S.string, "base_url": S.string, "remote": S.string,
                    "secret_name": S.string, "part_size_bytes": S.integer,
                    // docs/targets.md, "Bandwidth": accepted (a job's target as it is), not applied to the test; refused on
                    // local_dir (bandwidth_unsupported).
                    "bandwidth": .object(["type": "object"]),
                ],
                required: ["type"]
            ),
            responses: ["200": S.ref("TargetTest")]
        ),
        Operation(
            method: "get",
            path: "/api/maintenance/incomplete-cleanup",
            summary: "Cleanups of incomplete runs' data on their targets, newest first",
            tag: "maintenance",
            parameters: [query("status", S.enumeration(["queued", "retrying", "done", "ignored", "abandoned"]), "filter by status")],
            responses: ["200": S.array(S.ref("IncompleteCleanup"))]
        ),
        Operation(
            method: "get",
            path: "/api/maintenance/incomplete-cleanup/{run_id}",
            summary: "One run's cleanup",
            tag: "maintenance",
            responses: ["200": S.ref("IncompleteCleanup")]
        ),
        Operation(
            method: "post",
            path: "/api/maintenance/incomplete-cleanup/{run_id}/{action}",
            summary: "retry-now, ignore or unignore a cleanup",
            tag: "maintenance",
            responses: ["200": S.ref("IncompleteCleanup")]
        ),
        // System
        Operation(method: "get", path: "/api/health", summary: "Liveness", tag: "system", responses: ["200": S.ref("OK")], isPublic: true),
        Operation(
            method: "get",
            path: "/api/ready",
            summary: "Readiness (the database answers)",
            tag: "system",
            responses: ["200": S.ref("OK"), "503": S.ref("OK")],
            isPublic: true
        ),
        Operation(
            method: "get",
            path: "/api/system",
            summary: "Version, build time, insecure_http and the hub time zone; signed in, also the database and connected processes",
            tag: "system",
            responses: [
                "200": S.object(
                    [
                        "version": S.string, "build_time_unix": S.nullableInteger, "insecure_http": S.boolean, "hub_timezone": S.string,
                        "database": S.object([
                            "path": S.string, "sqlite_version": S.string, "journal_mode": S.string, "size_bytes": S.integer,
                            "wal_bytes": S.integer,
                        ]),
                        "bus": S.object([
                            "socket": S.string, "workers": S.array(S.ref("BusPeerContact")), "janitors": S.array(S.ref("BusPeerContact")),
                        ]),
                        "agents": S.array(
                            S.object(["id": S.string, "name": S.string, "connected": S.boolean, "last_seen_at": S.nullableInteger])
                        ),
                        "runtime": S.array(S.ref("RuntimeSetting")),
                    ],
                    required: ["version", "build_time_unix", "insecure_http", "hub_timezone"]
                )
            ],
            isPublic: true
        ),
        Operation(method: "get", path: "/api/openapi.json", summary: "This document", tag: "system", responses: ["200": S.anyObject], isPublic: true),
        // Auth
        Operation(
            method: "get",
            path: "/api/setup/status",
            summary: "Whether the first user must still be created",
            tag: "auth",
            responses: ["200": S.object(["needs_setup": S.boolean])],
            isPublic: true
        ),
        Operation(
            method: "post",
            path: "/api/setup/initialize",
            summary: "Create the first (only) user; password ≥ 12 bytes",
            tag: "auth",
            body: credentials,
            responses: ["204": nil],
            isPublic: true
        ),
        Operation(
            method: "post",
            path: "/api/auth/login",
            summary: "Sign in: sets the bastion_session cookie, returns the CSRF token",
            tag: "auth",
            body: credentials,
            responses: ["200": S.object(["csrf_token": S.string])],
            isPublic: true
        ),
        Operation(method: "post", path: "/api/auth/logout", summary: "Sign out", tag: "auth", responses: ["204": nil]),
        Operation(
            method: "get",
            path: "/api/session",
            summary: "The current session",
            tag: "auth",
            responses: [
                "200": S.object([
                    "authenticated": S.boolean, "user_id": S.integer, "username": S.string, "csrf_token": S.string, "expires_at": S.integer,
                ])
            ]
        ),
        // Jobs
        Operation(
            method: "get",
            path: "/api/jobs",
            summary: "Jobs with their latest run",
            tag: "jobs",
            parameters: paging + [
                query("sort", S.enumeration(JobSort.allCases.map(\.rawValue)), "order"),
                query("q", .object(["type": "string", "maxLength": 200]), "name contains (taken literally)"),
                query("include_archived", S.enumeration(["true", "false"]), "also archived jobs (the same as archived=all; not with archived)"),
                query("archived", S.enumeration(JobListQuery.Archived.allCases.map(\.rawValue)), "which jobs by archived state (default active)"),
                query("type", S.enumeration(["all"] + JobsController.jobTypes), "the spec's type"),
                query("node", S.string, "where the job runs: all, hub, or an agent's id"),
                query("status", S.enumeration(["all", "never"] + RunStatus.allCases.map(\.rawValue)), "the latest run's status (never: no run yet)"),
            ],
            responses: ["200": page("JobListItem")]
        ),
        Operation(
            method: "post",
            path: "/api/jobs/bulk",
            summary: "Run now, archive or unarchive many jobs in one transaction, with an outcome per id",
            tag: "jobs",
            body: S.object(
                [
                    "action": S.enumeration(JobBulkAction.allCases.map(\.rawValue)),
                    "ids": .object([
                        "type": "array", "minItems": 1, "maxItems": .number(Double(JobsController.bulkMaxIds)), "uniqueItems": true,
                        "items": .object(["type": "string", "minLength": 1, "maxLength": .number(Double(JobsController.maxIdLength))]),
                    ]),
                ],
                required: ["action", "ids"]
            ),
            responses: [
                "200": S.object([
                    "action": S.enumeration(JobBulkAction.allCases.map(\.rawValue)),
                    "done": S.integer, "unchanged": S.integer, "failed": S.integer,
                    "results": S.array(
                        S.object(
                            [
                                "id": S.string, "result": S.enumeration(["done", "unchanged", "not_found", "job_archived", "rejected"]),
                                "ok": S.boolean, "message": S.nullableString, "run_id": S.nullableString, "run_status": S.nullableString,
                            ]
                        )
                    ),
                ])
            ]
        ),
        Operation(method: "post", path: "/api/jobs", summary: "Create a job", tag: "jobs", body: S.ref("JobInput"), responses: ["201": S.ref("Job")]),
        Operation(method: "get", path: "/api/jobs/{id}", summary: "A job with its next triggers", tag: "jobs", responses: ["200": S.ref("Job")]),
        Operation(
            method: "put",
            path: "/api/jobs/{id}",
            summary: "Replace a job",
            tag: "jobs",
            body: S.ref("JobInput"),
            responses: ["200": S.ref("Job")]
        ),
        Operation(method: "delete", path: "/api/jobs/{id}", summary: "Delete a job, its runs and events", tag: "jobs", responses: ["204": nil]),
        Operation(
            method: "post",
            path: "/api/jobs/{id}/archive",
            summary: "Archive a job: no more scheduled runs or Run now; history and snapshots stay",
            tag: "jobs",
            responses: ["200": S.ref("Job")]
        ),
        Operation(method: "post", path: "/api/jobs/{id}/unarchive", summary: "Unarchive a job", tag: "jobs", responses: ["200": S.ref("Job")]),
        Operation(
            method: "post",
            path: "/api/jobs/{id}/run",
            summary: "Enqueue a run now (overlap policy applies); 409 `job_archived` for an archived job",
            tag: "jobs",
            responses: ["200": S.object(["run_id": S.string, "status": S.enumeration(["queued", "rejected"])])]
        ),
        Operation(
            method: "post",
            path: "/api/jobs/{id}/drill",
            summary: "Queue a restore drill now: a verify (and with test_restore a scratch restore compared with the index) of a snapshot",
            tag: "jobs",
            body: S.object(["pick": S.enumeration(JobDrills.Pick.allCases.map(\.rawValue)), "test_restore": S.boolean], required: []),
            bodyRequired: false,
            responses: ["200": S.object(["run_id": S.string, "kind": S.ref("RunKind"), "status": S.ref("RunStatus")])]
        ),
        Operation(
            method: "get",
            path: "/api/jobs/{id}/runs",
            summary: "The job's latest 50 runs",
            tag: "jobs",
            responses: ["200": S.array(S.ref("RunListItem"))]
        ),
        Operation(
            method: "post",
            path: "/api/schedules/preview",
            summary: "Next trigger instants of a cron schedule",
            tag: "jobs",
            body: S.object(
                ["schedule": S.string, "timezone": S.nullableString, "count": .object(["type": "integer", "minimum": 1, "maximum": 50])],
                required: ["schedule"]
            ),
            responses: ["200": S.object(["schedule": S.string, "timezone": S.string, "next": S.array(S.integer)])]
        ),
        // Runs
        Operation(
            method: "get",
            path: "/api/runs",
            summary: "Runs, newest first: by keyset cursor (next_cursor), or by page number with a total",
            tag: "runs",
            parameters: paging + [
                query("status", S.enumeration(RunStatus.allCases.map(\.rawValue) + ["all"]), "filter by status"),
                query("job_id", S.string, "filter by job"),
                query("kind", S.enumeration(RunKind.allCases.map(\.rawValue) + ["all"]), "filter by kind"),
                query("q", .object(["type": "string", "maxLength": 200]), "runs of the jobs whose name contains this"),
                query("cursor", S.string, "next_cursor of the previous page (takes precedence over page)"),
            ],
            responses: [
                "200": S.object(
                    [
                        "items": S.array(S.ref("RunListItem")), "page_size": S.integer, "next_cursor": S.nullableString,
                        "page": S.integer, "total": S.integer,
                    ],
                    required: ["items", "page_size", "next_cursor"]
                )
            ]
        ),
        Operation(method: "get", path: "/api/runs/{id}", summary: "A run", tag: "runs", responses: ["200": S.ref("Run")]),
        Operation(
            method: "post",
            path: "/api/runs/{id}/cancel",
            summary: "Cancel a run (queued: at once; running: cooperatively)",
            tag: "runs",
            body: S.object(["reason": .object(["type": "string", "maxLength": 500, "nullable": true])], required: []),
            bodyRequired: false,
            responses: ["200": S.ref("Run")]
        ),
        Operation(
            method: "get",
            path: "/api/runs/{id}/events",
            summary: "A run's events after a seq",
            tag: "runs",
            parameters: [
                query("after_seq", .object(["type": "integer", "minimum": 0]), "return events with seq > after_seq (alias after)"),
                query("after", .object(["type": "integer", "minimum": 0]), "alias of after_seq"),
                query("limit", .object(["type": "integer", "minimum": 1, "maximum": 500]), "at most this many (default 500)"),
            ],
            responses: ["200": S.array(S.ref("RunEvent"))]
        ),
        Operation(
            method: "get",
            path: "/api/runs/{id}/events/ws",
            summary: "Live events over WebSocket (session cookie + same Origin); plain HTTP answers 426 or the refusal",
            tag: "runs",
            parameters: [query("after_seq", .object(["type": "integer", "minimum": 0]), "resume after this seq")],
            responses: ["101": nil],
            description: """
                After the upgrade the server sends text frames of two kinds. **Events** (schema `RunEvent`): every event \
                with `seq > after_seq`, in order, first from the database, then live; reconnect with the last `seq` seen \
                to resume without gaps or duplicates. **Progress** (schema `RunProgressFrame`, `"type": "progress"`, no \
                `seq`): the running run's stage, counts, rate and ETA, sent when they change (at most about once a \
                second) and once right after the catch-up; not part of the log, never replayed. The server closes the \
                socket 30 s after the run's terminal event (`complete`, `failed`, `canceled`, `rejected`).
                """
        ),
        Operation(
            method: "post",
            path: "/api/runs/{id}/restore",
            summary: "Queue a restore of a finished snapshot into a local directory, or a database job's dumps into a database server",
            tag: "runs",
            body: S.object(
                [
                    // local_fs: {type, directory}; original: {type} (where the paths came from, docs/formats.md, "Run
                    // operations"); database (docs/databases.md): {type, databases: {dumped: new}, host?, port?, user?,
                    // secret_name?, globals?, drop_existing?}; webdav (docs/targets.md): {type, base_url, secret_name}.
                    "destination": S.object(
                        [
                            "type": S.enumeration(["local_fs", "original", "database", "webdav"]), "directory": S.string, "host": S.string,
                            "port": S.integer,
                            "base_url": S.string,
                            "user": S.string, "secret_name": S.string, "databases": .object(["type": "object", "additionalProperties": S.string]),
                            "globals": S.boolean, "drop_existing": S.boolean,
                        ],
                        required: ["type"]
                    ),
                    "conflict_policy": S.enumeration(RestoreWriter.ConflictPolicy.allCases.map(\.rawValue), nullable: true),
                    "selection": S.object(
                        [
                            "files": S.array(S.string), "dirs": S.array(S.string), "files_b64": S.array(S.string),
                            "dirs_b64": S.array(S.string),
                        ],
                        required: [],
                        nullable: true
                    ),
                    "restore_ownership": S.enumeration(RestoreWriter.OwnershipPolicy.allCases.map(\.rawValue), nullable: true),
                    "location": S.string,
                    // Leading directories taken off every selected path (local_fs only): `home/ann` restores
                    // `home/ann/docs` as `<directory>/docs`. Relative, no `..` or NUL, a proper prefix of each path.
                    "strip_prefix": S.nullableString, "strip_prefix_b64": S.nullableString,
                ],
                required: ["destination"]
            ),
            responses: ["200": S.object(["run_id": S.string, "kind": S.ref("RunKind"), "status": S.ref("RunStatus")])]
        ),
        Operation(
            method: "post",
            path: "/api/runs/{id}/restore/preview",
            summary:
                "Before a restore: where its original location is, and the files, directories and bytes a selection (or the whole snapshot) holds",
            tag: "runs",
            body: S.object(
                [
                    "selection": S.object(
                        [
                            "files": S.array(S.string), "dirs": S.array(S.string), "files_b64": S.array(S.string),
                            "dirs_b64": S.array(S.string),
                        ],
                        required: [],
                        nullable: true
                    ),
                    "location": S.string,
                ],
                required: []
            ),
            bodyRequired: false,
            responses: [
                "200": S.object(
                    [
                        "run_id": S.string, "original_directory": S.nullableString, "node_id": S.string, "counted": S.boolean,
                        "reason": S.nullableString, "files": S.integer, "dirs": S.integer, "bytes": S.integer,
                    ],
                    required: ["run_id", "original_directory", "node_id", "counted", "reason", "files", "dirs", "bytes"]
                )
            ]
        ),
        Operation(
            method: "post",
            path: "/api/runs/{id}/verify",
            summary: "Queue a verify of a finished snapshot (parts, stream, every file's hash), at a location (default: the first present)",
            tag: "runs",
            body: S.object(["location": S.string], required: []),
            bodyRequired: false,
            responses: ["200": S.object(["run_id": S.string, "kind": S.ref("RunKind"), "status": S.ref("RunStatus")])]
        ),
        // Snapshots and retention
        Operation(
            method: "get",
            path: "/api/jobs/{id}/snapshots",
            summary: "The job's snapshots, newest first",
            tag: "snapshots",
            responses: ["200": S.array(S.ref("Snapshot"))]
        ),
        Operation(
            method: "post",
            path: "/api/jobs/{id}/retention/preview",
            summary: "What the job's retention (or the one in the body) keeps and deletes",
            tag: "snapshots",
            body: S.ref("RetentionInput"),
            bodyRequired: false,
            responses: ["200": S.object(["keep": S.array(S.ref("Snapshot")), "delete": S.array(S.ref("Snapshot"))])]
        ),
        Operation(
            method: "post",
            path: "/api/jobs/{id}/retention/apply",
            summary: "Queue the deletions now (bounded by the policy's limits); the janitor deletes",
            tag: "snapshots",
            body: S.ref("RetentionInput"),
            bodyRequired: false,
            responses: ["200": S.object(["queued": S.array(S.string)])]
        ),
        Operation(
            method: "post",
            path: "/api/runs/{id}/pin",
            summary: "Pin a snapshot (retention never deletes it)",
            tag: "snapshots",
            responses: ["200": S.ref("Snapshot")]
        ),
        Operation(method: "post", path: "/api/runs/{id}/unpin", summary: "Unpin a snapshot", tag: "snapshots", responses: ["200": S.ref("Snapshot")]),
        Operation(
            method: "post",
            path: "/api/runs/{id}/copies/{location}/retry",
            summary: "Copy a snapshot again to a copy location whose copy failed",
            tag: "snapshots",
            responses: ["200": S.object(["run_id": S.string, "location_id": S.string, "copy_run_id": S.string])]
        ),
        Operation(
            method: "delete",
            path: "/api/runs/{id}/snapshot",
            summary:
                "Queue a snapshot for deletion (the janitor deletes it at once); a pinned one, or one incremental snapshots build on, needs force=true",
            tag: "snapshots",
            parameters: [query("force", S.enumeration(["true", "false"]), "also delete a pinned snapshot, or one others build on")],
            responses: ["200": S.ref("Snapshot")]
        ),
        Operation(
            method: "get",
            path: "/api/runs/{id}/entries",
            summary: "One directory level of a snapshot (directories first), or a name search below it (q)",
            tag: "snapshots",
            parameters: [
                query("location", S.string, "read the snapshot at this location (primary or copy:<key>; default: the first present)"),
                query("prefix", S.string, "the directory (archive path, default the top)"),
                query("prefix_b64", S.string, "the directory as base64 bytes (names that are not UTF-8)"),
                query(
                    "q",
                    .object(["type": "string", "maxLength": 256]),
                    "search names containing this (ASCII case-insensitive), at any depth below prefix; with *, ? or [ a glob: * (not /), ** (any depth), ?, [abc], [a-z], [!a]; with a / it matches the path below prefix, else the name"
                ),
                query("kind", S.enumeration(BrowseController.kinds + ["all"]), "only entries of this kind"),
                query("cursor", S.string, "next_cursor of the previous page"),
                query("limit", .object(["type": "integer", "minimum": 1, "maximum": 1000]), "at most this many (default 200)"),
            ],
            responses: [
                "200": S.object(
                    [
                        "run_id": S.string, "prefix": S.string, "prefix_b64": S.string, "q": S.nullableString,
                        "items": S.array(S.ref("SnapshotEntry")), "next_cursor": S.nullableString,
                    ],
                    required: ["run_id", "prefix", "q", "items", "next_cursor"]
                )
            ]
        ),
        Operation(
            method: "get",
            path: "/api/runs/{id}/file",
            summary: "One regular file of a snapshot, streamed as a download",
            tag: "snapshots",
            parameters: [
                query("location", S.string, "read the snapshot at this location (primary or copy:<key>; default: the first present)"),
                query("path", S.string, "the file's archive path (required, or path_b64)"),
                query("path_b64", S.string, "the path as base64 bytes (names that are not UTF-8)"),
            ],
            responses: ["200": JSONValue.object(["type": "string", "format": "binary"])],
            description: """
                The file's bytes as `application/octet-stream` with `Content-Disposition: attachment` (`filename` in ASCII, \
                `filename*` in UTF-8), `Content-Length` and `X-Content-Type-Options: nosniff`. Read by frame where the \
                snapshot has a frame table, from the earlier snapshot of an incremental chain that holds the bytes, and \
                checked against the entries index's size and BLAKE3 as it streams. On a WebDAV or rclone target the parts \
                that hold the file are fetched whole, one at a time, and checked before use. 400 `invalid_path` (`.`, \
                `..`, empty components), `invalid_query` (no path, NUL, over 64 KiB, a bad location), `not_a_file` (a \
                directory, link or device); 404 `path_not_found`; 409 `base_missing`, `key_not_found`; 502 \
                `snapshot_corrupt` (a part that does not match its manifest), `hub_disk_full` (a download would leave \
                less than 1 GiB or a twentieth of the hub's disk free) or the target's error code; 503 \
                `remote_downloads_busy` with `Retry-After` (2 downloads from remote targets run at once). A failure \
                after the first byte ends the stream before its last bytes.
                """,
            mediaType: "application/octet-stream"
        ),
        Operation(
            method: "get",
            path: "/api/jobs/{id}/diff",
            summary: "What was added, removed and changed from one snapshot of the job to another, in path order",
            tag: "snapshots",
            parameters: [
                query("location", S.string, "read the snapshot at this location (primary or copy:<key>; default: the first present)"),
                query("from", S.string, "the older snapshot's run id (required)"),
                query("to", S.string, "the newer snapshot's run id (required)"),
                query("change", S.enumeration(SnapshotDiff.Kind.allCases.map(\.rawValue) + ["all"]), "only changes of this kind"),
                query("q", S.string, "only paths containing this"),
                query("cursor", S.string, "next_cursor of the previous page"),
                query("limit", .object(["type": "integer", "minimum": 1, "maximum": 1000]), "at most this many (default 200)"),
            ],
            responses: [
                "200": S.object([
                    "job_id": S.string,
                    "from": S.object(["run_id": S.string, "ended_at": S.nullableInteger]),
                    "to": S.object(["run_id": S.string, "ended_at": S.nullableInteger]),
                    "totals": S.object(["added": S.integer, "removed": S.integer, "changed": S.integer]),
                    "items": S.array(
                        S.object(
                            [
                                "change": S.enumeration(SnapshotDiff.Kind.allCases.map(\.rawValue)), "path": S.string, "path_b64": S.string,
                                "kind": S.string, "fields": S.array(S.string), "old": S.ref("SnapshotChangeSide"),
                                "new": S.ref("SnapshotChangeSide"),
                            ],
                            required: ["change", "path", "kind", "fields", "old", "new"]
                        )
                    ),
                    "next_cursor": S.nullableString,
                ])
            ]
        ),
        Operation(
            method: "get",
            path: "/api/jobs/{id}/versions",
            summary: "One path in each present snapshot of the job, newest first, with what happened to it",
            tag: "snapshots",
            parameters: [
                query("location", S.string, "read the snapshot at this location (primary or copy:<key>; default: the first present)"),
                query("path", S.string, "the archive path (required, or path_b64)"),
                query("path_b64", S.string, "the path as base64 bytes"),
                query("limit", .object(["type": "integer", "minimum": 1, "maximum": 200]), "snapshots to look in (default 50)"),
            ],
            responses: [
                "200": S.object(
                    [
                        "job_id": S.string, "path": S.string, "path_b64": S.string,
                        "items": S.array(
                            S.object([
                                "run_id": S.string, "ended_at": S.nullableInteger, "pinned": S.boolean,
                                "change": S.enumeration(["added", "changed", "unchanged", "removed", "absent"]),
                                "entry": .object(["allOf": .array([S.ref("SnapshotEntry")]), "nullable": true]),
                            ])
                        ),
                    ],
                    required: ["job_id", "path", "items"]
                )
            ]
        ),
        // Agents
        Operation(
            method: "post",
            path: "/api/agents/enrollment-tokens",
            summary: "Create an enrolment token (shown once; stored hashed)",
            tag: "agents",
            body: S.object(
                [
                    "ttl_seconds": .object(["type": "integer", "minimum": 60, "maximum": 2_592_000, "nullable": true]),
                    "remaining_uses": .object(["type": "integer", "minimum": 1, "maximum": 1000, "default": 1, "nullable": true]),
                ],
                required: []
            ),
            bodyRequired: false,
            responses: ["200": S.object(["token": S.string, "expires_at": S.integer, "remaining_uses": S.integer])]
        ),
        Operation(
            method: "get",
            path: "/api/agents",
            summary: "Enrolled agents, by name",
            tag: "agents",
            responses: ["200": S.array(S.ref("Agent"))]
        ),
        Operation(
            method: "post",
            path: "/api/agents/{id}/revoke",
            summary: "Revoke an agent: its key stops working and its live connection closes (4401)",
            tag: "agents",
            responses: ["200": S.ref("Agent")]
        ),
        Operation(
            method: "post",
            path: "/api/agents/{id}/rotate-key",
            summary: "Give a connected agent a new key (it confirms, then the old key stops working and the link reconnects)",
            tag: "agents",
            responses: ["200": S.ref("Agent")]
        ),
        Operation(
            method: "post",
            path: "/agent/enroll",
            summary: "Enrol an agent with a token (no session): its id and key, shown once",
            tag: "agents",
            body: S.object(["token": S.string, "name": S.string(minLength: 1, maxLength: 100)]),
            responses: ["200": S.object(["agent_id": S.string, "agent_key": S.string])],
            isPublic: true
        ),
        Operation(
            method: "get",
            path: "/agent/status",
            summary: "Who the hub takes an agent's key for (Authorization: Bearer <agent key>), or 401 unauthorized|revoked",
            tag: "agents",
            responses: ["200": S.object(["agent_id": S.string, "name": S.string])],
            isPublic: true
        ),
        Operation(
            method: "get",
            path: "/agent/ws",
            summary: "The agent's WebSocket (Authorization: Bearer <agent key>); plain HTTP answers 426 or the refusal",
            tag: "agents",
            responses: ["101": nil],
            isPublic: true,
            description: """
                One connection per agent: a newer one closes the older (4409). The agent sends `hello` (with \
                `heartbeat_seconds`) and a `ping` every heartbeat; the hub answers `hello_ack` and `pong`, and closes a \
                link silent for 3 heartbeats (4408). Revoking the agent closes it (4401). Every message and field: \
                docs/agents.md.
                """
        ),
        // Overview
        Operation(
            method: "get",
            path: "/api/dashboard",
            summary: "The overview in one round trip: counts, what is active, a card per job (worst first), recent runs",
            tag: "dashboard",
            parameters: [query("days", .object(["type": "integer", "minimum": 1, "maximum": 90]), "days in each job's strip (default 30)")],
            responses: [
                "200": S.object([
                    "now": S.integer, "hub_timezone": S.string, "last24h": S.ref("StatusCounts"), "last7d": S.ref("StatusCounts"),
                    "running": S.integer, "queued": S.integer,
                    "jobs": S.array(
                        S.object([
                            "id": S.string, "name": S.string, "type": S.nullableString, "schedule": S.nullableString,
                            "schedule_timezone": S.string, "next_run_at": S.nullableInteger,
                            "state": S.enumeration(["failed", "overdue", "attention", "running", "never", "ok"]),
                            "attention": S.array(
                                S.object(
                                    ["reason": S.enumeration(["copy_missing", "copy_failed"]), "run_id": S.string, "location_id": S.string],
                                    required: ["reason", "run_id", "location_id"]
                                )
                            ),
                            "last_success": S.ref("RunRef"), "last_failure": S.ref("RunRef"), "latest_run": S.ref("RunRef"),
                            "last_drill": S.ref("RunRef"), "last_successful_drill": S.ref("RunRef"),
                            "days": S.array(S.object(["date": S.string, "success": S.integer, "failed": S.integer, "other": S.integer])),
                        ])
                    ),
                    "recent_runs": S.array(S.ref("RunListItem")),
                ])
            ]
        ),
        // Keys
        Operation(
            method: "get",
            path: "/api/keys",
            summary: "Backup encryption keys (age X25519), by name",
            tag: "keys",
            responses: [
                "200": S.array(
                    S.object([
                        "name": S.string, "recipient": S.string,
                        "escrow": S.object(["set_at": S.integer, "targets_written": S.integer], nullable: true),
                    ])
                )
            ]
        ),
        Operation(
            method: "post",
            path: "/api/keys",
            summary: "Create a backup key (409 key_exists when the name is taken)",
            tag: "keys",
            body: S.object(["name": S.string(minLength: 1, maxLength: 64)], required: ["name"]),
            responses: [
                "201": S.object([
                    "name": S.string, "recipient": S.string,
                    "escrow": S.object(["set_at": S.integer, "targets_written": S.integer], nullable: true),
                ])
            ]
        ),
        Operation(
            method: "get",
            path: "/api/keys/{name}",
            summary: "Export a key's identity (for age -d -i)",
            tag: "keys",
            parameters: [],
            responses: ["200": S.object(["name": S.string, "recipient": S.string, "identity": S.string])]
        ),
        Operation(
            method: "put",
            path: "/api/keys/{name}/escrow",
            summary: "Seal the key with a passphrase (age scrypt) and write it beside its snapshots on every target (docs/recovery.md)",
            tag: "keys",
            body: S.object(["passphrase": S.string(minLength: 12, maxLength: 1024)], required: ["passphrase"]),
            responses: [
                "200": S.object([
                    "name": S.string, "escrow": S.object(["set_at": S.integer, "targets_written": S.integer]),
                    "failures": S.array(S.object(["job_id": S.string, "target": S.string, "code": S.string, "message": S.string])),
                ])
            ]
        ),
        // Recovery
        Operation(
            method: "post",
            path: "/api/recovery/scan",
            summary: "List the jobs and snapshots a target holds (a fresh hub recovering; docs/recovery.md)",
            tag: "recovery",
            body: S.object(["target": recoveryTarget], required: ["target"]),
            responses: [
                "200": S.object([
                    "jobs": S.array(
                        S.object([
                            "job_id": S.string, "name": S.nullableString, "encrypted": S.boolean, "key_name": S.nullableString,
                            "has_key_file": S.boolean,
                            "snapshots": S.array(
                                S.object([
                                    "run_id": S.string, "ended_at": S.nullableInteger, "base_run_id": S.string, "complete": S.boolean,
                                    "problem": S.string,
                                ])
                            ),
                        ])
                    )
                ])
            ]
        ),
        Operation(
            method: "post",
            path: "/api/recovery/import",
            summary: "Import a target's jobs (unscheduled), their snapshots and the escrowed key (with its passphrase)",
            tag: "recovery",
            body: S.object(
                ["target": recoveryTarget, "job_ids": S.array(S.string), "passphrase": S.string(minLength: 1, maxLength: 1024)],
                required: ["target"]
            ),
            responses: [
                "200": S.object([
                    "jobs": S.array(S.object(["job_id": S.string, "name": S.string, "created": S.boolean, "snapshots_imported": S.integer])),
                    "keys": S.array(S.string),
                ])
            ]
        ),
        // Notifications
        Operation(
            method: "get",
            path: "/api/notifications/settings",
            summary: "Global switches and template",
            tag: "notifications",
            responses: ["200": S.ref("NotificationSettings")]
        ),
        Operation(
            method: "put",
            path: "/api/notifications/settings",
            summary: "Change switches or template (members left out keep their value)",
            tag: "notifications",
            body: S.ref("NotificationSettingsInput"),
            responses: ["200": S.ref("NotificationSettings")]
        ),
        Operation(
            method: "get",
            path: "/api/notifications/destinations",
            summary: "Destinations (addresses stay encrypted)",
            tag: "notifications",
            responses: ["200": S.array(S.ref("Destination"))]
        ),
        Operation(
            method: "put",
            path: "/api/notifications/destinations/{channel}/{name}",
            summary: "Create or replace a destination",
            tag: "notifications",
            body: S.ref("DestinationInput"),
            responses: ["200": S.ref("Destination")]
        ),
        Operation(
            method: "delete",
            path: "/api/notifications/destinations/{channel}/{name}",
            summary: "Delete a destination",
            tag: "notifications",
            responses: ["204": nil]
        ),
        Operation(
            method: "post",
            path: "/api/notifications/destinations/{channel}/{name}/enabled",
            summary: "Switch a destination on or off",
            tag: "notifications",
            body: S.object(["enabled": S.boolean]),
            responses: ["200": S.ref("Destination")]
        ),
        Operation(
            method: "post",
            path: "/api/notifications/destinations/{channel}/{name}/test",
            summary: "Send a test message now",
            tag: "notifications",
            responses: ["200": S.object(["ok": S.boolean])]
        ),
        Operation(
            method: "get",
            path: "/api/notifications/queue",
            summary: "Deliveries, newest first (keyset pages)",
            tag: "notifications",
            parameters: [
                query("status", S.enumeration(NotificationStatus.allCases.map(\.rawValue)), "filter by status"),
                query("channel", S.enumeration(NotificationChannel.allCases.map(\.rawValue) + ["ping"]), "filter by channel (ping: job pings)"),
                query("page_size", .object(["type": "integer", "minimum": 1]), "items per page (default 20, at most 100)"),
                query("cursor", S.string, "next_cursor of the previous page"),
            ],
            responses: ["200": S.object(["items": S.array(S.ref("Notification")), "next_cursor": S.nullableString])]
        ),
        Operation(
            method: "post",
            path: "/api/notifications/queue/{id}/retry-now",
            summary: "Make a queued, failed or canceled notification due now",
            tag: "notifications",
            responses: ["200": S.ref("Notification")]
        ),
        Operation(
            method: "post",
            path: "/api/notifications/queue/{id}/cancel",
            summary: "Cancel a queued notification",
            tag: "notifications",
            responses: ["200": S.ref("Notification")]
        ),
    ]

    /// The whole document.
    static func build() -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for operation in operations {
            var responses: [String: JSONValue] = [
                "default": .object(["description": "an error", "content": .object(["application/json": .object(["schema": S.ref("Error")])])])
            ]
            for (status, schema) in operation.responses {
                var response: [String: JSONValue] = ["description": .string(status.hasPrefix("2") ? "success" : "see summary")]
                if let schema { response["content"] = .object([operation.mediaType: .object(["schema": schema])]) }
                responses[status] = .object(response)
            }
            let pathParameters = operation.path.split(separator: "/").filter { $0.hasPrefix("{") }.map {
                pathParameter(String($0.dropFirst().dropLast()))
            }
            var entry: [String: JSONValue] = [
                "summary": .string(operation.summary), "tags": .array([.string(operation.tag)]),
                "description": operation.description.map(JSONValue.string) ?? .string(operation.summary),
                "operationId": .string(operation.method + operation.path.replacingOccurrences(of: "/", with: "_")),
                "responses": .object(responses),
            ]
            if !(pathParameters + operation.parameters).isEmpty { entry["parameters"] = .array(pathParameters + operation.parameters) }
            if let body = operation.body {
                entry["requestBody"] = .object([
                    "required": .bool(operation.bodyRequired), "content": .object(["application/json": .object(["schema": Self.closed(body)])]),
                ])
            }
            if operation.isPublic { entry["security"] = .array([]) }
            paths[operation.path, default: [:]][operation.method] = .object(entry)
        }
        return .object([
            "openapi": "3.0.3",
            "info": .object([
                "title": "Bastion API", "version": .string(BastionVersion.current),
                "description": "Errors are {error, message, details: {request_id}}. Mutations need x-csrf-token.",
            ]),
            "paths": .object(paths.mapValues(JSONValue.object)),
            "components": .object([
                "schemas": .object(
                    components.merging(summaryComponents) { first, _ in first }.reduce(into: [:]) {
                        $0[$1.key] = requestComponents.contains($1.key) ? closed($1.value) : $1.value
                    }
                ),
                "securitySchemes": .object([
                    "session": .object(["type": "apiKey", "in": "cookie", "name": "bastion_session"]),
                    "csrf": .object(["type": "apiKey", "in": "header", "name": "x-csrf-token"]),
                ]),
            ]),
            "security": .array([.object(["session": .array([]), "csrf": .array([])])]),
        ])
    }
}
