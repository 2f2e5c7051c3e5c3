import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunEvent } from "../src/api";
import { Backoff } from "../src/lib/backoff";
import { EventLog } from "../src/lib/eventLog";
import { formatBytes, formatDuration, formatRelative, formatTime } from "../src/lib/format";
import { match } from "../src/lib/router";
import { formatStageTime, stageSteps } from "../src/lib/stages";

const event = (seq: number, kind = "log", level: RunEvent["level"] = "info"): RunEvent => ({
  run_id: "r",
  seq,
  ts: 1_800_000_000 + seq,
  level,
  kind,
  message: `line ${seq}`,
  fields: null,
});

test("backoff doubles from 1 s to a 30 s cap with full jitter, and resets", () => {
  const ceilings: number[] = [];
  const backoff = new Backoff(1000, 30000, () => 0.999);
  for (let index = 0; index < 8; index += 1) {
    ceilings.push(backoff.ceilingMs);
    const delay = backoff.next();
    assert.ok(delay < ceilings[index] && delay >= 0);
  }
  assert.deepEqual(ceilings, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  backoff.reset();
  assert.equal(backoff.ceilingMs, 1000);
  assert.equal(new Backoff(1000, 30000, () => 0).next(), 0, "full jitter reaches zero");
});

test("the event log keeps each seq once and in order, and reports gaps instead of skipping", () => {
  const log = new EventLog();
  assert.deepEqual(log.add([event(2), event(1), event(3)]), { appended: 3, gap: false });
  assert.deepEqual(log.add([event(2), event(3)]), { appended: 0, gap: false }, "duplicates are dropped");
  assert.deepEqual(log.add([event(5)]), { appended: 0, gap: true }, "4 is missing: nothing is appended past it");
  assert.deepEqual(log.add([event(4), event(5), event(6, "failed", "error")]), { appended: 3, gap: false });
  assert.deepEqual(
    log.events.map((item) => item.seq),
    [1, 2, 3, 4, 5, 6],
  );
  assert.equal(log.lastSeq, 6);
  assert.equal(log.firstErrorIndex(), 5);
  log.add([event(7, "failed", "error")]);
  assert.equal(log.firstErrorIndex(), 5, "the first error stays the first");
  assert.deepEqual([...log.kinds].sort(), ["failed", "log"]);
  assert.equal(new EventLog().firstErrorIndex(), -1);
});

test("formats sizes, durations and times", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1536), "1.50 KiB");
  assert.equal(formatBytes(5 * 1024 ** 3), "5.00 GiB");
  assert.equal(formatDuration(5), "5s");
  assert.equal(formatDuration(184), "3m 4s");
  assert.equal(formatDuration(3720), "1h 2m");
  assert.equal(formatRelative(1000, 1000_000 - 300_000), "in 5m");
  assert.equal(formatRelative(1000, 1000_000 + 7_200_000), "2h ago");
  assert.equal(formatTime(0, "UTC"), "1970-01-01 00:00:00");
  assert.equal(formatTime(1_800_000_000, "Asia/Shanghai"), "2027-01-15 16:00:00");
  assert.equal(formatTime(1_800_000_000, "UTC"), "2027-01-15 08:00:00", "a cached formatter keeps its own zone");
  assert.equal(formatTime(1_800_000_000, "Not/AZone"), "2027-01-15 08:00:00", "an unknown zone falls back to UTC");
});

test("routes match with parameters", () => {
  assert.deepEqual(match("/runs/:id", "/runs/abc%2F1?x=1"), { id: "abc/1" });
  assert.equal(match("/runs/:id", "/runs"), null);
  assert.deepEqual(match("/jobs", "/jobs?q=x"), {});
});

import { describeCron, fromCron, toCron, type Simple } from "../src/lib/schedule";

test("simple schedules and cron convert both ways", () => {
  const cases: [Simple, string, string][] = [
    [{ kind: "every_minutes", minutes: 15 }, "*/15 * * * *", "every 15 minutes"],
    [{ kind: "hourly", minute: 5 }, "5 * * * *", "every hour at :05"],
    [{ kind: "daily", hour: 2, minute: 30 }, "30 2 * * *", "every day at 02:30"],
    [{ kind: "weekly", weekdays: [1], hour: 23, minute: 0 }, "0 23 * * 1", "every Monday at 23:00"],
    [{ kind: "monthly", day: 28, hour: 4, minute: 45 }, "45 4 28 * *", "on day 28 of every month at 04:45"],
  ];
  for (const [simple, cron, words] of cases) {
    assert.equal(toCron(simple), cron);
    assert.deepEqual(fromCron(cron), simple);
    assert.equal(describeCron(cron), words);
  }
  assert.deepEqual(fromCron("0 3 * * 7"), { kind: "weekly", weekdays: [0], hour: 3, minute: 0 }, "7 is Sunday too");
  for (const other of ["0 3 * 1 *", "0 3 31 * *", "1,2 * * * *", "0 3 * * 1-5", "nonsense", "*/0 * * * *"]) {
    assert.equal(fromCron(other), null, other);
  }
});

test("any cron reads in words", () => {
  const cases: [string, string][] = [
    ["0 3 * * 1-5", "at 03:00 on weekdays"],
    ["0 3 * * SAT,SUN", "at 03:00 on weekends"],
    ["30 1 * * 1,3,5", "at 01:30 on Monday, Wednesday, Friday"],
    ["0 3 * 1 *", "at 03:00 in January"],
    ["0 3 31 * *", "at 03:00 on day 31 of the month"],
    ["0 0 1,15 * *", "at 00:00 on day 1, 15 of the month"],
    ["1,2 * * * *", "every hour at :01, :02"],
    ["*/15 9-17 * * 1-5", "every 15 minutes during 09:00–17:59 hours on weekdays"],
    ["0 */6 * * *", "every 6 hours at :00"],
    ["0 8,20 * * *", "every day at 08:00, 20:00"],
    ["0 0 1 1-3 *", "at 00:00 on day 1 of the month in January–March"],
    ["0 0 1 * 1", "at 00:00 on day 1 of the month or on Monday"],
    ["0 30 2 * * *", "every day at 02:30"],
    ["0-10 0-10 * * *", "every day at minute 0–10 of hours 00–10"],
  ];
  for (const [cron, words] of cases) assert.equal(describeCron(cron), words, cron);
  for (const bad of ["nonsense", "*/0 * * * *", "61 * * * *", "0 0 * * 8", "1 2 3", "5 0 3 * * *", "5-2 * * * *"]) {
    assert.equal(describeCron(bad), null, bad);
  }
});

import * as i18n from "../src/i18n";

/** Switches to Chinese, first loading its catalogue where the build makes it a chunk of its own (then `loadCatalogue`). */
async function chinese(): Promise<void> {
  const load = Reflect.get(i18n, "loadCatalogue") as ((lang: i18n.Language) => Promise<void>) | undefined;
  if (load) await load("zh-CN");
  i18n.setLanguage("zh-CN");
}

test("cron reads in words in Chinese too, in Chinese order", async () => {
  await chinese();
  try {
    const cases: [string, string][] = [
      ["*/15 * * * *", "每 15 分钟"],
      ["* * * * *", "每分钟"],
      ["5 * * * *", "每小时第 5 分钟"],
      ["0 2 * * *", "每天 02:00"],
      ["30 2 * * *", "每天 02:30"],
      ["0 23 * * 1", "每周一 23:00"],
      ["45 4 28 * *", "每月 28 日 04:45"],
      ["0 3 * * 1-5", "工作日 03:00"],
      ["0 3 * * SAT,SUN", "周末 03:00"],
      ["30 1 * * 1,3,5", "每周一、周三、周五 01:30"],
      ["0 3 * 1 *", "1月 每天 03:00"],
      ["0 0 1,15 * *", "每月 1、15 日 00:00"],
      ["1,2 * * * *", "每小时第 1、2 分钟"],
      ["*/15 9-17 * * 1-5", "工作日 09:00–17:59 每 15 分钟"],
      ["0 */6 * * *", "每 6 小时的第 0 分钟"],
      ["0 8,20 * * *", "每天 08:00、20:00"],
      ["0 0 1 1-3 *", "1月–3月 每月 1 日 00:00"],
      ["0 0 1 * 1", "每月 1 日或每周一 00:00"],
      ["0-10 0-10 * * *", "每天 00–10 时的第 0–10 分钟"],
    ];
    for (const [cron, words] of cases) assert.equal(describeCron(cron), words, cron);
    assert.equal(describeCron("nonsense"), null);
  } finally {
    i18n.setLanguage("en");
  }
  assert.equal(describeCron("0 2 * * *"), "every day at 02:00", "back in English");
});

import { describeTarget, emptyForm, fieldOf, formToRequest, jobToForm } from "../src/lib/jobForm";
import type { Job } from "../src/api";

test("the editor's form becomes the API body and comes back from a stored job", () => {
  const form = emptyForm("Europe/Berlin");
  form.name = "  Home  ";
  form.paths = "/home/ann\n\n /etc \n";
  form.exclude = "*/.cache";
  form.encryption = "age";
  form.keyName = "offsite";
  form.retentionEnabled = true;
  form.keepLast = "7";
  form.simple = { kind: "weekly", weekdays: [0], hour: 3, minute: 15 };
  const body = formToRequest(form) as { name: string; schedule: string; schedule_timezone: string; spec: Record<string, any> };
  assert.equal(body.name, "Home");
  assert.equal(body.schedule, "15 3 * * 0");
  assert.equal(body.schedule_timezone, "Europe/Berlin");
  assert.deepEqual(body.spec.source.paths, ["/home/ann", "/etc"]);
  assert.deepEqual(body.spec.pipeline, { encryption: { type: "age_x25519", key_name: "offsite" } });
  assert.deepEqual(body.spec.retention, { enabled: true, keep_last: 7 });
  assert.equal(body.spec.target.part_size_bytes, 256 * 1048576);

  const job: Job = {
    id: "j", name: "Home", agent_id: null, schedule: "15 3 * * 0", schedule_timezone: "Europe/Berlin", overlap_policy: "reject",
    created_at: 0, updated_at: 0, archived_at: null, type: "filesystem", spec: body.spec as Job["spec"],
  };
  const back = jobToForm(job, "UTC");
  assert.equal(back.scheduleMode, "simple");
  assert.deepEqual(back.simple, form.simple);
  assert.equal(back.paths, "/home/ann\n/etc");
  assert.equal(back.overlap, "reject");
  assert.equal(back.encryption, "age");
  assert.equal(back.keepLast, "7");
  assert.deepEqual(formToRequest({ ...back, overlap: "queue" }).spec, body.spec, "a round trip keeps the spec");
  assert.equal(jobToForm({ ...job, schedule: "0 3 * 1 *" }, "UTC").scheduleMode, "cron");
  assert.equal(jobToForm({ ...job, schedule: null }, "UTC").scheduleMode, "manual");
  assert.equal(fieldOf("spec.source.paths"), "source");
  assert.equal(fieldOf("schedule"), "schedule");
  assert.equal(fieldOf("name"), "name");

  // Incremental chains: in the pipeline for filesystem jobs only, and back.
  const chained = formToRequest({ ...form, snapshots: "incremental", fullEvery: "5" }) as { spec: Record<string, any> };
  assert.deepEqual(chained.spec.pipeline, { encryption: { type: "age_x25519", key_name: "offsite" }, incremental: { full_every: 5 } });
  const chainedBack = jobToForm({ ...job, spec: chained.spec as Job["spec"] }, "UTC");
  assert.equal(chainedBack.snapshots, "incremental");
  assert.equal(chainedBack.fullEvery, "5");
  const sqlite = formToRequest({ ...form, type: "sqlite", snapshots: "incremental" }) as { spec: Record<string, any> };
  assert.equal(sqlite.spec.pipeline.incremental, undefined);
  assert.equal(fieldOf("spec.pipeline.incremental.full_every"), "snapshots");

  const custom = formToRequest({ ...form, notifications: "custom", notifyTo: ["webhook/ops", "wecom_bot/team", "webhook/pager", "bogus"] }) as {
    spec: Record<string, any>;
  };
  assert.deepEqual(custom.spec.notifications, { mode: "custom", webhook: ["ops", "pager"], wecom_bot: ["team"] });
  const customBack = jobToForm({ ...job, spec: custom.spec as Job["spec"] }, "UTC");
  assert.equal(customBack.notifications, "custom");
  assert.deepEqual(customBack.notifyTo, ["webhook/ops", "webhook/pager", "wecom_bot/team"]);
  assert.deepEqual(formToRequest({ ...form, notifications: "custom", notifyTo: [] }).spec.notifications, { mode: "custom" }, "custom with none picked");
});

test("a remote target goes into the spec and comes back", () => {
  const form = { ...emptyForm("UTC"), targetType: "webdav" as const, baseUrl: " https://nas.example/dav/ ", secretName: "nas", partSizeMiB: 64 };
  const body = formToRequest(form) as { spec: Record<string, any> };
  assert.deepEqual(body.spec.target, { type: "webdav", base_url: "https://nas.example/dav/", secret_name: "nas", part_size_bytes: 64 * 1048576 });
  const job: Job = {
    id: "j", name: "n", agent_id: null, schedule: null, schedule_timezone: "UTC", overlap_policy: "queue",
    created_at: 0, updated_at: 0, archived_at: null, type: "filesystem", spec: body.spec as Job["spec"],
  };
  const back = jobToForm(job, "UTC");
  assert.equal(back.targetType, "webdav");
  assert.equal(back.baseUrl, "https://nas.example/dav/");
  assert.equal(back.secretName, "nas");
  const rclone = formToRequest({ ...form, targetType: "rclone", remote: "box:backups" }) as { spec: Record<string, any> };
  assert.deepEqual(rclone.spec.target, { type: "rclone", remote: "box:backups", secret_name: "nas", part_size_bytes: 64 * 1048576 });
  assert.equal(describeTarget(rclone.spec.target), "rclone box:backups");
  assert.equal(describeTarget({ type: "local_dir", base_dir: "/b" }), "/b (local directory)");
});

import { nextPath } from "../src/App";

test("after sign-in the user returns to a path of this site only", () => {
  assert.equal(nextPath("/login?next=%2Fruns%2Fabc"), "/runs/abc");
  assert.equal(nextPath("/login"), "/");
  assert.equal(nextPath("/login?next=https%3A%2F%2Fevil.example"), "/");
  assert.equal(nextPath("/login?next=%2F%2Fevil.example"), "/");
  assert.equal(nextPath("/login?next=%2Flogin"), "/");
});

test("stage steps show the time each stage took and the ones still ahead", () => {
  const progress = {
    v: 1 as const,
    kind: "backup" as const,
    stage: "packaging",
    ts: 100,
    done: {},
    stages: [
      { stage: "snapshot", started_ms: 100_000 },
      { stage: "scan", started_ms: 102_000 },
      { stage: "packaging", started_ms: 102_040 },
    ],
  };
  assert.deepEqual(stageSteps(progress, "backup", null, 105_040), [
    { stage: "snapshot", state: "done", ms: 2000 },
    { stage: "scan", state: "done", ms: 40 },
    { stage: "packaging", state: "current", ms: 3000 },
    { stage: "upload", state: "pending" },
    { stage: "index", state: "pending" },
  ]);
  const finished = { ...progress, stage: "upload", stages: [...progress.stages, { stage: "upload", started_ms: 106_000 }] };
  assert.deepEqual(
    stageSteps(finished, "backup", 106_500, 999_999).map((step) => [step.stage, step.state, step.ms, step.coarse]),
    [
      ["snapshot", "done", 2000, undefined],
      ["scan", "done", 40, undefined],
      ["packaging", "done", 3960, undefined],
      ["upload", "done", 500, true],
    ],
  );
  assert.deepEqual(
    stageSteps(null, "restore", null, 0).map((step) => step.state),
    ["pending", "pending"],
    "before the first report: the kind's stages, all ahead",
  );
  assert.equal(formatStageTime(40), "40 ms");
  assert.equal(formatStageTime(400, true), "< 1 s");
  assert.equal(formatStageTime(2400), "2.4 s");
  assert.equal(formatStageTime(184_000), "3m 4s");
});

import { click, emptyPick, pickAll, toSelection, unpick } from "../src/lib/selection";
import type { SnapshotEntry } from "../src/api";

test("the browser's pick: clicks toggle, shift-click picks a range, picks span directories, and become a selection", () => {
  const entry = (path: string, kind: SnapshotEntry["kind"] = "file", path_b64?: string): SnapshotEntry => ({
    name: path.split("/").pop()!,
    path,
    path_b64,
    kind,
    size: 1,
    mtime: 0,
    mtime_nsec: 0,
    mode: 0o644,
    uid: 0,
    gid: 0,
    hash: null,
    link_target: null,
    implied: false,
  });
  const here = [entry("d/sub", "dir"), entry("d/a"), entry("d/b"), entry("d/c"), entry("d/\ufffd", "file", "ZC/p")];
  let state = click(emptyPick, here, 1, false);
  state = click(state, here, 3, true);
  assert.deepEqual([...state.picked.keys()], ["d/a", "d/b", "d/c"], "shift-click picks from the anchor to here");
  state = click(state, here, 2, false);
  assert.deepEqual([...state.picked.keys()], ["d/a", "d/c"], "a plain click toggles one");
  state = click(state, here, 0, true);
  assert.deepEqual([...state.picked.keys()].sort(), ["d/a", "d/b", "d/c", "d/sub"], "a range upwards from the new anchor");
  // Another directory: the pick stays, the anchor does not carry over a shorter list.
  const there = [entry("e/x")];
  state = click({ ...state, anchor: 3 }, there, 0, true);
  assert.ok(state.picked.has("e/x") && state.picked.size === 5);
  state = pickAll(state, here, false);
  assert.deepEqual([...state.picked.keys()], ["e/x"]);
  state = pickAll(state, here, true);
  state = unpick(state, "d/b");
  assert.deepEqual(toSelection(state.picked.values()), { files: ["e/x", "d/a", "d/c"], dirs: ["d/sub"], files_b64: ["ZC/p"], dirs_b64: [] });
});

import { enrollCommand } from "../src/pages/Agents";

test("the enrolment command names this hub and quotes the name for a shell", () => {
  assert.equal(
    enrollCommand("https://hub.example", "TOKEN", "web 1's"),
    "BASTION_ENROLL_TOKEN=TOKEN bastion-agent --hub-url https://hub.example/ --data-dir /var/lib/bastion-agent --name 'web 1'\\''s'",
  );
  assert.equal(enrollCommand("http://127.0.0.1:9876/", "T", " "), "BASTION_ENROLL_TOKEN=T bastion-agent --hub-url http://127.0.0.1:9876/ --data-dir /var/lib/bastion-agent");
});

import { completeDraft, emptyHook, hookProblems, parseEnv, type JobForm } from "../src/lib/jobForm";

const jobWith = (spec: Record<string, unknown>): Job => ({
  id: "j", name: "n", agent_id: null, schedule: null, schedule_timezone: "UTC", overlap_policy: "queue",
  created_at: 0, updated_at: 0, archived_at: null, type: String(spec.type), spec: spec as Job["spec"],
});

test("postgres and mariadb jobs: server, secret, databases (empty: all), globals, scratch verify; and back", () => {
  const form = { ...emptyForm("UTC"), name: "db", type: "postgres" as const, dbHost: " 127.0.0.1 ", dbPort: "5433", dbUser: "backup", dbSecretName: "pg-main" };
  form.dbDatabases = "app\n\n wiki \n";
  const body = formToRequest(form) as { spec: Record<string, any> };
  assert.equal(body.spec.type, "postgres");
  assert.deepEqual(body.spec.source, { host: "127.0.0.1", port: 5433, user: "backup", secret_name: "pg-main", databases: ["app", "wiki"], globals: true });
  assert.equal(body.spec.hooks, undefined, "no hooks: no key");
  assert.equal(body.spec.pipeline.incremental, undefined);
  const back = jobToForm(jobWith(body.spec), "UTC");
  assert.equal(back.type, "postgres");
  assert.equal(back.dbDatabases, "app\nwiki");
  assert.deepEqual(formToRequest(back).spec, body.spec, "a round trip keeps the spec");

  // All databases over the socket with peer authentication: only what was said.
  const all = formToRequest({ ...emptyForm("UTC"), type: "postgres", dbGlobals: false }) as { spec: Record<string, any> };
  assert.deepEqual(all.spec.source, { databases: [], globals: false });

  const maria = formToRequest({ ...form, type: "mariadb", dbPort: "3306", verifyScratchRestore: true }) as { spec: Record<string, any> };
  assert.deepEqual(maria.spec.source, {
    host: "127.0.0.1", port: 3306, user: "backup", secret_name: "pg-main", databases: ["app", "wiki"], globals: true, verify_scratch_restore: true,
  });
  const mariaBack = jobToForm(jobWith(maria.spec), "UTC");
  assert.equal(mariaBack.type, "mariadb");
  assert.equal(mariaBack.verifyScratchRestore, true);
  assert.deepEqual(formToRequest(mariaBack).spec, maria.spec);
  assert.equal((formToRequest({ ...form, dbPort: "54x" }) as { spec: Record<string, any> }).spec.source.port, "54x", "a bad port reaches the server, which names it");
  assert.equal(fieldOf("spec.source.secret_name"), "dbSecret");
});

test("vaultwarden jobs and the filesystem's snapshot mode and consistency policy", () => {
  const vw = formToRequest({ ...emptyForm("UTC"), type: "vaultwarden", vwDataDir: " /srv/vaultwarden/data " }) as { spec: Record<string, any> };
  assert.deepEqual(vw.spec.source, { data_dir: "/srv/vaultwarden/data", consistency_policy: "warn" });
  assert.deepEqual(vw.spec.pipeline, {}, "archive_v1, the default format");
  const strict = formToRequest({ ...emptyForm("UTC"), type: "vaultwarden", vwDataDir: "/d", consistencyPolicy: "fail", consistencyThreshold: "2" }) as {
    spec: Record<string, any>;
  };
  assert.deepEqual(strict.spec.source, { data_dir: "/d", consistency_policy: "fail", consistency_fail_threshold: 2 });
  assert.deepEqual(formToRequest(jobToForm(jobWith(strict.spec), "UTC")).spec, strict.spec);

  const plain = formToRequest({ ...emptyForm("UTC"), paths: "/srv" }) as { spec: Record<string, any> };
  assert.equal("snapshot_mode" in plain.spec.source, false, "defaults are left out: older specs stay as they were");
  assert.equal("consistency_policy" in plain.spec.source, false);
  const fs = formToRequest({ ...emptyForm("UTC"), paths: "/srv", snapshotMode: "required", consistencyPolicy: "fail", consistencyThreshold: "3" }) as {
    spec: Record<string, any>;
  };
  assert.equal(fs.spec.source.snapshot_mode, "required");
  assert.equal(fs.spec.source.consistency_policy, "fail");
  assert.equal(fs.spec.source.consistency_fail_threshold, 3);
  const fsBack = jobToForm(jobWith(fs.spec), "UTC");
  assert.equal(fsBack.snapshotMode, "required");
  assert.equal(fsBack.consistencyThreshold, "3");
  assert.deepEqual(formToRequest(fsBack).spec, fs.spec);
  const ignore = formToRequest({ ...emptyForm("UTC"), paths: "/srv", snapshotMode: "auto", consistencyPolicy: "ignore" }) as { spec: Record<string, any> };
  assert.deepEqual([ignore.spec.source.snapshot_mode, ignore.spec.source.consistency_policy, ignore.spec.source.consistency_fail_threshold], ["auto", "ignore", undefined]);
  assert.equal(fieldOf("spec.source.snapshot_mode"), "snapshotMode");
  assert.equal(fieldOf("spec.source.consistency_fail_threshold"), "consistency");
});

test("hooks: argv one per line, cwd, timeout, env lines; every job type; and back", () => {
  const before = { argv: "/usr/bin/docker\n stop \n\nmy app\n", cwd: " /srv ", timeout: "60", env: "MODE=fast\nURL=http://x/?a=b=c\n\n" };
  const after = { ...emptyHook(), argv: "/usr/bin/docker\nstart\nmy app" };
  for (const type of ["filesystem", "sqlite", "postgres", "mariadb", "vaultwarden"] as const) {
    const form = { ...emptyForm("UTC"), type, paths: "/srv", hooksBefore: [before], hooksAfter: [after], continueOnBeforeFailure: true };
    const body = formToRequest(form) as { spec: Record<string, any> };
    assert.deepEqual(
      body.spec.hooks,
      {
        before: [{ argv: ["/usr/bin/docker", "stop", "my app"], cwd: "/srv", timeout_seconds: 60, env: { MODE: "fast", URL: "http://x/?a=b=c" } }],
        after: [{ argv: ["/usr/bin/docker", "start", "my app"] }],
        continue_on_before_failure: true,
      },
      type,
    );
    const back = jobToForm(jobWith(body.spec), "UTC");
    assert.equal(back.hooksBefore[0].argv, "/usr/bin/docker\nstop\nmy app");
    assert.equal(back.hooksBefore[0].env, "MODE=fast\nURL=http://x/?a=b=c");
    assert.equal(back.continueOnBeforeFailure, true);
    assert.deepEqual(formToRequest(back).spec, body.spec, `${type}: a round trip keeps the hooks`);
  }
  const onlyAfter = formToRequest({ ...emptyForm("UTC"), hooksAfter: [after] }) as { spec: Record<string, any> };
  assert.deepEqual(Object.keys(onlyAfter.spec.hooks), ["after", "continue_on_before_failure"]);
  assert.equal(formToRequest({ ...emptyForm("UTC"), continueOnBeforeFailure: true }).spec && (formToRequest({ ...emptyForm("UTC"), continueOnBeforeFailure: true }).spec as Record<string, unknown>).hooks, undefined, "no command: no hooks");
  assert.deepEqual(parseEnv("A=1\nnot a pair\n=x\nB=").problems, [2, 3]);
  assert.deepEqual(parseEnv("A=1\nB=").env, { A: "1", B: "" });
  assert.deepEqual(hookProblems({ ...emptyForm("UTC"), hooksAfter: [{ ...after, env: "OK=1\nBROKEN" }] }), ["After command 1: environment line 2 is not KEY=value."]);
  assert.equal(fieldOf("spec.hooks.before[0].argv"), "hooks");

  // A draft kept by the older editor lacks the new fields: resuming it gives them their defaults.
  const old = completeDraft({ name: "kept", type: "filesystem", paths: "/srv" } as Partial<JobForm>, "UTC");
  assert.equal(old.name, "kept");
  assert.deepEqual(old.hooksBefore, []);
  assert.equal(formToRequest(old).spec && (formToRequest(old).spec as Record<string, unknown>).hooks, undefined);
});

import { describeEvent } from "../src/lib/eventLog";
import { databaseDestination, databaseRestoreProblem, dumpedDatabases, emptyDatabaseRestore, hasGlobals } from "../src/lib/databaseRestore";

test("hook and consistency events read as such in the log", () => {
  const base = { run_id: "r", seq: 1, ts: 0, level: "info" as const };
  assert.deepEqual(
    describeEvent({ ...base, kind: "hook_output", message: "  stopped app", fields: { hook: "before", index: 0, stream: "stderr" } }),
    { label: "before #1 stderr", text: "│   stopped app", tone: "hook" },
  );
  assert.equal(describeEvent({ ...base, kind: "hook_output", message: "ok", fields: { hook: "after", index: 1, stream: "stdout" } }).label, "after #2");
  assert.equal(describeEvent({ ...base, kind: "hook", message: "exited 0 after 1.2 s", fields: { hook: "after", index: 0 } }).label, "hook after #1");
  assert.equal(describeEvent({ ...base, kind: "hook", message: "x", fields: null }).label, "hook");
  assert.deepEqual(
    describeEvent({ ...base, level: "warn", kind: "source_consistency", message: "file changed while read", fields: { path: "/srv/log.txt", reason: "size" } }),
    { label: "changed while read", text: "file changed while read: /srv/log.txt (size)", tone: "plain" },
  );
  assert.equal(
    describeEvent({ ...base, kind: "source_consistency", message: "3 files changed while read", fields: { changed_total: 3 } }).text,
    "3 files changed while read",
  );
  assert.deepEqual(describeEvent({ ...base, kind: "log", message: "hello", fields: null }), { label: "log", text: "hello", tone: "plain" });
});

test("restore into a database: the dumped databases, new names, globals and drop_existing", () => {
  const entry = (name: string, kind: "file" | "dir" = "file") =>
    ({ name, path: `postgres/${name}`, kind, size: 1, mtime: null, mtime_nsec: null, mode: null, uid: null, gid: null, hash: null, link_target: null, implied: false });
  const entries = [entry("wiki.dump"), entry("globals.sql"), entry("app.dump"), entry("notes.txt"), entry("odd.dump", "dir")];
  assert.deepEqual(dumpedDatabases("postgres", null, entries), ["app", "wiki"]);
  assert.deepEqual(dumpedDatabases("mariadb", null, [entry("shop.sql"), entry("users.sql")]), ["shop"]);
  assert.deepEqual(dumpedDatabases("postgres", { database: { dumps: [{ database: "b" }, { database: "a" }, {}] } }, entries), ["a", "b"], "the summary's list wins");
  assert.equal(hasGlobals("postgres", entries), true);
  assert.equal(hasGlobals("mariadb", entries), false);

  const onJobServer = emptyDatabaseRestore(["app"], { host: "db.lan", port: 5433, user: "backup", secret_name: "pg-main", databases: ["app"] });
  assert.deepEqual([onJobServer.host, onJobServer.port, onJobServer.user, onJobServer.secretName], ["db.lan", "5433", "backup", "pg-main"], "the job's server to start with");
  assert.deepEqual([emptyDatabaseRestore([], { user: null }).user, emptyDatabaseRestore([]).port], ["", ""]);
  const form = emptyDatabaseRestore(["app", "wiki"]);
  assert.deepEqual(form.rows.map((row) => row.to), ["app_restored", "wiki_restored"]);
  form.rows[1].restore = false;
  form.host = " 127.0.0.1 ";
  form.port = "5433";
  form.secretName = "pg-main";
  assert.deepEqual(databaseDestination(form), {
    type: "database", host: "127.0.0.1", port: 5433, secret_name: "pg-main", databases: { app: "app_restored" }, globals: false, drop_existing: false,
  });
  assert.equal(databaseRestoreProblem(form), null);
  assert.match(databaseRestoreProblem({ ...form, rows: form.rows.map((row) => ({ ...row, restore: false })) }) ?? "", /at least one/);
  assert.match(databaseRestoreProblem({ ...form, rows: [{ from: "app", restore: true, to: " " }] }) ?? "", /needs a name/);
  assert.match(databaseRestoreProblem({ ...form, rows: [{ from: "a", restore: true, to: "x" }, { from: "b", restore: true, to: "x" }] }) ?? "", /same name/);
});

import { describeHooks, describeSource } from "../src/lib/jobForm";

test("the job page says what a new job type backs up, and its hooks", () => {
  assert.equal(describeSource("postgres", { source: { databases: ["app"], host: "db", port: 5433 } }), "PostgreSQL databases app and the roles on db:5433");
  assert.equal(describeSource("mariadb", { source: { globals: false } }), "every MariaDB database on /run/mysqld/mysqld.sock");
  assert.equal(describeSource("vaultwarden", { source: { data_dir: "/vw" } }), "the Vaultwarden data directory /vw");
  assert.equal(describeSource("filesystem", { source: { paths: ["/a", "/b"] } }), "/a, /b");
  assert.equal(describeHooks({}), null);
  assert.equal(
    describeHooks({ hooks: { before: [{ argv: ["/bin/echo", "hi"] }], after: [{ argv: ["/bin/true"] }], continue_on_before_failure: true } }),
    "before: /bin/echo hi (a failure does not stop the backup) · after: /bin/true",
  );
});

import { bandwidthAt, emptyBandwidthRule, emptyCopy, emptyPing, fieldOf as fieldOf26, formToRequest as toRequest26, jobToForm as toForm26, mibToBps } from "../src/lib/jobForm";

test("#26: copies, GFS retention, bandwidth, pings and drills go into the spec and come back unchanged", () => {
  const form = emptyForm("Europe/Berlin");
  form.name = "Home";
  form.paths = "/home";
  Object.assign(form, { targetType: "webdav", baseUrl: "https://nas/dav/a/", secretName: "nas" });
  form.bandwidth = { limitMiB: "20", timezone: "Europe/Berlin", schedule: [{ ...emptyBandwidthRule(), limitMiB: "2" }] };
  form.copies = [
    { ...emptyCopy(), targetType: "webdav", baseUrl: " https://nas/dav/b/ ", secretName: "nas" },
    { ...emptyCopy(), targetType: "rclone", remote: "offsite:bucket/bastion", secretName: "offsite", bandwidth: { limitMiB: "0.5", timezone: "", schedule: [] } },
  ];
  form.retentionEnabled = true;
  Object.assign(form, { keepLast: "3", keepHourly: "24", keepDaily: "7", keepWeekly: "4", keepMonthly: "12", keepYearly: "-1", keepWithin: " 1y2m3d4h " });
  form.pings = [
    { ...emptyPing(), url: "https://hc-ping.com/abc" },
    { mode: "urls", url: "", startUrl: "https://x/start", successUrl: "https://x/ok", failureUrl: "https://x/fail" },
  ];
  Object.assign(form, { drillsEnabled: true, drillSchedule: "0 5 * * 6", drillPick: "random", drillTestRestore: true });
  const body = toRequest26(form) as { spec: Record<string, any> };
  assert.deepEqual(body.spec.target.bandwidth, {
    limit_bps: 20971520,
    timezone: "Europe/Berlin",
    schedule: [{ days: ["mon", "tue", "wed", "thu", "fri"], start_hour: 8, end_hour: 18, limit_bps: 2097152 }],
  });
  assert.deepEqual(body.spec.copies, [
    { target: { type: "webdav", base_url: "https://nas/dav/b/", secret_name: "nas", part_size_bytes: 256 * 1048576 } },
    { target: { type: "rclone", remote: "offsite:bucket/bastion", secret_name: "offsite", part_size_bytes: 256 * 1048576, bandwidth: { limit_bps: 524288 } } },
  ]);
  assert.deepEqual(body.spec.retention, {
    enabled: true, keep_last: 3, keep_hourly: 24, keep_daily: 7, keep_weekly: 4, keep_monthly: 12, keep_yearly: -1, keep_within: "1y2m3d4h",
  });
  assert.deepEqual(body.spec.pings, [{ url: "https://hc-ping.com/abc" }, { start_url: "https://x/start", success_url: "https://x/ok", failure_url: "https://x/fail" }]);
  assert.deepEqual(body.spec.drills, { enabled: true, schedule: "0 5 * * 6", pick: "random", test_restore: true });

  const job: Job = {
    id: "j", name: "Home", agent_id: null, schedule: "0 2 * * *", schedule_timezone: "Europe/Berlin", overlap_policy: "queue",
    created_at: 0, updated_at: 0, archived_at: null, type: "filesystem", spec: body.spec as Job["spec"],
  };
  const back = toForm26(job, "UTC");
  assert.equal(back.copies.length, 2);
  assert.equal(back.copies[1].bandwidth.limitMiB, "0.5");
  assert.equal(back.keepYearly, "-1");
  assert.equal(back.pings[1].mode, "urls");
  assert.equal(back.drillPick, "random");
  assert.deepEqual(toRequest26(back).spec, body.spec, "a round trip keeps every #26 key");

  // Absent stays absent: a job without any of it sends none of the new keys.
  const plain = toRequest26(emptyForm("UTC")) as { spec: Record<string, any> };
  for (const key of ["copies", "pings", "drills"]) assert.equal(plain.spec[key], undefined, key);
  assert.equal(plain.spec.target.bandwidth, undefined);
  // A local_dir target is not paced (the server refuses bandwidth_unsupported): a limit left in the form is not sent.
  const local = toRequest26({ ...form, targetType: "local_dir", baseDir: "/backups" }) as { spec: Record<string, any> };
  assert.deepEqual(local.spec.target, { type: "local_dir", base_dir: "/backups", part_size_bytes: 256 * 1048576 });
  const localCopy = toRequest26({ ...form, copies: [{ ...form.copies[1], targetType: "local_dir", baseDir: "/mnt/usb" }] }) as { spec: Record<string, any> };
  assert.deepEqual(localCopy.spec.copies, [{ target: { type: "local_dir", base_dir: "/mnt/usb", part_size_bytes: 256 * 1048576 } }]);
  // Drills turned off keep their settings (enabled false) so turning them on again finds them.
  assert.deepEqual(toRequest26({ ...back, drillsEnabled: false }).spec.drills, { enabled: false, schedule: "0 5 * * 6", pick: "random", test_restore: true });

  // What is not a number goes as typed: the server names the field.
  assert.equal(mibToBps("fast"), "fast");
  assert.equal(mibToBps("1.5"), 1572864);
  assert.equal(fieldOf26("spec.copies[1].target.base_url"), "copies");
  assert.equal(fieldOf26("spec.target.bandwidth.limit_bps"), "bandwidth");
  assert.equal(fieldOf26("spec.pings[0].url"), "pings");
  assert.equal(fieldOf26("spec.drills.schedule"), "drills");
});

test("#26: the weekly bandwidth schedule: the first rule matching the hour wins, else the limit", () => {
  const bandwidth = {
    limitMiB: "20",
    timezone: "",
    schedule: [
      { days: ["mon" as const, "tue" as const], startHour: "8", endHour: "18", limitMiB: "2" },
      { days: ["mon" as const], startHour: "0", endHour: "24", limitMiB: "" },
    ],
  };
  assert.equal(bandwidthAt(bandwidth, "mon", 8), 2097152);
  assert.equal(bandwidthAt(bandwidth, "mon", 17), 2097152);
  assert.equal(bandwidthAt(bandwidth, "mon", 18), null, "the second rule: unlimited");
  assert.equal(bandwidthAt(bandwidth, "tue", 7), 20971520);
  assert.equal(bandwidthAt(bandwidth, "sun", 12), 20971520);
  assert.equal(bandwidthAt({ limitMiB: "", timezone: "", schedule: [] }, "sun", 12), null);
});

import { describeBandwidth, describeReason, describeRetention } from "../src/lib/jobForm";

test("#26: retention, its reasons and bandwidth in words", () => {
  assert.equal(describeRetention({ enabled: false, keep_last: 3 }), "every snapshot (no retention)");
  assert.equal(
    describeRetention({ enabled: true, keep_last: 3, keep_daily: 7, keep_yearly: -1, keep_within: "1y" }),
    "the last 3 snapshots, daily for 7 days, yearly without limit, everything within 1y",
  );
  assert.equal(describeReason("keep_weekly", "2026-W49"), "weekly (2026-W49)");
  assert.equal(describeReason("chain_base"), "a kept incremental snapshot builds on it");
  assert.equal(describeReason("keep_last", undefined, { keep_last: 3 }), "one of the last 3");
  assert.equal(describeReason("keep_within", undefined, { keep_within: "1y" }), "within 1y");
  assert.equal(
    describeBandwidth({ limit_bps: 20971520, schedule: [{ days: ["mon", "tue"], start_hour: 8, end_hour: 18, limit_bps: 2097152 }] }),
    "20 MiB/s; mon,tue 8–18 h: 2 MiB/s",
  );
  assert.equal(describeBandwidth(undefined), null);
});

import { defaultLocation, locationBase, type SnapshotLocation } from "../src/api";

test("#26: a snapshot's default location is the first present one, primary first; its display without job and run", () => {
  const at = (id: string, status: SnapshotLocation["status"]): SnapshotLocation => ({ id, type: "local_dir", display: `/b/${id}/j/r`, status });
  assert.equal(defaultLocation([at("copy:a", "present"), at("primary", "present")]), "primary");
  assert.equal(defaultLocation([at("primary", "missing"), at("copy:a", "failed"), at("copy:b", "present")]), "copy:b");
  assert.equal(defaultLocation([at("primary", "deleted")]), null);
  assert.equal(defaultLocation(undefined), null);
  assert.equal(locationBase({ ...at("primary", "present"), display: "/srv/b/j/r" }, "j", "r"), "/srv/b");
  assert.equal(locationBase({ ...at("copy:a", "present"), type: "webdav", display: "https://nas/dav/j/r/" }, "j", "r"), "https://nas/dav");
  assert.equal(locationBase({ ...at("copy:a", "present"), display: "box:bucket" }, "j", "r"), "box:bucket");
});

import { chooseLocation, sharedLocations } from "../src/api";
import { browsePath } from "../src/lib/router";

test("#26: browse, verify and compare read at a chosen location; a compare offers only places both snapshots are", () => {
  const at = (id: string, status: SnapshotLocation["status"]): SnapshotLocation => ({ id, type: "local_dir", display: `/b/${id}/j/r`, status });
  const three = [at("primary", "present"), at("copy:a", "present"), at("copy:b", "failed")];
  assert.equal(chooseLocation(three, "copy:a"), "copy:a");
  assert.equal(chooseLocation(three, "copy:b"), "primary", "a location it is not present at falls back to the default");
  assert.equal(chooseLocation(three, "copy:zz"), "primary");
  assert.equal(chooseLocation(three, null), "primary");
  assert.equal(chooseLocation([at("primary", "deleted"), at("copy:a", "present")], null), "copy:a");
  const other = [at("primary", "deleted"), at("copy:a", "present"), at("copy:b", "present")];
  assert.deepEqual(sharedLocations(three, other).map((location) => location.id), ["copy:a"]);
  assert.deepEqual(sharedLocations(other, other).map((location) => location.id), ["copy:a", "copy:b"]);
  assert.deepEqual(sharedLocations(three, undefined), []);
  assert.equal(browsePath("r1"), "/runs/r1/browse");
  assert.equal(browsePath("r1", { path: "a/b c" }), "/runs/r1/browse?path=a%2Fb+c");
  assert.equal(browsePath("r1", { path: "" }, "copy:0123456789ab"), "/runs/r1/browse?location=copy%3A0123456789ab");
  assert.equal(browsePath("r1", { path: "x", path_b64: "/w==" }, "primary"), "/runs/r1/browse?path_b64=%2Fw%3D%3D&location=primary");
  assert.equal(new URLSearchParams(browsePath("r1", { path: "a/b c" }, "copy:x").split("?")[1]).get("path"), "a/b c");
});

test("the job page's words (retention, reasons, source, hooks, hook problems) in Chinese", async () => {
  await chinese();
  try {
    assert.equal(describeRetention({ enabled: true, keep_last: 3, keep_daily: 7, keep_yearly: -1, keep_within: "1y" }), "最近 3 个快照、7 天内每天一个、每年一个（不限时长）、1y 内的全部快照");
    assert.equal(describeRetention({ enabled: false }), "全部快照（未启用保留策略）");
    assert.equal(describeReason("keep_weekly", "2026-W49"), "每周（2026-W49）");
    assert.equal(describeSource("postgres", { source: { databases: ["app", "crm"], host: "db", port: 5433 } }), "db:5433 上的 PostgreSQL 数据库 app、crm 及角色");
    assert.equal(describeTarget({ type: "local_dir", base_dir: "/b" }), "/b（本地目录）");
    assert.equal(describeHooks({ hooks: { before: [{ argv: ["/bin/true"] }], continue_on_before_failure: true } }), "备份前：/bin/true（失败不会中止备份）");
    assert.deepEqual(hookProblems({ ...emptyForm("UTC"), hooksAfter: [{ ...emptyHook(), env: "BROKEN" }] }), ["备份后命令 1：环境变量第 1 行不是 KEY=value 格式。"]);
  } finally {
    i18n.setLanguage("en");
  }
});
