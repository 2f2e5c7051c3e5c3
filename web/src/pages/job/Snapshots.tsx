import { useState } from "react";
import { api, locationBase, type Job, type Snapshot, type SnapshotLocation } from "../../api";
import { Link } from "../../components";
import { type ConfirmOptions, useConfirm } from "../../dialogs";
import { t, type MessageKey } from "../../i18n";
import { formatBytes, formatTime } from "../../lib/format";
import { browsePath, navigate } from "../../lib/router";
import { describeLocation, savePicks, startVerify } from "../../lib/snapshotActions";

// The job page's Snapshots tab: each snapshot with where it is (the primary target and each copy), browse, restore,
// verify, pin and delete (asked in the UI's own dialog), and two ticked for Compare.

/** Does something, then says `done` and reloads the page's data (JobPage's `act`). */
type Act = (work: () => Promise<unknown>, done?: string) => Promise<void>;
type Confirm = (options: ConfirmOptions) => Promise<boolean>;

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

export function Snapshots(props: { job: Job; snapshots: Snapshot[]; act: Act; onError: (error: unknown) => void }) {
  const [compare, setCompare] = useState<string[]>([]);
  const [confirm, confirmDialog] = useConfirm();
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
  const remove = async (snapshot: Snapshot) => {
    const pinned = snapshot.pinned_at !== null;
    const question =
      snapshot.dependants > 0
        ? t("job.page.deleteBase", { count: snapshot.dependants })
        : pinned
          ? t("job.page.deletePinned")
          : t("job.page.deleteConfirm");
    if (!(await confirm({ title: question, confirm: t("common.a.delete"), danger: true }))) return;
    void props.act(() => api.deleteSnapshot(snapshot.run_id, pinned || snapshot.dependants > 0), t("job.page.deleteQueued"));
  };
  return (
    <>
      {confirmDialog}
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
                    <Locations snapshot={snapshot} act={props.act} onError={props.onError} confirm={confirm} />
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
                      <button onClick={() => void startVerify(confirm, snapshot.run_id, props.onError)}>{t("job.page.verify")}</button>{" "}
                      <button onClick={() => void props.act(() => api.setPinned(snapshot.run_id, snapshot.pinned_at === null))}>
                        {snapshot.pinned_at === null ? t("job.page.pin") : t("job.page.unpin")}
                      </button>{" "}
                      <button className="danger" onClick={() => void remove(snapshot)}>
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
function Locations(props: { snapshot: Snapshot; act: Act; onError: (error: unknown) => void; confirm: Confirm }) {
  const { snapshot } = props;
  const verifyHere = (location: SnapshotLocation) =>
    void startVerify(props.confirm, snapshot.run_id, props.onError, location.id, describeLocation(snapshot.locations ?? [], location.id, snapshot.job_id, snapshot.run_id));
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
