import { backupSummary, restoreSummary, verifySummary, type Run, type RunStatus } from "../api";
import type { RunStreamState } from "./runStream";
import { formatNumber, t, type MessageKey } from "../i18n";
import { formatBytes } from "./format";

// What a finished run did, in words, from its typed summary (docs/ui.md, "Run pages"): a backup's files by what
// happened to them since the previous snapshot (incremental jobs record it; others store every file) and the bytes it
// stored on the target; a restore's files restored and skipped; a verify's files checked. The progress counts say how
// far a run got, not what it did (a restore's "35 of 0", a verify's "0 of 0" while 262 were verified).

/** One thing a run did: how the run page says it (`full`) and how a row of a list says it (`short`), with its values. */
interface Fact {
  full: MessageKey;
  short: MessageKey;
  values: Record<string, string>;
}

function facts(run: Pick<Run, "kind" | "summary">): Fact[] {
  const n = (value: number | undefined) => formatNumber(value ?? 0);
  const backup = backupSummary(run);
  if (backup) {
    const found: Fact[] = [];
    const changes = backup.changes;
    if (changes) {
      const values = { new: n(changes.new), changed: n(changes.changed), unchanged: n(changes.unchanged), removed: n(changes.removed) };
      found.push({ full: "pages.outcome.backup.changes", short: "history.outcome.changes", values });
    } else if (backup.metrics?.source_total) {
      const files = backup.metrics.source_total.files ?? 0;
      const values = { files: n(files), size: formatBytes(backup.metrics.source_total.bytes) };
      found.push({ full: "pages.outcome.backup.full", short: files === 1 ? "history.outcome.full.one" : "history.outcome.full.other", values });
    }
    if (typeof backup.metrics?.transfer_total_bytes === "number")
      found.push({ full: "pages.outcome.backup.stored", short: "history.outcome.stored", values: { size: formatBytes(backup.metrics.transfer_total_bytes) } });
    return found;
  }
  const restore = restoreSummary(run);
  if (restore) {
    if (typeof restore.restored_files !== "number") return [];
    const failed = restore.not_restored ?? 0;
    const line: Fact = { full: "pages.outcome.restore", short: "history.outcome.restore", values: { restored: n(restore.restored_files), skipped: n(restore.skipped) } };
    return failed > 0 ? [line, { full: "pages.outcome.restore.failed", short: "history.outcome.restore.failed", values: { count: n(failed) } }] : [line];
  }
  const verify = verifySummary(run);
  if (verify) {
    if (typeof verify.files_total !== "number") return [];
    const failed = verify.files_failed ?? 0;
    const line: Fact = { full: "pages.outcome.verify", short: "history.outcome.verify", values: { checked: n(verify.files_total) } };
    return failed > 0 ? [line, { full: "pages.outcome.verify.failed", short: "history.outcome.verify.failed", values: { count: n(failed) } }] : [line];
  }
  return [];
}

/** The run's outcome, one line per fact (empty: no summary, or one this UI cannot read). */
export function runOutcome(run: Pick<Run, "kind" | "summary">): string[] {
  return facts(run).map((fact) => t(fact.full, fact.values));
}

/**
 * The outcome as a row of a list shows it (docs/ui.md, "What a run did"): `short`, one line of the facts' short forms
 * (`5 new, 0 changed, 0 removed · 2.00 KiB stored`), and `full`, the run page's sentences in one text for a tooltip and
 * screen readers. Null when there is nothing to say.
 */
export function runOutcomeLine(run: Pick<Run, "kind" | "summary">): { short: string; full: string } | null {
  const found = facts(run);
  if (found.length === 0) return null;
  return {
    short: found.map((fact) => t(fact.short, fact.values)).join(" · "),
    full: t("history.outcome.full", { text: found.map((fact) => t(fact.full, fact.values)).join(t("history.outcome.separator")) }),
  };
}

/**
 * What the log's badge says: a finished run's log says nothing more, so "ended" whatever the socket does (a socket
 * opened before the end, or a log whose last event is not the terminal one, would otherwise keep saying "live").
 */
export function shownConnection(status: RunStatus | undefined, stream: RunStreamState): RunStreamState {
  const finished = status !== undefined && status !== "queued" && status !== "running";
  return finished && stream.connection !== "loading" && stream.connection !== "stopped" ? { connection: "ended" } : stream;
}
