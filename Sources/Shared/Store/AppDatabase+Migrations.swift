import GRDB

extension AppDatabase {
    /// Named, frozen migrations. Never edit a shipped one: add a new one.
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_schema") { db in
            try db.execute(sql: Migrations.v1Schema)
        }
        migrator.registerMigration("v2_notification_destinations") { db in
            try db.execute(sql: Migrations.v2NotificationDestinations)
        }
        migrator.registerMigration("v3_run_kinds") { db in
            try db.execute(sql: Migrations.v3RunKinds)
        }
        migrator.registerMigration("v4_run_warnings") { db in
            try db.execute(sql: Migrations.v4RunWarnings)
        }
        migrator.registerMigration("v5_run_list_indexes") { db in
            try db.execute(sql: Migrations.v5RunListIndexes)
        }
        migrator.registerMigration("v6_dashboard_indexes") { db in
            try db.execute(sql: Migrations.v6DashboardIndexes)
        }
        migrator.registerMigration("v7_agents") { db in
            try db.execute(sql: Migrations.v7Agents)
        }
        migrator.registerMigration("v8_incomplete_cleanup") { db in
            try db.execute(sql: Migrations.v8IncompleteCleanup)
        }
        migrator.registerMigration("v9_incremental") { db in
            try db.execute(sql: Migrations.v9Incremental)
        }
        migrator.registerMigration("v10_agent_pending_key") { db in
            try db.execute(sql: Migrations.v10AgentPendingKey)
        }
        migrator.registerMigration("v11_run_crash_attempts") { db in
            try db.execute(sql: Migrations.v11RunCrashAttempts)
        }
        // Foreign keys are off while a migration runs (GRDB defers their check to its end), so rebuilding `runs` cascades
        // nothing into the tables that reference it.
        migrator.registerMigration("v12_copies_locations") { db in
            try db.execute(sql: Migrations.v12CopiesLocations)
        }
        migrator.registerMigration("v12_notify_channels_pings") { db in
            try db.execute(sql: Migrations.v12NotifyChannelsPings)
        }
        migrator.registerMigration("v12_drills_scheduled_kind") { db in
            try db.execute(sql: Migrations.v12DrillsScheduledKind)
        }
        // The W3C `traceparent` of the request that enqueued a run, for the worker's run span (docs/observability.md).
        migrator.registerMigration("v13_traces_run_trace_context") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN trace_context TEXT")
        }
        return migrator
    }

    /// Every table and index that the schema must contain (docs/architecture.md, "Database"); tests compare against `sqlite_master`.
    public static let expectedTables = [
        "users", "sessions", "enrollment_tokens", "login_throttle", "jobs", "runs", "run_events",
        "notifications", "settings", "secrets", "run_artifacts", "notification_destinations", "agents", "agent_tasks", "incomplete_cleanups",
        "snapshot_locations",
    ]

    public static let expectedIndexes = [
        "idx_sessions_expires_at", "idx_sessions_user_id", "idx_enrollment_tokens_expires_at",
        "idx_login_throttle_locked_until", "idx_login_throttle_last_failed_at",
        "idx_jobs_agent_id", "idx_jobs_schedule_timezone",
        "idx_runs_status_started_at", "idx_runs_ended_at", "idx_runs_job_id_started_at",
        "idx_runs_cancel_requested_at", "idx_runs_job_id_scheduled_for",
        "idx_run_events_ts",
        "idx_notifications_status_next_attempt_at", "idx_notifications_run_id",
        "idx_notifications_created_at_id", "idx_notifications_status_channel_created_at_id",
        "idx_run_artifacts_job_id_ended_at", "idx_run_artifacts_status",
        "idx_runs_started_at_id", "idx_runs_kind_started_at", "idx_runs_job_id_status_started_at",
        "idx_agents_key_hash", "idx_agent_tasks_agent_id", "idx_runs_node_id_status_started_at",
        "idx_incomplete_cleanups_status_next_attempt_at", "idx_runs_kind_status_ended_at", "idx_run_artifacts_base_run_id",
        "idx_agents_pending_key_hash", "idx_snapshot_locations_status", "idx_runs_job_id_kind_started_at",
    ]
}

/// Frozen SQL of each migration.
enum Migrations {
    /// Copies (docs/targets.md, "Copies"): `runs.kind` gains `copy` (SQLite changes a CHECK only by rebuilding the table:
    /// every column and index as before), and each snapshot's further locations get a row of `snapshot_locations`
    /// (the primary stays `run_artifacts`' own), with the copy run that writes it.
    static let v12CopiesLocations = """
        CREATE TABLE runs_new (
            id TEXT PRIMARY KEY NOT NULL,
            job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'success', 'failed', 'rejected', 'canceled')),
            started_at INTEGER NOT NULL,
            ended_at INTEGER,
            summary_json TEXT,
            error TEXT,
            target_snapshot_json TEXT,
            progress_json TEXT,
            cancel_requested_at INTEGER,
            cancel_requested_by_user_id INTEGER,
            cancel_reason TEXT,
            worker_id TEXT,
            claim_token TEXT,
            heartbeat_at INTEGER,
            scheduled_for INTEGER,
            kind TEXT NOT NULL DEFAULT 'backup' CHECK (kind IN ('backup', 'restore', 'verify', 'copy')),
            operation_json TEXT,
            warnings INTEGER NOT NULL DEFAULT 0,
            node_id TEXT NOT NULL DEFAULT 'hub',
            crash_attempts INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO runs_new (id, job_id, status, started_at, ended_at, summary_json, error, target_snapshot_json, progress_json,
          cancel_requested_at, cancel_requested_by_user_id, cancel_reason, worker_id, claim_token, heartbeat_at, scheduled_for, kind,
          operation_json, warnings, node_id, crash_attempts)
        SELECT id, job_id, status, started_at, ended_at, summary_json, error, target_snapshot_json, progress_json,
          cancel_requested_at, cancel_requested_by_user_id, cancel_reason, worker_id, claim_token, heartbeat_at, scheduled_for, kind,
          operation_json, warnings, node_id, crash_attempts FROM runs;
        DROP TABLE runs;
        ALTER TABLE runs_new RENAME TO runs;
        CREATE INDEX idx_runs_status_started_at ON runs(status, started_at);
        CREATE INDEX idx_runs_ended_at ON runs(ended_at);
        CREATE INDEX idx_runs_job_id_started_at ON runs(job_id, started_at);
        CREATE INDEX idx_runs_cancel_requested_at ON runs(cancel_requested_at);
        CREATE UNIQUE INDEX idx_runs_job_id_scheduled_for ON runs(job_id, scheduled_for) WHERE scheduled_for IS NOT NULL;
        CREATE INDEX idx_runs_started_at_id ON runs(started_at, id);
        CREATE INDEX idx_runs_kind_started_at ON runs(kind, started_at);
        CREATE INDEX idx_runs_job_id_status_started_at ON runs(job_id, status, started_at);
        CREATE INDEX idx_runs_node_id_status_started_at ON runs(node_id, status, started_at);
        CREATE INDEX idx_runs_kind_status_ended_at ON runs(kind, status, ended_at);
        CREATE TABLE snapshot_locations (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            location_id TEXT NOT NULL,
            target_json TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('copying', 'present', 'failed', 'deleting', 'deleted', 'missing', 'error')),
            copy_run_id TEXT,
            copied_at INTEGER,
            last_error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER,
            last_attempt_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (run_id, location_id)
        );
        CREATE INDEX idx_snapshot_locations_status ON snapshot_locations(status, next_attempt_at);
        """

    /// Key rotation without lock-out (docs/agents.md, "Rotating a key"): the key the hub sent and the agent has not yet
    /// connected with; both it and `key_hash` authenticate until the agent proves the new one, which replaces the old.
    static let v10AgentPendingKey = """
        ALTER TABLE agents ADD COLUMN pending_key_hash BLOB;
        CREATE UNIQUE INDEX idx_agents_pending_key_hash ON agents(pending_key_hash);
        """

    /// Poison runs (docs/architecture.md, "Poison runs"): how many times the process executing a run died with it.
    static let v11RunCrashAttempts = """
        ALTER TABLE runs ADD COLUMN crash_attempts INTEGER NOT NULL DEFAULT 0;
        """

    /// E-mail and ntfy destinations (the channel CHECK of `notification_destinations` widened: SQLite cannot alter a
    /// CHECK, so the table is rebuilt), and job pings in the queue (docs/architecture.md, "Notifications"): a ping row
    /// (`channel = 'ping'`) carries its URL and event in `payload_json` and its place in the run's order in
    /// `ping_order` (start 0, success/failure 1); other rows leave both NULL.
    static let v12NotifyChannelsPings = """
        CREATE TABLE notification_destinations_v12 (
            channel TEXT NOT NULL CHECK (channel IN ('webhook', 'wecom_bot', 'email', 'ntfy')),
            name TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (channel, name)
        ) WITHOUT ROWID;
        INSERT INTO notification_destinations_v12 (channel, name, enabled, created_at, updated_at)
            SELECT channel, name, enabled, created_at, updated_at FROM notification_destinations;
        DROP TABLE notification_destinations;
        ALTER TABLE notification_destinations_v12 RENAME TO notification_destinations;
        ALTER TABLE notifications ADD COLUMN payload_json TEXT;
        ALTER TABLE notifications ADD COLUMN ping_order INTEGER;
        """

    /// Restore drills (docs/architecture.md, "Restore drills") are verify runs fired by a cron of their own: a drill and a
    /// backup of the same job and minute each get their run, so the once-per-trigger index also keys on the run's kind.
    /// The overview's last drill of a job reads the job's verify runs newest first through `(job_id, kind, started_at)`,
    /// never its backups.
    static let v12DrillsScheduledKind = """
        DROP INDEX idx_runs_job_id_scheduled_for;
        CREATE UNIQUE INDEX idx_runs_job_id_scheduled_for ON runs(job_id, scheduled_for, kind) WHERE scheduled_for IS NOT NULL;
        CREATE INDEX idx_runs_job_id_kind_started_at ON runs(job_id, kind, started_at);
        """

    /// The run list pages by keyset, newest first (`(started_at, id) < cursor`): unfiltered through
    /// `(started_at, id)`, by kind through `(kind, started_at)`; status and job already have theirs.
    /// Remote agents (docs/agents.md): enrolled agents (the key stored as its SHA-256 only, unique so a connection
    /// finds its agent in one seek), the task each agent run was handed with its claim and the highest agent event
    /// sequence appended, and the node of every run (`hub` for the hub's workers, else an agent's id), which claims
    /// filter on.
    /// Cleanup of incomplete runs (docs/targets.md, "Incomplete runs"): one row per failed or canceled backup whose
    /// data is to be removed from its target (`runs.target_snapshot_json`, recorded at the claim), with its attempts
    /// and the next one's time; the runs of that age are found through `(kind, status, ended_at)`.
    /// Incremental snapshots (docs/formats.md, "Incremental snapshots"): each snapshot's level in its chain (NULL:
    /// not part of one, never a base) and the snapshot it was built on, whose dependants are found by index.
    static let v9Incremental = """
        ALTER TABLE run_artifacts ADD COLUMN base_run_id TEXT;
        ALTER TABLE run_artifacts ADD COLUMN chain_level INTEGER;
        CREATE INDEX idx_run_artifacts_base_run_id ON run_artifacts(base_run_id);
        """

    static let v8IncompleteCleanup = """
        CREATE TABLE incomplete_cleanups (
            run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            job_id TEXT NOT NULL,
            node_id TEXT NOT NULL DEFAULT 'hub',
            target_json TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'retrying', 'done', 'ignored', 'abandoned')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_incomplete_cleanups_status_next_attempt_at ON incomplete_cleanups(status, next_attempt_at);
        CREATE INDEX idx_runs_kind_status_ended_at ON runs(kind, status, ended_at);
        """

    static let v7Agents = """
        CREATE TABLE agents (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            key_hash BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER,
            last_seen_at INTEGER,
            info_json TEXT,
            key_rotated_at INTEGER
        );
        CREATE UNIQUE INDEX idx_agents_key_hash ON agents(key_hash);
        CREATE TABLE agent_tasks (
            run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            agent_id TEXT NOT NULL,
            claim_token TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('sent', 'acked', 'completed')),
            last_aseq INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            acked_at INTEGER,
            completed_at INTEGER
        );
        CREATE INDEX idx_agent_tasks_agent_id ON agent_tasks(agent_id, completed_at);
        ALTER TABLE runs ADD COLUMN node_id TEXT NOT NULL DEFAULT 'hub';
        CREATE INDEX idx_runs_node_id_status_started_at ON runs(node_id, status, started_at);
        """

    /// The overview's per-job "last success" and "last failure": the newest run of a job in a status, one index seek.
    static let v6DashboardIndexes = """
        CREATE INDEX idx_runs_job_id_status_started_at ON runs(job_id, status, started_at);
        """

    static let v5RunListIndexes = """
        CREATE INDEX idx_runs_started_at_id ON runs(started_at, id);
        CREATE INDEX idx_runs_kind_started_at ON runs(kind, started_at);
        """

    /// Restores and verifies are runs of their source snapshot's job, with their parameters in `operation_json`.
    /// How many things a finished run reports without failing (files skipped while reading the source, metadata a
    /// restore could not apply, over-long names in a verify): a `success` with warnings is visible in lists.
    static let v4RunWarnings = """
        ALTER TABLE runs ADD COLUMN warnings INTEGER NOT NULL DEFAULT 0;
        """

    static let v3RunKinds = """
        ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'backup' CHECK (kind IN ('backup', 'restore', 'verify'));
        ALTER TABLE runs ADD COLUMN operation_json TEXT;
        """

    /// The switch of each notification destination (the original's `notification_destinations`, keyed by channel and
    /// name; the address itself is an encrypted `secrets` row of kind = channel).
    static let v2NotificationDestinations = """
        CREATE TABLE notification_destinations (
            channel TEXT NOT NULL CHECK (channel IN ('webhook', 'wecom_bot')),
            name TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (channel, name)
        ) WITHOUT ROWID;
        """

    /// The whole schema: the original's tables and columns plus this system's additions to `runs`
    /// (docs/architecture.md, "Database"): `worker_id`, `claim_token`, `heartbeat_at`, `scheduled_for`; `progress_json` and the
    /// cancel fields were already there. Timestamps are unix seconds; ids are UUID strings.
    static let v1Schema = """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );

        -- id is the SHA-256 (hex) of the cookie token: the token itself is never stored.
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            csrf_token TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX idx_sessions_expires_at ON sessions(expires_at);
        CREATE INDEX idx_sessions_user_id ON sessions(user_id);

        CREATE TABLE enrollment_tokens (
            token_hash BLOB PRIMARY KEY NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            remaining_uses INTEGER
        );
        CREATE INDEX idx_enrollment_tokens_expires_at ON enrollment_tokens(expires_at);

        CREATE TABLE login_throttle (
            ip TEXT PRIMARY KEY NOT NULL,
            failures INTEGER NOT NULL,
            first_failed_at INTEGER NOT NULL,
            last_failed_at INTEGER NOT NULL,
            locked_until INTEGER
        );
        CREATE INDEX idx_login_throttle_locked_until ON login_throttle(locked_until);
        CREATE INDEX idx_login_throttle_last_failed_at ON login_throttle(last_failed_at);

        CREATE TABLE jobs (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            agent_id TEXT,
            schedule TEXT,
            schedule_timezone TEXT NOT NULL DEFAULT 'UTC',
            overlap_policy TEXT NOT NULL CHECK (overlap_policy IN ('queue', 'reject')),
            spec_json TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            archived_at INTEGER
        );
        CREATE INDEX idx_jobs_agent_id ON jobs(agent_id);
        CREATE INDEX idx_jobs_schedule_timezone ON jobs(schedule_timezone);

        -- started_at is the enqueue time while queued and the claim time once running (as in the original).
        CREATE TABLE runs (
            id TEXT PRIMARY KEY NOT NULL,
            job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'success', 'failed', 'rejected', 'canceled')),
            started_at INTEGER NOT NULL,
            ended_at INTEGER,
            summary_json TEXT,
            error TEXT,
            target_snapshot_json TEXT,
            progress_json TEXT,
            cancel_requested_at INTEGER,
            cancel_requested_by_user_id INTEGER,
            cancel_reason TEXT,
            worker_id TEXT,
            claim_token TEXT,
            heartbeat_at INTEGER,
            scheduled_for INTEGER
        );
        CREATE INDEX idx_runs_status_started_at ON runs(status, started_at);
        CREATE INDEX idx_runs_ended_at ON runs(ended_at);
        CREATE INDEX idx_runs_job_id_started_at ON runs(job_id, started_at);
        CREATE INDEX idx_runs_cancel_requested_at ON runs(cancel_requested_at);
        CREATE UNIQUE INDEX idx_runs_job_id_scheduled_for ON runs(job_id, scheduled_for) WHERE scheduled_for IS NOT NULL;

        CREATE TABLE run_events (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            level TEXT NOT NULL CHECK (level IN ('info', 'warn', 'error')),
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            fields_json TEXT,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID;
        CREATE INDEX idx_run_events_ts ON run_events(ts);

        CREATE TABLE notifications (
            id TEXT PRIMARY KEY NOT NULL,
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            secret_name TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'canceled')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            last_error TEXT,
            UNIQUE (run_id, channel, secret_name)
        );
        CREATE INDEX idx_notifications_status_next_attempt_at ON notifications(status, next_attempt_at);
        CREATE INDEX idx_notifications_run_id ON notifications(run_id);
        CREATE INDEX idx_notifications_created_at_id ON notifications(created_at DESC, id DESC);
        CREATE INDEX idx_notifications_status_channel_created_at_id ON notifications(status, channel, created_at DESC, id DESC);

        CREATE TABLE settings (
            key TEXT PRIMARY KEY NOT NULL,
            value_json TEXT NOT NULL,
            updated_at INTEGER NOT NULL
        );

        CREATE TABLE secrets (
            id TEXT PRIMARY KEY NOT NULL,
            node_id TEXT NOT NULL DEFAULT 'hub',
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            kid INTEGER NOT NULL,
            nonce BLOB NOT NULL,
            ciphertext BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (kind, node_id, name)
        );

        -- The snapshot index: one row per run whose backup reached its target.
        CREATE TABLE run_artifacts (
            run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            job_id TEXT NOT NULL,
            node_id TEXT NOT NULL DEFAULT 'hub',
            target_type TEXT NOT NULL,
            target_snapshot_json TEXT NOT NULL,
            artifact_format TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('present', 'deleting', 'deleted', 'missing', 'error')),
            started_at INTEGER NOT NULL,
            ended_at INTEGER NOT NULL,
            source_files INTEGER,
            source_dirs INTEGER,
            source_bytes INTEGER,
            transfer_bytes INTEGER,
            last_error TEXT,
            last_attempt_at INTEGER,
            pinned_at INTEGER,
            pinned_by_user_id INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_run_artifacts_job_id_ended_at ON run_artifacts(job_id, ended_at);
        CREATE INDEX idx_run_artifacts_status ON run_artifacts(status);
        """
}
