import { useEffect, useState } from "react";
import { api, ApiError, chooseLocation, locationBase, type ConflictPolicy, type Run, type SnapshotEntry, type SnapshotLocation, type TargetSecretInfo } from "../api";
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
import { t, tNodes, type MessageKey } from "../i18n";
import { formatTime } from "../lib/format";
import { navigate } from "../lib/router";
import { toSelection, type Picked } from "../lib/selection";
import { browsePath } from "../lib/router";
import { loadPicks } from "../lib/snapshotActions";
import { readableName } from "../lib/names";
import { Name } from "../names";

// The restore wizard: where to, what to do with names that already exist there, and what (the browser's pick, or
// everything). Start queues a restore run and opens its page, which follows its progress, ETA and log.

const policies: { value: ConflictPolicy; label: MessageKey; explanation: MessageKey }[] = [
  { value: "fail", label: "restore.policy.fail", explanation: "restore.policy.fail.explain" },
  { value: "skip", label: "restore.policy.skip", explanation: "restore.policy.skip.explain" },
  { value: "overwrite", label: "restore.policy.overwrite", explanation: "restore.policy.overwrite.explain" },
];

export function RestorePage(props: { runId: string; search: string }) {
  const everything = new URLSearchParams(props.search).get("all") === "1";
  const [run, setRun] = useState<Run | null>(null);
  const [picked, setPicked] = useState<Picked[]>(() => (everything ? [] : loadPicks(props.runId)));
  const [directory, setDirectory] = useState("");
  const [policy, setPolicy] = useState<ConflictPolicy>("fail");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  /** A database job's snapshot: its engine, and whether the user restores the files or into a database. */
  const [engine, setEngine] = useState<Engine | null>(null);
  const [jobSource, setJobSource] = useState<unknown>(null);
  const [mode, setMode] = useState<"files" | "database">("files");
  /** Where the snapshot is read from (#26): its locations, and the one picked (null: the server's default). */
  const [locations, setLocations] = useState<SnapshotLocation[]>([]);
  const [location, setLocation] = useState<string | null>(null);
  /** Files go to a directory, or to a WebDAV folder. */
  const [destinationType, setDestinationType] = useState<"local_fs" | "webdav">("local_fs");
  const [webdavUrl, setWebdavUrl] = useState("");
  const [webdavSecret, setWebdavSecret] = useState("");
  const [webdavSecrets, setWebdavSecrets] = useState<TargetSecretInfo[]>([]);

  useEffect(() => {
    api.targetSecrets("webdav").then(setWebdavSecrets, () => setWebdavSecrets([]));
  }, []);

  useEffect(() => {
    api.run(props.runId).then((loaded) => {
      setRun(loaded);
      api.snapshots(loaded.job_id).then(
        (list) => {
          const found = list.find((snapshot) => snapshot.run_id === loaded.id)?.locations ?? [];
          setLocations(found);
          // The browser hands over where it read (`?location=`); else the first healthy one.
          setLocation(chooseLocation(found, new URLSearchParams(props.search).get("location")));
        },
        () => setLocations([]),
      );
      api.job(loaded.job_id).then(
        (job) => {
          setJobSource(job.spec?.source ?? null);
          setEngine(isEngine(job.type) ? job.type : isEngine(job.spec?.type) ? (job.spec?.type as Engine) : null);
        },
        () => setEngine(null),
      );
    }, setError);
  }, [props.runId, props.search]);

  const wholeSnapshot = everything || picked.length === 0;
  const fieldError = error instanceof ApiError && error.details?.field === "destination" ? error.message : null;
  const start = async () => {
    setBusy(true);
    try {
      const queued = await api.restore(props.runId, {
        destination:
          destinationType === "webdav"
            ? { type: "webdav", base_url: webdavUrl.trim(), secret_name: webdavSecret }
            : { type: "local_fs", directory: directory.trim() },
        conflict_policy: policy,
        selection: wholeSnapshot ? undefined : toSelection(picked),
        ...(location && locations.length > 1 ? { location } : {}),
      });
      navigate(`/runs/${encodeURIComponent(queued.run_id)}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const intoDatabase = engine !== null && mode === "database";
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
      {intoDatabase && run && <DatabaseRestore run={run} engine={engine} jobSource={jobSource} location={locations.length > 1 ? location : null} />}
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
            <label className="inline">
              <input type="radio" name="destinationType" value="webdav" checked={destinationType === "webdav"} onChange={() => setDestinationType("webdav")} />{" "}
              {t("restore.dest.webdav")}
            </label>
          </div>
          <div className={`field${fieldError ? " has-error" : ""}`}>
            {destinationType === "local_fs" ? (
              <>
                <label>
                  {t("restore.directory")}
                  <input name="destination" value={directory} placeholder={t("restore.directoryPlaceholder")} onChange={(event) => setDirectory(event.target.value)} />
                </label>
                <p className="hint muted">{t("restore.directoryHint")}</p>
              </>
            ) : (
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
          <div className="field" role="radiogroup" aria-label={t("restore.conflict")}>
            <span>{t("restore.conflict")}</span>
            {policies.map((option) => (
              <label className="inline option" key={option.value}>
                <input type="radio" name="conflict" value={option.value} checked={policy === option.value} onChange={() => setPolicy(option.value)} />{" "}
                <strong>{t(option.label)}</strong> <span className="muted">{t(option.explanation)}</span>
              </label>
            ))}
          </div>
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
        </fieldset>
      </div>
      <ErrorBox error={error} />
      <div className="editor-actions">
        <button
          className="primary"
          disabled={busy || (destinationType === "local_fs" ? directory.trim() === "" : webdavUrl.trim() === "" || webdavSecret === "")}
          onClick={() => void start()}
        >
          {t("restore.start")}
        </button>
      </div>
        </>
      )}
    </section>
  );
}

/** Restore into a database: the server, each dumped database with the name it gets, roles, and replacing. */
function DatabaseRestore(props: { run: Run; engine: Engine; jobSource: unknown; location: string | null }) {
  const { run, engine, jobSource } = props;
  const [entries, setEntries] = useState<SnapshotEntry[] | null>(null);
  const [form, setForm] = useState<DatabaseRestoreForm | null>(null);
  const [secrets, setSecrets] = useState<TargetSecretInfo[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.targetSecrets(engine).then(setSecrets, () => setSecrets([]));
    api.entries(run.id, new URLSearchParams({ prefix: engine, limit: "1000" }).toString()).then(
      (page) => {
        setEntries(page.items);
        setForm(emptyDatabaseRestore(dumpedDatabases(engine, run.summary, page.items), jobSource));
      },
      (caught) => {
        setEntries([]);
        setForm(emptyDatabaseRestore(dumpedDatabases(engine, run.summary, []), jobSource));
        setError(caught);
      },
    );
  }, [run, engine, jobSource]);

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
