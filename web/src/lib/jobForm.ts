import type { Job, JobInput, TargetInput } from "../api";
import { t, type MessageKey } from "../i18n";
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
  type: JobType;
  paths: string;
  include: string;
  exclude: string;
  preScan: boolean;
  symlinkPolicy: "keep" | "follow" | "skip";
  hardlinkPolicy: "copy" | "keep";
  errorPolicy: "fail_fast" | "skip_fail" | "skip_ok";
  /** Filesystem jobs: a btrfs snapshot of the source first (docs/consistency.md). */
  snapshotMode: "off" | "auto" | "required";
  /** Filesystem and Vaultwarden jobs: what a file that changed while it was read does to the run. */
  consistencyPolicy: "warn" | "fail" | "ignore";
  /** Under `fail`: how many changed files are tolerated (the run fails above it). */
  consistencyThreshold: string;
  sqlitePath: string;
  integrityCheck: boolean;
  /** Database jobs (postgres, mariadb): the server, the secret with its password, what to dump. */
  dbHost: string;
  dbPort: string;
  dbUser: string;
  dbSecretName: string;
  /** Database names, one per line; empty: all of them. */
  dbDatabases: string;
  dbGlobals: boolean;
  /** mariadb: verify also restores each dump into a scratch database. */
  verifyScratchRestore: boolean;
  /** Vaultwarden jobs: its data directory. */
  vwDataDir: string;
  /** Commands run before and after each backup run (docs/hooks.md). */
  hooksBefore: HookForm[];
  hooksAfter: HookForm[];
  continueOnBeforeFailure: boolean;
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
  /** Grandfather-father-son rules (restic's `forget --keep-*`): the newest snapshot of each of the last N hours, days, … */
  keepHourly: string;
  keepDaily: string;
  keepWeekly: string;
  keepMonthly: string;
  keepYearly: string;
  /** Every snapshot newer than this duration (`1y2m3d4h`). */
  keepWithin: string;
  /** The primary target's bandwidth limit (docs: SPEC 3). */
  bandwidth: BandwidthForm;
  /** Copy targets: each snapshot is copied to each of them after the backup (up to 4). */
  copies: TargetForm[];
  /** URLs pinged on start, success and failure (up to 8). */
  pings: PingForm[];
  /** Scheduled restore drills: verify runs of a snapshot, optionally with a full test restore. */
  drillsEnabled: boolean;
  drillSchedule: string;
  drillPick: "newest" | "random";
  drillTestRestore: boolean;
}

/** A target as the editor holds it (the primary's fields are the same, flat in JobForm). */
export interface TargetForm {
  targetType: "local_dir" | "webdav" | "rclone";
  baseDir: string;
  baseUrl: string;
  remote: string;
  secretName: string;
  partSizeMiB: number;
  bandwidth: BandwidthForm;
}

export const weekDays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type WeekDay = (typeof weekDays)[number];

/** One hour range of the weekly bandwidth schedule: on these days, from start_hour up to (not including) end_hour. */
export interface BandwidthRuleForm {
  days: WeekDay[];
  startHour: string;
  endHour: string;
  /** MiB/s; empty: unlimited in that range. */
  limitMiB: string;
}

export interface BandwidthForm {
  /** MiB/s outside the schedule; empty: unlimited. */
  limitMiB: string;
  /** The zone the schedule's hours are in; empty: the hub's. */
  timezone: string;
  schedule: BandwidthRuleForm[];
}

export const emptyBandwidth = (): BandwidthForm => ({ limitMiB: "", timezone: "", schedule: [] });
export const emptyBandwidthRule = (): BandwidthRuleForm => ({ days: ["mon", "tue", "wed", "thu", "fri"], startHour: "8", endHour: "18", limitMiB: "" });

export const emptyCopy = (): TargetForm => ({
  targetType: "local_dir",
  baseDir: "",
  baseUrl: "",
  remote: "",
  secretName: "",
  partSizeMiB: 256,
  bandwidth: emptyBandwidth(),
});

/** A ping: a healthchecks.io check URL (`/start` and `/fail` appended), or three URLs of one's own. */
export interface PingForm {
  mode: "healthchecks" | "urls";
  url: string;
  startUrl: string;
  successUrl: string;
  failureUrl: string;
}

export const emptyPing = (): PingForm => ({ mode: "healthchecks", url: "", startUrl: "", successUrl: "", failureUrl: "" });
export const defaultDrillSchedule = "0 4 * * 0";

export type JobType = "filesystem" | "sqlite" | "postgres" | "mariadb" | "vaultwarden";
export const jobTypes: JobType[] = ["filesystem", "sqlite", "postgres", "mariadb", "vaultwarden"];
export const isDatabase = (type: JobType): type is "postgres" | "mariadb" => type === "postgres" || type === "mariadb";

/** One hook as the editor holds it: text fields, turned into the spec's shape by `hookToSpec`. */
export interface HookForm {
  /** The program and its arguments, one per line (no shell: `|`, `>` or `$VAR` mean nothing). */
  argv: string;
  cwd: string;
  timeout: string;
  /** `KEY=value`, one per line. */
  env: string;
}

export const emptyHook = (): HookForm => ({ argv: "", cwd: "", timeout: "", env: "" });

/** The default server of a database job (SPEC: libpq's socket directory, the MariaDB socket file). */
export const databaseDefaults = {
  postgres: { host: "/var/run/postgresql", port: 5432 },
  mariadb: { host: "/run/mysqld/mysqld.sock", port: 3306 },
};

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
    snapshotMode: "off",
    consistencyPolicy: "warn",
    consistencyThreshold: "0",
    sqlitePath: "",
    integrityCheck: true,
    dbHost: "",
    dbPort: "",
    dbUser: "",
    dbSecretName: "",
    dbDatabases: "",
    dbGlobals: true,
    verifyScratchRestore: false,
    vwDataDir: "",
    hooksBefore: [],
    hooksAfter: [],
    continueOnBeforeFailure: false,
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
    keepHourly: "",
    keepDaily: "",
    keepWeekly: "",
    keepMonthly: "",
    keepYearly: "",
    keepWithin: "",
    bandwidth: emptyBandwidth(),
    copies: [],
    pings: [],
    drillsEnabled: false,
    drillSchedule: defaultDrillSchedule,
    drillPick: "newest",
    drillTestRestore: false,
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

/** A number field's value: a whole number as typed, else the text (the server refuses it with the field's name). */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** The consistency keys (filesystem: only what differs from the defaults, so older specs stay as they were). */
function consistency(form: JobForm, always: boolean): Record<string, unknown> {
  const keys: Record<string, unknown> = {};
  if (always || form.consistencyPolicy !== "warn") keys.consistency_policy = form.consistencyPolicy;
  if (form.consistencyPolicy === "fail") keys.consistency_fail_threshold = numberOrText(form.consistencyThreshold || "0");
  return keys;
}

/** The spec's `source` for the form's type. */
export function formSource(form: JobForm): Record<string, unknown> {
  switch (form.type) {
    case "filesystem":
      return {
        paths: lines(form.paths),
        include: lines(form.include),
        exclude: lines(form.exclude),
        pre_scan: form.preScan,
        symlink_policy: form.symlinkPolicy,
        hardlink_policy: form.hardlinkPolicy,
        error_policy: form.errorPolicy,
        ...(form.snapshotMode !== "off" ? { snapshot_mode: form.snapshotMode } : {}),
        ...consistency(form, false),
      };
    case "sqlite":
      return { path: form.sqlitePath.trim(), integrity_check: form.integrityCheck };
    case "vaultwarden":
      return { data_dir: form.vwDataDir.trim(), ...consistency(form, true) };
    default: {
      const source: Record<string, unknown> = {};
      if (form.dbHost.trim()) source.host = form.dbHost.trim();
      if (form.dbPort.trim()) source.port = numberOrText(form.dbPort);
      if (form.dbUser.trim()) source.user = form.dbUser.trim();
      if (form.dbSecretName) source.secret_name = form.dbSecretName;
      source.databases = lines(form.dbDatabases);
      source.globals = form.dbGlobals;
      if (form.type === "mariadb") source.verify_scratch_restore = form.verifyScratchRestore;
      return source;
    }
  }
}

/** `KEY=value` lines as an object; lines without `=` are returned as `problems` (1-based line numbers). */
export function parseEnv(text: string): { env: Record<string, string>; problems: number[] } {
  const env: Record<string, string> = {};
  const problems: number[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") return;
    const equals = line.indexOf("=");
    if (equals <= 0) {
      problems.push(index + 1);
      return;
    }
    env[line.slice(0, equals).trim()] = line.slice(equals + 1);
  });
  return { env, problems };
}

/** One hook in the spec's shape: argv one argument per line (ends trimmed, empty lines dropped), optional keys left out when empty. */
export function hookToSpec(hook: HookForm): Record<string, unknown> {
  const spec: Record<string, unknown> = { argv: lines(hook.argv) };
  if (hook.cwd.trim()) spec.cwd = hook.cwd.trim();
  if (hook.timeout.trim()) spec.timeout_seconds = numberOrText(hook.timeout);
  const { env } = parseEnv(hook.env);
  if (Object.keys(env).length > 0) spec.env = env;
  return spec;
}

/** What the editor refuses to send (the server could not tell): environment lines without `=`. */
export function hookProblems(form: JobForm): string[] {
  const problems: string[] = [];
  for (const [key, list] of [["jobForm.hookEnvBefore", form.hooksBefore], ["jobForm.hookEnvAfter", form.hooksAfter]] as const) {
    list.forEach((hook, index) => {
      for (const line of parseEnv(hook.env).problems) problems.push(t(key, { number: index + 1, line }));
    });
  }
  return problems;
}

/** What the editor refuses to send in the schedule: a weekly schedule without a day. */
export function scheduleProblems(form: JobForm): string[] {
  if (form.scheduleMode === "simple" && form.simple.kind === "weekly" && form.simple.weekdays.length === 0) return [t("editor.schedule.noDay")];
  return [];
}

/** Everything the editor refuses to send (Save stays disabled and says why). */
export function formProblems(form: JobForm): string[] {
  return [...scheduleProblems(form), ...hookProblems(form)];
}

/** The spec's `hooks`, or null when the job has none (the key is then left out). */
export function formHooks(form: JobForm): Record<string, unknown> | null {
  // Without a command there are no hooks (the server stores it so too), whatever the checkbox said.
  if (form.hooksBefore.length === 0 && form.hooksAfter.length === 0) return null;
  const hooks: Record<string, unknown> = {};
  if (form.hooksBefore.length > 0) hooks.before = form.hooksBefore.map(hookToSpec);
  if (form.hooksAfter.length > 0) hooks.after = form.hooksAfter.map(hookToSpec);
  hooks.continue_on_before_failure = form.continueOnBeforeFailure;
  return hooks;
}

/** The `POST/PUT /api/jobs` body. */
export function formToRequest(form: JobForm): JobInput {
  const source = formSource(form);
  const hooks = formHooks(form);
  const retention: Record<string, unknown> = { enabled: form.retentionEnabled };
  if (form.keepLast.trim()) retention.keep_last = numberOrText(form.keepLast);
  for (const [key, field] of retentionRules) if (form[field].trim()) retention[key] = numberOrText(form[field]);
  if (form.keepWithin.trim()) retention.keep_within = form.keepWithin.trim();
  if (form.keepDays.trim()) retention.keep_days = numberOrText(form.keepDays);
  const extra: Record<string, unknown> = {};
  if (form.copies.length > 0) extra.copies = form.copies.map((copy) => ({ target: targetOf(copy) }));
  if (form.pings.length > 0) extra.pings = form.pings.map(pingToSpec);
  const drills = formDrills(form);
  if (drills) extra.drills = drills;
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
      ...(hooks ? { hooks } : {}),
      notifications: form.notifications === "custom" ? { mode: "custom", ...destinationLists(form.notifyTo) } : { mode: "inherit" },
      retention,
      ...extra,
    },
  };
}

/** The GFS rules: the spec's key and the form's field. */
export const retentionRules = [
  ["keep_hourly", "keepHourly"],
  ["keep_daily", "keepDaily"],
  ["keep_weekly", "keepWeekly"],
  ["keep_monthly", "keepMonthly"],
  ["keep_yearly", "keepYearly"],
] as const;

/** The spec's `drills`, or null (left out) when drills are off and nothing else differs from the defaults. */
export function formDrills(form: JobForm): Record<string, unknown> | null {
  const schedule = form.drillSchedule.trim();
  if (!form.drillsEnabled && (schedule === defaultDrillSchedule || schedule === "") && form.drillPick === "newest" && !form.drillTestRestore) return null;
  return { enabled: form.drillsEnabled, schedule: schedule || defaultDrillSchedule, pick: form.drillPick, test_restore: form.drillTestRestore };
}

/** One ping in the spec's shape. */
export function pingToSpec(ping: PingForm): Record<string, unknown> {
  if (ping.mode === "healthchecks") return { url: ping.url.trim() };
  const spec: Record<string, unknown> = {};
  if (ping.startUrl.trim()) spec.start_url = ping.startUrl.trim();
  if (ping.successUrl.trim()) spec.success_url = ping.successUrl.trim();
  if (ping.failureUrl.trim()) spec.failure_url = ping.failureUrl.trim();
  return spec;
}

const mib = 1024 * 1024;

/** MiB/s as typed → bytes per second (a whole number), or the text when it is not a number (the server names the field). */
export function mibToBps(text: string): number | string {
  const trimmed = text.trim();
  return /^\d+(\.\d+)?$/.test(trimmed) ? Math.round(Number(trimmed) * mib) : trimmed;
}

/** Bytes per second → MiB/s as the form shows it (at most 3 decimals). */
export function bpsToMiB(bps: number): string {
  return String(Math.round((bps / mib) * 1000) / 1000);
}

/** The target's `bandwidth`, or null (left out) without a limit or schedule. */
export function formBandwidth(bandwidth: BandwidthForm): Record<string, unknown> | null {
  if (!bandwidth.limitMiB.trim() && bandwidth.schedule.length === 0) return null;
  const spec: Record<string, unknown> = {};
  spec.limit_bps = bandwidth.limitMiB.trim() ? mibToBps(bandwidth.limitMiB) : null;
  if (bandwidth.timezone.trim()) spec.timezone = bandwidth.timezone.trim();
  if (bandwidth.schedule.length > 0)
    spec.schedule = bandwidth.schedule.map((rule) => ({
      days: weekDays.filter((day) => rule.days.includes(day)),
      start_hour: numberOrText(rule.startHour),
      end_hour: numberOrText(rule.endHour),
      limit_bps: rule.limitMiB.trim() ? mibToBps(rule.limitMiB) : null,
    }));
  return spec;
}

/** The limit in force on a day at an hour (bytes per second, null: unlimited): the first matching rule, else the limit. */
export function bandwidthAt(bandwidth: BandwidthForm, day: WeekDay, hour: number): number | null {
  for (const rule of bandwidth.schedule) {
    const start = Number(rule.startHour);
    const end = Number(rule.endHour);
    if (!rule.days.includes(day)) continue;
    if (hour >= start && hour < end) return rule.limitMiB.trim() ? Number(mibToBps(rule.limitMiB)) : null;
  }
  return bandwidth.limitMiB.trim() ? Number(mibToBps(bandwidth.limitMiB)) : null;
}

/** The editor's copy of a spec `bandwidth`. */
function bandwidthForm(value: unknown): BandwidthForm {
  const spec = object(value);
  const form = emptyBandwidth();
  if (typeof spec.limit_bps === "number") form.limitMiB = bpsToMiB(spec.limit_bps);
  if (typeof spec.timezone === "string") form.timezone = spec.timezone;
  if (Array.isArray(spec.schedule))
    form.schedule = spec.schedule.map((item) => {
      const rule = object(item);
      return {
        days: strings(rule.days).filter((day): day is WeekDay => (weekDays as readonly string[]).includes(day)),
        startHour: typeof rule.start_hour === "number" ? String(rule.start_hour) : "",
        endHour: typeof rule.end_hour === "number" ? String(rule.end_hour) : "",
        limitMiB: typeof rule.limit_bps === "number" ? bpsToMiB(rule.limit_bps) : "",
      };
    });
  return form;
}

/** The editor's copy of a spec target (primary or copy). */
export function targetForm(value: unknown): TargetForm {
  const target = object(value);
  const form = emptyCopy();
  if (target.type === "webdav" || target.type === "rclone" || target.type === "local_dir") form.targetType = target.type;
  if (typeof target.base_dir === "string") form.baseDir = target.base_dir;
  if (typeof target.base_url === "string") form.baseUrl = target.base_url;
  if (typeof target.remote === "string") form.remote = target.remote;
  if (typeof target.secret_name === "string") form.secretName = target.secret_name;
  if (typeof target.part_size_bytes === "number") form.partSizeMiB = Math.max(1, Math.round(target.part_size_bytes / 1048576));
  form.bandwidth = bandwidthForm(target.bandwidth);
  return form;
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
  return targetOf(form);
}

/** A target object (primary or copy) from the editor's fields. */
export function targetOf(fields: TargetForm): TargetInput {
  const part_size_bytes = Math.round(fields.partSizeMiB * 1024 * 1024);
  // A local_dir target is not paced: the server refuses its bandwidth (bandwidth_unsupported), so none is sent.
  const bandwidth = fields.targetType === "local_dir" ? null : formBandwidth(fields.bandwidth);
  const extra = bandwidth ? { bandwidth } : {};
  switch (fields.targetType) {
    case "webdav":
      return { type: "webdav", base_url: fields.baseUrl.trim(), secret_name: fields.secretName, part_size_bytes, ...extra };
    case "rclone":
      return { type: "rclone", remote: fields.remote.trim(), secret_name: fields.secretName, part_size_bytes, ...extra };
    default:
      return { type: "local_dir", base_dir: fields.baseDir.trim(), part_size_bytes, ...extra };
  }
}

/** A target in a line: the directory, the URL, or the remote. */
export function describeTarget(target: Record<string, unknown>): string {
  if (target.type === "webdav") return `WebDAV ${String(target.base_url ?? "?")}`;
  if (target.type === "rclone") return `rclone ${String(target.remote ?? "?")}`;
  return t("jobForm.localDirectory", { dir: String(target.base_dir ?? "?") });
}

/** The channels a job's custom notifications list (`email` is kept from the original's specs; it never sends). */
export const notificationChannels = ["webhook", "wecom_bot", "email", "ntfy"];

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
  form.type = jobTypes.includes(spec.type as JobType) ? (spec.type as JobType) : "filesystem";
  form.paths = strings(source.paths).join("\n");
  form.include = strings(source.include).join("\n");
  form.exclude = strings(source.exclude).join("\n");
  if (typeof source.pre_scan === "boolean") form.preScan = source.pre_scan;
  if (source.symlink_policy === "follow" || source.symlink_policy === "skip") form.symlinkPolicy = source.symlink_policy;
  if (source.hardlink_policy === "keep") form.hardlinkPolicy = "keep";
  if (source.error_policy === "skip_fail" || source.error_policy === "skip_ok") form.errorPolicy = source.error_policy;
  if (typeof source.path === "string") form.sqlitePath = source.path;
  if (typeof source.integrity_check === "boolean") form.integrityCheck = source.integrity_check;
  if (source.snapshot_mode === "auto" || source.snapshot_mode === "required") form.snapshotMode = source.snapshot_mode;
  if (source.consistency_policy === "fail" || source.consistency_policy === "ignore") form.consistencyPolicy = source.consistency_policy;
  if (typeof source.consistency_fail_threshold === "number") form.consistencyThreshold = String(source.consistency_fail_threshold);
  if (typeof source.host === "string") form.dbHost = source.host;
  if (typeof source.port === "number") form.dbPort = String(source.port);
  if (typeof source.user === "string") form.dbUser = source.user;
  if (typeof source.secret_name === "string") form.dbSecretName = source.secret_name;
  form.dbDatabases = strings(source.databases).join("\n");
  if (typeof source.globals === "boolean") form.dbGlobals = source.globals;
  if (typeof source.verify_scratch_restore === "boolean") form.verifyScratchRestore = source.verify_scratch_restore;
  if (typeof source.data_dir === "string") form.vwDataDir = source.data_dir;
  const hooks = object(spec.hooks);
  form.hooksBefore = hookForms(hooks.before);
  form.hooksAfter = hookForms(hooks.after);
  form.continueOnBeforeFailure = hooks.continue_on_before_failure === true;
  if (target.type === "webdav" || target.type === "rclone") form.targetType = target.type;
  if (typeof target.base_dir === "string") form.baseDir = target.base_dir;
  if (typeof target.base_url === "string") form.baseUrl = target.base_url;
  if (typeof target.remote === "string") form.remote = target.remote;
  if (typeof target.secret_name === "string") form.secretName = target.secret_name;
  if (typeof target.part_size_bytes === "number") form.partSizeMiB = Math.max(1, Math.round(target.part_size_bytes / 1048576));
  form.bandwidth = bandwidthForm(target.bandwidth);
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
  for (const [key, field] of retentionRules) form[field] = typeof retention[key] === "number" ? String(retention[key]) : "";
  form.keepWithin = typeof retention.keep_within === "string" ? retention.keep_within : "";
  form.copies = Array.isArray(spec.copies) ? spec.copies.map((copy) => targetForm(object(copy).target)) : [];
  form.pings = Array.isArray(spec.pings) ? spec.pings.map(pingForm) : [];
  const drills = object(spec.drills);
  form.drillsEnabled = drills.enabled === true;
  if (typeof drills.schedule === "string") form.drillSchedule = drills.schedule;
  if (drills.pick === "random") form.drillPick = "random";
  form.drillTestRestore = drills.test_restore === true;
  return form;
}

/** A spec ping as the editor's row. */
function pingForm(value: unknown): PingForm {
  const ping = object(value);
  const text = (key: string) => (typeof ping[key] === "string" ? (ping[key] as string) : "");
  if (typeof ping.url === "string") return { ...emptyPing(), url: ping.url };
  return { mode: "urls", url: "", startUrl: text("start_url"), successUrl: text("success_url"), failureUrl: text("failure_url") };
}

/** The spec's hook list as editor rows. */
function hookForms(value: unknown): HookForm[] {
  if (!Array.isArray(value)) return [];
  return value.map((item) => {
    const hook = object(item);
    const env = object(hook.env);
    return {
      argv: strings(hook.argv).join("\n"),
      cwd: typeof hook.cwd === "string" ? hook.cwd : "",
      timeout: typeof hook.timeout_seconds === "number" ? String(hook.timeout_seconds) : "",
      env: Object.entries(env)
        .map(([key, text]) => `${key}=${typeof text === "string" ? text : String(text)}`)
        .join("\n"),
    };
  });
}

/** A draft saved by an older version of the page lacks the newer fields: they take their defaults. */
export function completeDraft(draft: Partial<JobForm>, timezone: string): JobForm {
  const form = { ...emptyForm(timezone), ...draft };
  // Before several weekdays a weekly schedule had one `weekday`.
  const simple = form.simple as Simple & { weekday?: unknown };
  if (simple.kind === "weekly" && !Array.isArray(simple.weekdays))
    form.simple = { kind: "weekly", weekdays: typeof simple.weekday === "number" ? [simple.weekday % 7] : [1], hour: simple.hour, minute: simple.minute };
  return form;
}

/** Which form field a server error's `details.field` belongs to. */
export function fieldOf(serverField: string | undefined): string {
  if (!serverField) return "";
  if (serverField === "schedule" || serverField === "timezone" || serverField === "schedule_timezone") return "schedule";
  if (serverField.startsWith("spec.source.snapshot_mode")) return "snapshotMode";
  if (serverField.startsWith("spec.source.consistency")) return "consistency";
  if (serverField.startsWith("spec.source.secret_name")) return "dbSecret";
  if (serverField.startsWith("spec.source")) return "source";
  if (serverField.startsWith("spec.hooks")) return "hooks";
  if (serverField.startsWith("spec.target.bandwidth")) return "bandwidth";
  if (serverField.startsWith("spec.target")) return "target";
  if (serverField.startsWith("spec.copies")) return "copies";
  if (serverField.startsWith("spec.pings")) return "pings";
  if (serverField.startsWith("spec.drills")) return "drills";
  if (serverField.startsWith("spec.pipeline.incremental")) return "snapshots";
  if (serverField.startsWith("spec.pipeline")) return "encryption";
  if (serverField.startsWith("spec.retention") || serverField === "retention") return "retention";
  if (serverField.startsWith("spec.notifications")) return "notifications";
  return serverField;
}

/** What a job backs up, in a line (the job page's "What"). */
export function describeSource(type: string | null, spec: Record<string, unknown>): string {
  const source = object(spec.source);
  switch (type) {
    case "sqlite":
      return t("jobForm.source.sqlite", { path: String(source.path ?? "?") });
    case "postgres":
    case "mariadb": {
      const engine = type === "postgres" ? "PostgreSQL" : "MariaDB";
      const names = strings(source.databases);
      const server = typeof source.host === "string" ? source.host : databaseDefaults[type].host;
      const port = typeof source.port === "number" ? `:${source.port}` : "";
      const what = names.length
        ? t("jobForm.source.databases", { engine, names: names.join(t("job.list.separator")) })
        : t("jobForm.source.everyDatabase", { engine });
      const globals = source.globals === false ? "" : type === "postgres" ? t("jobForm.source.andRoles") : t("jobForm.source.andUsers");
      return t("jobForm.source.onServer", { what, globals, server: `${server}${port}` });
    }
    case "vaultwarden":
      return t("jobForm.source.vaultwarden", { dir: String(source.data_dir ?? "?") });
    default:
      return strings(source.paths).join(", ");
  }
}

/** The job's hooks in a line, or null without any. */
export function describeHooks(spec: Record<string, unknown>): string | null {
  const hooks = object(spec.hooks);
  const show = (list: unknown) =>
    Array.isArray(list) ? list.map((hook) => strings(object(hook).argv).join(" ")).filter(Boolean) : [];
  const before = show(hooks.before);
  const after = show(hooks.after);
  if (before.length === 0 && after.length === 0) return null;
  const parts: string[] = [];
  if (before.length)
    parts.push(t("jobForm.hooks.before", { commands: before.join("; ") }) + (hooks.continue_on_before_failure === true ? t("jobForm.hooks.continue") : ""));
  if (after.length) parts.push(t("jobForm.hooks.after", { commands: after.join("; ") }));
  return parts.join(" · ");
}

/** Each count rule in words: with its count, and without limit (-1). */
const ruleWords: Record<string, [MessageKey, MessageKey]> = {
  keep_last: ["jobForm.keep.last", "jobForm.keep.lastUnlimited"],
  keep_hourly: ["jobForm.keep.hourly", "jobForm.keep.hourlyUnlimited"],
  keep_daily: ["jobForm.keep.daily", "jobForm.keep.dailyUnlimited"],
  keep_weekly: ["jobForm.keep.weekly", "jobForm.keep.weeklyUnlimited"],
  keep_monthly: ["jobForm.keep.monthly", "jobForm.keep.monthlyUnlimited"],
  keep_yearly: ["jobForm.keep.yearly", "jobForm.keep.yearlyUnlimited"],
};
const bucketRules: Record<string, MessageKey> = {
  hourly: "jobForm.reason.hourly",
  daily: "jobForm.reason.daily",
  weekly: "jobForm.reason.weekly",
  monthly: "jobForm.reason.monthly",
  yearly: "jobForm.reason.yearly",
};

/** A job's retention in words (the job page), e.g. "the last 3 snapshots, daily for 7 days, everything within 30d". */
export function describeRetention(value: unknown): string {
  const retention = object(value);
  if (retention.enabled !== true) return t("jobForm.keep.disabled");
  const parts: string[] = [];
  for (const [key, [counted, unlimited]] of Object.entries(ruleWords)) {
    const count = retention[key];
    if (typeof count !== "number") continue;
    parts.push(count === -1 ? t(unlimited) : t(counted, { count }));
  }
  if (typeof retention.keep_within === "string") parts.push(t("jobForm.keep.within", { within: retention.keep_within }));
  if (typeof retention.keep_days === "number") parts.push(t("jobForm.keep.days", { days: retention.keep_days }));
  return parts.length ? parts.join(t("job.list.separator")) : t("jobForm.keep.onlyPinned");
}

/** Why a retention preview keeps a snapshot, in words: the rule and, for the GFS rules, its bucket. */
export function describeReason(reason: string, bucket?: string, retention?: unknown): string {
  const policy = object(retention);
  if (reason === "chain_base") return t("jobForm.reason.chainBase");
  if (reason === "pinned") return t("jobForm.reason.pinned");
  if (reason === "keep_last") return t("jobForm.reason.last", { count: typeof policy.keep_last === "number" ? policy.keep_last : "N" });
  if (reason === "keep_within") return typeof policy.keep_within === "string" ? t("jobForm.reason.within", { within: policy.keep_within }) : t("jobForm.reason.withinTime");
  if (reason === "keep_days") return t("jobForm.reason.days");
  const bare = reason.replace(/^keep_/, "");
  const rule = bucketRules[bare] ? t(bucketRules[bare]) : bare;
  return bucket ? t("jobForm.reason.bucket", { rule, bucket }) : rule;
}

/** A target's bandwidth in a line, or null without a limit. */
export function describeBandwidth(value: unknown): string | null {
  const bandwidth = object(value);
  const rate = (bps: unknown) => (typeof bps === "number" ? `${bpsToMiB(bps)} MiB/s` : t("jobForm.bandwidth.unlimited"));
  const schedule = Array.isArray(bandwidth.schedule) ? bandwidth.schedule.map(object) : [];
  if (typeof bandwidth.limit_bps !== "number" && schedule.length === 0) return null;
  const ranges = schedule.map((rule) =>
    t("jobForm.bandwidth.rule", { days: strings(rule.days).join(","), start: String(rule.start_hour), end: String(rule.end_hour), rate: rate(rule.limit_bps) }),
  );
  return [rate(bandwidth.limit_bps), ...ranges].join("; ");
}
