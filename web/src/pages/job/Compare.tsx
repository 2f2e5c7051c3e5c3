import { useMemo, useState } from "react";
import { api, chooseLocation, locationBase, sharedLocations, type ChangeKind, type DiffPage, type Job, type Snapshot, type SnapshotChange } from "../../api";
import { ErrorBox, Link } from "../../components";
import { t, type MessageKey } from "../../i18n";
import { formatBytes, formatTime } from "../../lib/format";
import { parentOf } from "../../lib/names";
import { browsePath } from "../../lib/router";
import { Name } from "../../names";
import { useLoad } from "../../lib/useLoad";

// The job page's Compare tab: what changed between any two snapshots (the diff, filtered by kind and text, paged),
// read where both are (#26).

const changeKeys: Record<string, MessageKey> = { added: "job.compare.kind.added", removed: "job.compare.kind.removed", changed: "job.compare.kind.changed" };
const changeWord = (change: string) => (changeKeys[change] ? t(changeKeys[change]) : change);

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

export function Compare(props: { job: Job; snapshots: Snapshot[]; search: string }) {
  const params = new URLSearchParams(props.search);
  // Oldest first: the API lists newest first, in recording order (snapshots of the same second stay in order).
  const ordered = useMemo(() => [...props.snapshots].reverse(), [props.snapshots]);
  const [from, setFrom] = useState(params.get("from") ?? ordered[ordered.length - 2]?.run_id ?? "");
  const [to, setTo] = useState(params.get("to") ?? ordered[ordered.length - 1]?.run_id ?? "");
  const [kind, setKind] = useState<ChangeKind | "all">("all");
  const [text, setText] = useState("");
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

  // The first page of the diff for the picks; More appends the next pages to it.
  const loaded = useLoad(async (): Promise<DiffPage | null> => (from && to ? api.diff(props.job.id, query.toString()) : null), [props.job.id, query, from, to]);
  const diff = loaded.data;
  const items: SnapshotChange[] = diff?.items ?? [];
  const [moreError, setMoreError] = useState<unknown>(null);
  const error = moreError ?? loaded.error;

  const more = async () => {
    if (!diff?.next_cursor) return;
    const parameters = new URLSearchParams(query);
    parameters.set("cursor", diff.next_cursor);
    try {
      const next = await api.diff(props.job.id, parameters.toString());
      loaded.setData({ ...next, items: [...diff.items, ...next.items] });
      setMoreError(null);
    } catch (caught) {
      setMoreError(caught);
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
