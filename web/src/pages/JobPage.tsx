import { useCallback, useEffect, useMemo, useState } from "react";
import { api, chooseLocation, locationBase, sharedLocations, type ChangeKind, type DiffPage, type Job, type RunListItem, type Snapshot, type SnapshotChange, type SnapshotLocation } from "../api";
import { ErrorBox, Link, StatusBadge } from "../components";
import { formatBytes, formatDuration, formatRelative, formatTime } from "../lib/format";
import { navigate } from "../lib/router";
import { describeBandwidth, describeHooks, describeReason, describeRetention, describeSource, describeTarget } from "../lib/jobForm";
import { describeCron } from "../lib/schedule";
import { browsePath } from "./Browse";
import { Name } from "../names";
import { parentOf } from "../lib/names";
import { describeLocation, savePicks, startVerify } from "./snapshotActions";

// A job's page: what it does and how it is doing, its history, its snapshots (browse, restore, verify, pin, delete),
// retention (preview, then apply), and Compare: what changed between any two snapshots.

const tabs = ["overview", "history", "snapshots", "retention", "compare"] as const;
type Tab = (typeof tabs)[number];

export function JobPage(props: { jobId: string; search: string }) {
  const params = new URLSearchParams(props.search);
  const tab: Tab = (tabs as readonly string[]).includes(params.get("tab") ?? "") ? (params.get("tab") as Tab) : "overview";
  const [job, setJob] = useState<Job | null>(null);
  const [runs, setRuns] = useState<RunListItem[]>([]);
  const [snapshots, setSnapshots] = useState<Snapshot[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [loadedJob, loadedRuns, loadedSnapshots] = await Promise.all([
        api.job(props.jobId),
        api.jobRuns(props.jobId),
        api.snapshots(props.jobId),
      ]);
      setJob(loadedJob);
      setRuns(loadedRuns);
      setSnapshots(loadedSnapshots);
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  }, [props.jobId]);

  useEffect(() => {
    void load();
  }, [load]);

  const act = async (work: () => Promise<unknown>, done?: string) => {
    try {
      await work();
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
          {job?.name ?? "Job"} {job?.archived_at && <span className="badge">archived</span>}
        </h1>
        {job && (
          <div className="actions">
            <button className="primary" onClick={() => void backupNow()} disabled={!!job.archived_at}>
              Backup now
            </button>
            <Link to={`/jobs/${encodeURIComponent(job.id)}/edit`} className="button">
              Edit
            </Link>
            {(job.spec as Record<string, any> | undefined)?.drills?.enabled && (
              <button
                title="Verify a snapshot now, as the scheduled drill does"
                onClick={() =>
                  void api.drillNow(job.id).then(
                    (run) => navigate(`/runs/${encodeURIComponent(run.run_id)}`),
                    (caught) => setError(caught),
                  )
                }
              >
                Drill now
              </button>
            )}
            <button onClick={() => void act(() => api.archiveJob(job.id, !job.archived_at), job.archived_at ? "Unarchived." : "Archived: no more scheduled runs.")}>
              {job.archived_at ? "Unarchive" : "Archive"}
            </button>
          </div>
        )}
      </header>
      <nav className="tabs" aria-label="Job">
        {tabs.map((name) => (
          <Link key={name} to={tabLink(name)} className={name === tab ? "active" : undefined}>
            {name[0].toUpperCase() + name.slice(1)}
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
      {job && tab === "history" && <History runs={runs} />}
      {job && tab === "snapshots" && <Snapshots job={job} snapshots={snapshots} act={act} onError={setError} />}
      {job && tab === "retention" && <Retention job={job} onApplied={load} onError={setError} />}
      {job && tab === "compare" && <Compare job={job} snapshots={snapshots.filter((snapshot) => snapshot.status === "present")} search={props.search} />}
    </section>
  );
}

function describeSpec(job: Job): [string, string][] {
  const spec = (job.spec ?? {}) as Record<string, any>;
  const source = spec.source ?? {};
  const target = spec.target ?? {};
  const encryption = spec.pipeline?.encryption;
  const retention = spec.retention ?? {};
  const rows: [string, string][] = [];
  rows.push(["What", describeSource(job.type ?? spec.type ?? null, spec)]);
  if (spec.type === "filesystem" && (source.exclude ?? []).length > 0) rows.push(["Leaving out", source.exclude.join(", ")]);
  if (spec.type === "filesystem" && source.snapshot_mode && source.snapshot_mode !== "off")
    rows.push(["Filesystem snapshot", source.snapshot_mode === "auto" ? "btrfs when possible" : "btrfs, required"]);
  if ((spec.type === "filesystem" || spec.type === "vaultwarden") && source.consistency_policy && source.consistency_policy !== "warn")
    rows.push([
      "Files changed while read",
      source.consistency_policy === "fail" ? `fail the run above ${source.consistency_fail_threshold ?? 0}` : "ignored",
    ]);
  const hooks = describeHooks(spec);
  if (hooks) rows.push(["Hooks", hooks]);
  rows.push(["Where to", `${describeTarget(target)}, parts of ${formatBytes(target.part_size_bytes ?? 256 * 1048576)}`]);
  const bandwidth = describeBandwidth(target.bandwidth);
  if (bandwidth) rows.push(["Bandwidth", bandwidth]);
  for (const [index, copy] of ((spec.copies ?? []) as { target?: Record<string, any> }[]).entries()) {
    const copyBandwidth = describeBandwidth(copy.target?.bandwidth);
    rows.push([`Copy ${index + 1}`, `${describeTarget(copy.target ?? {})}${copyBandwidth ? `, at most ${copyBandwidth}` : ""}`]);
  }
  rows.push(["Encryption", encryption?.type === "age_x25519" ? `age, key ${encryption.key_name}` : "none"]);
  const incremental = spec.pipeline?.incremental;
  if (spec.type === "filesystem") {
    rows.push(["Snapshots", incremental?.full_every ? `incremental, a full one every ${incremental.full_every}` : "full every time"]);
  }
  rows.push([
    "When",
    job.schedule ? `${describeCron(job.schedule) ?? job.schedule} (${job.schedule} ${job.schedule_timezone})` : "manually only",
  ]);
  rows.push(["If a run is active", job.overlap_policy === "queue" ? "the new run waits" : "the new run is rejected"]);
  rows.push(["Keeps", describeRetention(retention)]);
  const pings = (spec.pings ?? []) as Record<string, string>[];
  if (pings.length > 0) rows.push(["Pings", pings.map((ping) => ping.url ?? [ping.start_url, ping.success_url, ping.failure_url].filter(Boolean).join(", ")).join("; ")]);
  const drills = spec.drills;
  if (drills?.enabled)
    rows.push([
      "Restore drills",
      `${describeCron(drills.schedule) ?? drills.schedule}, the ${drills.pick === "random" ? "a random" : "newest"} snapshot${drills.test_restore ? ", with a test restore" : ""}`.replace("the a random", "a random"),
    ]);
  return rows;
}

function JobOverview(props: { job: Job; runs: RunListItem[]; snapshots: Snapshot[] }) {
  const backups = props.runs.filter((run) => run.kind === "backup");
  const lastSuccess = backups.find((run) => run.status === "success");
  const lastFailure = backups.find((run) => run.status === "failed");
  const present = props.snapshots.filter((snapshot) => snapshot.status === "present");
  const stored = present.reduce((sum, snapshot) => sum + (snapshot.transfer_bytes ?? 0), 0);
  return (
    <div className="editor-grid">
      <div className="card">
        <h2>What it does</h2>
        <dl className="facts">
          {describeSpec(props.job).map(([term, value]) => (
            <div key={term} className="fact">
              <dt>{term}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      </div>
      <div className="card">
        <h2>Health</h2>
        <dl className="facts">
          <div className="fact">
            <dt>Last success</dt>
            <dd>{lastSuccess ? <Link to={`/runs/${lastSuccess.id}`}>{formatTime(lastSuccess.ended_at ?? lastSuccess.started_at)}</Link> : "never"}</dd>
          </div>
          <div className="fact">
            <dt>Last failure</dt>
            <dd>
              {lastFailure ? (
                <>
                  <Link to={`/runs/${lastFailure.id}`}>{formatTime(lastFailure.started_at)}</Link> <span className="error-text">{lastFailure.error}</span>
                </>
              ) : (
                "none"
              )}
            </dd>
          </div>
          <div className="fact">
            <dt>Snapshots</dt>
            <dd>
              {present.length}, {formatBytes(stored)} stored
            </dd>
          </div>
          <div className="fact">
            <dt>Next runs</dt>
            <dd>
              {(props.job.next_run_at ?? []).length === 0 ? (
                <span className="muted">{props.job.schedule ? "none" : "manual"}</span>
              ) : (
                <ol className="next-runs">
                  {(props.job.next_run_at ?? []).map((at) => (
                    <li key={at}>
                      {formatTime(at, props.job.schedule_timezone)} <span className="muted">({formatRelative(at)})</span>
                    </li>
                  ))}
                </ol>
              )}
            </dd>
          </div>
        </dl>
      </div>
    </div>
  );
}

function History(props: { runs: RunListItem[] }) {
  if (props.runs.length === 0) return <p className="muted">No runs yet.</p>;
  return (
    <table className="list">
      <thead>
        <tr>
          <th>Status</th>
          <th>Kind</th>
          <th>Started</th>
          <th>Took</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {props.runs.map((run) => (
          <tr key={run.id}>
            <td data-label="Status">
              <Link to={`/runs/${run.id}`}>
                <StatusBadge status={run.status} />
              </Link>
            </td>
            <td data-label="Kind">{run.kind}</td>
            <td data-label="Started">{formatTime(run.started_at)}</td>
            <td data-label="Took">{run.ended_at ? formatDuration(run.ended_at - run.started_at) : "–"}</td>
            <td data-label="Error" className="error-text">
              {run.error ?? ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Snapshots(props: { job: Job; snapshots: Snapshot[]; act: (work: () => Promise<unknown>, done?: string) => Promise<void>; onError: (error: unknown) => void }) {
  const [compare, setCompare] = useState<string[]>([]);
  if (props.snapshots.length === 0) return <p className="muted">No snapshots yet: a successful backup makes one.</p>;
  const hasLocations = props.snapshots.some((snapshot) => (snapshot.locations ?? []).length > 1);
  const toggleCompare = (runId: string) =>
    setCompare((current) => (current.includes(runId) ? current.filter((id) => id !== runId) : [...current, runId].slice(-2)));
  const openCompare = () => {
    // The older one (further down the newest-first list) is `from`.
    const position = (runId: string) => props.snapshots.findIndex((snapshot) => snapshot.run_id === runId);
    const [a, b] = [...compare].sort((x, y) => position(y) - position(x));
    navigate(`/jobs/${encodeURIComponent(props.job.id)}?tab=compare&from=${a}&to=${b}`);
  };
  const remove = (snapshot: Snapshot) => {
    const pinned = snapshot.pinned_at !== null;
    const question =
      snapshot.dependants > 0
        ? `${snapshot.dependants} incremental snapshot(s) build on this one and could no longer be restored or verified. Delete it anyway?`
        : pinned
          ? "This snapshot is pinned (retention keeps it). Delete it anyway? Its files are removed from the target and cannot be restored."
          : "Delete this snapshot? Its files are removed from the target and cannot be restored.";
    if (!window.confirm(question)) return;
    void props.act(() => api.deleteSnapshot(snapshot.run_id, pinned || snapshot.dependants > 0), "Snapshot queued for deletion.");
  };
  return (
    <>
      <div className="toolbar">
        <button disabled={compare.length !== 2} onClick={openCompare}>
          Compare the two ticked
        </button>
        <span className="muted">Tick two snapshots to see what changed between them.</span>
      </div>
      <table className="list snapshots">
        <thead>
          <tr>
            <th aria-label="Compare" />
            <th>Taken</th>
            <th>Files</th>
            <th>Size</th>
            <th>Stored</th>
            <th>Status</th>
            {hasLocations && <th>Where</th>}
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {props.snapshots.map((snapshot) => {
            const present = snapshot.status === "present";
            return (
              <tr key={snapshot.run_id} data-run={snapshot.run_id}>
                <td>
                  {present && (
                    <input
                      type="checkbox"
                      aria-label={`Compare ${formatTime(snapshot.ended_at)}`}
                      checked={compare.includes(snapshot.run_id)}
                      onChange={() => toggleCompare(snapshot.run_id)}
                    />
                  )}
                </td>
                <td data-label="Taken">
                  <Link to={`/runs/${snapshot.run_id}`}>{formatTime(snapshot.ended_at)}</Link>
                </td>
                <td data-label="Files">{snapshot.source_files ?? "–"}</td>
                <td data-label="Size">{formatBytes(snapshot.source_bytes)}</td>
                <td data-label="Stored">{formatBytes(snapshot.transfer_bytes)}</td>
                <td data-label="Status">
                  <span className={`badge snapshot-${snapshot.status}`}>{snapshot.status}</span>
                  {snapshot.pinned_at !== null && (
                    <span className="badge" title="Retention never deletes a pinned snapshot">
                      pinned
                    </span>
                  )}
                  {snapshot.chain_level !== null && (
                    <span className="badge" title={snapshot.chain_level === 0 ? "Starts a chain of incremental snapshots" : "Holds only what changed since the snapshot before"}>
                      {snapshot.chain_level === 0 ? "full" : `incremental ${snapshot.chain_level}`}
                    </span>
                  )}
                  {snapshot.dependants > 0 && (
                    <span className="badge" title="Later incremental snapshots build on it: it is kept until they are gone">
                      base of {snapshot.dependants}
                    </span>
                  )}
                </td>
                {hasLocations && (
                  <td data-label="Where">
                    <Locations snapshot={snapshot} act={props.act} onError={props.onError} />
                  </td>
                )}
                <td className="actions">
                  {present && (
                    <>
                      <Link to={browsePath(snapshot.run_id)} className="button">
                        Browse
                      </Link>{" "}
                      <button
                        onClick={() => {
                          savePicks(snapshot.run_id, []);
                          navigate(`/runs/${snapshot.run_id}/restore?all=1`);
                        }}
                      >
                        Restore
                      </button>{" "}
                      <button onClick={() => void startVerify(snapshot.run_id, props.onError)}>Verify</button>{" "}
                      <button onClick={() => void props.act(() => api.setPinned(snapshot.run_id, snapshot.pinned_at === null))}>
                        {snapshot.pinned_at === null ? "Pin" : "Unpin"}
                      </button>{" "}
                      <button className="danger" onClick={() => remove(snapshot)}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

const locationWords: Record<SnapshotLocation["status"], string> = {
  present: "stored here",
  copying: "being copied",
  failed: "the copy failed (retried automatically)",
  deleting: "being deleted",
  deleted: "deleted here",
  missing: "not copied yet",
  error: "could not be deleted",
};

/** Where a snapshot is: the primary target and each copy, with its status; Retry for a failed copy, Verify at one that
 * holds it (the row's Verify reads the first healthy one). */
function Locations(props: { snapshot: Snapshot; act: (work: () => Promise<unknown>, done?: string) => Promise<void>; onError: (error: unknown) => void }) {
  const { snapshot } = props;
  const verifyHere = (location: SnapshotLocation) =>
    void startVerify(snapshot.run_id, props.onError, location.id, describeLocation(snapshot.locations ?? [], location.id, snapshot.job_id, snapshot.run_id));
  return (
    <ul className="locations">
      {(props.snapshot.locations ?? []).map((location) => (
        <li key={location.id} data-location={location.id} data-status={location.status}>
          <span className={`badge location-${location.status}`} title={locationWords[location.status]}>
            {location.status}
          </span>{" "}
          <span title={location.display}>
            {location.id === "primary" ? "primary" : "copy"}: {locationBase(location, props.snapshot.job_id, props.snapshot.run_id)}
          </span>
          {location.copy_run_id && (
            <>
              {" "}
              <Link to={`/runs/${location.copy_run_id}`}>copy run</Link>
            </>
          )}
          {location.status === "present" && snapshot.status === "present" && (
            <>
              {" "}
              <button title="Check this copy of the snapshot: read every part from here and compare it with its hashes" onClick={() => verifyHere(location)}>
                Verify here
              </button>
            </>
          )}
          {location.status === "failed" && (
            <>
              {location.last_error && <span className="muted location-error"> {location.last_error}</span>}{" "}
              <button onClick={() => void props.act(() => api.retryCopy(props.snapshot.run_id, location.id), "Copy queued again.")}>
                Retry
              </button>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

function Retention(props: { job: Job; onApplied: () => Promise<void>; onError: (error: unknown) => void }) {
  const [preview, setPreview] = useState<{ keep: Snapshot[]; delete: Snapshot[] } | null>(null);
  const [applied, setApplied] = useState<string[] | null>(null);
  const retention = ((props.job.spec ?? {}) as Record<string, any>).retention ?? {};
  const load = async () => {
    try {
      setPreview(await api.retentionPreview(props.job.id));
    } catch (caught) {
      props.onError(caught);
    }
  };
  useEffect(() => {
    void load();
  }, [props.job.id]);
  const apply = async () => {
    if (!preview || !window.confirm(`Delete ${preview.delete.length} snapshot(s) now? Pinned snapshots are never deleted.`)) return;
    try {
      setApplied((await api.retentionApply(props.job.id)).queued);
      await props.onApplied();
      await load();
    } catch (caught) {
      props.onError(caught);
    }
  };
  return (
    <div className="card">
      <p>
        {retention.enabled ? (
          <>
            Keeps {describeRetention(retention)}; pinned snapshots are always kept, and so is each snapshot a kept incremental one builds on. The
            janitor applies it every hour, at each location on its own.
          </>
        ) : (
          <>
            Retention is off: every snapshot is kept. <Link to={`/jobs/${encodeURIComponent(props.job.id)}/edit`}>Turn it on in the editor.</Link>
          </>
        )}
      </p>
      {preview && (
        <>
          <h3>Would delete ({preview.delete.length})</h3>
          {preview.delete.length === 0 ? (
            <p className="muted">Nothing.</p>
          ) : (
            <ul className="retention-delete">
              {preview.delete.map((snapshot) => (
                <li key={snapshot.run_id}>
                  {formatTime(snapshot.ended_at)} <span className="muted">{formatBytes(snapshot.transfer_bytes)}</span>
                </li>
              ))}
            </ul>
          )}
          <h3>Keeps ({preview.keep.length})</h3>
          <ul className="retention-keep">
            {preview.keep.map((snapshot) => (
              <li key={snapshot.run_id}>
                {formatTime(snapshot.ended_at)}{" "}
                <span className="muted reasons" data-reasons={(snapshot.reasons ?? []).join(" ")}>
                  kept by {(snapshot.reasons ?? []).map((reason) => describeReason(reason, snapshot.buckets?.[reason], retention)).join(", ")}
                </span>
              </li>
            ))}
          </ul>
          {retention.enabled && (
            <button className="danger" disabled={preview.delete.length === 0} onClick={() => void apply()}>
              Apply now
            </button>
          )}
          {applied && <p role="status">Queued {applied.length} snapshot(s) for deletion.</p>}
        </>
      )}
    </div>
  );
}

const changeKinds: ChangeKind[] = ["added", "removed", "changed"];

function describeChange(change: SnapshotChange): string {
  if (change.change === "added") return change.new && change.kind === "file" ? formatBytes(change.new.size) : "";
  if (change.change === "removed") return change.old && change.kind === "file" ? formatBytes(change.old.size) : "";
  const parts: string[] = [];
  for (const field of change.fields) {
    if (field === "size" && change.old && change.new) parts.push(`${formatBytes(change.old.size)} → ${formatBytes(change.new.size)}`);
    else if (field === "mode" && change.old?.mode != null && change.new?.mode != null)
      parts.push(`mode ${change.old.mode.toString(8)} → ${change.new.mode.toString(8)}`);
    else if (field === "kind") parts.push(`${change.old?.kind} → ${change.new?.kind}`);
    else if (field === "content") parts.push("content");
    else if (field === "mtime") parts.push("modified time");
    else if (field === "target") parts.push(`link → ${change.new?.link_target}`);
  }
  return parts.join(", ");
}

function Compare(props: { job: Job; snapshots: Snapshot[]; search: string }) {
  const params = new URLSearchParams(props.search);
  // Oldest first: the API lists newest first, in recording order (snapshots of the same second stay in order).
  const ordered = useMemo(() => [...props.snapshots].reverse(), [props.snapshots]);
  const [from, setFrom] = useState(params.get("from") ?? ordered[ordered.length - 2]?.run_id ?? "");
  const [to, setTo] = useState(params.get("to") ?? ordered[ordered.length - 1]?.run_id ?? "");
  const [kind, setKind] = useState<ChangeKind | "all">("all");
  const [text, setText] = useState("");
  const [diff, setDiff] = useState<DiffPage | null>(null);
  const [items, setItems] = useState<SnapshotChange[]>([]);
  const [error, setError] = useState<unknown>(null);
  /** Where both snapshots are read (#26): only locations both are present at; null until the user picks (the default). */
  const [picked, setPicked] = useState<string | null>(params.get("location"));
  const shared = useMemo(() => {
    const find = (runId: string) => props.snapshots.find((snapshot) => snapshot.run_id === runId)?.locations;
    return sharedLocations(find(from), find(to));
  }, [props.snapshots, from, to]);
  // A pick that one of the two is not at falls back to the default (the server's: each at its first healthy one).
  const location = picked && shared.some((item) => item.id === picked) ? picked : null;

  const query = useMemo(() => {
    const parameters = new URLSearchParams({ from, to, limit: "200" });
    if (kind !== "all") parameters.set("change", kind);
    if (text.trim()) parameters.set("q", text.trim());
    if (location) parameters.set("location", location);
    return parameters;
  }, [from, to, kind, text, location]);

  useEffect(() => {
    if (!from || !to) return;
    let alive = true;
    api.diff(props.job.id, query.toString()).then(
      (loaded) => {
        if (!alive) return;
        setDiff(loaded);
        setItems(loaded.items);
        setError(null);
      },
      (caught) => alive && setError(caught),
    );
    return () => {
      alive = false;
    };
  }, [props.job.id, query, from, to]);

  const more = async () => {
    if (!diff?.next_cursor) return;
    const parameters = new URLSearchParams(query);
    parameters.set("cursor", diff.next_cursor);
    try {
      const next = await api.diff(props.job.id, parameters.toString());
      setDiff(next);
      setItems((current) => [...current, ...next.items]);
    } catch (caught) {
      setError(caught);
    }
  };

  if (ordered.length < 2) return <p className="muted">Compare needs two snapshots of this job.</p>;
  const option = (snapshot: Snapshot) => (
    <option key={snapshot.run_id} value={snapshot.run_id}>
      {formatTime(snapshot.ended_at)}
    </option>
  );
  return (
    <div className="compare">
      <div className="toolbar">
        <label className="inline">
          From{" "}
          <select aria-label="From" value={from} onChange={(event) => setFrom(event.target.value)}>
            {ordered.map(option)}
          </select>
        </label>
        <label className="inline">
          to{" "}
          <select aria-label="To" value={to} onChange={(event) => setTo(event.target.value)}>
            {ordered.map(option)}
          </select>
        </label>
        <select aria-label="Change" value={kind} onChange={(event) => setKind(event.target.value as ChangeKind | "all")}>
          <option value="all">every change</option>
          {changeKinds.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
        <input type="search" aria-label="Filter paths" placeholder="Filter paths" value={text} onChange={(event) => setText(event.target.value)} />
        {shared.length > 1 && (
          <label className="inline compare-location" title="Both snapshots are read from here; only places that hold both are offered">
            Read both from{" "}
            <select aria-label="Read both from" name="compareLocation" value={location ?? chooseLocation(shared, null) ?? ""} onChange={(event) => setPicked(event.target.value)}>
              {shared.map((item) => (
                <option key={item.id} value={item.id}>
                  {item.id === "primary" ? "primary target" : "copy"}: {locationBase(item, props.job.id, from)}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <ErrorBox error={error} />
      {diff && (
        <>
          <p className="totals" data-testid="totals">
            <span className="badge change-added">{diff.totals.added} added</span> <span className="badge change-removed">{diff.totals.removed} removed</span>{" "}
            <span className="badge change-changed">{diff.totals.changed} changed</span>
          </p>
          {items.length === 0 ? (
            <p className="muted">{from === to ? "The same snapshot." : "No differences."}</p>
          ) : (
            <table className="list changes" data-testid="changes">
              <tbody>
                {items.map((change) => (
                  <tr key={change.path_b64 ?? change.path} data-change={change.change} data-path={change.path}>
                    <td data-label="Change">
                      <span className={`badge change-${change.change}`}>{change.change}</span>
                    </td>
                    <td data-label="Path">
                      <code className="path">
                        <Name name={change.path} b64={change.path_b64} />
                      </code>
                      {change.kind === "dir" && "/"}
                    </td>
                    <td data-label="Details" className="muted">
                      {describeChange(change)}
                    </td>
                    <td className="actions">
                      <Link to={browsePath(change.change === "removed" ? from : to, parentOf(change.path, change.path_b64), location)} className="button">
                        Show
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {diff.next_cursor && <button onClick={() => void more()}>Show more</button>}
        </>
      )}
    </div>
  );
}
