import { useCallback, useEffect, useMemo, useState } from "react";
import { api, chooseLocation, locationBase, sharedLocations, type ChangeKind, type DiffPage, type Job, type RunListItem, type Snapshot, type SnapshotChange, type SnapshotLocation } from "../api";
import { ErrorBox, Link, StatusBadge } from "../components";
import { t, type MessageKey } from "../i18n";
import { formatBytes, formatDuration, formatRelative, formatTime } from "../lib/format";
import { navigate } from "../lib/router";
import { describeBandwidth, describeHooks, describeReason, describeRetention, describeSource, describeTarget } from "../lib/jobForm";
import { describeCron } from "../lib/schedule";
import { browsePath } from "../lib/router";
import { JobCharts } from "./JobCharts";
import { Name } from "../names";
import { parentOf } from "../lib/names";
import { describeLocation, savePicks, startVerify } from "../lib/snapshotActions";

// A job's page: what it does and how it is doing, its history, its snapshots (browse, restore, verify, pin, delete),
// retention (preview, then apply), and Compare: what changed between any two snapshots.

const tabs = ["overview", "history", "snapshots", "retention", "compare"] as const;
type Tab = (typeof tabs)[number];
const tabKeys: Record<Tab, MessageKey> = {
  overview: "job.page.tab.overview",
  history: "job.page.tab.history",
  snapshots: "job.page.tab.snapshots",
  retention: "job.page.tab.retention",
  compare: "job.page.tab.compare",
};
const kindKeys: Record<string, MessageKey> = {
  backup: "job.page.kind.backup",
  restore: "job.page.kind.restore",
  verify: "job.page.kind.verify",
  copy: "job.page.kind.copy",
};
/** A run's kind in words (the API's value when it is a kind this UI does not know). */
const kindWord = (kind: string) => (kindKeys[kind] ? t(kindKeys[kind]) : kind);
const snapshotStatusKeys: Record<string, MessageKey> = {
  present: "job.page.snapshotStatus.present",
  copying: "job.page.snapshotStatus.copying",
  failed: "job.page.snapshotStatus.failed",
  deleting: "job.page.snapshotStatus.deleting",
  deleted: "job.page.snapshotStatus.deleted",
  missing: "job.page.snapshotStatus.missing",
  error: "job.page.snapshotStatus.error",
};
/** A snapshot's or location's status as its badge says it. */
const statusWord = (status: string) => (snapshotStatusKeys[status] ? t(snapshotStatusKeys[status]) : status);
const changeKeys: Record<string, MessageKey> = { added: "job.compare.kind.added", removed: "job.compare.kind.removed", changed: "job.compare.kind.changed" };
const changeWord = (change: string) => (changeKeys[change] ? t(changeKeys[change]) : change);

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

function describeSpec(job: Job): [string, string][] {
  const spec = (job.spec ?? {}) as Record<string, any>;
  const source = spec.source ?? {};
  const target = spec.target ?? {};
  const encryption = spec.pipeline?.encryption;
  const retention = spec.retention ?? {};
  const rows: [string, string][] = [];
  rows.push([t("job.page.fact.what"), describeSource(job.type ?? spec.type ?? null, spec)]);
  if (spec.type === "filesystem" && (source.exclude ?? []).length > 0) rows.push([t("job.page.fact.exclude"), source.exclude.join(", ")]);
  if (spec.type === "filesystem" && source.snapshot_mode && source.snapshot_mode !== "off")
    rows.push([t("job.page.fact.fsSnapshot"), source.snapshot_mode === "auto" ? t("job.page.fact.btrfsAuto") : t("job.page.fact.btrfsRequired")]);
  if ((spec.type === "filesystem" || spec.type === "vaultwarden") && source.consistency_policy && source.consistency_policy !== "warn")
    rows.push([
      t("job.page.fact.changedWhileRead"),
      source.consistency_policy === "fail" ? t("job.page.fact.failAbove", { count: source.consistency_fail_threshold ?? 0 }) : t("job.page.fact.ignored"),
    ]);
  const hooks = describeHooks(spec);
  if (hooks) rows.push([t("job.page.fact.hooks"), hooks]);
  rows.push([t("job.page.fact.whereTo"), t("job.page.fact.targetParts", { target: describeTarget(target), size: formatBytes(target.part_size_bytes ?? 256 * 1048576) })]);
  const bandwidth = describeBandwidth(target.bandwidth);
  if (bandwidth) rows.push([t("job.page.fact.bandwidth"), bandwidth]);
  for (const [index, copy] of ((spec.copies ?? []) as { target?: Record<string, any> }[]).entries()) {
    const copyBandwidth = describeBandwidth(copy.target?.bandwidth);
    rows.push([t("job.page.fact.copy", { number: index + 1 }), `${describeTarget(copy.target ?? {})}${copyBandwidth ? t("job.page.fact.atMost", { rate: copyBandwidth }) : ""}`]);
  }
  rows.push([t("job.page.fact.encryption"), encryption?.type === "age_x25519" ? t("job.page.fact.ageKey", { key: encryption.key_name }) : t("common.a.none")]);
  const incremental = spec.pipeline?.incremental;
  if (spec.type === "filesystem") {
    rows.push([t("job.page.fact.snapshots"), incremental?.full_every ? t("job.page.fact.incremental", { count: incremental.full_every }) : t("job.page.fact.fullEveryTime")]);
  }
  rows.push([
    t("job.page.fact.when"),
    job.schedule
      ? t("job.page.fact.cronZone", { words: describeCron(job.schedule) ?? job.schedule, cron: job.schedule, zone: job.schedule_timezone })
      : t("job.page.fact.manualOnly"),
  ]);
  rows.push([t("job.page.fact.overlap"), job.overlap_policy === "queue" ? t("job.page.fact.overlapQueue") : t("job.page.fact.overlapReject")]);
  rows.push([t("job.page.fact.keeps"), describeRetention(retention)]);
  const pings = (spec.pings ?? []) as Record<string, string>[];
  if (pings.length > 0) rows.push([t("job.page.fact.pings"), pings.map((ping) => ping.url ?? [ping.start_url, ping.success_url, ping.failure_url].filter(Boolean).join(", ")).join("; ")]);
  const drills = spec.drills;
  if (drills?.enabled)
    rows.push([
      t("job.page.fact.drills"),
      t(drills.pick === "random" ? "job.page.fact.drillRandom" : "job.page.fact.drillNewest", { when: describeCron(drills.schedule) ?? drills.schedule }) +
        (drills.test_restore ? t("job.page.fact.drillTestRestore") : ""),
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
        <h2>{t("job.page.whatItDoes")}</h2>
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
        <h2>{t("job.page.health")}</h2>
        <dl className="facts">
          <div className="fact">
            <dt>{t("job.page.lastSuccess")}</dt>
            <dd>{lastSuccess ? <Link to={`/runs/${lastSuccess.id}`}>{formatTime(lastSuccess.ended_at ?? lastSuccess.started_at)}</Link> : t("common.a.never")}</dd>
          </div>
          <div className="fact">
            <dt>{t("job.page.lastFailure")}</dt>
            <dd>
              {lastFailure ? (
                <>
                  <Link to={`/runs/${lastFailure.id}`}>{formatTime(lastFailure.started_at)}</Link> <span className="error-text">{lastFailure.error}</span>
                </>
              ) : (
                t("common.a.none")
              )}
            </dd>
          </div>
          <div className="fact">
            <dt>{t("job.page.tab.snapshots")}</dt>
            <dd>
              {t("job.page.snapshotsStored", { count: present.length, size: formatBytes(stored) })}
            </dd>
          </div>
          <div className="fact">
            <dt>{t("job.page.nextRuns")}</dt>
            <dd>
              {(props.job.next_run_at ?? []).length === 0 ? (
                <span className="muted">{props.job.schedule ? t("common.a.none") : t("job.page.manual")}</span>
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
          <tr key={run.id}>
            <td data-label={t("common.a.status")}>
              <Link to={`/runs/${run.id}`}>
                <StatusBadge status={run.status} />
              </Link>
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

function Snapshots(props: { job: Job; snapshots: Snapshot[]; act: (work: () => Promise<unknown>, done?: string) => Promise<void>; onError: (error: unknown) => void }) {
  const [compare, setCompare] = useState<string[]>([]);
  if (props.snapshots.length === 0) return <p className="muted">{t("job.page.noSnapshots")}</p>;
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
        ? t("job.page.deleteBase", { count: snapshot.dependants })
        : pinned
          ? t("job.page.deletePinned")
          : t("job.page.deleteConfirm");
    if (!window.confirm(question)) return;
    void props.act(() => api.deleteSnapshot(snapshot.run_id, pinned || snapshot.dependants > 0), t("job.page.deleteQueued"));
  };
  return (
    <>
      <div className="toolbar">
        <button disabled={compare.length !== 2} onClick={openCompare}>
          {t("job.page.compareTicked")}
        </button>
        <span className="muted">{t("job.page.compareHint")}</span>
      </div>
      <table className="list snapshots">
        <thead>
          <tr>
            <th aria-label={t("job.page.tab.compare")} />
            <th>{t("job.page.taken")}</th>
            <th>{t("job.page.files")}</th>
            <th>{t("job.page.size")}</th>
            <th>{t("job.page.stored")}</th>
            <th>{t("common.a.status")}</th>
            {hasLocations && <th>{t("job.page.where")}</th>}
            <th aria-label={t("common.a.actions")} />
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
                      aria-label={t("job.page.compareOne", { time: formatTime(snapshot.ended_at) })}
                      checked={compare.includes(snapshot.run_id)}
                      onChange={() => toggleCompare(snapshot.run_id)}
                    />
                  )}
                </td>
                <td data-label={t("job.page.taken")}>
                  <Link to={`/runs/${snapshot.run_id}`}>{formatTime(snapshot.ended_at)}</Link>
                </td>
                <td className="figure" data-label={t("job.page.files")}>{snapshot.source_files ?? "–"}</td>
                <td className="figure" data-label={t("job.page.size")}>{formatBytes(snapshot.source_bytes)}</td>
                <td className="figure" data-label={t("job.page.stored")}>{formatBytes(snapshot.transfer_bytes)}</td>
                <td data-label={t("common.a.status")}>
                  <span className={`badge snapshot-${snapshot.status}`}>{statusWord(snapshot.status)}</span>
                  {snapshot.pinned_at !== null && (
                    <span className="badge" title={t("job.page.pinnedTitle")}>
                      {t("job.page.pinned")}
                    </span>
                  )}
                  {snapshot.chain_level !== null && (
                    <span className="badge" title={snapshot.chain_level === 0 ? t("job.page.fullTitle") : t("job.page.incrementalTitle")}>
                      {snapshot.chain_level === 0 ? t("job.page.full") : t("job.page.incrementalLevel", { level: snapshot.chain_level })}
                    </span>
                  )}
                  {snapshot.dependants > 0 && (
                    <span className="badge" title={t("job.page.baseTitle")}>
                      {t("job.page.baseOf", { count: snapshot.dependants })}
                    </span>
                  )}
                </td>
                {hasLocations && (
                  <td data-label={t("job.page.where")}>
                    <Locations snapshot={snapshot} act={props.act} onError={props.onError} />
                  </td>
                )}
                <td className="actions">
                  {present && (
                    <>
                      <Link to={browsePath(snapshot.run_id)} className="button">
                        {t("job.page.browse")}
                      </Link>{" "}
                      <button
                        onClick={() => {
                          savePicks(snapshot.run_id, []);
                          navigate(`/runs/${snapshot.run_id}/restore?all=1`);
                        }}
                      >
                        {t("job.page.restore")}
                      </button>{" "}
                      <button onClick={() => void startVerify(snapshot.run_id, props.onError)}>{t("job.page.verify")}</button>{" "}
                      <button onClick={() => void props.act(() => api.setPinned(snapshot.run_id, snapshot.pinned_at === null))}>
                        {snapshot.pinned_at === null ? t("job.page.pin") : t("job.page.unpin")}
                      </button>{" "}
                      <button className="danger" onClick={() => remove(snapshot)}>
                        {t("common.a.delete")}
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

const locationWords: Record<SnapshotLocation["status"], MessageKey> = {
  present: "job.page.location.present",
  copying: "job.page.location.copying",
  failed: "job.page.location.failed",
  deleting: "job.page.location.deleting",
  deleted: "job.page.location.deleted",
  missing: "job.page.location.missing",
  error: "job.page.location.error",
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
          <span className={`badge location-${location.status}`} title={t(locationWords[location.status])}>
            {statusWord(location.status)}
          </span>{" "}
          <span title={location.display}>
            {location.id === "primary" ? t("job.page.primary") : t("job.page.copy")}: {locationBase(location, props.snapshot.job_id, props.snapshot.run_id)}
          </span>
          {location.copy_run_id && (
            <>
              {" "}
              <Link to={`/runs/${location.copy_run_id}`}>{t("job.page.copyRun")}</Link>
            </>
          )}
          {location.status === "present" && snapshot.status === "present" && (
            <>
              {" "}
              <button title={t("job.page.verifyHereTitle")} onClick={() => verifyHere(location)}>
                {t("job.page.verifyHere")}
              </button>
            </>
          )}
          {location.status === "failed" && (
            <>
              {location.last_error && <span className="muted location-error"> {location.last_error}</span>}{" "}
              <button onClick={() => void props.act(() => api.retryCopy(props.snapshot.run_id, location.id), t("job.page.copyQueued"))}>
                {t("job.page.retry")}
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
    if (!preview || !window.confirm(t("job.retention.applyConfirm", { count: preview.delete.length }))) return;
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
            {t("job.retention.on", { keeps: describeRetention(retention) })}
          </>
        ) : (
          <>
            {t("job.retention.off")} <Link to={`/jobs/${encodeURIComponent(props.job.id)}/edit`}>{t("job.retention.turnOn")}</Link>
          </>
        )}
      </p>
      {preview && (
        <>
          <h3>{t("job.retention.wouldDelete", { count: preview.delete.length })}</h3>
          {preview.delete.length === 0 ? (
            <p className="muted">{t("job.retention.nothing")}</p>
          ) : (
            <ul className="retention-delete">
              {preview.delete.map((snapshot) => (
                <li key={snapshot.run_id}>
                  {formatTime(snapshot.ended_at)} <span className="muted">{formatBytes(snapshot.transfer_bytes)}</span>
                </li>
              ))}
            </ul>
          )}
          <h3>{t("job.retention.keeps", { count: preview.keep.length })}</h3>
          <ul className="retention-keep">
            {preview.keep.map((snapshot) => (
              <li key={snapshot.run_id}>
                {formatTime(snapshot.ended_at)}{" "}
                <span className="muted reasons" data-reasons={(snapshot.reasons ?? []).join(" ")}>
                  {t("job.retention.keptBy", { reasons: (snapshot.reasons ?? []).map((reason) => describeReason(reason, snapshot.buckets?.[reason], retention)).join(t("job.list.separator")) })}
                </span>
              </li>
            ))}
          </ul>
          {retention.enabled && (
            <button className="danger" disabled={preview.delete.length === 0} onClick={() => void apply()}>
              {t("job.retention.apply")}
            </button>
          )}
          {applied && <p role="status">{t("job.retention.queued", { count: applied.length })}</p>}
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
      parts.push(t("job.compare.mode", { from: change.old.mode.toString(8), to: change.new.mode.toString(8) }));
    else if (field === "kind") parts.push(`${change.old?.kind} → ${change.new?.kind}`);
    else if (field === "content") parts.push(t("job.compare.content"));
    else if (field === "mtime") parts.push(t("job.compare.mtime"));
    else if (field === "target") parts.push(t("job.compare.link", { target: change.new?.link_target ?? "" }));
  }
  return parts.join(t("job.list.separator"));
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

  if (ordered.length < 2) return <p className="muted">{t("job.compare.needsTwo")}</p>;
  const option = (snapshot: Snapshot) => (
    <option key={snapshot.run_id} value={snapshot.run_id}>
      {formatTime(snapshot.ended_at)}
    </option>
  );
  return (
    <div className="compare">
      <div className="toolbar">
        <label className="inline">
          {t("job.compare.from")}{" "}
          <select aria-label={t("job.compare.from")} value={from} onChange={(event) => setFrom(event.target.value)}>
            {ordered.map(option)}
          </select>
        </label>
        <label className="inline">
          {t("job.compare.to")}{" "}
          <select aria-label={t("job.compare.toLabel")} value={to} onChange={(event) => setTo(event.target.value)}>
            {ordered.map(option)}
          </select>
        </label>
        <select aria-label={t("job.compare.change")} value={kind} onChange={(event) => setKind(event.target.value as ChangeKind | "all")}>
          <option value="all">{t("job.compare.every")}</option>
          {changeKinds.map((value) => (
            <option key={value} value={value}>
              {changeWord(value)}
            </option>
          ))}
        </select>
        <input type="search" aria-label={t("job.compare.filter")} placeholder={t("job.compare.filter")} value={text} onChange={(event) => setText(event.target.value)} />
        {shared.length > 1 && (
          <label className="inline compare-location" title={t("job.compare.readFromTitle")}>
            {t("job.compare.readFrom")}{" "}
            <select aria-label={t("job.compare.readFrom")} name="compareLocation" value={location ?? chooseLocation(shared, null) ?? ""} onChange={(event) => setPicked(event.target.value)}>
              {shared.map((item) => (
                <option key={item.id} value={item.id}>
                  {item.id === "primary" ? t("job.compare.primaryTarget") : t("job.page.copy")}: {locationBase(item, props.job.id, from)}
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
            <span className="badge change-added">{t("job.compare.added", { count: diff.totals.added })}</span>{" "}
            <span className="badge change-removed">{t("job.compare.removed", { count: diff.totals.removed })}</span>{" "}
            <span className="badge change-changed">{t("job.compare.changed", { count: diff.totals.changed })}</span>
          </p>
          {items.length === 0 ? (
            <p className="muted">{from === to ? t("job.compare.same") : t("job.compare.none")}</p>
          ) : (
            <table className="list changes" data-testid="changes">
              <tbody>
                {items.map((change) => (
                  <tr key={change.path_b64 ?? change.path} data-change={change.change} data-path={change.path}>
                    <td data-label={t("job.compare.change")}>
                      <span className={`badge change-${change.change}`}>{changeWord(change.change)}</span>
                    </td>
                    <td data-label={t("job.compare.path")}>
                      <code className="path">
                        <Name name={change.path} b64={change.path_b64} />
                      </code>
                      {change.kind === "dir" && "/"}
                    </td>
                    <td data-label={t("job.compare.details")} className="muted">
                      {describeChange(change)}
                    </td>
                    <td className="actions">
                      <Link to={browsePath(change.change === "removed" ? from : to, parentOf(change.path, change.path_b64), location)} className="button">
                        {t("job.compare.show")}
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {diff.next_cursor && <button onClick={() => void more()}>{t("job.compare.more")}</button>}
        </>
      )}
    </div>
  );
}
