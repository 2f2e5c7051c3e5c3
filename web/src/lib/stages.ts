import type { RunKind, RunProgress } from "../api";
import { formatNumber, t, tOr } from "../i18n";

// The run page's stage steps: the stages a run went through (from its progress's `stages` history, docs/formats.md
// "Run progress") with the time each took, followed by the ones its kind still has ahead.

export interface StageStep {
  stage: string;
  state: "done" | "current" | "pending";
  /** How long the stage took (or has taken so far); absent for a pending stage. */
  ms?: number;
  /** The last stage of a finished run ends at the run's end, known to the second only. */
  coarse?: boolean;
}

const ahead: Record<RunKind, string[]> = {
  backup: ["scan", "packaging", "upload", "index"],
  restore: ["verify", "restore"],
  verify: ["verify"],
  copy: ["copy"],
};

/** `endedMs`: when the run ended, or null while it runs (then the current stage counts up to `nowMs`). */
export function stageSteps(progress: RunProgress | null, kind: RunKind, endedMs: number | null, nowMs: number): StageStep[] {
  const marks = progress?.stages ?? (progress ? [{ stage: progress.stage, started_ms: progress.ts * 1000 }] : []);
  const steps: StageStep[] = marks.map((mark, index) => {
    const next = marks[index + 1];
    const last = next === undefined;
    const end = next?.started_ms ?? endedMs ?? nowMs;
    const step: StageStep = { stage: mark.stage, state: last && endedMs === null ? "current" : "done", ms: Math.max(0, end - mark.started_ms) };
    if (last && endedMs !== null) step.coarse = true;
    return step;
  });
  if (endedMs !== null) return steps;
  const template = ahead[kind] ?? [];
  const reached = steps.length === 0 ? -1 : template.indexOf(steps[steps.length - 1].stage);
  for (const stage of template.slice(reached + 1)) {
    if (!steps.some((step) => step.stage === stage)) steps.push({ stage, state: "pending" });
  }
  return steps;
}

/** A stage's name for people (`common.stage.*`), or the server's word for a stage the catalogue does not know. */
export const stageName = (stage: string): string => tOr(`common.stage.${stage}`, stage);

/** `340 ms`, `2.4 s`, `3m 4s`; `< 1 s` for a coarse time under a second (中文：`3 分 4 秒`). */
export function formatStageTime(ms: number, coarse = false): string {
  if (ms < 1000) return coarse ? t("format.stage.underSecond") : t("format.stage.ms", { ms: Math.round(ms) });
  if (ms < 60_000) return t("format.stage.seconds", { s: formatNumber(ms / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
  const seconds = Math.round(ms / 1000);
  return seconds < 3600
    ? t("format.duration.ms", { m: Math.floor(seconds / 60), s: seconds % 60 })
    : t("format.duration.hm", { h: Math.floor(seconds / 3600), m: Math.floor((seconds % 3600) / 60) });
}
