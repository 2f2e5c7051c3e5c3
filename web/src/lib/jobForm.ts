import type { Job } from "../api";
import { fromCron, toCron, type Simple } from "./schedule";

// The job editor's form and the request body it becomes, both ways: pure, so it is tested without a browser.

export interface JobForm {
  name: string;
  scheduleMode: "manual" | "simple" | "cron";
  simple: Simple;
  cron: string;
  timezone: string;
  overlap: "queue" | "reject";
  /** The agent that runs the job; empty: this hub's workers. */
  agentId: string;
  type: "filesystem" | "sqlite";
  paths: string;
  include: string;
  exclude: string;
  preScan: boolean;
  symlinkPolicy: "keep" | "follow" | "skip";
  hardlinkPolicy: "copy" | "keep";
  errorPolicy: "fail_fast" | "skip_fail" | "skip_ok";
  sqlitePath: string;
  integrityCheck: boolean;
  /** Where snapshots go (docs/targets.md). */
  targetType: "local_dir" | "webdav" | "rclone";
  baseDir: string;
  baseUrl: string;
  remote: string;
  /** The webdav or rclone secret holding the target's credentials. */
  secretName: string;
  partSizeMiB: number;
  encryption: "none" | "age";
  keyName: string;
  /** Filesystem jobs: every snapshot full, or chains of incremental ones with a full one every `fullEvery`. */
  snapshots: "full" | "incremental";
  fullEvery: string;
  notifications: "inherit" | "custom";
  /** Custom mode: the destinations a run notifies, as `channel/name`. */
  notifyTo: string[];
  retentionEnabled: boolean;
  keepLast: string;
  keepDays: string;
}

export function emptyForm(timezone: string): JobForm {
  return {
    name: "",
    scheduleMode: "simple",
    simple: { kind: "daily", hour: 2, minute: 0 },
    cron: "0 2 * * *",
    timezone,
    overlap: "queue",
    agentId: "",
    type: "filesystem",
    paths: "",
    include: "",
    exclude: "",
    preScan: true,
    symlinkPolicy: "keep",
    hardlinkPolicy: "copy",
    errorPolicy: "fail_fast",
    sqlitePath: "",
    integrityCheck: true,
    targetType: "local_dir",
    baseDir: "/var/backups/bastion",
    baseUrl: "",
    remote: "",
    secretName: "",
    partSizeMiB: 256,
    encryption: "none",
    keyName: "default",
    snapshots: "full",
    fullEvery: "7",
    notifications: "inherit",
    notifyTo: [],
    retentionEnabled: false,
    keepLast: "",
    keepDays: "",
  };
}

const lines = (text: string) =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0);

/** The schedule the form says: null for manual. */
export function formSchedule(form: JobForm): string | null {
  if (form.scheduleMode === "manual") return null;
  return form.scheduleMode === "simple" ? toCron(form.simple) : form.cron.trim();
}

/** The `POST/PUT /api/jobs` body. */
export function formToRequest(form: JobForm): Record<string, unknown> {
  const source =
    form.type === "filesystem"
      ? {
          paths: lines(form.paths),
          include: lines(form.include),
          exclude: lines(form.exclude),
          pre_scan: form.preScan,
          symlink_policy: form.symlinkPolicy,
          hardlink_policy: form.hardlinkPolicy,
          error_policy: form.errorPolicy,
        }
      : { path: form.sqlitePath.trim(), integrity_check: form.integrityCheck };
  const retention: Record<string, unknown> = { enabled: form.retentionEnabled };
  if (form.keepLast.trim()) retention.keep_last = Number(form.keepLast);
  if (form.keepDays.trim()) retention.keep_days = Number(form.keepDays);
  return {
    name: form.name.trim(),
    schedule: formSchedule(form),
    schedule_timezone: form.timezone,
    overlap_policy: form.overlap,
    agent_id: form.agentId || null,
    spec: {
      v: 1,
      type: form.type,
      source,
      target: formTarget(form),
      pipeline: formPipeline(form),
      notifications: form.notifications === "custom" ? { mode: "custom", ...destinationLists(form.notifyTo) } : { mode: "inherit" },
      retention,
    },
  };
}

/** The spec's `pipeline`: encryption, and incremental chains for filesystem jobs (docs/formats.md). */
export function formPipeline(form: JobForm): Record<string, unknown> {
  const pipeline: Record<string, unknown> = {};
  if (form.encryption === "age") pipeline.encryption = { type: "age_x25519", key_name: form.keyName.trim() };
  if (form.type === "filesystem" && form.snapshots === "incremental") pipeline.incremental = { full_every: Number(form.fullEvery) };
  return pipeline;
}

/** The spec's `target` the form says (also what Test connection sends). */
export function formTarget(form: JobForm): Record<string, unknown> {
  const part_size_bytes = Math.round(form.partSizeMiB * 1024 * 1024);
  switch (form.targetType) {
    case "webdav":
      return { type: "webdav", base_url: form.baseUrl.trim(), secret_name: form.secretName, part_size_bytes };
    case "rclone":
      return { type: "rclone", remote: form.remote.trim(), secret_name: form.secretName, part_size_bytes };
    default:
      return { type: "local_dir", base_dir: form.baseDir.trim(), part_size_bytes };
  }
}

/** A target in a line: the directory, the URL, or the remote. */
export function describeTarget(target: Record<string, unknown>): string {
  if (target.type === "webdav") return `WebDAV ${String(target.base_url ?? "?")}`;
  if (target.type === "rclone") return `rclone ${String(target.remote ?? "?")}`;
  return `${String(target.base_dir ?? "?")} (local directory)`;
}

/** The channels a job's custom notifications list (`email` is kept from the original's specs; it never sends). */
export const notificationChannels = ["webhook", "wecom_bot", "email"];

/** `["webhook/ops", "wecom_bot/team"]` → `{webhook: ["ops"], wecom_bot: ["team"]}`. */
function destinationLists(keys: string[]): Record<string, string[]> {
  const lists: Record<string, string[]> = {};
  for (const key of keys) {
    const slash = key.indexOf("/");
    const channel = key.slice(0, slash);
    if (slash <= 0 || !notificationChannels.includes(channel)) continue;
    (lists[channel] ??= []).push(key.slice(slash + 1));
  }
  return lists;
}

type Loose = Record<string, unknown>;
const object = (value: unknown): Loose => (value && typeof value === "object" && !Array.isArray(value) ? (value as Loose) : {});
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []);

/** The form for an existing job (its stored spec). */
export function jobToForm(job: Job, fallbackTimezone: string): JobForm {
  const form = emptyForm(job.schedule_timezone || fallbackTimezone);
  const spec = object(job.spec);
  const source = object(spec.source);
  const target = object(spec.target);
  const encryption = object(object(spec.pipeline).encryption);
  const incremental = object(object(spec.pipeline).incremental);
  const retention = object(spec.retention);
  form.name = job.name;
  form.overlap = job.overlap_policy;
  form.agentId = job.agent_id ?? "";
  if (job.schedule === null) form.scheduleMode = "manual";
  else {
    const simple = fromCron(job.schedule);
    form.scheduleMode = simple ? "simple" : "cron";
    if (simple) form.simple = simple;
    form.cron = job.schedule;
  }
  form.type = spec.type === "sqlite" ? "sqlite" : "filesystem";
  form.paths = strings(source.paths).join("\n");
  form.include = strings(source.include).join("\n");
  form.exclude = strings(source.exclude).join("\n");
  if (typeof source.pre_scan === "boolean") form.preScan = source.pre_scan;
  if (source.symlink_policy === "follow" || source.symlink_policy === "skip") form.symlinkPolicy = source.symlink_policy;
  if (source.hardlink_policy === "keep") form.hardlinkPolicy = "keep";
  if (source.error_policy === "skip_fail" || source.error_policy === "skip_ok") form.errorPolicy = source.error_policy;
  if (typeof source.path === "string") form.sqlitePath = source.path;
  if (typeof source.integrity_check === "boolean") form.integrityCheck = source.integrity_check;
  if (target.type === "webdav" || target.type === "rclone") form.targetType = target.type;
  if (typeof target.base_dir === "string") form.baseDir = target.base_dir;
  if (typeof target.base_url === "string") form.baseUrl = target.base_url;
  if (typeof target.remote === "string") form.remote = target.remote;
  if (typeof target.secret_name === "string") form.secretName = target.secret_name;
  if (typeof target.part_size_bytes === "number") form.partSizeMiB = Math.max(1, Math.round(target.part_size_bytes / 1048576));
  if (encryption.type === "age_x25519") {
    form.encryption = "age";
    if (typeof encryption.key_name === "string") form.keyName = encryption.key_name;
  }
  if (typeof incremental.full_every === "number") {
    form.snapshots = "incremental";
    form.fullEvery = String(incremental.full_every);
  }
  const notifications = object(spec.notifications);
  form.notifications = notifications.mode === "custom" ? "custom" : "inherit";
  form.notifyTo = notificationChannels.flatMap((channel) => strings(notifications[channel]).map((name) => `${channel}/${name}`));
  form.retentionEnabled = retention.enabled === true;
  form.keepLast = typeof retention.keep_last === "number" ? String(retention.keep_last) : "";
  form.keepDays = typeof retention.keep_days === "number" ? String(retention.keep_days) : "";
  return form;
}

/** Which form field a server error's `details.field` belongs to. */
export function fieldOf(serverField: string | undefined): string {
  if (!serverField) return "";
  if (serverField === "schedule" || serverField === "timezone" || serverField === "schedule_timezone") return "schedule";
  if (serverField.startsWith("spec.source")) return "source";
  if (serverField.startsWith("spec.target")) return "target";
  if (serverField.startsWith("spec.pipeline.incremental")) return "snapshots";
  if (serverField.startsWith("spec.pipeline")) return "encryption";
  if (serverField.startsWith("spec.retention") || serverField === "retention") return "retention";
  if (serverField.startsWith("spec.notifications")) return "notifications";
  return serverField;
}
