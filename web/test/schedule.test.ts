// The simple editor's weekdays and the hub's schedule macros (docs/ui.md, "The job editor"), in both languages.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as i18n from "../src/i18n";
import { completeDraft, emptyForm, formProblems, formSchedule, formToRequest, jobToForm, type JobForm } from "../src/lib/jobForm";
import { cronMacro, describeCron, fromCron, toCron } from "../src/lib/schedule";
import type { Job } from "../src/api";

test("several weekdays: Mon+Wed+Fri at 02:30 is 30 2 * * 1,3,5, and back", () => {
  assert.equal(toCron({ kind: "weekly", weekdays: [5, 1, 3], hour: 2, minute: 30 }), "30 2 * * 1,3,5");
  assert.equal(toCron({ kind: "weekly", weekdays: [0, 6, 0, 7], hour: 23, minute: 5 }), "5 23 * * 0,6", "each day once, 7 is Sunday");
  assert.deepEqual(fromCron("30 2 * * 1,3,5"), { kind: "weekly", weekdays: [1, 3, 5], hour: 2, minute: 30 });
  assert.deepEqual(fromCron("30 2 * * 5,1,7"), { kind: "weekly", weekdays: [0, 1, 5], hour: 2, minute: 30 });
  assert.deepEqual(fromCron("0 4 * * 0,1,2,3,4,5,6"), { kind: "weekly", weekdays: [0, 1, 2, 3, 4, 5, 6], hour: 4, minute: 0 });
  // Ranges, names, steps and broken lists stay cron (the cron field keeps them as typed).
  for (const other of ["30 2 * * 1-5", "30 2 * * MON,WED", "30 2 * * */2", "30 2 * * 1,,3", "30 2 * * 1,", "30 2 * * ,1", "30 2 * * 1,8", "30 2 * * 1;3", "30 2 1 * 1,3", "30 2 * 1 1,3"]) {
    assert.equal(fromCron(other), null, other);
  }
  assert.equal(describeCron("30 2 * * 1,3,5"), "at 02:30 on Monday, Wednesday, Friday");
  assert.equal(describeCron("0 3 * * 1"), "every Monday at 03:00", "one day reads as before");
});

test("a job with three weekdays comes back to the simple editor with the same days", () => {
  const form: JobForm = { ...emptyForm("Europe/Berlin"), name: "Home", paths: "/home", simple: { kind: "weekly", weekdays: [5, 3, 1], hour: 2, minute: 30 } };
  const body = formToRequest(form) as { schedule: string };
  assert.equal(body.schedule, "30 2 * * 1,3,5");
  const job = { id: "j", name: "Home", agent_id: null, schedule: body.schedule, schedule_timezone: "Europe/Berlin", overlap_policy: "queue", created_at: 1, updated_at: 1, archived_at: null, spec: { v: 1, type: "filesystem", source: { paths: ["/home"] }, target: { type: "local_dir", base_dir: "/b" } } } as unknown as Job;
  const back = jobToForm(job, "UTC");
  assert.equal(back.scheduleMode, "simple");
  assert.deepEqual(back.simple, { kind: "weekly", weekdays: [1, 3, 5], hour: 2, minute: 30 });
});

test("a weekly schedule without a day is not sent", () => {
  const form: JobForm = { ...emptyForm("UTC"), simple: { kind: "weekly", weekdays: [], hour: 2, minute: 0 } };
  assert.deepEqual(formProblems(form), ["Pick at least one day of the week."]);
  assert.deepEqual(formProblems({ ...form, scheduleMode: "cron" }), [], "only the simple editor's days count");
  assert.deepEqual(formProblems({ ...form, simple: { kind: "weekly", weekdays: [2], hour: 2, minute: 0 } }), []);
});

test("a draft from before several weekdays keeps its one day", () => {
  const old = { scheduleMode: "simple", simple: { kind: "weekly", weekday: 3, hour: 4, minute: 15 } } as unknown as Partial<JobForm>;
  const form = completeDraft(old, "UTC");
  assert.deepEqual(form.simple, { kind: "weekly", weekdays: [3], hour: 4, minute: 15 });
  assert.equal(formSchedule(form), "15 4 * * 3");
});

test("macros: the hub's set reads in words; a macro stays in the cron field as typed", () => {
  assert.equal(cronMacro("@daily"), "0 0 * * *");
  assert.equal(cronMacro(" @Weekly\t"), "0 0 * * 0");
  assert.equal(cronMacro("0 0 * * *"), undefined);
  for (const bad of ["@every 5m", "@reboot", "@", "@daily 5", "@ daily", "@dailyx", "@constructor", "@__proto__", "@toString", "@hasOwnProperty"]) {
    assert.equal(cronMacro(bad), null, bad);
    assert.equal(describeCron(bad), null, bad);
  }
  const cases: [string, string][] = [
    ["@hourly", "every hour at :00"],
    ["@daily", "every day at 00:00"],
    ["@midnight", "every day at 00:00"],
    ["@weekly", "every Sunday at 00:00"],
    ["@monthly", "on day 1 of every month at 00:00"],
    ["@yearly", "at 00:00 on day 1 of the month in January"],
    ["@annually", "at 00:00 on day 1 of the month in January"],
  ];
  for (const [macro, words] of cases) assert.equal(describeCron(macro), words, macro);
  assert.equal(fromCron("@daily"), null, "not turned into the simple editor's 0 0 * * *");
  const job = { id: "j", name: "n", agent_id: null, schedule: "@daily", schedule_timezone: "UTC", overlap_policy: "queue", created_at: 1, updated_at: 1, archived_at: null, spec: { v: 1, type: "sqlite", source: { path: "/a.db" }, target: { type: "local_dir", base_dir: "/b" } } } as unknown as Job;
  const form = jobToForm(job, "UTC");
  assert.equal(form.scheduleMode, "cron");
  assert.equal(formSchedule(form), "@daily");
});

test("hostile cron strings are still no schedule", () => {
  for (const bad of ["", " ", "* * * * * * *", "61 * * * *", "0 0 * * 8", "1-99999999999 * * * *", "*/0 * * * *", "0 0 * * 1,3,5 extra", "\u0000 * * * *", "０ ２ * * *", "x".repeat(10000)]) {
    assert.equal(describeCron(bad), null, JSON.stringify(bad.slice(0, 20)));
    assert.equal(fromCron(bad), null, JSON.stringify(bad.slice(0, 20)));
  }
});

test("in Chinese: several weekdays and macros", async () => {
  const load = Reflect.get(i18n, "loadCatalogue") as ((lang: i18n.Language) => Promise<void>) | undefined;
  if (load) await load("zh-CN");
  i18n.setLanguage("zh-CN");
  try {
    assert.equal(describeCron("30 2 * * 1,3,5"), "每周一、周三、周五 02:30");
    assert.equal(describeCron("@daily"), "每天 00:00");
    assert.equal(describeCron("@weekly"), "每周日 00:00");
    assert.deepEqual(formProblems({ ...emptyForm("UTC"), simple: { kind: "weekly", weekdays: [], hour: 2, minute: 0 } }), ["请至少选择一天。"]);
  } finally {
    i18n.setLanguage("en");
  }
});
