import { useState } from "react";
import { api } from "../api";
import { ErrorBox, kindName, Link, RunOutcomeLine, StatusBadge, statusName } from "../components";
import { t } from "../i18n";
import { formatDuration, formatRelative, formatTime } from "../lib/format";
import { isActiveStatus, useActiveRefresh } from "../lib/liveRefresh";
import { useLoad } from "../lib/useLoad";

const statuses = ["all", "queued", "running", "success", "failed", "canceled", "rejected"];
const kinds = ["all", "backup", "restore", "verify", "copy"];

/** Every run, newest first, filtered by status, kind and job name, each finished one with what it did; pages by cursor
 * and refreshes while a run it shows is queued or running. */
export function RunsPage() {
  const [status, setStatus] = useState("all");
  const [kind, setKind] = useState("all");
  const [jobName, setJobName] = useState("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];

  const { data, error, reload } = useLoad(() => {
    const params = new URLSearchParams({ page_size: "25", status, kind });
    if (jobName.trim()) params.set("q", jobName.trim());
    if (cursor) params.set("cursor", cursor);
    return api.runs(params.toString());
  }, [status, kind, jobName, cursor]);
  const items = data?.items ?? [];
  const next = data?.next_cursor ?? null;

  // A run shown queued or running: reload until it ended (lib/liveRefresh.ts).
  const active = items.some((run) => isActiveStatus(run.status));
  useActiveRefresh(active, reload);

  const filter = (setter: (value: string) => void) => (value: string) => {
    setter(value);
    setCursors([null]);
  };

  return (
    <section>
      <header className="page-header">
        <h1>{t("pages.runs.title")}</h1>
      </header>
      <div className="toolbar">
        <input type="search" placeholder={t("pages.runs.jobName")} aria-label={t("pages.runs.jobName")} value={jobName} onChange={(event) => filter(setJobName)(event.target.value)} />
        <label className="inline">
          {t("pages.runs.status")}
          <select value={status} onChange={(event) => filter(setStatus)(event.target.value)}>
            {statuses.map((value) => (
              <option key={value} value={value}>
                {value === "all" ? t("pages.runs.all") : statusName(value)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          {t("pages.runs.kind")}
          <select value={kind} onChange={(event) => filter(setKind)(event.target.value)}>
            {kinds.map((value) => (
              <option key={value} value={value}>
                {value === "all" ? t("pages.runs.all") : kindName(value)}
              </option>
            ))}
          </select>
        </label>
        {active && <span className="muted">{t("pages.runs.refreshing")}</span>}
      </div>
      <ErrorBox error={error} />
      {data && items.length === 0 && (
        <div className="card empty">
          <p className="muted">{t("pages.runs.empty")}</p>
        </div>
      )}
      {items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th>{t("pages.runs.col.run")}</th>
              <th>{t("pages.runs.col.job")}</th>
              <th>{t("pages.runs.kind")}</th>
              <th>{t("pages.runs.col.started")}</th>
              <th>{t("pages.runs.col.duration")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((run) => (
              <tr key={run.id} data-run={run.id}>
                <td data-label={t("pages.runs.col.run")}>
                  <Link to={`/runs/${run.id}`}>
                    <code>{run.id.slice(0, 8)}</code>
                  </Link>
                  <StatusBadge status={run.status} />
                  {run.warnings > 0 && <span className="badge status-canceled">{t(run.warnings === 1 ? "pages.runs.warnings.one" : "pages.runs.warnings.other", { count: run.warnings })}</span>}
                  {run.error && <span className="muted"> {run.error}</span>}
                  <RunOutcomeLine run={run} />
                </td>
                <td data-label={t("pages.runs.col.job")}>{run.job_name ?? run.job_id}</td>
                <td data-label={t("pages.runs.kind")}>
                  {kindName(run.kind)}
                  {run.node_id !== "hub" && <span className="badge">{t("common.agentShort", { id: run.node_id.slice(0, 8) })}</span>}
                </td>
                <td data-label={t("pages.runs.col.started")}>
                  <span title={formatTime(run.started_at)}>{formatRelative(run.started_at)}</span>
                </td>
                <td data-label={t("pages.runs.col.duration")}>{run.ended_at ? formatDuration(run.ended_at - run.started_at) : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label={t("common.pages")}>
        <button disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          {t("pages.runs.newer")}
        </button>
        <button disabled={!next} onClick={() => next && setCursors([...cursors, next])}>
          {t("pages.runs.older")}
        </button>
      </nav>
    </section>
  );
}
