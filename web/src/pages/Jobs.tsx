import { useCallback, useEffect, useState } from "react";
import { api, type JobListItem, type Page, type RunStatus } from "../api";
import { ErrorBox, Link, RunStarted, StatusBadge } from "../components";
import { t, tOr, type MessageKey } from "../i18n";
import { formatRelative, formatTime } from "../lib/format";
import { describeCron } from "../lib/schedule";

type JobSort = "name_asc" | "name_desc" | "updated_desc" | "updated_asc";

/** The API's job orders (`GET /api/jobs?sort=`), as the menu names them. */
const jobSorts: [JobSort, MessageKey][] = [
  ["name_asc", "pages.jobs.sort.nameAsc"],
  ["name_desc", "pages.jobs.sort.nameDesc"],
  ["updated_desc", "pages.jobs.sort.updatedDesc"],
  ["updated_asc", "pages.jobs.sort.updatedAsc"],
];

/** The jobs list: search, sort, archived, paging, latest run, Run now. */
export function JobsPage() {
  const [query, setQuery] = useState("");
  const [includeArchived, setIncludeArchived] = useState(false);
  const [sort, setSort] = useState<JobSort>("name_asc");
  const [page, setPage] = useState(1);
  const [result, setResult] = useState<Page<JobListItem> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [started, setStarted] = useState<Record<string, { runId: string; status: RunStatus }>>({});

  const load = useCallback(async () => {
    try {
      const params = new URLSearchParams({ page: String(page), page_size: "20", sort });
      if (query) params.set("q", query);
      if (includeArchived) params.set("include_archived", "true");
      setResult(await api.jobs(params.toString()));
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  }, [page, query, includeArchived, sort]);

  useEffect(() => {
    void load();
  }, [load]);

  const runNow = async (job: JobListItem) => {
    try {
      const run = await api.runNow(job.id);
      setStarted((current) => ({ ...current, [job.id]: { runId: run.run_id, status: run.status } }));
      void load();
    } catch (caught) {
      setError(caught);
    }
  };

  const pages = result ? Math.max(1, Math.ceil(result.total / result.page_size)) : 1;
  return (
    <section>
      <header className="page-header">
        <h1>{t("pages.jobs.title")}</h1>
        <Link to="/jobs/new" className="button primary">
          {t("common.newJob")}
        </Link>
      </header>
      <div className="toolbar">
        <input
          type="search"
          placeholder={t("pages.jobs.search")}
          aria-label={t("pages.jobs.search")}
          value={query}
          onChange={(event) => {
            setQuery(event.target.value);
            setPage(1);
          }}
        />
        <select
          aria-label={t("pages.jobs.sort")}
          value={sort}
          onChange={(event) => {
            setSort(event.target.value as JobSort);
            setPage(1);
          }}
        >
          {jobSorts.map(([value, label]) => (
            <option key={value} value={value}>
              {t(label)}
            </option>
          ))}
        </select>
        <label className="inline">
          <input type="checkbox" checked={includeArchived} onChange={(event) => setIncludeArchived(event.target.checked)} /> {t("pages.jobs.includeArchived")}
        </label>
      </div>
      <ErrorBox error={error} />
      {result && result.items.length === 0 && (
        <div className="card empty">
          <h2>{t("pages.jobs.empty.title")}</h2>
          <p className="muted">{t("pages.jobs.empty.text")}</p>
          <Link to="/jobs/new" className="button primary">
            {t("common.createFirstJob")}
          </Link>
        </div>
      )}
      {result && result.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th>{t("common.name")}</th>
              <th>{t("pages.jobs.col.schedule")}</th>
              <th>{t("pages.jobs.col.nextRun")}</th>
              <th>{t("pages.jobs.col.latestRun")}</th>
              <th aria-label={t("common.actions")} />
            </tr>
          </thead>
          <tbody>
            {result.items.map((job) => (
              <tr key={job.id} className={job.archived_at ? "archived" : undefined}>
                <td data-label={t("common.name")}>
                  <Link to={`/jobs/${encodeURIComponent(job.id)}`}>
                    <strong>{job.name}</strong>
                  </Link>
                  {job.type && <span className="badge">{tOr(`common.jobType.${job.type}`, job.type)}</span>}
                  {job.archived_at && <span className="badge">{t("common.archived")}</span>}
                </td>
                <td data-label={t("pages.jobs.col.schedule")}>
                  {job.schedule ? (
                    <>
                      {describeCron(job.schedule) ?? t("pages.jobs.cron")} <code>{job.schedule}</code>{" "}
                      <span className="muted">{job.schedule_timezone}</span>
                    </>
                  ) : (
                    <span className="muted">{t("common.manual")}</span>
                  )}
                </td>
                <td data-label={t("pages.jobs.col.nextRun")}>
                  {job.next_run_at && job.next_run_at.length > 0 ? (
                    <span title={job.schedule_timezone}>
                      {formatTime(job.next_run_at[0], job.schedule_timezone)} <span className="muted">({formatRelative(job.next_run_at[0])})</span>
                    </span>
                  ) : (
                    <span className="muted">–</span>
                  )}
                </td>
                <td data-label={t("pages.jobs.col.latestRun")}>
                  <StatusBadge status={job.latest_run_status} />{" "}
                  {job.latest_run_id && job.latest_run_started_at && (
                    <Link to={`/runs/${job.latest_run_id}`}>
                      <span title={formatTime(job.latest_run_started_at)}>{formatRelative(job.latest_run_started_at)}</span>
                    </Link>
                  )}
                </td>
                <td className="actions">
                  <Link to={`/jobs/${job.id}/edit`} className="button">
                    {t("common.edit")}
                  </Link>{" "}
                  <button onClick={() => runNow(job)} disabled={!!job.archived_at}>
                    {t("common.runNow")}
                  </button>
                  <RunStarted started={started[job.id]} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result && pages > 1 && (
        <nav className="pager" aria-label={t("common.pages")}>
          <button disabled={page <= 1} onClick={() => setPage(page - 1)}>
            {t("common.previous")}
          </button>
          <span>{t("common.pageOf", { page, pages })}</span>
          <button disabled={page >= pages} onClick={() => setPage(page + 1)}>
            {t("common.next")}
          </button>
        </nav>
      )}
    </section>
  );
}
