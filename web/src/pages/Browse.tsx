import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from "react";
import { api, chooseLocation, locationBase, type EntriesPage, type PathVersion, type Run, type SnapshotEntry, type SnapshotLocation } from "../api";
import { EntryIcon, ErrorBox, Link, LocationPicker } from "../components";
import { t, tNodes, type MessageKey } from "../i18n";
import { formatBytes, formatTime } from "../lib/format";
import { browsePath, navigate } from "../lib/router";
import { click, emptyPick, entryKey, extend, moveTo, pickAll, unpick, type PickState } from "../lib/selection";
import { parentOf, readableName } from "../lib/names";
import { CopyName, Dialog, Name } from "../names";
import { describeLocation, savePicks, startVerify } from "../lib/snapshotActions";
import { useConfirm } from "../dialogs";

// The snapshot browser: one flat list per directory (the catalog answers one level at a time, however big the
// snapshot), breadcrumbs, name search below the current directory, and a pick that spans directories for a restore.

export function BrowsePage(props: { runId: string; search: string }) {
  const params = new URLSearchParams(props.search);
  const directory = params.get("path") ?? "";
  const directoryB64 = params.get("path_b64");
  /** Where the snapshot is read (#26): the URL's `location` (kept across a reload), else the server's default. */
  const wanted = params.get("location");
  const [run, setRun] = useState<Run | null>(null);
  const [locations, setLocations] = useState<SnapshotLocation[]>([]);
  const [page, setPage] = useState<EntriesPage | null>(null);
  const [items, setItems] = useState<SnapshotEntry[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [query, setQuery] = useState("");
  const [search, setSearch] = useState("");
  const [pick, setPick] = useState<PickState>(emptyPick);
  const [versions, setVersions] = useState<{ entry: SnapshotEntry; items: PathVersion[] } | null>(null);
  /** The row the keyboard is on (roving focus: only its checkbox is in the Tab order). */
  const [focused, setFocused] = useState(0);
  const [confirm, confirmDialog] = useConfirm();
  const table = useRef<HTMLTableElement>(null);

  useEffect(() => {
    api.run(props.runId).then((loaded) => {
      setRun(loaded);
      api.snapshots(loaded.job_id).then(
        (list) => setLocations(list.find((snapshot) => snapshot.run_id === loaded.id)?.locations ?? []),
        () => setLocations([]),
      );
    }, setError);
  }, [props.runId]);
  const location = chooseLocation(locations, wanted);
  const here = (entry?: { path: string; path_b64?: string }) => browsePath(props.runId, entry, wanted);
  const readFrom = (id: string) =>
    navigate(browsePath(props.runId, directoryB64 ? { path: directory, path_b64: directoryB64 } : { path: directory }, id), true);

  // Typing settles for a moment before the search runs.
  useEffect(() => {
    const timer = setTimeout(() => setSearch(query.trim()), 250);
    return () => clearTimeout(timer);
  }, [query]);

  const listing = useMemo(() => {
    const parameters = new URLSearchParams({ limit: "200" });
    if (directoryB64) parameters.set("prefix_b64", directoryB64);
    else if (directory) parameters.set("prefix", directory);
    if (search) parameters.set("q", search);
    if (wanted) parameters.set("location", wanted);
    return parameters;
  }, [directory, directoryB64, search, wanted]);

  useEffect(() => {
    let alive = true;
    setPage(null);
    api.entries(props.runId, listing.toString()).then(
      (loaded) => {
        if (!alive) return;
        setPage(loaded);
        setItems(loaded.items);
        setError(null);
      },
      (caught) => alive && setError(caught),
    );
    setPick((current) => ({ ...current, anchor: null }));
    setFocused(0);
    return () => {
      alive = false;
    };
  }, [props.runId, listing]);

  const more = async () => {
    if (!page?.next_cursor) return;
    const parameters = new URLSearchParams(listing);
    parameters.set("cursor", page.next_cursor);
    try {
      const next = await api.entries(props.runId, parameters.toString());
      setPage(next);
      setItems((current) => [...current, ...next.items]);
    } catch (caught) {
      setError(caught);
    }
  };

  const onRowClick = (index: number, event: MouseEvent) => {
    setPick((current) => click(current, items, index, event.shiftKey));
  };

  /** The list by keyboard (docs/ui.md, "Accessibility"): arrows, Home and End move; Shift+arrows extend the pick;
   * Space (on the row's checkbox) toggles; Enter opens a directory or a file's versions. */
  const onListKey = (index: number, event: KeyboardEvent) => {
    const entry = items[index];
    if (event.key === "Enter" && entry && (event.target as HTMLElement).tagName === "INPUT") {
      event.preventDefault();
      if (entry.kind === "dir") {
        setQuery("");
        navigate(here(entry));
      } else if (entry.kind === "file") void showVersions(entry);
      return;
    }
    const next = moveTo(event.key, index, items.length);
    if (next === null) return;
    event.preventDefault();
    if (event.shiftKey) setPick((current) => extend(current, items, index, next));
    setFocused(next);
    table.current?.querySelectorAll<HTMLInputElement>("tbody input[type=checkbox]")[next]?.focus();
  };

  const showVersions = async (entry: SnapshotEntry) => {
    if (!run) return;
    try {
      const loaded = entry.path_b64 ? await api.versionsB64(run.job_id, entry.path_b64, wanted) : await api.versions(run.job_id, entry.path, wanted);
      setVersions({ entry, items: loaded.items });
    } catch (caught) {
      setError(caught);
    }
  };

  const restore = (everything: boolean) => {
    savePicks(props.runId, everything ? [] : [...pick.picked.values()]);
    const query = new URLSearchParams(everything ? { all: "1" } : {});
    if (wanted) query.set("location", wanted);
    navigate(`/runs/${encodeURIComponent(props.runId)}/restore${query.toString() ? `?${query}` : ""}`);
  };

  const crumbs = directory.split("/").filter(Boolean);
  const allPicked = items.length > 0 && items.every((entry) => pick.picked.has(entryKey(entry)));
  return (
    <section>
      {confirmDialog}
      <header className="page-header">
        <h1>
          {tNodes("browse.title", { id: <code>{props.runId.slice(0, 8)}</code> })}
        </h1>
        <div className="actions">
          {run && (
            <Link to={`/jobs/${encodeURIComponent(run.job_id)}?tab=snapshots`} className="button">
              {run.job_name ?? t("browse.job")}
            </Link>
          )}
          <button onClick={() => void startVerify(confirm, props.runId, setError, wanted ?? undefined, run ? describeLocation(locations, wanted, run.job_id, run.id) : undefined)}>
            {t("common.verify")}
          </button>
          <button onClick={() => restore(true)}>{t("browse.restoreAll")}</button>
          <button className="primary" disabled={pick.picked.size === 0} onClick={() => restore(false)}>
            {t("browse.restoreSelected", { count: pick.picked.size })}
          </button>
        </div>
      </header>
      {run && <p className="muted">{t("browse.backedUp", { time: formatTime(run.ended_at ?? run.started_at), job: run.job_name ?? run.job_id })}</p>}
      {locations.length > 1 && run && (
        <LocationPicker
          locations={locations}
          value={location}
          onChange={readFrom}
          describe={(item) => locationBase(item, run.job_id, run.id)}
          hint={t("browse.locationHint")}
        />
      )}
      <nav className="breadcrumbs" aria-label={t("browse.path")}>
        <Link to={here()}>{t("browse.top")}</Link>
        {crumbs.map((name, index) => (
          <span key={index}>
            {" / "}
            <Link to={here({ path: crumbs.slice(0, index + 1).join("/") })}>{name}</Link>
          </span>
        ))}
        {directoryB64 && (
          <span>
            {" / "}
            <Name name={directory} b64={directoryB64} className="wrap" />
          </span>
        )}
      </nav>
      <div className="toolbar">
        <input type="search" placeholder={t("browse.search")} aria-label={t("browse.searchLabel")} value={query} onChange={(event) => setQuery(event.target.value)} />
        <label className="inline">
          <input type="checkbox" checked={allPicked} onChange={(event) => setPick((current) => pickAll(current, items, event.target.checked))} />{" "}
          {t("browse.selectAll")}
        </label>
        <span className="muted">{t("browse.rangeHint")}</span>
        <span className="muted" id="browse-keys">
          {t("a11y.browse.keys")}
        </span>
      </div>
      <ErrorBox error={error} />
      {pick.picked.size > 0 && (
        <div className="chips" aria-label={t("browse.selected")}>
          {[...pick.picked.values()].map((item) => (
            <span className="chip" key={item.key}>
              <EntryIcon kind={item.dir ? "dir" : "file"} />
              <Name name={item.path} b64={item.path_b64} />
              <button className="ghost" aria-label={t("a11y.browse.unselect", { name: readableName(item.path, item.path_b64) })} onClick={() => setPick((current) => unpick(current, item.key))}>
                ×
              </button>
            </span>
          ))}
        </div>
      )}
      {page === null && !error && <p className="muted">{t("common.loading")}</p>}
      {page && items.length === 0 && <p className="muted">{search ? t("browse.noMatch") : t("browse.emptyDir")}</p>}
      {items.length > 0 && (
        <table className="list entries" data-testid="entries" ref={table}>
          <thead>
            <tr>
              <th aria-label={t("browse.selected")} />
              <th>{t("common.name")}</th>
              <th>{t("common.size")}</th>
              <th>{t("common.modified")}</th>
              <th aria-label={t("common.actions")} />
            </tr>
          </thead>
          <tbody>
            {items.map((entry, index) => {
              const key = entryKey(entry);
              const picked = pick.picked.has(key);
              return (
                <tr
                  key={key}
                  className={picked ? "picked" : undefined}
                  data-name={entry.name}
                  onClick={(event) => onRowClick(index, event)}
                  onKeyDown={(event) => onListKey(index, event)}
                >
                  <td>
                    <input
                      type="checkbox"
                      aria-label={t("a11y.browse.selectRow", { name: readableName(search ? entry.path : entry.name, search ? entry.path_b64 : entry.name_b64) })}
                      aria-describedby="browse-keys"
                      tabIndex={index === Math.min(focused, items.length - 1) ? 0 : -1}
                      onFocus={() => setFocused(index)}
                      checked={picked}
                      readOnly
                    />
                  </td>
                  <td className="name-col" data-label={t("common.name")}>
                    <EntryIcon kind={entry.kind} />
                    {entry.kind === "dir" ? (
                      <a
                        href={here(entry)}
                        onClick={(event) => {
                          event.preventDefault();
                          event.stopPropagation();
                          setQuery("");
                          navigate(here(entry));
                        }}
                      >
                        {search ? <Name name={entry.path} b64={entry.path_b64} /> : <Name name={entry.name} b64={entry.name_b64} />}
                      </a>
                    ) : search ? (
                      <Name name={entry.path} b64={entry.path_b64} />
                    ) : (
                      <Name name={entry.name} b64={entry.name_b64} />
                    )}
                    {entry.link_target !== null && <span className="muted link-target"> → {entry.link_target}</span>}
                  </td>
                  <td data-label={t("common.size")}>{entry.kind === "file" ? formatBytes(entry.size) : ""}</td>
                  <td className="modified-col" data-label={t("common.modified")}>{entry.mtime !== null && !entry.implied ? formatTime(entry.mtime) : ""}</td>
                  <td className="actions">
                    <CopyName name={entry.name} b64={entry.name_b64} compact />
                    {entry.kind === "file" && (
                      <button
                        className="ghost"
                        onClick={(event) => {
                          event.stopPropagation();
                          void showVersions(entry);
                        }}
                      >
                        {t("browse.versions")}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {page?.next_cursor && (
        <p>
          <button onClick={() => void more()}>{t("browse.more")}</button>
        </p>
      )}
      {versions && <VersionsPanel entry={versions.entry} items={versions.items} current={props.runId} onClose={() => setVersions(null)} />}
    </section>
  );
}

const changeText: Record<PathVersion["change"], MessageKey> = {
  added: "browse.change.added",
  changed: "browse.change.changed",
  unchanged: "browse.change.unchanged",
  removed: "browse.change.removed",
  absent: "browse.change.absent",
};

/** One file across the job's snapshots, newest first. */
function VersionsPanel(props: { entry: SnapshotEntry; items: PathVersion[]; current: string; onClose: () => void }) {
  const directory = parentOf(props.entry.path, props.entry.path_b64);
  return (
    <Dialog className="versions" title={t("a11y.versions.title", { name: readableName(props.entry.name, props.entry.name_b64) })} onClose={props.onClose}>
      <dl className="facts name-details">
        <dt>{t("a11y.name.path")}</dt>
        <dd>
          <Name name={props.entry.path} b64={props.entry.path_b64} className="wrap" /> <CopyName name={props.entry.name} b64={props.entry.name_b64} />{" "}
          <CopyName name={props.entry.path} b64={props.entry.path_b64} label={t("a11y.name.copyPath")} />
        </dd>
      </dl>
      <table className="list">
        <thead>
          <tr>
            <th>{t("browse.col.snapshot")}</th>
            <th>{t("browse.col.change")}</th>
            <th>{t("common.size")}</th>
            <th>{t("common.modified")}</th>
            <th>{t("browse.col.content")}</th>
          </tr>
        </thead>
        <tbody>
          {props.items.map((version) => (
            <tr key={version.run_id} className={version.run_id === props.current ? "picked" : undefined}>
              <td data-label={t("browse.col.snapshot")}>
                <Link to={browsePath(version.run_id, directory)}>{formatTime(version.ended_at)}</Link>
                {version.pinned && <span className="badge">{t("browse.pinned")}</span>}
              </td>
              <td data-label={t("browse.col.change")}>
                <span className={`badge change-${version.change}`}>{t(changeText[version.change])}</span>
              </td>
              <td data-label={t("common.size")}>{version.entry ? formatBytes(version.entry.size) : ""}</td>
              <td data-label={t("common.modified")}>{version.entry?.mtime != null ? formatTime(version.entry.mtime) : ""}</td>
              <td data-label={t("browse.col.content")}>
                <code title={version.entry?.hash ?? undefined}>{version.entry?.hash?.slice(0, 12) ?? ""}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
