import { request, type BodyOf, type ResponseOf, type SystemInfo } from "../api";

// The settings pages' calls and shapes (docs/ui.md, "Settings pages"): the notification switches and delivery queue,
// key creation and export, and what `GET /api/system` adds for a signed-in admin.

export type NotificationChannel = "webhook" | "wecom_bot" | "email" | "ntfy";
export const notificationChannels: NotificationChannel[] = ["webhook", "wecom_bot", "email", "ntfy"];
export const deliveryStatuses = ["queued", "sending", "sent", "failed", "canceled"] as const;

// Every shape is the OpenAPI document's (web/src/api.types.ts, docs/ui.md "One contract").
export type QueuedNotification = ResponseOf<"GET /api/notifications/queue">["items"][number];
export type NotificationSwitches = ResponseOf<"GET /api/notifications/settings">;
export type SwitchesInput = BodyOf<"PUT /api/notifications/settings">;
export type RuntimeSetting = NonNullable<SystemInfo["runtime"]>[number];
export type BusPeerContact = NonNullable<SystemInfo["bus"]>["workers"][number];
export type SystemDetails = SystemInfo;

const destinationPath = (channel: string, name: string) =>
  `/api/notifications/destinations/${encodeURIComponent(channel)}/${encodeURIComponent(name)}`;

export const settingsApi = {
  system: () => request<SystemDetails>("GET", "/api/system"),
  switches: () => request<NotificationSwitches>("GET", "/api/notifications/settings"),
  saveSwitches: (body: SwitchesInput) =>
    request<NotificationSwitches>("PUT", "/api/notifications/settings", body),
  setDestinationEnabled: (channel: string, name: string, enabled: boolean) => request<unknown>("POST", `${destinationPath(channel, name)}/enabled`, { enabled }),
  saveDestination: (channel: NotificationChannel, name: string, body: Record<string, unknown>) =>
    request<unknown>("PUT", destinationPath(channel, name), body),
  queue: (status: string, channel: string, cursor?: string | null) => {
    const query = new URLSearchParams({ page_size: "50" });
    if (status) query.set("status", status);
    if (channel) query.set("channel", channel);
    if (cursor) query.set("cursor", cursor);
    return request<ResponseOf<"GET /api/notifications/queue">>("GET", `/api/notifications/queue?${query.toString()}`);
  },
  retryNow: (id: string) => request<QueuedNotification>("POST", `/api/notifications/queue/${encodeURIComponent(id)}/retry-now`),
  cancel: (id: string) => request<QueuedNotification>("POST", `/api/notifications/queue/${encodeURIComponent(id)}/cancel`),
  createKey: (name: string) => request<ResponseOf<"POST /api/keys">>("POST", "/api/keys", { name }),
  exportKey: (name: string) => request<ResponseOf<"GET /api/keys/{name}">>("GET", `/api/keys/${encodeURIComponent(name)}`),
};

/** A template with each `{{name}}` replaced by `values[name]` (unknown names stay as they are), as the hub renders it. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => (name in values ? values[name] : whole));
}
