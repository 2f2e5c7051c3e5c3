import { type RunListItem } from "../../api";
import { Link, RunOutcomeLine, StatusBadge } from "../../components";
import { t, type MessageKey } from "../../i18n";
import { formatDuration, formatTime } from "../../lib/format";

// The job page's History tab: the job's runs, newest first, each finished one with what it did. JobPage reloads them
// while one is queued or running (lib/liveRefresh.ts).

const kindKeys: Record<string, MessageKey> = {
  backup: "job.page.kind.backup",
  restore: "job.page.kind.restore",
  verify: "job.page.kind.verify",
  copy: "job.page.kind.copy",
};
/** A run's kind in words (the API's value when it is a kind this UI does not know). */
const kindWord = (kind: string) => (kindKeys[kind] ? t(kindKeys[kind]) : kind);

export function History(props: { runs: RunListItem[] }) {
  if (props.runs.length === 0) return <p className="muted">{t("job.page.noRuns")}</p>;
  return (
    <table className="list">
      <thead>
        <tr>
          <th>{t("common.a.status")}</th>
          <th>{t("job.page.kind")}</th>
          <th>{t("job.page.started")}</th>
          <th>{t("job.page.took")}</th>
          <th>{t("job.page.error")}</th>
        </tr>
      </thead>
      <tbody>
        {props.runs.map((run) => (
          <tr key={run.id} data-run={run.id}>
            <td data-label={t("common.a.status")}>
              <Link to={`/runs/${run.id}`}>
                <StatusBadge status={run.status} />
              </Link>
              <RunOutcomeLine run={run} />
            </td>
            <td data-label={t("job.page.kind")}>{kindWord(run.kind)}</td>
            <td data-label={t("job.page.started")}>{formatTime(run.started_at)}</td>
            <td data-label={t("job.page.took")}>{run.ended_at ? formatDuration(run.ended_at - run.started_at) : "–"}</td>
            <td data-label={t("job.page.error")} className="error-text">
              {run.error ?? ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
