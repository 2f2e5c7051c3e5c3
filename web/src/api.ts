// The one typed client of Bastion's HTTP API: every request and error shape is here, and every mutation carries the
// CSRF token. A 401 tells the app to sign in again (the `bastion:unauthorized` window event).

export interface ApiErrorBody {
  error: string;
  message: string;
  details?: { request_id?: string; field?: string; reason?: string; params?: Record<string, unknown> } & Record<string, unknown>;
}

/** A failed request: the server's code, message and request id (shown to the user as they are). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
    readonly details: ApiErrorBody["details"] = {},
  ) {
    super(message);
  }
}

export type RunStatus = "queued" | "running" | "success" | "failed" | "canceled" | "rejected";
export type RunKind = "backup" | "restore" | "verify" | "copy";

export interface SystemInfo {
  version: string;
  build_time_unix: number | null;
  insecure_http: boolean;
  hub_timezone: string;
}

export interface SessionInfo {
  authenticated: boolean;
  user_id: number;
  username: string;
  csrf_token: string;
  expires_at: number;
}

export interface Job {
  id: string;
  name: string;
  agent_id: string | null;
  schedule: string | null;
  schedule_timezone: string;
  overlap_policy: "queue" | "reject";
  created_at: number;
  updated_at: number;
  archived_at: number | null;
  type: string | null;
  spec?: JobSpecJSON;
  next_run_at?: number[];
  latest_run_id?: string | null;
  latest_run_status?: RunStatus | null;
  latest_run_started_at?: number | null;
  latest_run_ended_at?: number | null;
}

export type JobSpecJSON = { v: number; type: string } & Record<string, unknown>;

/** A hook (docs/hooks.md): a program and its arguments, no shell; run as the worker's (or agent's) user. */
export interface HookSpec {
  argv: string[];
  cwd?: string;
  timeout_seconds?: number;
  env?: Record<string, string>;
}

/** The spec's top-level `hooks`, beside `pipeline`. */
export interface HooksSpec {
  before?: HookSpec[];
  after?: HookSpec[];
  continue_on_before_failure?: boolean;
}

/** The `source` of a `postgres` or `mariadb` job. */
export interface DatabaseSource {
  host?: string;
  port?: number;
  user?: string;
  secret_name?: string;
  /** Absent or empty: every database. */
  databases?: string[];
  globals?: boolean;
  /** mariadb only. */
  verify_scratch_restore?: boolean;
}

export type ConsistencyPolicy = "warn" | "fail" | "ignore";

/** The `source` of a `vaultwarden` job. */
export interface VaultwardenSource {
  data_dir: string;
  consistency_policy?: ConsistencyPolicy;
  consistency_fail_threshold?: number;
}

/** What #25 adds to a filesystem job's `source`. */
export interface FilesystemSourceAdditions {
  snapshot_mode?: "off" | "auto" | "required";
  consistency_policy?: ConsistencyPolicy;
  consistency_fail_threshold?: number;
}

/** A run summary's `consistency`: files that changed while they were read. */
export interface ConsistencySummary {
  changed_total: number;
  sample?: { path: string; reason: string }[];
  [key: string]: unknown;
}

/** `POST /api/runs/{id}/restore` into a database server (the engine is the snapshot's job type). */
export interface DatabaseDestination {
  type: "database";
  host?: string;
  port?: number;
  user?: string;
  secret_name?: string;
  /** Dumped name → new name (at least one). */
  databases: Record<string, string>;
  globals: boolean;
  drop_existing: boolean;
}

export interface FilesDestination {
  type: "local_fs";
  directory: string;
}

export interface RunListItem {
  id: string;
  job_id: string;
  job_name: string | null;
  kind: RunKind;
  status: RunStatus;
  started_at: number;
  ended_at: number | null;
  error: string | null;
  warnings: number;
  node_id: string;
}

export interface RunProgressCounts {
  files?: number;
  dirs?: number;
  bytes?: number;
  pages?: number;
}

export interface RunProgress {
  v: 1;
  kind: RunKind;
  stage: string;
  ts: number;
  done: RunProgressCounts;
  total?: RunProgressCounts;
  rate_bps?: number;
  eta_seconds?: number;
  /** The stages so far, oldest first, each with when it began (unix ms). */
  stages?: { stage: string; started_ms: number }[];
}

export interface Run {
  id: string;
  job_id: string;
  job_name: string | null;
  node_id: string;
  kind: RunKind;
  status: RunStatus;
  started_at: number;
  ended_at: number | null;
  cancel_requested_at: number | null;
  cancel_reason: string | null;
  progress: RunProgress | null;
  summary: Record<string, unknown> | null;
  error: string | null;
  warnings: number;
  worker_id: string | null;
  /** Restores and verifies: what to do, and the backup they read (`source_run_id`). */
  operation?: Record<string, unknown> | null;
}

export interface RunEvent {
  run_id: string;
  seq: number;
  ts: number;
  level: "info" | "warn" | "error";
  kind: string;
  message: string;
  fields: Record<string, unknown> | null;
}

export interface Page<T> {
  items: T[];
  page: number;
  page_size: number;
  total: number;
}

export interface RunPage {
  items: RunListItem[];
  page_size: number;
  next_cursor: string | null;
}

let csrfToken: string | null = null;

/** Remembers the CSRF token of the current session (from login or `GET /api/session`). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** What `fetch` the client uses (tests pass their own). */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export async function request<T>(method: string, path: string, body?: unknown, fetcher: Fetch = fetch): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const response = await fetcher(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const requestId = response.headers.get("x-request-id") ?? undefined;
  const text = await response.text();
  if (!response.ok) {
    let parsed: Partial<ApiErrorBody> = {};
    try {
      parsed = JSON.parse(text) as ApiErrorBody;
    } catch {
      parsed = { error: "http_" + response.status, message: text.slice(0, 200) || response.statusText };
    }
    const error = new ApiError(
      response.status,
      parsed.error ?? "http_" + response.status,
      parsed.message ?? response.statusText,
      parsed.details?.request_id ?? requestId,
      parsed.details ?? {},
    );
    // A 401 outside the session probe and the login itself means the session ended: the app signs in again.
    if (response.status === 401 && typeof window !== "undefined" && path !== "/api/session" && !path.startsWith("/api/auth/login")) {
      window.dispatchEvent(new CustomEvent("bastion:unauthorized"));
    }
    throw error;
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface Snapshot {
  run_id: string;
  job_id: string;
  status: "present" | "deleting" | "deleted" | "missing" | "error";
  ended_at: number;
  pinned_at: number | null;
  run_dir: string | null;
  source_files: number | null;
  source_dirs: number | null;
  source_bytes: number | null;
  transfer_bytes: number | null;
  /** Incremental chains (docs/formats.md): the level (null outside a chain), what it builds on, how many build on it. */
  chain_level: number | null;
  base_run_id: string | null;
  dependants: number;
  reasons?: string[];
  /** Retention preview: the bucket of each GFS rule that kept it, e.g. `{"keep_daily": "2026-12-05"}`. */
  buckets?: Record<string, string>;
  /** Where the snapshot is: the primary target and each copy target (#26). */
  locations?: SnapshotLocation[];
}

export type LocationStatus = "present" | "copying" | "failed" | "deleting" | "deleted" | "missing" | "error";

export interface SnapshotLocation {
  id: string;
  type: "local_dir" | "webdav" | "rclone";
  display: string;
  status: LocationStatus;
  copied_at?: number;
  last_error?: string;
  copy_run_id?: string;
}

/** A location's display without the `/<job>/<run>` every location of the snapshot ends with. */
export function locationBase(location: SnapshotLocation, jobId: string, runId: string): string {
  const suffix = `/${jobId}/${runId}`;
  const display = location.display.replace(/\/$/, "");
  return display.endsWith(suffix) ? display.slice(0, -suffix.length) || "/" : location.display;
}

/** The default location of a restore or verify: the first present one, primary first (null: none is present). */
export function defaultLocation(locations: SnapshotLocation[] | undefined): string | null {
  if (!locations || locations.length === 0) return null;
  const present = locations.filter((location) => location.status === "present");
  return (present.find((location) => location.id === "primary") ?? present[0])?.id ?? null;
}

/** The location to read at: `wanted` (from a URL) when the snapshot is present there, else the default. */
export function chooseLocation(locations: SnapshotLocation[] | undefined, wanted: string | null): string | null {
  if (wanted && (locations ?? []).some((location) => location.id === wanted && location.status === "present")) return wanted;
  return defaultLocation(locations);
}

/** The locations two snapshots are both present at, in the first's order (primary first): a compare reads both at one. */
export function sharedLocations(a: SnapshotLocation[] | undefined, b: SnapshotLocation[] | undefined): SnapshotLocation[] {
  const there = new Set((b ?? []).filter((location) => location.status === "present").map((location) => location.id));
  return (a ?? []).filter((location) => location.status === "present" && there.has(location.id));
}

export interface WebDAVDestination {
  type: "webdav";
  base_url: string;
  secret_name: string;
}

export interface AttentionItem {
  reason: "copy_missing" | "copy_failed";
  run_id: string;
  location_id: string;
}

export interface DrillRef {
  run_id: string;
  status: RunStatus;
  ended_at: number | null;
  error?: string | null;
}

export interface KeyInfo {
  name: string;
  recipient: string;
  escrow?: { set_at: number; targets_written: number } | null;
}

export interface EmailDestination {
  host: string;
  port: number;
  tls: "none" | "starttls" | "implicit";
  username?: string;
  password?: string;
  from: string;
  to: string[];
}

export interface NtfyDestination {
  url: string;
  token?: string;
  priority?: number;
  tags?: string[];
}

export interface NotificationSettingsInfo {
  enabled?: boolean;
  channels?: Record<string, { enabled: boolean }>;
  templates?: Record<string, Record<string, string>>;
  template_variables?: string[];
  [key: string]: unknown;
}

export interface RecoveredJob {
  job_id: string;
  name: string;
  encrypted: boolean;
  key_name: string | null;
  has_key_file: boolean;
  snapshots: { run_id: string; ended_at: number; base_run_id?: string | null; complete: boolean }[];
}

export type EntryKind = "file" | "dir" | "symlink" | "hardlink" | "fifo" | "char" | "block";

export interface SnapshotEntry {
  name: string;
  name_b64?: string;
  path: string;
  path_b64?: string;
  kind: EntryKind;
  size: number;
  mtime: number | null;
  mtime_nsec: number | null;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  hash: string | null;
  link_target: string | null;
  implied: boolean;
}

export interface EntriesPage {
  run_id: string;
  prefix: string;
  prefix_b64?: string;
  q: string | null;
  items: SnapshotEntry[];
  next_cursor: string | null;
}

export interface ChangeSide {
  kind: string;
  size: number;
  hash: string | null;
  mode: number | null;
  mtime: number | null;
  mtime_nsec: number | null;
  link_target: string | null;
}

export type ChangeKind = "added" | "removed" | "changed";

export interface SnapshotChange {
  change: ChangeKind;
  path: string;
  path_b64?: string;
  kind: string;
  fields: string[];
  old: ChangeSide | null;
  new: ChangeSide | null;
}

export interface DiffPage {
  job_id: string;
  from: { run_id: string; ended_at: number | null };
  to: { run_id: string; ended_at: number | null };
  totals: { added: number; removed: number; changed: number };
  items: SnapshotChange[];
  next_cursor: string | null;
}

export interface PathVersion {
  run_id: string;
  ended_at: number | null;
  pinned: boolean;
  change: "added" | "changed" | "unchanged" | "removed" | "absent";
  entry: SnapshotEntry | null;
}

export interface RunRef {
  run_id: string;
  status: RunStatus;
  started_at: number;
  ended_at: number | null;
  error: string | null;
}

export type JobState = "failed" | "overdue" | "attention" | "running" | "never" | "ok";

export interface DashboardJob {
  id: string;
  name: string;
  type: string | null;
  schedule: string | null;
  schedule_timezone: string;
  next_run_at: number | null;
  state: JobState;
  last_success: RunRef | null;
  last_failure: RunRef | null;
  latest_run: RunRef | null;
  days: { date: string; success: number; failed: number; other: number }[];
  /** Snapshots whose copy is missing or failed (#26); empty when all is well. */
  attention?: AttentionItem[];
  last_drill?: DrillRef | null;
  last_successful_drill?: DrillRef | null;
}

export interface StatusCounts {
  success: number;
  failed: number;
  canceled: number;
  rejected: number;
}

export interface Dashboard {
  now: number;
  hub_timezone: string;
  last24h: StatusCounts;
  last7d: StatusCounts;
  running: number;
  queued: number;
  jobs: DashboardJob[];
  recent_runs: RunListItem[];
}

/** A restore's selection: paths as text, or as base64 bytes for names that are not UTF-8. */
export interface Selection {
  files: string[];
  dirs: string[];
  files_b64: string[];
  dirs_b64: string[];
}

export type ConflictPolicy = "overwrite" | "skip" | "fail";

export interface AgentInfo {
  id: string;
  name: string;
  created_at: number;
  revoked_at: number | null;
  last_seen_at: number | null;
  connected: boolean;
  version: string | null;
  heartbeat_seconds: number | null;
  running_runs: number;
}

export interface NotificationDestination {
  channel: string;
  name: string;
  enabled: boolean;
  /** E-mail: host, port, tls, username, from, to, has_password; ntfy: server, priority, tags, has_token (no secrets). */
  config?: Record<string, unknown> | null;
}

/** Secrets in Settings: target credentials, and database passwords (`{"password": ...}`). */
export type SecretKind = "webdav" | "rclone" | "postgres" | "mariadb";

export interface TargetSecretInfo {
  kind: SecretKind;
  name: string;
  created_at: number;
  updated_at: number;
  used_by: string[];
}

export interface TargetTestStep {
  step: "connect" | "create" | "write" | "read" | "delete";
  ok: boolean;
  ms: number;
  code?: string | null;
  message?: string | null;
  hint?: string | null;
}

export interface IncompleteCleanup {
  run_id: string;
  job_id: string;
  job_name: string | null;
  node_id: string;
  target: string | null;
  target_type: string | null;
  status: "queued" | "retrying" | "done" | "ignored" | "abandoned";
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  updated_at: number;
  run_status: string;
  run_ended_at: number | null;
}

export const api = {
  system: () => request<SystemInfo>("GET", "/api/system"),
  setupStatus: () => request<{ needs_setup: boolean }>("GET", "/api/setup/status"),
  initialize: (username: string, password: string) => request<void>("POST", "/api/setup/initialize", { username, password }),
  login: (username: string, password: string) => request<{ csrf_token: string }>("POST", "/api/auth/login", { username, password }),
  logout: () => request<void>("POST", "/api/auth/logout"),
  session: () => request<SessionInfo>("GET", "/api/session"),
  jobs: (query: string) => request<Page<Job>>("GET", "/api/jobs?" + query),
  job: (id: string) => request<Job>("GET", `/api/jobs/${encodeURIComponent(id)}`),
  createJob: (body: unknown) => request<Job>("POST", "/api/jobs", body),
  updateJob: (id: string, body: unknown) => request<Job>("PUT", `/api/jobs/${encodeURIComponent(id)}`, body),
  previewSchedule: (schedule: string, timezone: string) =>
    request<{ schedule: string; timezone: string; next: number[] }>("POST", "/api/schedules/preview", { schedule, timezone, count: 5 }),
  runNow: (id: string) => request<{ run_id: string; status: RunStatus }>("POST", `/api/jobs/${encodeURIComponent(id)}/run`),
  destinations: () => request<NotificationDestination[]>("GET", "/api/notifications/destinations"),
  targetSecrets: (kind: SecretKind) => request<TargetSecretInfo[]>("GET", `/api/secrets/${kind}`),
  saveTargetSecret: (kind: SecretKind, name: string, body: Record<string, string>) =>
    request<TargetSecretInfo>("PUT", `/api/secrets/${kind}/${encodeURIComponent(name)}`, body),
  deleteTargetSecret: (kind: SecretKind, name: string) => request<void>("DELETE", `/api/secrets/${kind}/${encodeURIComponent(name)}`),
  testTarget: (target: Record<string, unknown>) => request<{ ok: boolean; steps: TargetTestStep[] }>("POST", "/api/targets/test", target),
  incompleteCleanups: () => request<IncompleteCleanup[]>("GET", "/api/maintenance/incomplete-cleanup"),
  cleanupAction: (runId: string, action: "retry-now" | "ignore" | "unignore") =>
    request<IncompleteCleanup>("POST", `/api/maintenance/incomplete-cleanup/${encodeURIComponent(runId)}/${action}`),
  dashboard: () => request<Dashboard>("GET", "/api/dashboard"),
  agents: () => request<AgentInfo[]>("GET", "/api/agents"),
  enrollmentToken: (remainingUses: number, ttlSeconds: number) =>
    request<{ token: string; expires_at: number; remaining_uses: number | null }>("POST", "/api/agents/enrollment-tokens", {
      remaining_uses: remainingUses,
      ttl_seconds: ttlSeconds,
    }),
  revokeAgent: (id: string) => request<AgentInfo>("POST", `/api/agents/${encodeURIComponent(id)}/revoke`),
  rotateAgentKey: (id: string) => request<AgentInfo>("POST", `/api/agents/${encodeURIComponent(id)}/rotate-key`),
  jobRuns: (id: string) => request<RunListItem[]>("GET", `/api/jobs/${encodeURIComponent(id)}/runs`),
  archiveJob: (id: string, archived: boolean) => request<Job>("POST", `/api/jobs/${encodeURIComponent(id)}/${archived ? "archive" : "unarchive"}`),
  snapshots: (jobId: string) => request<Snapshot[]>("GET", `/api/jobs/${encodeURIComponent(jobId)}/snapshots`),
  setPinned: (runId: string, pinned: boolean) => request<Snapshot>("POST", `/api/runs/${encodeURIComponent(runId)}/${pinned ? "pin" : "unpin"}`),
  deleteSnapshot: (runId: string, force: boolean) =>
    request<Snapshot>("DELETE", `/api/runs/${encodeURIComponent(runId)}/snapshot${force ? "?force=true" : ""}`),
  retentionPreview: (jobId: string) =>
    request<{ keep: Snapshot[]; delete: Snapshot[] }>("POST", `/api/jobs/${encodeURIComponent(jobId)}/retention/preview`),
  retentionApply: (jobId: string) => request<{ queued: string[] }>("POST", `/api/jobs/${encodeURIComponent(jobId)}/retention/apply`),
  entries: (runId: string, query: string) => request<EntriesPage>("GET", `/api/runs/${encodeURIComponent(runId)}/entries?${query}`),
  diff: (jobId: string, query: string) => request<DiffPage>("GET", `/api/jobs/${encodeURIComponent(jobId)}/diff?${query}`),
  versions: (jobId: string, path: string, location?: string | null) =>
    request<{ job_id: string; path: string; items: PathVersion[] }>(
      "GET",
      `/api/jobs/${encodeURIComponent(jobId)}/versions?path=${encodeURIComponent(path)}${location ? `&location=${encodeURIComponent(location)}` : ""}`,
    ),
  /** A path's versions by its exact bytes (a name that is not UTF-8: docs/formats.md, "Names are bytes"). */
  versionsB64: (jobId: string, pathB64: string, location?: string | null) =>
    request<{ job_id: string; path: string; items: PathVersion[] }>(
      "GET",
      `/api/jobs/${encodeURIComponent(jobId)}/versions?path_b64=${encodeURIComponent(pathB64)}${location ? `&location=${encodeURIComponent(location)}` : ""}`,
    ),
  restore: (
    runId: string,
    body:
      | { destination: FilesDestination | WebDAVDestination; conflict_policy: ConflictPolicy; selection?: Selection; location?: string }
      | { destination: DatabaseDestination; location?: string },
  ) =>
    request<{ run_id: string; kind: RunKind; status: RunStatus }>("POST", `/api/runs/${encodeURIComponent(runId)}/restore`, body),
  verify: (runId: string, location?: string) =>
    request<{ run_id: string; kind: RunKind; status: RunStatus }>("POST", `/api/runs/${encodeURIComponent(runId)}/verify`, location ? { location } : undefined),
  /** The location id's `:` is sent as it is (a path segment may hold it; the route matches `copy:<key>`). */
  retryCopy: (runId: string, locationId: string) =>
    request<unknown>("POST", `/api/runs/${encodeURIComponent(runId)}/copies/${encodeURIComponent(locationId).replace("%3A", ":")}/retry`),
  drillNow: (jobId: string) => request<{ run_id: string; status: RunStatus }>("POST", `/api/jobs/${encodeURIComponent(jobId)}/drill`),
  keys: () => request<KeyInfo[]>("GET", "/api/keys"),
  setEscrow: (name: string, passphrase: string) => request<unknown>("PUT", `/api/keys/${encodeURIComponent(name)}/escrow`, { passphrase }),
  notificationSettings: () => request<NotificationSettingsInfo>("GET", "/api/notifications/settings"),
  saveNotificationSettings: (body: Record<string, unknown>) => request<NotificationSettingsInfo>("PUT", "/api/notifications/settings", body),
  saveDestination: (channel: string, name: string, body: Record<string, unknown>) =>
    request<NotificationDestination>("PUT", `/api/notifications/destinations/${encodeURIComponent(channel)}/${encodeURIComponent(name)}`, body),
  deleteDestination: (channel: string, name: string) =>
    request<void>("DELETE", `/api/notifications/destinations/${encodeURIComponent(channel)}/${encodeURIComponent(name)}`),
  testDestination: (channel: string, name: string) =>
    request<{ ok: boolean }>("POST", `/api/notifications/destinations/${encodeURIComponent(channel)}/${encodeURIComponent(name)}/test`),
  recoveryScan: (target: Record<string, unknown>) => request<{ jobs: RecoveredJob[] }>("POST", "/api/recovery/scan", { target }),
  recoveryImport: (body: { target: Record<string, unknown>; job_ids?: string[]; passphrase?: string }) =>
    request<Record<string, unknown>>("POST", "/api/recovery/import", body),
  runs: (query: string) => request<RunPage>("GET", "/api/runs?" + query),
  run: (id: string) => request<Run>("GET", `/api/runs/${encodeURIComponent(id)}`),
  cancelRun: (id: string) => request<Run>("POST", `/api/runs/${encodeURIComponent(id)}/cancel`, {}),
  events: (id: string, afterSeq: number, limit = 500) =>
    request<RunEvent[]>("GET", `/api/runs/${encodeURIComponent(id)}/events?after_seq=${afterSeq}&limit=${limit}`),
};
