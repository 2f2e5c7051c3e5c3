// The job page's charts (docs/ui.md, "Charts"): the series from snapshots and runs, the pairs of snapshots whose
// difference is "files changed", round axis maxima and the SVG geometry. Pure functions: no React, no fetching.
import type { RunListItem, Snapshot } from "../api";

/** How many of the latest backups the charts show. */
export const chartLimit = 30;

export interface SizePoint {
  runId: string;
  /** When the snapshot ended (unix seconds). */
  at: number;
  stored: number | null;
  source: number | null;
}

export interface DurationPoint {
  runId: string;
  at: number;
  seconds: number;
}

/** A snapshot and the one before it (null: the job's first snapshot, so every file is new). */
export interface ChangePair {
  runId: string;
  at: number;
  previous: string | null;
  /** The snapshot's file count: the value when there is no previous snapshot. */
  files: number | null;
}

export interface ChangePoint {
  runId: string;
  at: number;
  /** Added + changed + removed; null while unknown (not counted yet, or the count failed). */
  files: number | null;
  first: boolean;
}

/**
 * The present snapshots, oldest first. The API lists them newest first (ended_at, then the order they were recorded):
 * reversed, then a stable sort by ended_at, keeps that order for snapshots that ended in the same second.
 */
function kept(snapshots: readonly Snapshot[]): Snapshot[] {
  return [...snapshots]
    .reverse()
    .filter((snapshot) => snapshot.status === "present")
    .sort((a, b) => a.ended_at - b.ended_at);
}

/** Stored (on the target) and source size of the latest snapshots, oldest first. */
export function sizeSeries(snapshots: readonly Snapshot[], limit = chartLimit): SizePoint[] {
  return kept(snapshots)
    .slice(-limit)
    .map((snapshot) => ({ runId: snapshot.run_id, at: snapshot.ended_at, stored: snapshot.transfer_bytes, source: snapshot.source_bytes }));
}

/** How long each finished successful backup took, oldest first (the runs list is newest first: reversed, then sorted stably). */
export function durationSeries(runs: readonly RunListItem[], limit = chartLimit): DurationPoint[] {
  return [...runs]
    .reverse()
    .filter((run) => run.kind === "backup" && run.status === "success" && run.ended_at !== null && run.ended_at >= run.started_at)
    .map((run) => ({ runId: run.id, at: run.ended_at as number, seconds: (run.ended_at as number) - run.started_at }))
    .sort((a, b) => a.at - b.at)
    .slice(-limit);
}

/** For each of the latest snapshots, the snapshot before it (also when that one is older than the window). */
export function changePairs(snapshots: readonly Snapshot[], limit = chartLimit): ChangePair[] {
  const all = kept(snapshots);
  const start = Math.max(0, all.length - limit);
  return all.slice(start).map((snapshot, index) => ({
    runId: snapshot.run_id,
    at: snapshot.ended_at,
    previous: start + index > 0 ? all[start + index - 1].run_id : null,
    files: snapshot.source_files,
  }));
}

/** The files-changed series from the pairs and the diff totals counted so far (by the newer snapshot's run id). */
export function changeSeries(
  pairs: readonly ChangePair[],
  totals: ReadonlyMap<string, { added: number; removed: number; changed: number } | null>,
): ChangePoint[] {
  return pairs.map((pair) => {
    if (pair.previous === null) return { runId: pair.runId, at: pair.at, files: pair.files, first: true };
    const counted = totals.get(pair.runId);
    return { runId: pair.runId, at: pair.at, files: counted ? counted.added + counted.changed + counted.removed : null, first: false };
  });
}

/**
 * A round axis maximum at or above `value`: a whole number, 1, 2, 2.5 (from 25 up) or 5 times a power of ten; for
 * bytes, a power of two times a power of 1024.
 */
export function niceMax(value: number, binary = false): number {
  if (!isFinite(value) || value <= 0) return 1;
  const base = binary ? 1024 : 10;
  let unit = 1;
  while (unit * base <= value) unit *= base;
  const steps = binary ? [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] : unit >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10];
  for (const step of steps) if (unit * step >= value) return unit * step;
  return unit * base;
}

/** Tick values from 0 to `max` (inclusive): 4 or 5 intervals of a whole size when `max` allows, else fewer (max 1: 0, 1). */
export function ticks(max: number): number[] {
  const count = [4, 5, 2, 1].find((intervals) => Number.isInteger(max / intervals)) ?? 4;
  return Array.from({ length: count + 1 }, (_, index) => (max * index) / count);
}

export interface Frame {
  width: number;
  height: number;
  /** Room for the axis labels: left, right, top, bottom. */
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** The x of the `index`th of `count` points, spread across the plot (one point: the middle). */
export function xAt(frame: Frame, index: number, count: number): number {
  const plot = frame.width - frame.left - frame.right;
  return count <= 1 ? frame.left + plot / 2 : frame.left + (plot * index) / (count - 1);
}

/** The y of `value` on an axis from 0 to `max`. */
export function yAt(frame: Frame, value: number, max: number): number {
  const plot = frame.height - frame.top - frame.bottom;
  return frame.top + plot - (plot * Math.min(Math.max(value, 0), max)) / (max || 1);
}

/** An SVG path through the known values; an unknown value (null) breaks the line. */
export function linePath(frame: Frame, values: readonly (number | null)[], max: number): string {
  let path = "";
  let drawing = false;
  values.forEach((value, index) => {
    if (value === null) {
      drawing = false;
      return;
    }
    const x = xAt(frame, index, values.length).toFixed(1);
    const y = yAt(frame, value, max).toFixed(1);
    path += `${drawing ? "L" : "M"}${x} ${y}`;
    drawing = true;
  });
  return path;
}

/**
 * Bars: one slot per value, each bar 70% of its slot, from the axis up to the value, at least 1 high so a zero shows
 * (unknown values: none).
 */
export function bars(frame: Frame, values: readonly (number | null)[], max: number): { x: number; y: number; width: number; height: number; index: number }[] {
  const plot = frame.width - frame.left - frame.right;
  const slot = plot / Math.max(values.length, 1);
  const base = frame.height - frame.bottom;
  return values.flatMap((value, index) => {
    if (value === null) return [];
    const y = yAt(frame, value, max);
    return [{ x: frame.left + slot * index + slot * 0.15, y, width: slot * 0.7, height: Math.max(base - y, 1), index }];
  });
}
