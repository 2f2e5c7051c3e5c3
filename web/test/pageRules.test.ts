import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runOutcome, runOutcomeLine, shownConnection } from "../src/lib/runOutcome";
import { loadCatalogue, setLanguage } from "../src/i18n";

// web/page-rules.mjs (docs/ui.md, "The shape of web/"): the browser's dialogs and pages importing pages.

const rules = (...args: string[]) => spawnSync(process.execPath, [join(process.cwd(), "web", "page-rules.mjs"), ...args], { encoding: "utf8" });

test("web/src uses no browser dialog and no page imports another page", () => {
  const check = rules();
  assert.equal(check.status, 0, check.stdout + check.stderr);
});

test("the page rules fail on window.confirm, alert, prompt and on a page importing a page", () => {
  const root = mkdtempSync(join(tmpdir(), "page-rules-"));
  mkdirSync(join(root, "pages", "job"), { recursive: true });
  mkdirSync(join(root, "pages", "settings"), { recursive: true });
  mkdirSync(join(root, "lib"), { recursive: true });
  writeFileSync(join(root, "lib", "util.ts"), `export const x = 1;\n`);
  writeFileSync(join(root, "dialogs.tsx"), `// window.confirm in a comment is no call\nexport const useConfirm = () => [async () => true, null] as const;\n`);
  writeFileSync(
    join(root, "lib", "asks.ts"),
    [
      `export function a() {`,
      `  if (window.confirm("x")) alert("y");`,
      `  return prompt("z") ?? globalThis.alert("w");`,
      `}`,
    ].join("\n"),
  );
  writeFileSync(
    join(root, "pages", "JobPage.tsx"),
    [
      `import { useConfirm } from "../dialogs";`,
      `import { x } from "../lib/util";`,
      `import { Runs } from "./job/Runs";`,
      `import { Other } from "./Other";`,
      `import { Keys } from "./settings/Keys";`,
      `export function JobPage() {`,
      `  const [confirm] = useConfirm();`,
      `  void confirm();`,
      `  return x + Runs + Other + Keys;`,
      `}`,
    ].join("\n"),
  );
  writeFileSync(join(root, "pages", "Other.tsx"), `export const Other = 1;\nexport const Lazy = () => import("./JobPage");\n`);
  writeFileSync(join(root, "pages", "job", "words.ts"), `export const w = 1;\n`);
  writeFileSync(join(root, "pages", "job", "Runs.tsx"), `import { w } from "./words";\nimport { Snaps } from "./Snaps";\nexport const Runs = w + Snaps;\n`);
  writeFileSync(join(root, "pages", "job", "Snaps.tsx"), `import { Other } from "../Other";\nexport const Snaps = Other;\n`);
  writeFileSync(join(root, "pages", "settings", "Keys.tsx"), `export const Keys = 1;\n`);
  const check = rules("--root", root);
  assert.equal(check.status, 1, check.stdout);
  const found = check.stdout
    .split("\n")
    .filter((line) => line.includes(":") && !line.startsWith("page-rules:"))
    .map((line) => line.slice(line.indexOf(root.split("/").pop()!) + root.split("/").pop()!.length + 1));
  assert.deepEqual(found, [
    `lib/asks.ts:2: the browser's window.confirm()`,
    `lib/asks.ts:2: the browser's alert()`,
    `lib/asks.ts:3: the browser's prompt()`,
    `lib/asks.ts:3: the browser's globalThis.alert()`,
    `pages/JobPage.tsx:4: imports another page: pages/Other.tsx`,
    `pages/JobPage.tsx:5: imports another page: pages/settings/Keys.tsx`,
    `pages/Other.tsx:2: imports another page: pages/JobPage.tsx`,
    `pages/job/Runs.tsx:2: imports another section (shared pieces go to a helper): pages/job/Snaps.tsx`,
    `pages/job/Snaps.tsx:1: imports another page: pages/Other.tsx`,
  ]);
});

const backup = (summary: Record<string, unknown>) => ({ kind: "backup" as const, summary: { artifact_format: "archive_v1", ...summary } as never });

test("a run's outcome says what it did, by kind, in English and Chinese", async () => {
  const incremental = backup({ metrics: { source_total: { files: 263, dirs: 3, bytes: 2017 }, transfer_total_bytes: 2048 }, changes: { new: 1, changed: 1, unchanged: 260, removed: 1 } });
  const full = backup({ metrics: { source_total: { files: 262, dirs: 3, bytes: 2017 }, transfer_total_bytes: 1200 } });
  const restore = { kind: "restore" as const, summary: { destination: "/tmp/r", restored_files: 35, skipped: 2, not_restored: 0 } as never };
  const verify = { kind: "verify" as const, summary: { ok: true, files_total: 262, files_ok: 262, files_failed: 0 } as never };
  setLanguage("en");
  assert.deepEqual(runOutcome(incremental), ["Files: 1 new, 1 changed, 260 unchanged, 1 removed", "2.00 KiB stored on the target"]);
  assert.deepEqual(runOutcome(full), ["Files: 262 stored, 1.97 KiB read (every file: the job is not incremental)", "1.17 KiB stored on the target"]);
  assert.deepEqual(runOutcome(restore), ["Files: 35 restored, 2 skipped"]);
  assert.deepEqual(runOutcome(verify), ["Files: 262 checked"]);
  assert.deepEqual(runOutcome({ kind: "verify", summary: { files_total: 3, files_failed: 1 } as never }), ["Files: 3 checked", "1 failed the check"]);
  assert.deepEqual(runOutcome({ kind: "backup", summary: null }), []);
  assert.deepEqual(runOutcome({ kind: "copy", summary: { target: {} } as never }), []);
  await loadCatalogue("zh-CN");
  setLanguage("zh-CN");
  assert.deepEqual(runOutcome(incremental), ["文件：新增 1 个，修改 1 个，未变 260 个，删除 1 个", "目标上存储了 2.00 KiB"]);
  assert.deepEqual(runOutcome(restore), ["文件：恢复 35 个，跳过 2 个"]);
  assert.deepEqual(runOutcome(verify), ["文件：校验 262 个"]);
  setLanguage("en");
});

test("a row of a list says a run's outcome on one short line, with the run page's sentences in full", async () => {
  const incremental = backup({ metrics: { source_total: { files: 263, dirs: 3, bytes: 2017 }, transfer_total_bytes: 2048 }, changes: { new: 1, changed: 1, unchanged: 260, removed: 1 } });
  const one = backup({ metrics: { source_total: { files: 1, dirs: 0, bytes: 4 }, transfer_total_bytes: 1234567 } });
  const restore = { kind: "restore" as const, summary: { destination: "/tmp/r", restored_files: 1234, skipped: 2, not_restored: 3 } as never };
  const verify = { kind: "verify" as const, summary: { files_total: 3, files_failed: 1 } as never };
  setLanguage("en");
  assert.deepEqual(runOutcomeLine(incremental), {
    short: "1 new, 1 changed, 1 removed · 2.00 KiB stored",
    full: "What it did: Files: 1 new, 1 changed, 260 unchanged, 1 removed; 2.00 KiB stored on the target",
  });
  assert.equal(runOutcomeLine(one)?.short, "1 file, 4 B read · 1.18 MiB stored");
  assert.equal(runOutcomeLine(backup({ metrics: { source_total: { files: 262, dirs: 3, bytes: 2017 } } }))?.short, "262 files, 1.97 KiB read");
  assert.deepEqual(runOutcomeLine(restore), {
    short: "1,234 restored, 2 skipped · 3 not restored",
    full: "What it did: Files: 1,234 restored, 2 skipped; 3 not restored",
  });
  assert.equal(runOutcomeLine(verify)?.short, "3 checked · 1 failed");
  // Nothing to say: no summary yet, a summary this UI cannot read, a restore that wrote nothing countable.
  assert.equal(runOutcomeLine({ kind: "backup", summary: null }), null);
  assert.equal(runOutcomeLine({ kind: "copy", summary: { target: {} } as never }), null);
  assert.equal(runOutcomeLine({ kind: "restore", summary: { destination: "/x" } as never }), null);
  await loadCatalogue("zh-CN");
  setLanguage("zh-CN");
  assert.deepEqual(runOutcomeLine(incremental), {
    short: "新增 1，修改 1，删除 1 · 存储 2.00 KiB",
    full: "执行结果：文件：新增 1 个，修改 1 个，未变 260 个，删除 1 个；目标上存储了 2.00 KiB",
  });
  assert.equal(runOutcomeLine(restore)?.short, "恢复 1,234，跳过 2 · 未恢复 3");
  assert.equal(runOutcomeLine(verify)?.short, "校验 3 · 失败 1");
  setLanguage("en");
});

test("a finished run's badge says ended, whatever the socket does; a running one says what the stream says", () => {
  for (const connection of ["live", "connecting", "reconnecting", "ended"] as const) {
    assert.deepEqual(shownConnection("success", { connection, retryAt: 5 }), { connection: "ended" }, connection);
    assert.deepEqual(shownConnection("canceled", { connection }), { connection: "ended" }, connection);
  }
  assert.deepEqual(shownConnection("running", { connection: "live" }), { connection: "live" });
  assert.deepEqual(shownConnection("queued", { connection: "reconnecting", retryAt: 9 }), { connection: "reconnecting", retryAt: 9 });
  assert.deepEqual(shownConnection(undefined, { connection: "live" }), { connection: "live" }, "the run is not loaded yet");
  assert.deepEqual(shownConnection("success", { connection: "loading" }), { connection: "loading" }, "the log is still loading");
});
