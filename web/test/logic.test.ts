import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunEvent } from "../src/api";
import { Backoff } from "../src/lib/backoff";
import { EventLog } from "../src/lib/eventLog";
import { formatBytes, formatDuration, formatRelative, formatTime } from "../src/lib/format";
import { match } from "../src/lib/router";

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
});

test("routes match with parameters", () => {
  assert.deepEqual(match("/runs/:id", "/runs/abc%2F1?x=1"), { id: "abc/1" });
  assert.equal(match("/runs/:id", "/runs"), null);
  assert.deepEqual(match("/jobs", "/jobs?q=x"), {});
});
