import { request, type KeyInfo, type SystemInfo } from "../api";

// The settings pages' calls and shapes (docs/ui.md, "Settings pages"): the notification switches and delivery queue,
// key creation and export, and what `GET /api/system` adds for a signed-in admin.

export type NotificationChannel = "webhook" | "wecom_bot" | "email" | "ntfy";
export const notificationChannels: NotificationChannel[] = ["webhook", "wecom_bot", "email", "ntfy"];
export const deliveryStatuses = ["queued", "sending", "sent", "failed", "canceled"] as const;

export interface QueuedNotification {
  id: string;
  run_id: string;
  channel: string;
  destination: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  updated_at: number;
  last_error: string | null;
}

export interface NotificationSwitches {
  enabled: boolean;
  channels: Record<string, { enabled: boolean }>;
  templates: { wecom_markdown?: string; email?: { subject: string; body: string }; ntfy?: { title: string; body: string } };
  template_variables: string[];
}

export interface BusPeerContact {
  id: string;
  pid: number;
  connected_at: number;
  last_contact_at: number;
}

export interface RuntimeSetting {
  process: "api" | "janitor";
  name: string;
  option: string;
  env: string;
  value: string;
  source: "flag" | "env" | "default";
  restart_required: boolean;
}

export interface SystemDetails extends SystemInfo {
  database?: { path: string; sqlite_version: string; journal_mode: string; size_bytes: number; wal_bytes: number };
  bus?: { socket: string; workers: BusPeerContact[]; janitors: BusPeerContact[] };
  agents?: { id: string; name: string; connected: boolean; last_seen_at: number | null }[];
  runtime?: RuntimeSetting[];
}

const destinationPath = (channel: string, name: string) =>
  `/api/notifications/destinations/${encodeURIComponent(channel)}/${encodeURIComponent(name)}`;

export const settingsApi = {
  system: () => request<SystemDetails>("GET", "/api/system"),
  switches: () => request<NotificationSwitches>("GET", "/api/notifications/settings"),
  saveSwitches: (body: { enabled?: boolean; channels?: Record<string, { enabled: boolean }>; templates?: { wecom_markdown: string } }) =>
    request<NotificationSwitches>("PUT", "/api/notifications/settings", body),
  setDestinationEnabled: (channel: string, name: string, enabled: boolean) => request<unknown>("POST", `${destinationPath(channel, name)}/enabled`, { enabled }),
  saveDestination: (channel: NotificationChannel, name: string, body: Record<string, unknown>) =>
    request<unknown>("PUT", destinationPath(channel, name), body),
  queue: (status: string, channel: string, cursor?: string | null) => {
    const query = new URLSearchParams({ page_size: "50" });
    if (status) query.set("status", status);
    if (channel) query.set("channel", channel);
    if (cursor) query.set("cursor", cursor);
    return request<{ items: QueuedNotification[]; next_cursor: string | null }>("GET", `/api/notifications/queue?${query.toString()}`);
  },
  retryNow: (id: string) => request<QueuedNotification>("POST", `/api/notifications/queue/${encodeURIComponent(id)}/retry-now`),
  cancel: (id: string) => request<QueuedNotification>("POST", `/api/notifications/queue/${encodeURIComponent(id)}/cancel`),
  createKey: (name: string) => request<KeyInfo>("POST", "/api/keys", { name }),
  exportKey: (name: string) => request<KeyInfo & { identity: string }>("GET", `/api/keys/${encodeURIComponent(name)}`),
};

/** A template with each `{{name}}` replaced by `values[name]` (unknown names stay as they are), as the hub renders it. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => (name in values ? values[name] : whole));
}
