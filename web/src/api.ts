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
export type RunKind = "backup" | "restore" | "verify";

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

export interface NotificationDestination {
  channel: string;
  name: string;
  enabled: boolean;
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
  runs: (query: string) => request<RunPage>("GET", "/api/runs?" + query),
  run: (id: string) => request<Run>("GET", `/api/runs/${encodeURIComponent(id)}`),
  cancelRun: (id: string) => request<Run>("POST", `/api/runs/${encodeURIComponent(id)}/cancel`, {}),
  events: (id: string, afterSeq: number, limit = 500) =>
    request<RunEvent[]>("GET", `/api/runs/${encodeURIComponent(id)}/events?after_seq=${afterSeq}&limit=${limit}`),
};
