import { backupSummary, restoreSummary, verifySummary, type Run, type RunStatus } from "../api";
import type { RunStreamState } from "./runStream";
import { formatNumber, t } from "../i18n";
import { formatBytes } from "./format";

// What a finished run did, in words, from its typed summary (docs/ui.md, "Run pages"): a backup's files by what
// happened to them since the previous snapshot (incremental jobs record it; others store every file) and the bytes it
// stored on the target; a restore's files restored and skipped; a verify's files checked. The progress counts say how
// far a run got, not what it did (a restore's "35 of 0", a verify's "0 of 0" while 262 were verified).

/** The run's outcome, one line per fact (empty: no summary, or one this UI cannot read). */
export function runOutcome(run: Pick<Run, "kind" | "summary">): string[] {
  const n = (value: number | undefined) => formatNumber(value ?? 0);
  const backup = backupSummary(run);
  if (backup) {
    const lines: string[] = [];
    const changes = backup.changes;
    if (changes)
      lines.push(
        t("pages.outcome.backup.changes", { new: n(changes.new), changed: n(changes.changed), unchanged: n(changes.unchanged), removed: n(changes.removed) }),
      );
    else if (backup.metrics?.source_total)
      lines.push(t("pages.outcome.backup.full", { files: n(backup.metrics.source_total.files), size: formatBytes(backup.metrics.source_total.bytes) }));
    if (typeof backup.metrics?.transfer_total_bytes === "number") lines.push(t("pages.outcome.backup.stored", { size: formatBytes(backup.metrics.transfer_total_bytes) }));
    return lines;
  }
  const restore = restoreSummary(run);
  if (restore) {
    if (typeof restore.restored_files !== "number") return [];
    const failed = restore.not_restored ?? 0;
    const line = t("pages.outcome.restore", { restored: n(restore.restored_files), skipped: n(restore.skipped) });
    return failed > 0 ? [line, t("pages.outcome.restore.failed", { count: n(failed) })] : [line];
  }
  const verify = verifySummary(run);
  if (verify) {
    if (typeof verify.files_total !== "number") return [];
    const failed = verify.files_failed ?? 0;
    const line = t("pages.outcome.verify", { checked: n(verify.files_total) });
    return failed > 0 ? [line, t("pages.outcome.verify.failed", { count: n(failed) })] : [line];
  }
  return [];
}

/**
 * What the log's badge says: a finished run's log says nothing more, so "ended" whatever the socket does (a socket
 * opened before the end, or a log whose last event is not the terminal one, would otherwise keep saying "live").
 */
export function shownConnection(status: RunStatus | undefined, stream: RunStreamState): RunStreamState {
  const finished = status !== undefined && status !== "queued" && status !== "running";
  return finished && stream.connection !== "loading" && stream.connection !== "stopped" ? { connection: "ended" } : stream;
}
