// The one typed client of Bastion's HTTP API: every request and error shape is here, and every mutation carries the
// CSRF token. A 401 tells the app to sign in again (the `bastion:unauthorized` window event).

import type * as T from "./api.types";

// Every type below comes from the generated api.types.ts (docs/ui.md, "One contract"): named aliases of the document's
// schemas and of operations' bodies and responses, so pages import `Job`, `Run`, ... from here.

/** Every operation by `METHOD /path` (api.types.ts). */
export type Operations = T.Operations;
/** An operation's success response. */
export type ResponseOf<K extends keyof Operations> = Operations[K]["response"];
/** An operation's request body. */
export type BodyOf<K extends keyof Operations> = Operations[K]["body"];

export type ApiErrorBody = T.Error;

/** A failed request: the server's code, message and request id (shown to the user as they are). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
    readonly details: Partial<ApiErrorBody["details"]> = {},
  ) {
    super(message);
  }
}

export type RunStatus = T.RunStatus;
export type RunKind = T.RunKind;
export type SystemInfo = ResponseOf<"GET /api/system">;
export type SessionInfo = ResponseOf<"GET /api/session">;
/** A job as `GET /api/jobs/{id}` gives it (with its spec and next triggers). */
export type Job = T.Job;
/** A job in the list, with its latest run. */
export type JobListItem = T.JobListItem;
export type JobInput = T.JobInput;
/** A hook (docs/hooks.md) and the spec's `hooks`. */
export type HookSpec = T.JobHook;
export type HooksSpec = T.JobHooks;
export type VaultwardenSource = T.VaultwardenSource;
/** A run summary's `consistency`: files that changed while they were read. */
export type ConsistencySummary = T.SourceConsistency;
export type RestoreBody = BodyOf<"POST /api/runs/{id}/restore">;
/** Where a restore writes: a directory (`local_fs`), a WebDAV server, or a database server (the snapshot's engine). */
export type RestoreDestination = RestoreBody["destination"];
export type DatabaseDestination = RestoreDestination & Required<Pick<RestoreDestination, "databases" | "globals" | "drop_existing">> & { type: "database" };
export type FilesDestination = RestoreDestination & { type: "local_fs" };
export type WebDAVDestination = RestoreDestination & { type: "webdav" };
export type RunListItem = T.RunListItem;
export type RunProgressCounts = T.RunProgressCounts;
export type RunProgress = T.RunProgress;
export type Run = T.Run;
export type BackupSummary = T.BackupSummary;
export type RestoreSummary = T.RestoreSummary;
export type VerifySummary = T.VerifySummary;
export type RunEvent = T.RunEvent;
/** A numbered page of items (`GET /api/jobs`). */
export type Page<Item> = Omit<ResponseOf<"GET /api/jobs">, "items"> & { items: Item[] };
export type RunsPage = ResponseOf<"GET /api/runs">;

/** A run's summary by its kind (null: none yet, or another kind). */
export function backupSummary(run: Pick<Run, "kind" | "summary">): BackupSummary | null {
  return run.kind === "backup" && run.summary ? (run.summary as BackupSummary) : null;
}
export function restoreSummary(run: Pick<Run, "kind" | "summary">): RestoreSummary | null {
  return run.kind === "restore" && run.summary ? (run.summary as RestoreSummary) : null;
}
export function verifySummary(run: Pick<Run, "kind" | "summary">): VerifySummary | null {
  return run.kind === "verify" && run.summary ? (run.summary as VerifySummary) : null;
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

export type Snapshot = T.Snapshot;
export type SnapshotLocation = T.SnapshotLocation;
export type LocationStatus = SnapshotLocation["status"];

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

export type Dashboard = ResponseOf<"GET /api/dashboard">;
export type DashboardJob = Dashboard["jobs"][number];
export type JobState = DashboardJob["state"];
export type AttentionItem = DashboardJob["attention"][number];
export type RunRef = NonNullable<T.RunRef>;
export type DrillRef = RunRef;
export type StatusCounts = T.StatusCounts;
export type KeyInfo = ResponseOf<"GET /api/keys">[number];
export type NotificationSettingsInfo = T.NotificationSettings;
export type RecoveredJob = ResponseOf<"POST /api/recovery/scan">["jobs"][number];
export type SnapshotEntry = T.SnapshotEntry;
export type EntryKind = SnapshotEntry["kind"];
export type EntriesPage = ResponseOf<"GET /api/runs/{id}/entries">;
export type DiffPage = ResponseOf<"GET /api/jobs/{id}/diff">;
export type SnapshotChange = DiffPage["items"][number];
export type ChangeKind = SnapshotChange["change"];
export type ChangeSide = NonNullable<T.SnapshotChangeSide>;
export type PathVersion = ResponseOf<"GET /api/jobs/{id}/versions">["items"][number];
/** A restore's selection: paths as text, or as base64 bytes for names that are not UTF-8. */
export type Selection = Required<NonNullable<RestoreBody["selection"]>>;
export type ConflictPolicy = NonNullable<RestoreBody["conflict_policy"]>;
export type AgentInfo = T.Agent;
export type NotificationDestination = T.Destination;
/** Secrets in Settings: target credentials, and database passwords (`{"password": ...}`). */
export type SecretKind = T.TargetSecret["kind"];
export type TargetSecretInfo = T.TargetSecret;
export type TargetTestStep = T.TargetTest["steps"][number];
export type IncompleteCleanup = T.IncompleteCleanup;
/** A target as a test, a recovery scan or an import names it. */
export type TargetInput = BodyOf<"POST /api/targets/test">;

export const api = {
  system: () => request<SystemInfo>("GET", "/api/system"),
  setupStatus: () => request<ResponseOf<"GET /api/setup/status">>("GET", "/api/setup/status"),
  initialize: (username: string, password: string) => request<ResponseOf<"POST /api/setup/initialize">>("POST", "/api/setup/initialize", { username, password }),
  login: (username: string, password: string) => request<ResponseOf<"POST /api/auth/login">>("POST", "/api/auth/login", { username, password }),
  logout: () => request<ResponseOf<"POST /api/auth/logout">>("POST", "/api/auth/logout"),
  session: () => request<SessionInfo>("GET", "/api/session"),
  jobs: (query: string) => request<ResponseOf<"GET /api/jobs">>("GET", "/api/jobs?" + query),
  job: (id: string) => request<Job>("GET", `/api/jobs/${encodeURIComponent(id)}`),
  createJob: (body: BodyOf<"POST /api/jobs">) => request<Job>("POST", "/api/jobs", body),
  updateJob: (id: string, body: BodyOf<"PUT /api/jobs/{id}">) => request<Job>("PUT", `/api/jobs/${encodeURIComponent(id)}`, body),
  previewSchedule: (schedule: string, timezone: string) =>
    request<ResponseOf<"POST /api/schedules/preview">>("POST", "/api/schedules/preview", { schedule, timezone, count: 5 }),
  runNow: (id: string) => request<ResponseOf<"POST /api/jobs/{id}/run">>("POST", `/api/jobs/${encodeURIComponent(id)}/run`),
  destinations: () => request<NotificationDestination[]>("GET", "/api/notifications/destinations"),
  targetSecrets: (kind: SecretKind) => request<TargetSecretInfo[]>("GET", `/api/secrets/${kind}`),
  saveTargetSecret: (kind: SecretKind, name: string, body: BodyOf<"PUT /api/secrets/{kind}/{name}">) =>
    request<TargetSecretInfo>("PUT", `/api/secrets/${kind}/${encodeURIComponent(name)}`, body),
  deleteTargetSecret: (kind: SecretKind, name: string) => request<ResponseOf<"DELETE /api/secrets/{kind}/{name}">>("DELETE", `/api/secrets/${kind}/${encodeURIComponent(name)}`),
  testTarget: (target: TargetInput) => request<T.TargetTest>("POST", "/api/targets/test", target),
  incompleteCleanups: () => request<IncompleteCleanup[]>("GET", "/api/maintenance/incomplete-cleanup"),
  cleanupAction: (runId: string, action: "retry-now" | "ignore" | "unignore") =>
    request<IncompleteCleanup>("POST", `/api/maintenance/incomplete-cleanup/${encodeURIComponent(runId)}/${action}`),
  dashboard: () => request<Dashboard>("GET", "/api/dashboard"),
  agents: () => request<AgentInfo[]>("GET", "/api/agents"),
  enrollmentToken: (remainingUses: number, ttlSeconds: number) =>
    request<ResponseOf<"POST /api/agents/enrollment-tokens">>("POST", "/api/agents/enrollment-tokens", {
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
    request<ResponseOf<"POST /api/jobs/{id}/retention/preview">>("POST", `/api/jobs/${encodeURIComponent(jobId)}/retention/preview`),
  retentionApply: (jobId: string) => request<ResponseOf<"POST /api/jobs/{id}/retention/apply">>("POST", `/api/jobs/${encodeURIComponent(jobId)}/retention/apply`),
  entries: (runId: string, query: string) => request<EntriesPage>("GET", `/api/runs/${encodeURIComponent(runId)}/entries?${query}`),
  diff: (jobId: string, query: string) => request<DiffPage>("GET", `/api/jobs/${encodeURIComponent(jobId)}/diff?${query}`),
  versions: (jobId: string, path: string, location?: string | null) =>
    request<ResponseOf<"GET /api/jobs/{id}/versions">>(
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
    body: RestoreBody,
  ) =>
    request<ResponseOf<"POST /api/runs/{id}/restore">>("POST", `/api/runs/${encodeURIComponent(runId)}/restore`, body),
  verify: (runId: string, location?: string) =>
    request<ResponseOf<"POST /api/runs/{id}/verify">>("POST", `/api/runs/${encodeURIComponent(runId)}/verify`, location ? { location } : undefined),
  /** The location id's `:` is sent as it is (a path segment may hold it; the route matches `copy:<key>`). */
  retryCopy: (runId: string, locationId: string) =>
    request<ResponseOf<"POST /api/runs/{id}/copies/{location}/retry">>("POST", `/api/runs/${encodeURIComponent(runId)}/copies/${encodeURIComponent(locationId).replace("%3A", ":")}/retry`),
  drillNow: (jobId: string) => request<ResponseOf<"POST /api/jobs/{id}/drill">>("POST", `/api/jobs/${encodeURIComponent(jobId)}/drill`),
  keys: () => request<KeyInfo[]>("GET", "/api/keys"),
  setEscrow: (name: string, passphrase: string) => request<ResponseOf<"PUT /api/keys/{name}/escrow">>("PUT", `/api/keys/${encodeURIComponent(name)}/escrow`, { passphrase }),
  notificationSettings: () => request<NotificationSettingsInfo>("GET", "/api/notifications/settings"),
  saveNotificationSettings: (body: BodyOf<"PUT /api/notifications/settings">) => request<NotificationSettingsInfo>("PUT", "/api/notifications/settings", body),
  saveDestination: (channel: string, name: string, body: BodyOf<"PUT /api/notifications/destinations/{channel}/{name}">) =>
    request<NotificationDestination>("PUT", `/api/notifications/destinations/${encodeURIComponent(channel)}/${encodeURIComponent(name)}`, body),
  deleteDestination: (channel: string, name: string) =>
    request<ResponseOf<"DELETE /api/notifications/destinations/{channel}/{name}">>("DELETE", `/api/notifications/destinations/${encodeURIComponent(channel)}/${encodeURIComponent(name)}`),
  testDestination: (channel: string, name: string) =>
    request<ResponseOf<"POST /api/notifications/destinations/{channel}/{name}/test">>("POST", `/api/notifications/destinations/${encodeURIComponent(channel)}/${encodeURIComponent(name)}/test`),
  recoveryScan: (target: BodyOf<"POST /api/recovery/scan">["target"]) => request<ResponseOf<"POST /api/recovery/scan">>("POST", "/api/recovery/scan", { target }),
  recoveryImport: (body: BodyOf<"POST /api/recovery/import">) =>
    request<ResponseOf<"POST /api/recovery/import">>("POST", "/api/recovery/import", body),
  runs: (query: string) => request<RunsPage>("GET", "/api/runs?" + query),
  run: (id: string) => request<Run>("GET", `/api/runs/${encodeURIComponent(id)}`),
  cancelRun: (id: string) => request<Run>("POST", `/api/runs/${encodeURIComponent(id)}/cancel`, {}),
  events: (id: string, afterSeq: number, limit = 500) =>
    request<RunEvent[]>("GET", `/api/runs/${encodeURIComponent(id)}/events?after_seq=${afterSeq}&limit=${limit}`),
};
