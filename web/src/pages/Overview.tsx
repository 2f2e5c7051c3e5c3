import { useCallback, useEffect, useState } from "react";
import { api, type Dashboard, type DashboardJob, type JobState, type RunStatus } from "../api";
import { ErrorBox, Link, RunStarted, StatusBadge } from "../components";
import { formatRelative, formatTime } from "../lib/format";
import { describeCron } from "../lib/schedule";
import { t } from "../i18n";

// The home page: what needs attention first (failed, overdue, running), a card per job with its last 30 days, and
// Backup now where the user already is. One request (`GET /api/dashboard`), refreshed while something runs.

const stateText: Record<JobState, string> = {
  failed: "last backup failed",
  overdue: "missed a scheduled backup",
  attention: "a copy needs attention",
  running: "backing up",
  never: "no backup yet",
  ok: "healthy",
};

export function OverviewPage() {
  const [data, setData] = useState<Dashboard | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [started, setStarted] = useState<Record<string, { runId: string; status: RunStatus }>>({});

  const load = useCallback(async () => {
    try {
      setData(await api.dashboard());
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const active = !!data && (data.running > 0 || data.queued > 0);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [active, load]);

  const backupNow = async (job: DashboardJob) => {
    try {
      const run = await api.runNow(job.id);
      setStarted((current) => ({ ...current, [job.id]: { runId: run.run_id, status: run.status } }));
      void load();
    } catch (caught) {
      setError(caught);
    }
  };

  const attention = data?.jobs.filter((job) => job.state === "failed" || job.state === "overdue" || job.state === "attention") ?? [];
  return (
    <section>
      <header className="page-header">
        <h1>Overview</h1>
        <Link to="/jobs/new" className="button">
          New job
        </Link>
      </header>
      <ErrorBox error={error} />
      {data && (
        <>
          {attention.length > 0 ? (
            <div className="banner-card danger" role="status">
              {attention.length === 1 ? "1 job needs" : `${attention.length} jobs need`} attention: {attention.map((job) => job.name).join(", ")}
            </div>
          ) : (
            data.jobs.length > 0 && (
              <div className="banner-card ok" role="status">
                Every job's latest backup succeeded.
              </div>
            )
          )}
          <div className="stats">
            <Stat label="running now" value={data.running} />
            <Stat label="queued" value={data.queued} />
            <Stat label="succeeded (24 h)" value={data.last24h.success} />
            <Stat label="failed (24 h)" value={data.last24h.failed} tone={data.last24h.failed > 0 ? "danger" : undefined} />
            <Stat label="succeeded (7 d)" value={data.last7d.success} />
            <Stat label="failed (7 d)" value={data.last7d.failed} tone={data.last7d.failed > 0 ? "danger" : undefined} />
          </div>
          {data.jobs.length === 0 && (
            <div className="card empty">
              <h2>Nothing backed up yet</h2>
              <p className="muted">Create a job: what to back up, where to, and when.</p>
              <Link to="/jobs/new" className="button primary">
                Create your first job
              </Link>{" "}
              <Link to="/recovery" className="button">
                Recover jobs from a target
              </Link>
              <p className="muted">Rebuilding a lost hub? Recover reads the jobs and snapshots the old one left on its target.</p>
            </div>
          )}
          <div className="job-cards">
            {data.jobs.map((job) => (
              <article key={job.id} className={`card job-card state-${job.state}`} data-job={job.name}>
                <header>
                  <Link to={`/jobs/${encodeURIComponent(job.id)}`}>
                    <strong>{job.name}</strong>
                  </Link>
                  <span className={`badge state-${job.state}`}>{stateText[job.state]}</span>
                </header>
                <Strip days={job.days} />
                <dl className="facts">
                  <dt>Last success</dt>
                  <dd>
                    {job.last_success ? (
                      <Link to={`/runs/${job.last_success.run_id}`}>
                        <span title={formatTime(job.last_success.ended_at ?? job.last_success.started_at)}>
                          {formatRelative(job.last_success.ended_at ?? job.last_success.started_at)}
                        </span>
                      </Link>
                    ) : (
                      "never"
                    )}
                  </dd>
                  {job.state === "failed" && job.last_failure && (
                    <>
                      <dt>Failed</dt>
                      <dd>
                        <Link to={`/runs/${job.last_failure.run_id}`}>{job.last_failure.error ?? "see the run"}</Link>
                      </dd>
                    </>
                  )}
                  {(job.attention ?? []).length > 0 && (
                    <>
                      <dt>Copies</dt>
                      <dd className="attention" data-testid="attention">
                        {attentionWords(job.attention ?? [])}{" "}
                        <Link to={`/jobs/${encodeURIComponent(job.id)}?tab=snapshots`}>see the snapshots</Link>
                      </dd>
                    </>
                  )}
                  {job.last_drill !== undefined && (
                    <>
                      <dt>Restore drill</dt>
                      <dd data-testid="last-drill">
                        <DrillFacts job={job} />
                      </dd>
                    </>
                  )}
                  <dt>Next</dt>
                  <dd>
                    {job.next_run_at ? (
                      <span title={`${formatTime(job.next_run_at, job.schedule_timezone)} ${job.schedule_timezone}`}>{formatRelative(job.next_run_at)}</span>
                    ) : (
                      <span className="muted">{job.schedule ? "–" : "manual"}</span>
                    )}
                    {job.schedule && <span className="muted"> · {describeCron(job.schedule) ?? job.schedule}</span>}
                  </dd>
                </dl>
                <footer>
                  <button className="primary" onClick={() => void backupNow(job)} disabled={job.state === "running"}>
                    Backup now
                  </button>
                  <RunStarted started={started[job.id]} />
                </footer>
              </article>
            ))}
          </div>
          {data.recent_runs.length > 0 && (
            <>
              <h2>Recent activity</h2>
              <table className="list">
                <tbody>
                  {data.recent_runs.map((run) => (
                    <tr key={run.id}>
                      <td data-label="Status">
                        <StatusBadge status={run.status} />
                      </td>
                      <td data-label="Run">
                        <Link to={`/runs/${run.id}`}>
                          {run.kind} of {run.job_name ?? run.job_id}
                        </Link>
                      </td>
                      <td data-label="When" className="muted">
                        <span title={formatTime(run.started_at)}>{formatRelative(run.started_at)}</span>
                      </td>
                      <td data-label="Error" className="error-text">
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
  if (failed) parts.push(`${failed} failed cop${failed === 1 ? "y" : "ies"}`);
  if (missing) parts.push(`${missing} snapshot${missing === 1 ? "" : "s"} missing a copy`);
  return parts.join(", ");
}

/** The last drill (and, when it failed, the last good one). */
function DrillFacts(props: { job: DashboardJob }) {
  const last = props.job.last_drill;
  const good = props.job.last_successful_drill;
  if (!last) return <span className="muted">none yet</span>;
  const when = (ref: NonNullable<typeof last>) => (ref.ended_at ? formatRelative(ref.ended_at) : "running");
  if (last.status === "success")
    return (
      <Link to={`/runs/${last.run_id}`}>
        <span className="drill-ok">passed</span> {when(last)}
      </Link>
    );
  return (
    <>
      <Link to={`/runs/${last.run_id}`}>
        <span className={last.status === "failed" ? "error-text" : undefined}>{last.status}</span> {when(last)}
        {last.error ? `: ${last.error}` : ""}
      </Link>
      {good && <span className="muted"> · last passed {when(good)}</span>}
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
            title={`${day.date}: ${day.success} succeeded, ${day.failed} failed${day.other ? `, ${day.other} other` : ""}`}
          />
        );
      })}
    </div>
  );
}
