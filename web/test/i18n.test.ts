import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { catalogueFor, languageFor, loadCatalogue, setLanguage, translate, type Language } from "../src/i18n";
import { en } from "../src/i18n/en";
import { databaseRestoreProblem } from "../src/lib/databaseRestore";
import { formatBytes, formatCount, formatDuration, formatRelative, formatTime } from "../src/lib/format";
import { formatStageTime, stageName } from "../src/lib/stages";

// The two languages (docs/ui.md, "Languages"): formats per language, the catalogues' placeholders, and the catalogue
// check (web/i18n-check.mjs) failing on a planted literal.

// Chinese is a chunk of its own in the UI: loaded before the tests use it.
const loaded = loadCatalogue("zh-CN");

function inLanguage<T>(lang: Language, body: () => T): T {
  setLanguage(lang);
  try {
    return body();
  } finally {
    setLanguage("en");
  }
}

test("durations, relative times, sizes and counts in English", async () => {
  await loaded;
  inLanguage("en", () => {
    assert.equal(formatDuration(5), "5s");
    assert.equal(formatDuration(184), "3m 4s");
    assert.equal(formatDuration(3720), "1h 2m");
    assert.equal(formatDuration(2 * 86400 + 3 * 3600), "2d 3h");
    assert.equal(formatRelative(1000, 1000_000 - 300_000), "in 5m");
    assert.equal(formatRelative(1000, 1000_000 + 3 * 3_600_000), "3h ago");
    assert.equal(formatRelative(1000, 1000_000 + 2_000), "just now");
    assert.equal(formatBytes(1536), "1.50 KiB");
    assert.equal(formatBytes(123_456_789), "118 MiB");
    assert.equal(formatBytes(1000), "1,000 B");
    assert.equal(formatCount(1234567), "1,234,567");
    assert.equal(formatStageTime(40), "40 ms");
    assert.equal(formatStageTime(400, true), "< 1 s");
    assert.equal(formatStageTime(2400), "2.4 s");
    assert.equal(formatStageTime(184_000), "3m 4s");
    assert.equal(stageName("packaging"), "packaging");
  });
});

test("durations, relative times, sizes and counts in Chinese", async () => {
  await loaded;
  inLanguage("zh-CN", () => {
    assert.equal(formatDuration(5), "5 秒");
    assert.equal(formatDuration(184), "3 分 4 秒");
    assert.equal(formatDuration(3720), "1 小时 2 分");
    assert.equal(formatDuration(2 * 86400 + 3 * 3600), "2 天 3 小时");
    assert.equal(formatRelative(1000, 1000_000 - 300_000), "5 分钟后");
    assert.equal(formatRelative(1000, 1000_000 + 3 * 3_600_000), "3 小时前");
    assert.equal(formatRelative(1000, 1000_000 + 2 * 86_400_000), "2 天前");
    assert.equal(formatRelative(1000, 1000_000 + 2_000), "刚刚");
    assert.equal(formatBytes(1536), "1.50 KiB");
    assert.equal(formatBytes(1000), "1,000 B");
    assert.equal(formatCount(1234567), "1,234,567");
    assert.equal(formatStageTime(40), "40 毫秒");
    assert.equal(formatStageTime(400, true), "不到 1 秒");
    assert.equal(formatStageTime(2400), "2.4 秒");
    assert.equal(formatStageTime(184_000), "3 分 4 秒");
    assert.equal(stageName("packaging"), "打包");
    assert.equal(stageName("a_new_stage"), "a_new_stage", "a stage the catalogue does not know shows the server's word");
    // Dates are year-first and 24-hour in both languages.
    assert.equal(formatTime(1_800_000_000, "Asia/Shanghai"), "2027-01-15 16:00:00");
    const form = { host: "", port: "", user: "", secretName: "", globals: false, dropExisting: false, rows: [{ from: "app", restore: false, to: "x" }] };
    assert.equal(databaseRestoreProblem(form), "请至少选择一个数据库。");
  });
});

test("the browser's language picks the catalogue: any zh is Chinese, else English", async () => {
  await loaded;
  assert.equal(languageFor(["zh-CN", "en"]), "zh-CN");
  assert.equal(languageFor(["zh-TW"]), "zh-CN");
  assert.equal(languageFor(["fr-FR", "en-GB", "zh-CN"]), "en");
  assert.equal(languageFor(["fr-FR"]), "en");
  assert.equal(translate("zh-CN", "nav.jobs"), "任务");
  assert.equal(translate("en", "nav.jobs"), "Jobs");
});

test("both catalogues have the same keys, no empty text, and the same {placeholders} per key", async () => {
  await loaded;
  const zh = catalogueFor("zh-CN")!;
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((found) => found[1]).sort();
  // Keys whose caller passes more than one form of a value and each language picks its own: the minute of the hour is
  // `:05` in English and `5` (分) in Chinese (lib/schedule.ts passes both `minute` and `number`).
  const ownForms = new Set(["schedule.minuteMark"]);
  for (const key of Object.keys(en) as (keyof typeof en)[]) {
    assert.ok(zh[key].trim() !== "", `${key}: empty in zh-CN`);
    if (ownForms.has(key)) continue;
    assert.deepEqual(names(zh[key]), names(en[key]), `${key}: placeholders differ`);
  }
});

test("the catalogue check fails on planted literals and prints file:line and the text", () => {
  const root = mkdtempSync(join(tmpdir(), "i18n-check-"));
  mkdirSync(join(root, "pages"));
  mkdirSync(join(root, "i18n"));
  writeFileSync(join(root, "i18n", "en.ts"), `export const en = { "a.b": "Inline in the catalogue is fine" };\n`);
  writeFileSync(
    join(root, "pages", "Planted.tsx"),
    [
      `import { t } from "../i18n";`,
      `export function Planted(props: { busy: boolean; setError: (text: string) => void }) {`,
      `  if (window.confirm("Delete everything?")) props.setError("Something broke");`,
      `  return (`,
      `    <div title="A title" aria-label={t("a.b")} className="not-user-facing">`,
      `      Hello there`,
      `      {props.busy ? "Saving…" : t("a.b")}`,
      `      <input placeholder={\`Search \${"x"}\`} />`,
      `      <span>{" · "} 42 ms ◐</span>`,
      `    </div>`,
      `  );`,
      `}`,
    ].join("\n"),
  );
  writeFileSync(join(root, "pages", "Clean.tsx"), `import { t } from "../i18n";\nexport const Clean = () => <p title={t("a.b")}>{t("a.b")} · 3 ms</p>;\n`);
  const check = spawnSync(process.execPath, [join(process.cwd(), "web", "i18n-check.mjs"), "--root", root], { encoding: "utf8" });
  assert.equal(check.status, 1, check.stdout + check.stderr);
  const lines = check.stdout.split("\n").filter((line) => line.includes("Planted.tsx:"));
  const found = lines.map((line) => line.replace(/^.*Planted\.tsx:/, ""));
  assert.deepEqual(found, [
    `3: confirm(): "Delete everything?"`,
    `3: setError(): "Something broke"`,
    `5: title=: "A title"`,
    `6: JSX text: "Hello there"`,
    `7: JSX child: "Saving…"`,
    `8: placeholder=: "Search \${…}"`,
  ]);
  assert.ok(!check.stdout.includes("Clean.tsx"), "symbols, units and catalogue lookups pass");
  assert.ok(!check.stdout.includes("en.ts"), "the catalogues themselves are not checked");
  // --only: the planted file is still reported, but no longer makes the check fail.
  const only = spawnSync(process.execPath, [join(process.cwd(), "web", "i18n-check.mjs"), "--root", root, "--only", "pages/Clean.tsx"], { encoding: "utf8" });
  assert.equal(only.status, 0, only.stdout);
  assert.match(only.stdout, /\(not enforced\) .*Planted\.tsx:6: JSX text: "Hello there"/);
});
