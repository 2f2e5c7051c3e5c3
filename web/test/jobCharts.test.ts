import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunListItem, Snapshot } from "../src/api";
import { bars, changePairs, changeSeries, durationSeries, linePath, niceMax, sizeSeries, ticks, xAt, yAt, type Frame } from "../src/lib/jobCharts";

const snapshot = (run_id: string, ended_at: number, status: Snapshot["status"] = "present", bytes = 1000): Snapshot => ({
  run_id,
  job_id: "j",
  status,
  ended_at,
  pinned_at: null,
  run_dir: null,
  source_files: 10,
  source_dirs: 1,
  source_bytes: bytes,
  transfer_bytes: bytes / 2,
  chain_level: null,
  base_run_id: null,
  dependants: 0,
});

const run = (id: string, started_at: number, ended_at: number | null, status: RunListItem["status"] = "success", kind: RunListItem["kind"] = "backup"): RunListItem => ({
  id,
  job_id: "j",
  job_name: "files",
  kind,
  status,
  started_at,
  ended_at,
  error: null,
  warnings: 0,
  node_id: "hub",
});

test("sizes: present snapshots only, oldest first, the latest `limit`", () => {
  const points = sizeSeries([snapshot("c", 300), snapshot("a", 100), snapshot("gone", 150, "deleted"), snapshot("b", 200, "present", 4000)], 2);
  assert.deepEqual(points, [
    { runId: "b", at: 200, stored: 2000, source: 4000 },
    { runId: "c", at: 300, stored: 500, source: 1000 },
  ]);
});

test("durations: successful backups that ended, oldest first", () => {
  const runs = [run("r4", 400, 460), run("r3", 300, null, "running"), run("r2", 200, 230, "failed"), run("v", 150, 160, "success", "verify"), run("r1", 100, 190)];
  assert.deepEqual(durationSeries(runs), [
    { runId: "r1", at: 190, seconds: 90 },
    { runId: "r4", at: 460, seconds: 60 },
  ]);
});

test("snapshots that ended in the same second keep the API's order (newest first, as recorded)", () => {
  const newestFirst = [snapshot("z-third", 200), snapshot("a-second", 100), snapshot("m-first", 100)];
  assert.deepEqual(sizeSeries(newestFirst).map((point) => point.runId), ["m-first", "a-second", "z-third"]);
  assert.deepEqual(changePairs(newestFirst).map((pair) => pair.previous), [null, "m-first", "a-second"]);
  const runs = [run("z", 150, 200), run("a", 90, 100), run("m", 80, 100)];
  assert.deepEqual(durationSeries(runs).map((point) => point.runId), ["m", "a", "z"]);
});

test("changes: each snapshot against the one before it, also before the window; the first counts every file", () => {
  const snapshots = [snapshot("a", 100), snapshot("b", 200), snapshot("c", 300)];
  assert.deepEqual(
    changePairs(snapshots).map((pair) => [pair.runId, pair.previous]),
    [["a", null], ["b", "a"], ["c", "b"]],
  );
  const window = changePairs(snapshots, 2);
  assert.deepEqual(window.map((pair) => [pair.runId, pair.previous]), [["b", "a"], ["c", "b"]]);
  const totals = new Map([["b", { added: 1, changed: 2, removed: 3 }], ["c", null]]);
  assert.deepEqual(
    changeSeries(changePairs(snapshots), totals).map((point) => [point.runId, point.files, point.first]),
    [["a", 10, true], ["b", 6, false], ["c", null, false]],
  );
});

test("axis maxima are round: decimal for counts and seconds, powers of two of 1024 for bytes", () => {
  assert.equal(niceMax(0), 1);
  assert.equal(niceMax(7), 10);
  assert.equal(niceMax(180), 200);
  assert.equal(niceMax(230), 250);
  assert.equal(niceMax(4100), 5000);
  assert.equal(niceMax(3 * 1024 * 1024, true), 4 * 1024 * 1024);
  assert.equal(niceMax(1000, true), 1024);
  assert.equal(niceMax(3), 5, "no 2.5 below 25: counts and seconds tick in whole numbers");
  assert.deepEqual(ticks(200), [0, 50, 100, 150, 200]);
  assert.deepEqual(ticks(5), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(ticks(1), [0, 1]);
  assert.deepEqual(ticks(2), [0, 1, 2]);
  assert.deepEqual(ticks(250), [0, 50, 100, 150, 200, 250]);
});

test("geometry: points spread across the plot, unknown values break the line and have no bar", () => {
  const frame: Frame = { width: 110, height: 60, left: 10, right: 0, top: 0, bottom: 10 };
  assert.equal(xAt(frame, 0, 3), 10);
  assert.equal(xAt(frame, 2, 3), 110);
  assert.equal(xAt(frame, 0, 1), 60);
  assert.equal(yAt(frame, 0, 100), 50);
  assert.equal(yAt(frame, 100, 100), 0);
  assert.equal(yAt(frame, 500, 100), 0, "clamped to the axis");
  assert.equal(linePath(frame, [0, 50, null, 100], 100), "M10.0 50.0L43.3 25.0M110.0 0.0");
  const drawn = bars(frame, [10, null, 0], 10);
  assert.deepEqual(drawn.map((bar) => [bar.index, Math.round(bar.height)]), [[0, 50], [2, 1]]);
});
