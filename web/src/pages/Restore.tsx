import { useState } from "react";
import { api, ApiError, chooseLocation, locationBase, type ConflictPolicy, type Run, type SnapshotEntry, type TargetSecretInfo } from "../api";
import {
  databaseDestination,
  databaseRestoreProblem,
  dumpedDatabases,
  emptyDatabaseRestore,
  hasGlobals,
  isEngine,
  type DatabaseRestoreForm,
  type Engine,
} from "../lib/databaseRestore";
import { EntryIcon, ErrorBox, Link, LocationPicker } from "../components";
import { useConfirm } from "../dialogs";
import { t, tNodes, type MessageKey } from "../i18n";
import { formatBytes, formatTime } from "../lib/format";
import { navigate } from "../lib/router";
import {
  commonLeadingPath,
  needsConfirmation,
  originalPolicyWords,
  previewBody,
  restoredAs,
  restorePreview,
  stripPrefixFields,
  stripPrefixProblem,
  type StripPrefix,
} from "../lib/restoreWhere";
import { toSelection, type Picked } from "../lib/selection";
import { browsePath } from "../lib/router";
import { loadPicks } from "../lib/snapshotActions";
import { useLoad } from "../lib/useLoad";
import { readableName } from "../lib/names";
import { formatNumber } from "../i18n";
import { Name } from "../names";

// The restore wizard (docs/ui.md, "The restore wizard"): where to (a directory, optionally without the selection's
// leading path; the original location; WebDAV), what to do with names that already exist there, and what (the
// browser's pick, or everything), with what that holds counted before it starts. Start queues a restore run and opens
// its page, which follows its progress, ETA and log.

const policies: { value: ConflictPolicy; label: MessageKey; explanation: MessageKey }[] = [
  { value: "fail", label: "restore.policy.fail", explanation: "restore.policy.fail.explain" },
  { value: "skip", label: "restore.policy.skip", explanation: "restore.policy.skip.explain" },
  { value: "overwrite", label: "restore.policy.overwrite", explanation: "restore.policy.overwrite.explain" },
];

type DestinationType = "local_fs" | "original" | "webdav";

/** How many paths the "restored as" lines show. */
const shownMappings = 3;

export function RestorePage(props: { runId: string; search: string }) {
  const params = new URLSearchParams(props.search);
  const everything = params.get("all") === "1";
  const wantedLocation = params.get("location");
  const [picked, setPicked] = useState<Picked[]>(() => (everything ? [] : loadPicks(props.runId)));
  const [directory, setDirectory] = useState("");
  const [policy, setPolicy] = useState<ConflictPolicy>("fail");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [mode, setMode] = useState<"files" | "database">("files");
  /** The location picked by hand (#26); undefined: the browser's, else the first healthy one. */
  const [pickedLocation, setLocation] = useState<string | null | undefined>(undefined);
  const [destinationType, setDestinationType] = useState<DestinationType>("local_fs");
  const [webdavUrl, setWebdavUrl] = useState("");
  const [webdavSecret, setWebdavSecret] = useState("");
  /** Into the directory without the leading path; the prefix typed (null: the pick's common leading directories). */
  const [strip, setStrip] = useState(false);
  const [typedPrefix, setTypedPrefix] = useState<string | null>(null);
  const [confirm, confirmDialog] = useConfirm();

  const loaded = useLoad(async () => {
    const run = await api.run(props.runId);
    const [snapshots, job] = await Promise.all([api.snapshots(run.job_id).catch(() => []), api.job(run.job_id).catch(() => null)]);
    return { run, job, locations: snapshots.find((snapshot) => snapshot.run_id === run.id)?.locations ?? [] };
  }, [props.runId]);
  const webdavSecrets = useLoad(() => api.targetSecrets("webdav").catch((): TargetSecretInfo[] => []), []).data ?? [];
  const run = loaded.data?.run ?? null;
  const job = loaded.data?.job ?? null;
  const locations = loaded.data?.locations ?? [];
  /** A database job's snapshot: its engine, and whether the user restores the files or into a database. */
  const engine: Engine | null = job ? (isEngine(job.type) ? job.type : isEngine(job.spec?.type) ? (job.spec?.type as Engine) : null) : null;
  const jobSource: unknown = job?.spec?.source ?? null;
  const location = pickedLocation !== undefined ? pickedLocation : chooseLocation(locations, wantedLocation);
  const sentLocation = location && locations.length > 1 ? location : null;

  const wholeSnapshot = everything || picked.length === 0;
  const selection = wholeSnapshot ? undefined : toSelection(picked);
  // What the selection holds and where "original" is, asked again when the pick or the location changes.
  const preview = useLoad(() => restorePreview(props.runId, previewBody(selection, sentLocation)), [props.runId, JSON.stringify(selection ?? null), sentLocation]);
  const originalDirectory = preview.data?.original_directory ?? null;
  const machine = run && run.node_id !== "hub" ? t("restore.machine.agent", { agent: run.node_id }) : t("restore.machine.hub");

  const common = commonLeadingPath(picked);
  const prefix: StripPrefix | null = typedPrefix !== null ? { text: typedPrefix } : common;
  const stripping = strip && destinationType === "local_fs" && !wholeSnapshot;
  const stripProblem = stripping ? (prefix ? stripPrefixProblem(prefix, picked) : "restore.strip.problem.empty") : null;
  const original = destinationType === "original";

  const apiError = error instanceof ApiError ? error : null;
  const fieldError = apiError && apiError.details?.field === "destination" ? apiError.message : null;
  const stripError = apiError && apiError.details?.field === "strip_prefix" ? apiError.message : null;
  const start = async () => {
    if (needsConfirmation(original, policy)) {
      const counted = preview.data?.counted
        ? t(preview.data.files === 1 ? "restore.count.files.one" : "restore.count.files.other", { count: formatNumber(preview.data.files) })
        : t("restore.original.confirm.unknown");
      const confirmed = await confirm({
        title: t("restore.original.confirm.title"),
        confirm: t("restore.original.confirm.button"),
        danger: true,
        body: t("restore.original.confirm.body", { directory: originalDirectory ?? "", machine, files: counted }),
      });
      if (!confirmed) return;
    }
    setBusy(true);
    try {
      const queued = await api.restore(props.runId, {
        destination:
          destinationType === "webdav"
            ? { type: "webdav", base_url: webdavUrl.trim(), secret_name: webdavSecret }
            : original
              ? { type: "original" }
              : { type: "local_fs", directory: directory.trim() },
        conflict_policy: policy,
        selection,
        ...(stripping && prefix ? stripPrefixFields(prefix) : {}),
        ...(sentLocation ? { location: sentLocation } : {}),
      });
      navigate(`/runs/${encodeURIComponent(queued.run_id)}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const intoDatabase = engine !== null && mode === "database";
  const mappings = (into: string, cut: string | null) =>
    picked.slice(0, shownMappings).map((item) => (
      <li key={item.key}>
        <code className="path">
          <Name name={item.path} b64={item.path_b64} />
        </code>{" "}
        → <code className="path">{restoredAs(readableName(item.path, item.path_b64), cut, into)}</code>
      </li>
    ));
  const startDisabled =
    busy ||
    (destinationType === "webdav"
      ? webdavUrl.trim() === "" || webdavSecret === ""
      : original
        ? originalDirectory === null
        : directory.trim() === "" || stripProblem !== null);
  return (
    <section>
      <header className="page-header">
        <h1>{t("restore.title")}</h1>
        <Link to={browsePath(props.runId)} className="button">
          {t("restore.back")}
        </Link>
      </header>
      {run && (
        <p className="muted">
          {t("restore.from", { job: run.job_name ?? run.job_id, time: formatTime(run.ended_at ?? run.started_at) })}
        </p>
      )}
      <ErrorBox error={loaded.error} />
      {engine !== null && (
        <div className="segmented restore-mode" role="radiogroup" aria-label={t("restore.mode")}>
          <label className="inline">
            <input type="radio" name="restoreMode" value="files" checked={mode === "files"} onChange={() => setMode("files")} />{" "}
            {t("restore.mode.files")}
          </label>
          <label className="inline">
            <input type="radio" name="restoreMode" value="database" checked={mode === "database"} onChange={() => setMode("database")} />{" "}
            {t("restore.mode.database", { engine: engine === "postgres" ? "PostgreSQL" : "MariaDB" })}
          </label>
        </div>
      )}
      {locations.length > 1 && run && (
        <LocationPicker locations={locations} value={location} onChange={setLocation} describe={(item) => locationBase(item, run.job_id, run.id)} />
      )}
      {intoDatabase && run && <DatabaseRestore run={run} engine={engine} jobSource={jobSource} location={sentLocation} />}
      {!intoDatabase && (
        <>
      <div className="editor-grid">
        <fieldset className="card">
          <legend>{t("restore.where")}</legend>
          <div className="segmented" role="radiogroup" aria-label={t("restore.destKind")}>
            <label className="inline">
              <input type="radio" name="destinationType" value="local_fs" checked={destinationType === "local_fs"} onChange={() => setDestinationType("local_fs")} />{" "}
              {t("restore.dest.directory")}
            </label>
            {originalDirectory !== null && (
              <label className="inline">
                <input type="radio" name="destinationType" value="original" checked={original} onChange={() => setDestinationType("original")} />{" "}
                {t("restore.dest.original")}
              </label>
            )}
            <label className="inline">
              <input type="radio" name="destinationType" value="webdav" checked={destinationType === "webdav"} onChange={() => setDestinationType("webdav")} />{" "}
              {t("restore.dest.webdav")}
            </label>
          </div>
          <div className={`field${fieldError ? " has-error" : ""}`}>
            {destinationType === "local_fs" && (
              <>
                <label>
                  {t("restore.directory")}
                  <input name="destination" value={directory} placeholder={t("restore.directoryPlaceholder")} onChange={(event) => setDirectory(event.target.value)} />
                </label>
                <p className="hint muted">{t(stripping ? "restore.strip.hint" : "restore.directoryHint")}</p>
              </>
            )}
            {original && originalDirectory !== null && (
              <div className="restore-original">
                <p>{t("restore.original.where", { directory: originalDirectory, machine })}</p>
                {!wholeSnapshot && <ul className="selection restore-mapping" aria-label={t("restore.mapping")}>{mappings(originalDirectory, null)}</ul>}
              </div>
            )}
            {destinationType === "webdav" && (
              <>
                <label>
                  {t("restore.webdavUrl")}
                  <input name="webdavUrl" value={webdavUrl} placeholder={t("restore.webdavPlaceholder")} onChange={(event) => setWebdavUrl(event.target.value)} />
                </label>
                <label>
                  {t("restore.webdavAccount")}
                  <select name="webdavSecret" value={webdavSecret} onChange={(event) => setWebdavSecret(event.target.value)}>
                    <option value="">{t("common.choose")}</option>
                    {webdavSecrets.map((secret) => (
                      <option key={secret.name} value={secret.name}>
                        {secret.name}
                      </option>
                    ))}
                  </select>
                </label>
                <p className="hint muted">
                  {tNodes("restore.webdavHint", { settings: <Link to="/settings">{t("common.settings")}</Link> })}
                </p>
              </>
            )}
            {fieldError && (
              <p className="field-error" role="alert">
                {fieldError}
              </p>
            )}
          </div>
          {destinationType === "local_fs" && !wholeSnapshot && (
            <div className={`field${stripProblem || stripError ? " has-error" : ""}`}>
              <label className="inline">
                <input type="checkbox" name="stripPrefix" checked={strip} onChange={(event) => setStrip(event.target.checked)} /> {t("restore.strip")}
              </label>
              {strip && (
                <>
                  <label>
                    {t("restore.strip.prefix")}
                    <input
                      name="prefix"
                      value={prefix?.text ?? ""}
                      readOnly={typedPrefix === null && common?.b64 !== undefined}
                      onChange={(event) => setTypedPrefix(event.target.value)}
                    />
                  </label>
                  {stripProblem ? (
                    <p className="field-error" role="alert">
                      {t(stripProblem)}
                    </p>
                  ) : (
                    directory.trim() !== "" && (
                      <ul className="selection restore-mapping" aria-label={t("restore.mapping")}>
                        {mappings(directory.trim(), prefix?.text ?? null)}
                      </ul>
                    )
                  )}
                </>
              )}
              {stripError && (
                <p className="field-error" role="alert">
                  {stripError}
                </p>
              )}
            </div>
          )}
          <div className="field" role="radiogroup" aria-label={t("restore.conflict")}>
            <span>{t(original ? "restore.original.conflict" : "restore.conflict")}</span>
            {policies.map((option) => (
              <label className="inline option" key={option.value}>
                <input type="radio" name="conflict" value={option.value} checked={policy === option.value} onChange={() => setPolicy(option.value)} />{" "}
                <strong>{t(option.label)}</strong> <span className="muted">{t(original ? originalPolicyWords[option.value] : option.explanation)}</span>
              </label>
            ))}
          </div>
          {needsConfirmation(original, policy) && (
            <p className="warning">{t("restore.original.overwriteWarning")}</p>
          )}
        </fieldset>
        <fieldset className="card">
          <legend>{t("restore.what")}</legend>
          {wholeSnapshot ? (
            <p>{t("restore.everything")}</p>
          ) : (
            <ul className="selection" aria-label={t("restore.selection")}>
              {picked.map((item) => (
                <li key={item.key}>
                  <EntryIcon kind={item.dir ? "dir" : "file"} />
                  <code className="path">
                    <Name name={item.path} b64={item.path_b64} />
                  </code>
                  {item.dir && <span className="muted"> {t("restore.below")}</span>}{" "}
                  <button className="ghost" aria-label={t("a11y.restore.remove", { name: readableName(item.path, item.path_b64) })} onClick={() => setPicked(picked.filter((other) => other.key !== item.key))}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
          <p className="restore-count" role="status">
            {preview.loading
              ? t("restore.count.counting")
              : preview.data?.counted
                ? t("restore.count.summary", {
                    files: t(preview.data.files === 1 ? "restore.count.files.one" : "restore.count.files.other", { count: formatNumber(preview.data.files) }),
                    dirs: t(preview.data.dirs === 1 ? "restore.count.dirs.one" : "restore.count.dirs.other", { count: formatNumber(preview.data.dirs) }),
                    bytes: formatBytes(preview.data.bytes),
                  })
                : t("restore.count.notCounted", {
                    reason: preview.data?.reason ?? (preview.error instanceof Error ? preview.error.message : t("restore.count.unknown")),
                  })}
          </p>
        </fieldset>
      </div>
      <ErrorBox error={error} />
      <div className="editor-actions">
        <button className="primary" disabled={startDisabled} onClick={() => void start()}>
          {t(original ? "restore.original.start" : "restore.start")}
        </button>
      </div>
      {confirmDialog}
        </>
      )}
    </section>
  );
}

/** Restore into a database: the server, each dumped database with the name it gets, roles, and replacing. */
function DatabaseRestore(props: { run: Run; engine: Engine; jobSource: unknown; location: string | null }) {
  const { run, engine, jobSource } = props;
  const loaded = useLoad(async () => {
    const [secrets, listing] = await Promise.all([
      api.targetSecrets(engine).catch((): TargetSecretInfo[] => []),
      // Without the listing the form still starts from the summary's dumps, and says why it could not read more.
      api.entries(run.id, new URLSearchParams({ prefix: engine, limit: "1000" }).toString()).then(
        (page) => ({ items: page.items, error: null as unknown }),
        (caught: unknown) => ({ items: [] as SnapshotEntry[], error: caught }),
      ),
    ]);
    return { secrets, ...listing };
  }, [run, engine]);
  const [edited, setForm] = useState<DatabaseRestoreForm | null>(null);
  const [failed, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const entries = loaded.data?.items ?? null;
  const secrets = loaded.data?.secrets ?? [];
  const form = edited ?? (entries ? emptyDatabaseRestore(dumpedDatabases(engine, run.summary, entries), jobSource) : null);
  const error = failed ?? loaded.data?.error ?? null;

  if (!form || !entries) return <p className="muted">{t("restore.db.reading")}</p>;
  const change = (patch: Partial<DatabaseRestoreForm>) => setForm({ ...form, ...patch });
  const problem = databaseRestoreProblem(form);
  const defaults = engine === "postgres" ? { host: "/var/run/postgresql", port: "5432" } : { host: "/run/mysqld/mysqld.sock", port: "3306" };
  const fieldError = error instanceof ApiError ? String(error.details?.field ?? "") : "";
  const start = async () => {
    setBusy(true);
    try {
      const queued = await api.restore(run.id, { destination: databaseDestination(form), ...(props.location ? { location: props.location } : {}) });
      navigate(`/runs/${encodeURIComponent(queued.run_id)}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <div className="editor-grid">
        <fieldset className="card">
          <legend>{t("restore.db.server")}</legend>
          <p className="hint muted">{t("restore.db.serverHint")}</p>
          <div className="row">
            <label className="field">
              {t("restore.db.host")}
              <input name="restoreHost" placeholder={defaults.host} value={form.host} onChange={(event) => change({ host: event.target.value })} />
            </label>
            <label className="field">
              {t("restore.db.port")}
              <input name="restorePort" className="num-wide" type="number" min={1} max={65535} placeholder={defaults.port} value={form.port} onChange={(event) => change({ port: event.target.value })} />
            </label>
          </div>
          <label className="field">
            {t("restore.db.user")}
            <input name="restoreUser" value={form.user} autoComplete="off" onChange={(event) => change({ user: event.target.value })} />
          </label>
          <label className="field">
            {t("restore.db.password")}
            <select name="restoreSecret" value={form.secretName} onChange={(event) => change({ secretName: event.target.value })}>
              <option value="">{t("restore.db.noPassword")}</option>
              {secrets.map((secret) => (
                <option key={secret.name} value={secret.name}>
                  {secret.name}
                </option>
              ))}
            </select>
          </label>
          <p className="hint muted">
            {tNodes("restore.db.passwordHint", { settings: <Link to="/settings">{t("common.settings")}</Link> })}
          </p>
        </fieldset>
        <fieldset className="card db-map">
          <legend>{t("restore.db.databases")}</legend>
          {form.rows.length === 0 && <p className="warning">{t("restore.db.none")}</p>}
          {form.rows.map((row, index) => (
            <div className="row" key={row.from} role="group" aria-label={t("restore.db.database", { name: row.from })}>
              <label className="inline">
                <input
                  type="checkbox"
                  checked={row.restore}
                  onChange={(event) => change({ rows: form.rows.map((other, at) => (at === index ? { ...other, restore: event.target.checked } : other)) })}
                />{" "}
                {tNodes("restore.db.into", { name: <code>{row.from}</code> })}
              </label>
              <input
                type="text"
                name={`restoreName-${row.from}`}
                aria-label={t("restore.db.newName", { name: row.from })}
                value={row.to}
                disabled={!row.restore}
                onChange={(event) => change({ rows: form.rows.map((other, at) => (at === index ? { ...other, to: event.target.value } : other)) })}
              />
            </div>
          ))}
          {hasGlobals(engine, entries) && (
            <label className="inline">
              <input type="checkbox" name="restoreGlobals" checked={form.globals} onChange={(event) => change({ globals: event.target.checked })} />{" "}
              {t(engine === "postgres" ? "restore.db.globals.postgres" : "restore.db.globals.mariadb")}
            </label>
          )}
          <label className="inline">
            <input type="checkbox" name="dropExisting" checked={form.dropExisting} onChange={(event) => change({ dropExisting: event.target.checked })} />{" "}
            {t("restore.db.dropExisting")}
          </label>
          {form.dropExisting ? (
            <p className="warning" role="alert">
              {t("restore.db.dropWarning")}
            </p>
          ) : (
            <p className="hint muted">{t("restore.db.noDrop")}</p>
          )}
          {fieldError.startsWith("destination") && error instanceof ApiError && (
            <p className="field-error" role="alert">
              {error.message}
            </p>
          )}
        </fieldset>
      </div>
      <ErrorBox error={error} />
      {problem && <p className="muted">{problem}</p>}
      <div className="editor-actions">
        <button className="primary" disabled={busy || problem !== null} onClick={() => void start()}>
          {t("restore.db.start")}
        </button>
      </div>
    </>
  );
}
