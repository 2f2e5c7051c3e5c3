import { useState } from "react";
import { api, type DashboardJob, type JobState, type RunStatus } from "../api";
import { ErrorBox, kindName, Link, RunStarted, StatusBadge, statusName } from "../components";
import { t, type MessageKey } from "../i18n";
import { formatRelative, formatTime } from "../lib/format";
import { isActiveStatus, useActiveRefresh } from "../lib/liveRefresh";
import { describeCron } from "../lib/schedule";
import { useLoad } from "../lib/useLoad";

// The home page: what needs attention first (failed, overdue, running), a card per job with its last 30 days, and
// Backup now where the user already is. One request (`GET /api/dashboard`), refreshed while something runs.

const stateText: Record<JobState, MessageKey> = {
  failed: "pages.overview.state.failed",
  overdue: "pages.overview.state.overdue",
  attention: "pages.overview.state.attention",
  running: "pages.overview.state.running",
  never: "pages.overview.state.never",
  ok: "pages.overview.state.ok",
};

export function OverviewPage() {
  const { data, error: loadError, reload } = useLoad(() => api.dashboard(), []);
  const [actionError, setActionError] = useState<unknown>(null);
  const [started, setStarted] = useState<Record<string, { runId: string; status: RunStatus }>>({});

  // Anything on the page queued or running: reload until it ended (lib/liveRefresh.ts).
  const active =
    !!data &&
    (data.running > 0 || data.queued > 0 || data.jobs.some((job) => job.state === "running" || isActiveStatus(job.latest_run?.status)) || data.recent_runs.some((run) => isActiveStatus(run.status)));
  useActiveRefresh(active, reload);

  const backupNow = async (job: DashboardJob) => {
    try {
      const run = await api.runNow(job.id);
      setStarted((current) => ({ ...current, [job.id]: { runId: run.run_id, status: run.status } }));
      setActionError(null);
      void reload();
    } catch (caught) {
      setActionError(caught);
    }
  };

  const attention = data?.jobs.filter((job) => job.state === "failed" || job.state === "overdue" || job.state === "attention") ?? [];
  return (
    <section>
      <header className="page-header">
        <h1>{t("pages.overview.title")}</h1>
        <Link to="/jobs/new" className="button">
          {t("common.newJob")}
        </Link>
      </header>
      <ErrorBox error={loadError} />
      <ErrorBox error={actionError} />
      {data && (
        <>
          {attention.length > 0 ? (
            <div className="banner-card danger" role="status">
              {t(attention.length === 1 ? "pages.overview.attention.one" : "pages.overview.attention.other", {
                count: attention.length,
                names: attention.map((job) => job.name).join(t("common.listSeparator")),
              })}
            </div>
          ) : (
            data.jobs.length > 0 && (
              <div className="banner-card ok" role="status">
                {t("pages.overview.allGood")}
              </div>
            )
          )}
          <div className="stats">
            <Stat label={t("pages.overview.stat.running")} value={data.running} />
            <Stat label={t("pages.overview.stat.queued")} value={data.queued} />
            <Stat label={t("pages.overview.stat.succeeded24h")} value={data.last24h.success} />
            <Stat label={t("pages.overview.stat.failed24h")} value={data.last24h.failed} tone={data.last24h.failed > 0 ? "danger" : undefined} />
            <Stat label={t("pages.overview.stat.succeeded7d")} value={data.last7d.success} />
            <Stat label={t("pages.overview.stat.failed7d")} value={data.last7d.failed} tone={data.last7d.failed > 0 ? "danger" : undefined} />
          </div>
          {data.jobs.length === 0 && (
            <div className="card empty">
              <h2>{t("pages.overview.empty.title")}</h2>
              <p className="muted">{t("pages.overview.empty.text")}</p>
              <Link to="/jobs/new" className="button primary">
                {t("common.createFirstJob")}
              </Link>{" "}
              <Link to="/recovery" className="button">
                {t("pages.overview.empty.recover")}
              </Link>
              <p className="muted">{t("pages.overview.empty.recoverHint")}</p>
            </div>
          )}
          <div className="job-cards">
            {data.jobs.map((job) => (
              <article key={job.id} className={`card job-card state-${job.state}`} data-job={job.name}>
                <header>
                  <Link to={`/jobs/${encodeURIComponent(job.id)}`}>
                    <strong>{job.name}</strong>
                  </Link>
                  <span className={`badge state-${job.state}`}>{t(stateText[job.state])}</span>
                </header>
                <Strip days={job.days} />
                <dl className="facts">
                  <dt>{t("pages.overview.lastSuccess")}</dt>
                  <dd>
                    {job.last_success ? (
                      <Link to={`/runs/${job.last_success.run_id}`}>
                        <span title={formatTime(job.last_success.ended_at ?? job.last_success.started_at)}>
                          {formatRelative(job.last_success.ended_at ?? job.last_success.started_at)}
                        </span>
                      </Link>
                    ) : (
                      t("common.never")
                    )}
                  </dd>
                  {job.state === "failed" && job.last_failure && (
                    <>
                      <dt>{t("pages.overview.failed")}</dt>
                      <dd>
                        <Link to={`/runs/${job.last_failure.run_id}`}>{job.last_failure.error ?? t("pages.overview.seeRun")}</Link>
                      </dd>
                    </>
                  )}
                  {(job.attention ?? []).length > 0 && (
                    <>
                      <dt>{t("pages.overview.copies")}</dt>
                      <dd className="attention" data-testid="attention">
                        {attentionWords(job.attention ?? [])}{" "}
                        <Link to={`/jobs/${encodeURIComponent(job.id)}?tab=snapshots`}>{t("pages.overview.seeSnapshots")}</Link>
                      </dd>
                    </>
                  )}
                  {job.last_drill !== undefined && (
                    <>
                      <dt>{t("pages.overview.drill")}</dt>
                      <dd data-testid="last-drill">
                        <DrillFacts job={job} />
                      </dd>
                    </>
                  )}
                  <dt>{t("pages.overview.next")}</dt>
                  <dd>
                    {job.next_run_at ? (
                      <span title={`${formatTime(job.next_run_at, job.schedule_timezone)} ${job.schedule_timezone}`}>{formatRelative(job.next_run_at)}</span>
                    ) : (
                      <span className="muted">{job.schedule ? "–" : t("common.manual")}</span>
                    )}
                    {job.schedule && <span className="muted"> · {describeCron(job.schedule) ?? job.schedule}</span>}
                  </dd>
                </dl>
                <footer>
                  <button className="primary" onClick={() => void backupNow(job)} disabled={job.state === "running"}>
                    {t("pages.overview.backupNow")}
                  </button>
                  <RunStarted started={started[job.id]} />
                </footer>
              </article>
            ))}
          </div>
          {data.recent_runs.length > 0 && (
            <>
              <h2>{t("pages.overview.recent")}</h2>
              <table className="list">
                <tbody>
                  {data.recent_runs.map((run) => (
                    <tr key={run.id}>
                      <td data-label={t("pages.overview.col.status")}>
                        <StatusBadge status={run.status} />
                      </td>
                      <td data-label={t("pages.overview.col.run")}>
                        <Link to={`/runs/${run.id}`}>{t("pages.overview.runOf", { kind: kindName(run.kind), job: run.job_name ?? run.job_id })}</Link>
                      </td>
                      <td data-label={t("pages.overview.col.when")} className="muted">
                        <span title={formatTime(run.started_at)}>{formatRelative(run.started_at)}</span>
                      </td>
                      <td data-label={t("pages.overview.col.error")} className="error-text">
                        {run.error ?? ""}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </section>
  );
}

/** "1 failed copy, 2 snapshots not copied yet". */
function attentionWords(items: NonNullable<DashboardJob["attention"]>): string {
  const failed = items.filter((item) => item.reason === "copy_failed").length;
  const missing = items.length - failed;
  const parts: string[] = [];
  if (failed) parts.push(t(failed === 1 ? "pages.overview.copyFailed.one" : "pages.overview.copyFailed.other", { count: failed }));
  if (missing) parts.push(t(missing === 1 ? "pages.overview.copyMissing.one" : "pages.overview.copyMissing.other", { count: missing }));
  return parts.reduce((first, rest) => t("pages.overview.list", { first, rest }));
}

/** The last drill (and, when it failed, the last good one). */
function DrillFacts(props: { job: DashboardJob }) {
  const last = props.job.last_drill;
  const good = props.job.last_successful_drill;
  if (!last) return <span className="muted">{t("pages.overview.drill.none")}</span>;
  const when = (ref: NonNullable<typeof last>) => (ref.ended_at ? formatRelative(ref.ended_at) : t("pages.overview.drill.running"));
  if (last.status === "success")
    return (
      <Link to={`/runs/${last.run_id}`}>
        <span className="drill-ok">{t("pages.overview.drill.passed")}</span> {when(last)}
      </Link>
    );
  return (
    <>
      <Link to={`/runs/${last.run_id}`}>
        <span className={last.status === "failed" ? "error-text" : undefined}>{statusName(last.status)}</span> {when(last)}
        {last.error ? `: ${last.error}` : ""}
      </Link>
      {good && <span className="muted"> · {t("pages.overview.drill.lastPassed", { when: when(good) })}</span>}
    </>
  );
}

function Stat(props: { label: string; value: number; tone?: "danger" }) {
  return (
    <div className={`stat${props.tone ? " " + props.tone : ""}`}>
      <span className="stat-value">{props.value}</span>
      <span className="stat-label muted">{props.label}</span>
    </div>
  );
}

/** One square per day, oldest first: green all succeeded, red any failed, amber other outcomes, grey none. */
export function Strip(props: { days: DashboardJob["days"] }) {
  return (
    <div
      className="strip"
      role="img"
      aria-label={t("a11y.overview.strip", {
        days: props.days.length,
        success: props.days.reduce((sum, day) => sum + day.success, 0),
        failed: props.days.reduce((sum, day) => sum + day.failed, 0),
        other: props.days.reduce((sum, day) => sum + day.other, 0),
      })}
    >
      {props.days.map((day) => {
        const tone = day.failed > 0 ? "failed" : day.success > 0 ? "success" : day.other > 0 ? "other" : "none";
        return (
          <span
            key={day.date}
            className={`day day-${tone}`}
            data-date={day.date}
            title={t(day.other ? "pages.overview.dayOther" : "pages.overview.day", { date: day.date, success: day.success, failed: day.failed, other: day.other })}
          />
        );
      })}
    </div>
  );
}
