import { useState } from "react";
import { api, type RunListItem, type Snapshot } from "../api";
import { ErrorBox, Link } from "../components";
import { t, type MessageKey } from "../i18n";
import { isActiveStatus, useActiveRefresh } from "../lib/liveRefresh";
import { navigate } from "../lib/router";
import { useLoad } from "../lib/useLoad";
import { JobCharts } from "./job/Charts";
import { Compare } from "./job/Compare";
import { History } from "./job/History";
import { JobOverview } from "./job/Overview";
import { Retention } from "./job/Retention";
import { Snapshots } from "./job/Snapshots";

// A job's page: what it does and how it is doing, its history, its snapshots (browse, restore, verify, pin, delete),
// retention (preview, then apply), and Compare: what changed between any two snapshots. This file draws the header and
// the tab strip and loads what every tab shows; each tab is a file of its own under job/ (docs/ui.md, "The job page").

const tabs = ["overview", "history", "snapshots", "retention", "compare"] as const;
type Tab = (typeof tabs)[number];
const tabKeys: Record<Tab, MessageKey> = {
  overview: "job.page.tab.overview",
  history: "job.page.tab.history",
  snapshots: "job.page.tab.snapshots",
  retention: "job.page.tab.retention",
  compare: "job.page.tab.compare",
};
const noRuns: RunListItem[] = [];
const noSnapshots: Snapshot[] = [];

export function JobPage(props: { jobId: string; search: string }) {
  const params = new URLSearchParams(props.search);
  const tab: Tab = (tabs as readonly string[]).includes(params.get("tab") ?? "") ? (params.get("tab") as Tab) : "overview";
  const loaded = useLoad(async () => {
    // The runs before the snapshots: a backup's snapshot is written in the transaction that ends it, so a load that
    // sees the run ended sees its snapshot too (asked together, the snapshots could be read first and the refresh
    // below would stop with the new one missing).
    const [job, runs] = await Promise.all([api.job(props.jobId), api.jobRuns(props.jobId)]);
    const snapshots = await api.snapshots(props.jobId);
    return { job, runs, snapshots };
  }, [props.jobId]);
  const load = loaded.reload;
  const job = loaded.data?.job ?? null;
  const runs = loaded.data?.runs ?? noRuns;
  const snapshots = loaded.data?.snapshots ?? noSnapshots;
  // Every tab shows what the runs did (History's rows, Overview's last success and snapshot count, the charts, the
  // snapshots): while one is queued or running the page reloads until it ended (docs/ui.md, "Lists that follow their
  // runs").
  useActiveRefresh(runs.some((run) => isActiveStatus(run.status)), load);
  // An action's failure (the tabs report theirs here too); the load's own error otherwise.
  const [actionError, setError] = useState<unknown>(null);
  const error = actionError ?? loaded.error;
  const [notice, setNotice] = useState<string | null>(null);

  const act = async (work: () => Promise<unknown>, done?: string) => {
    try {
      await work();
      setError(null);
      if (done) setNotice(done);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  const backupNow = async () => {
    try {
      const run = await api.runNow(props.jobId);
      navigate(`/runs/${encodeURIComponent(run.run_id)}`);
    } catch (caught) {
      setError(caught);
    }
  };

  const tabLink = (name: Tab) => `/jobs/${encodeURIComponent(props.jobId)}${name === "overview" ? "" : `?tab=${name}`}`;
  return (
    <section>
      <header className="page-header">
        <h1>
          {job?.name ?? t("job.page.job")} {job?.archived_at && <span className="badge">{t("job.page.archived")}</span>}
        </h1>
        {job && (
          <div className="actions">
            <button className="primary" onClick={() => void backupNow()} disabled={!!job.archived_at}>
              {t("job.page.backupNow")}
            </button>
            <Link to={`/jobs/${encodeURIComponent(job.id)}/edit`} className="button">
              {t("common.a.edit")}
            </Link>
            {(job.spec as Record<string, any> | undefined)?.drills?.enabled && (
              <button
                title={t("job.page.drillNowTitle")}
                onClick={() =>
                  void api.drillNow(job.id).then(
                    (run) => navigate(`/runs/${encodeURIComponent(run.run_id)}`),
                    (caught) => setError(caught),
                  )
                }
              >
                {t("job.page.drillNow")}
              </button>
            )}
            <button onClick={() => void act(() => api.archiveJob(job.id, !job.archived_at), job.archived_at ? t("job.page.unarchived") : t("job.page.archivedNotice"))}>
              {job.archived_at ? t("job.page.unarchive") : t("job.page.archive")}
            </button>
          </div>
        )}
      </header>
      <nav className="tabs" aria-label={t("job.page.job")}>
        {tabs.map((name) => (
          <Link key={name} to={tabLink(name)} className={name === tab ? "active" : undefined}>
            {t(tabKeys[name])}
          </Link>
        ))}
      </nav>
      <ErrorBox error={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {job && tab === "overview" && <JobOverview job={job} runs={runs} snapshots={snapshots} />}
      {job && tab === "overview" && <JobCharts job={job} runs={runs} snapshots={snapshots} />}
      {job && tab === "history" && <History runs={runs} />}
      {job && tab === "snapshots" && <Snapshots job={job} snapshots={snapshots} act={act} onError={setError} />}
      {job && tab === "retention" && <Retention job={job} onApplied={load} onError={setError} />}
      {job && tab === "compare" && <Compare job={job} snapshots={snapshots.filter((snapshot) => snapshot.status === "present")} search={props.search} />}
    </section>
  );
}
