import { useCallback, useEffect, useState } from "react";
import { api, type RunListItem } from "../api";
import { ErrorBox, Link, StatusBadge } from "../components";
import { formatDuration, formatRelative, formatTime } from "../lib/format";

const statuses = ["all", "queued", "running", "success", "failed", "canceled", "rejected"];
const kinds = ["all", "backup", "restore", "verify", "copy"];

/** Every run, newest first, filtered by status, kind and job name; pages by cursor and refreshes while runs are active. */
export function RunsPage() {
  const [status, setStatus] = useState("all");
  const [kind, setKind] = useState("all");
  const [jobName, setJobName] = useState("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [items, setItems] = useState<RunListItem[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const cursor = cursors[cursors.length - 1];

  const load = useCallback(async () => {
    try {
      const params = new URLSearchParams({ page_size: "25", status, kind });
      if (jobName.trim()) params.set("q", jobName.trim());
      if (cursor) params.set("cursor", cursor);
      const page = await api.runs(params.toString());
      setItems(page.items);
      setNext(page.next_cursor);
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  }, [status, kind, jobName, cursor]);

  useEffect(() => {
    void load();
  }, [load]);

  const active = items.some((run) => run.status === "queued" || run.status === "running");
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [active, load]);

  const filter = (setter: (value: string) => void) => (value: string) => {
    setter(value);
    setCursors([null]);
  };

  return (
    <section>
      <header className="page-header">
        <h1>Runs</h1>
      </header>
      <div className="toolbar">
        <input type="search" placeholder="Job name" aria-label="Job name" value={jobName} onChange={(event) => filter(setJobName)(event.target.value)} />
        <label className="inline">
          Status
          <select value={status} onChange={(event) => filter(setStatus)(event.target.value)}>
            {statuses.map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </label>
        <label className="inline">
          Kind
          <select value={kind} onChange={(event) => filter(setKind)(event.target.value)}>
            {kinds.map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </label>
        {active && <span className="muted">refreshing while runs are active</span>}
      </div>
      <ErrorBox error={error} />
      {items.length === 0 ? (
        <div className="card empty">
          <p className="muted">No runs match.</p>
        </div>
      ) : (
        <table className="list">
          <thead>
            <tr>
              <th>Run</th>
              <th>Job</th>
              <th>Kind</th>
              <th>Started</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {items.map((run) => (
              <tr key={run.id}>
                <td data-label="Run">
                  <Link to={`/runs/${run.id}`}>
                    <code>{run.id.slice(0, 8)}</code>
                  </Link>
                  <StatusBadge status={run.status} />
                  {run.warnings > 0 && <span className="badge status-canceled">{run.warnings} warnings</span>}
                  {run.error && <span className="muted"> {run.error}</span>}
                </td>
                <td data-label="Job">{run.job_name ?? run.job_id}</td>
                <td data-label="Kind">
                  {run.kind}
                  {run.node_id !== "hub" && <span className="badge">agent {run.node_id.slice(0, 8)}</span>}
                </td>
                <td data-label="Started">
                  <span title={formatTime(run.started_at)}>{formatRelative(run.started_at)}</span>
                </td>
                <td data-label="Duration">{run.ended_at ? formatDuration(run.ended_at - run.started_at) : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        <button disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button disabled={!next} onClick={() => next && setCursors([...cursors, next])}>
          Older
        </button>
      </nav>
    </section>
  );
}
