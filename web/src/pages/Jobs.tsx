import { useEffect, useMemo, useRef, useState, type MouseEvent } from "react";
import { api, type JobListItem, type RunStatus } from "../api";
import { ErrorBox, Link, RunStarted, StatusBadge, statusName } from "../components";
import { useConfirm } from "../dialogs";
import { t, tOr, type MessageKey } from "../i18n";
import { formatRelative, formatTime } from "../lib/format";
import {
  allMatching,
  archivedFilters,
  BulkError,
  bulkJobs,
  type ArchivedFilter,
  type BulkAction,
  type BulkAnswer,
  filtersFromSearch,
  filtersToSearch,
  isFiltered,
  type JobFilters,
  jobStatuses,
  jobsPageSize,
  type JobSort,
  jobTypes,
  listQuery,
  rangeIds,
} from "../lib/jobsList";
import { isActiveStatus, useActiveRefresh } from "../lib/liveRefresh";
import { describeCron } from "../lib/schedule";
import { useLoad } from "../lib/useLoad";
import { BulkOutcome } from "./JobsBulk";
import "./jobs.css";

/** The API's job orders (`GET /api/jobs?sort=`), as the menu names them. */
const jobSorts: [JobSort, MessageKey][] = [
  ["name_asc", "pages.jobs.sort.nameAsc"],
  ["name_desc", "pages.jobs.sort.nameDesc"],
  ["updated_desc", "pages.jobs.sort.updatedDesc"],
  ["updated_asc", "pages.jobs.sort.updatedAsc"],
];

const archivedLabels: Record<ArchivedFilter, MessageKey> = {
  active: "pages.jobs.filter.archived.active",
  archived: "pages.jobs.filter.archived.archived",
  all: "pages.jobs.filter.archived.all",
};

/** Bulk Run now of more jobs than this asks first (each is a real backup). */
const confirmRunOver = 10;

/** The jobs list (docs/ui.md, "Jobs at scale"): filters kept in the URL, filtered and paged by the server, a selection
 * across pages with bulk Run now / Archive / Unarchive, and a refresh while a shown job's latest run is active. */
export function JobsPage() {
  const [filters, setFilters] = useState<JobFilters>(() => filtersFromSearch(location.search));
  const [search, setSearch] = useState(filters.q);
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [anchor, setAnchor] = useState<string | null>(null);
  const [names, setNames] = useState<Map<string, string>>(() => new Map());
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<{ answer: BulkAnswer; names: Map<string, string>; stopped?: unknown } | null>(null);
  const [started, setStarted] = useState<Record<string, { runId: string; status: RunStatus }>>({});
  const [confirm, confirmElement] = useConfirm();

  const { data: result, error, reload } = useLoad(() => api.jobs(listQuery(filters, filters.page, jobsPageSize)), [filters]);
  const agents = useLoad(() => api.agents(), []);

  // The filters are the page's URL (a reload or a shared link shows the same list); replaced, not pushed, so Back
  // leaves the page rather than stepping through each keystroke.
  useEffect(() => {
    const wanted = "/jobs" + filtersToSearch(filters);
    if (location.pathname + location.search !== wanted) history.replaceState(null, "", wanted);
  }, [filters]);

  // The search is sent once typing pauses.
  useEffect(() => {
    if (search === filters.q) return;
    const timer = setTimeout(() => change({ q: search }), 250);
    return () => clearTimeout(timer);
  });

  const items = result?.items ?? [];
  useEffect(() => {
    if (items.length === 0) return;
    setNames((current) => {
      const next = new Map(current);
      for (const job of items) next.set(job.id, job.name);
      return next;
    });
  }, [result]);

  useActiveRefresh(
    items.some((job) => isActiveStatus(job.latest_run_status)),
    reload,
  );

  /** A new filter starts at page 1 and clears the selection (an action never reaches a job the list no longer shows). */
  const change = (patch: Partial<JobFilters>) => {
    setFilters((current) => ({ ...current, page: 1, ...patch }));
    setSelected(new Set());
    setAnchor(null);
  };

  const order = useMemo(() => items.map((job) => job.id), [items]);
  const agentNames = useMemo(() => new Map((agents.data ?? []).map((agent): [string, string] => [agent.id, agent.name || agent.id])), [agents.data]);

  // A page emptied by an action (its jobs archived away) moves to the last page that has rows.
  useEffect(() => {
    if (!result || result.items.length > 0 || result.total === 0 || filters.page === 1) return;
    setFilters((current) => ({ ...current, page: Math.max(1, Math.ceil(result.total / result.page_size)) }));
  }, [result]);
  const pageSelected = order.filter((id) => selected.has(id)).length;
  const pages = result ? Math.max(1, Math.ceil(result.total / result.page_size)) : 1;

  const toggle = (id: string, event: MouseEvent<HTMLInputElement>) => {
    const on = event.currentTarget.checked;
    const ids = event.shiftKey && anchor ? rangeIds(order, anchor, id) : [id];
    setSelected((current) => {
      const next = new Set(current);
      for (const each of ids) {
        if (on) next.add(each);
        else next.delete(each);
      }
      return next;
    });
    setAnchor(id);
  };

  const togglePage = (on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      for (const id of order) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });

  const selectAllMatching = async () => {
    setBusy(true);
    try {
      const every = await allMatching(filters);
      setNames((current) => new Map([...current, ...every.map((job): [string, string] => [job.id, job.name])]));
      setSelected(new Set(every.map((job) => job.id)));
      setActionError(null);
    } catch (caught) {
      setActionError(caught);
    } finally {
      setBusy(false);
    }
  };

  const runBulk = async (action: BulkAction) => {
    const ids = [...selected];
    if (ids.length === 0) return;
    if (action === "run" && ids.length > confirmRunOver) {
      const ok = await confirm({
        title: t("pages.jobs.bulk.confirmRun.title", { count: ids.length }),
        body: t("pages.jobs.bulk.confirmRun.text"),
        confirm: t("pages.jobs.bulk.confirmRun.confirm", { count: ids.length }),
      });
      if (!ok) return;
    }
    setBusy(true);
    setActionError(null);
    const known = new Map(ids.map((id): [string, string] => [id, names.get(id) ?? id]));
    try {
      const answer = await bulkJobs(action, ids);
      setOutcome({ answer, names: known });
      // What failed stays selected, to try again or look at; the rest is done.
      setSelected(new Set(answer.results.filter((row) => !row.ok).map((row) => row.id)));
    } catch (caught) {
      if (caught instanceof BulkError && caught.partial) setOutcome({ answer: caught.partial, names: known, stopped: caught.cause });
      else setActionError(caught instanceof BulkError ? caught.cause : caught);
    } finally {
      setBusy(false);
      void reload();
    }
  };

  const runNow = async (job: JobListItem) => {
    try {
      const run = await api.runNow(job.id);
      setStarted((current) => ({ ...current, [job.id]: { runId: run.run_id, status: run.status } }));
      void reload();
    } catch (caught) {
      setActionError(caught);
    }
  };

  const filtered = isFiltered(filters);
  return (
    <section className="jobs-page">
      <header className="page-header">
        <h1>{t("pages.jobs.title")}</h1>
        <Link to="/jobs/new" className="button primary">
          {t("common.newJob")}
        </Link>
      </header>
      <div className="toolbar jobs-filters">
        <input type="search" placeholder={t("pages.jobs.search")} aria-label={t("pages.jobs.search")} value={search} maxLength={200} onChange={(event) => setSearch(event.target.value)} />
        <label className="inline">
          {t("pages.jobs.filter.status")}
          <select value={filters.status} onChange={(event) => change({ status: event.target.value })}>
            {jobStatuses.map((value) => (
              <option key={value} value={value}>
                {value === "all" ? t("pages.jobs.filter.any") : value === "never" ? t("common.status.never") : statusName(value)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          {t("pages.jobs.filter.type")}
          <select value={filters.type} onChange={(event) => change({ type: event.target.value })}>
            {jobTypes.map((value) => (
              <option key={value} value={value}>
                {value === "all" ? t("pages.jobs.filter.any") : tOr(`common.jobType.${value}`, value)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          {t("pages.jobs.filter.node")}
          <select value={filters.node} onChange={(event) => change({ node: event.target.value })}>
            <option value="all">{t("pages.jobs.filter.any")}</option>
            <option value="hub">{t("pages.jobs.filter.hub")}</option>
            {(agents.data ?? []).map((agent) => (
              <option key={agent.id} value={agent.id}>
                {agent.name || agent.id}
              </option>
            ))}
            {filters.node !== "all" && filters.node !== "hub" && !(agents.data ?? []).some((agent) => agent.id === filters.node) && (
              <option value={filters.node}>{t("common.agentShort", { id: filters.node.slice(0, 8) })}</option>
            )}
          </select>
        </label>
        <label className="inline">
          {t("pages.jobs.filter.archived")}
          <select value={filters.archived} onChange={(event) => change({ archived: event.target.value as ArchivedFilter })}>
            {archivedFilters.map((value) => (
              <option key={value} value={value}>
                {t(archivedLabels[value])}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          {t("pages.jobs.sort")}
          <select value={filters.sort} onChange={(event) => setFilters((current) => ({ ...current, page: 1, sort: event.target.value as JobSort }))}>
            {jobSorts.map(([value, label]) => (
              <option key={value} value={value}>
                {t(label)}
              </option>
            ))}
          </select>
        </label>
        {filtered && (
          <button
            type="button"
            onClick={() => {
              setSearch("");
              change({ q: "", status: "all", type: "all", node: "all", archived: "active" });
            }}
          >
            {t("pages.jobs.filter.clear")}
          </button>
        )}
      </div>
      <ErrorBox error={error} />
      <ErrorBox error={actionError} />
      {outcome && <BulkOutcome answer={outcome.answer} names={outcome.names} stopped={outcome.stopped} onDismiss={() => setOutcome(null)} />}
      {result && (
        <div className="jobs-selection" role="toolbar" aria-label={t("pages.jobs.bulk.label")}>
          <span className="muted" aria-live="polite">
            {selected.size > 0
              ? t(selected.size === 1 ? "pages.jobs.selected.one" : "pages.jobs.selected.other", { count: selected.size })
              : t(result.total === 1 ? "pages.jobs.count.one" : "pages.jobs.count.other", { count: result.total })}
          </span>
          {pageSelected === order.length && order.length > 0 && result.total > selected.size && (
            <button type="button" onClick={() => void selectAllMatching()} disabled={busy}>
              {t("pages.jobs.select.all", { count: result.total })}
            </button>
          )}
          {selected.size > 0 && (
            <>
              <button type="button" className="primary" disabled={busy} onClick={() => void runBulk("run")}>
                {t("common.runNow")}
              </button>
              <button type="button" disabled={busy} onClick={() => void runBulk("archive")}>
                {t("pages.jobs.bulk.archive")}
              </button>
              <button type="button" disabled={busy} onClick={() => void runBulk("unarchive")}>
                {t("pages.jobs.bulk.unarchive")}
              </button>
              <button type="button" disabled={busy} onClick={() => setSelected(new Set())}>
                {t("pages.jobs.select.clear")}
              </button>
            </>
          )}
          {busy && <span className="muted">{t("pages.jobs.bulk.busy")}</span>}
        </div>
      )}
      {result && items.length === 0 && !filtered && result.total === 0 && (
        <div className="card empty">
          <h2>{t("pages.jobs.empty.title")}</h2>
          <p className="muted">{t("pages.jobs.empty.text")}</p>
          <Link to="/jobs/new" className="button primary">
            {t("common.createFirstJob")}
          </Link>
        </div>
      )}
      {result && items.length === 0 && (filtered || result.total > 0) && (
        <div className="card empty">
          <h2>{t("pages.jobs.noMatch.title")}</h2>
          <p className="muted">{t("pages.jobs.noMatch.text")}</p>
        </div>
      )}
      {items.length > 0 && (
        <table className="list jobs-table">
          <thead>
            <tr>
              <th className="pick-col">
                <PageCheckbox count={order.length} picked={pageSelected} onChange={togglePage} />
              </th>
              <th>{t("common.name")}</th>
              <th>{t("pages.jobs.col.schedule")}</th>
              <th>{t("pages.jobs.col.nextRun")}</th>
              <th>{t("pages.jobs.col.latestRun")}</th>
              <th aria-label={t("common.actions")} />
            </tr>
          </thead>
          <tbody>
            {items.map((job) => (
              <tr key={job.id} className={[job.archived_at ? "archived" : "", selected.has(job.id) ? "picked" : ""].join(" ").trim() || undefined}>
                <td className="pick-col">
                  <input type="checkbox" aria-label={t("pages.jobs.select.row", { name: job.name })} checked={selected.has(job.id)} onChange={() => {}} onClick={(event) => toggle(job.id, event)} />
                </td>
                <td data-label={t("common.name")} className="name-col">
                  <Link to={`/jobs/${encodeURIComponent(job.id)}`}>
                    <strong>{job.name}</strong>
                  </Link>
                  {job.type && <span className="badge">{tOr(`common.jobType.${job.type}`, job.type)}</span>}
                  {job.agent_id && <span className="badge">{agentNames.get(job.agent_id) ?? t("common.agentShort", { id: job.agent_id.slice(0, 8) })}</span>}
                  {job.archived_at && <span className="badge">{t("common.archived")}</span>}
                </td>
                <td data-label={t("pages.jobs.col.schedule")}>
                  {job.schedule ? (
                    <>
                      {describeCron(job.schedule) ?? t("pages.jobs.cron")} <code>{job.schedule}</code> <span className="muted">{job.schedule_timezone}</span>
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
                <td data-label={t("pages.jobs.col.latestRun")} data-testid="latest-run">
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
                  <button onClick={() => void runNow(job)} disabled={!!job.archived_at}>
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
          <button disabled={filters.page <= 1} onClick={() => setFilters((current) => ({ ...current, page: current.page - 1 }))}>
            {t("common.previous")}
          </button>
          <span>{t("common.pageOf", { page: filters.page, pages })}</span>
          <button disabled={filters.page >= pages} onClick={() => setFilters((current) => ({ ...current, page: current.page + 1 }))}>
            {t("common.next")}
          </button>
        </nav>
      )}
      {confirmElement}
    </section>
  );
}

/** The header's checkbox: every job of this page; mixed when some are. */
function PageCheckbox(props: { count: number; picked: number; onChange: (on: boolean) => void }) {
  const ref = useRef<HTMLInputElement>(null);
  const mixed = props.picked > 0 && props.picked < props.count;
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = mixed;
  }, [mixed]);
  return (
    <input
      ref={ref}
      type="checkbox"
      aria-label={t("pages.jobs.select.page")}
      checked={props.count > 0 && props.picked === props.count}
      onChange={(event) => props.onChange(event.target.checked)}
    />
  );
}
