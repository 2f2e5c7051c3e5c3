import { useEffect, useState } from "react";
import { api, type RecoveredJob, type TargetInput, type TargetSecretInfo } from "../api";
import { ErrorBox, Link } from "../components";
import { t } from "../i18n";
import { formatTime } from "../lib/format";
import { describeTarget } from "../lib/jobForm";

// Recovery (disaster recovery, #26 item 7): point a hub at a target, see the jobs and snapshots found there, and
// import them (with the recovery passphrase for encrypted ones); then restore as usual.

type TargetType = "local_dir" | "webdav" | "rclone";

export function RecoveryPage() {
  const [type, setType] = useState<TargetType>("local_dir");
  const [baseDir, setBaseDir] = useState("");
  const [baseUrl, setBaseUrl] = useState("");
  const [remote, setRemote] = useState("");
  const [secretName, setSecretName] = useState("");
  const [secrets, setSecrets] = useState<TargetSecretInfo[]>([]);
  const [found, setFound] = useState<RecoveredJob[] | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const [passphrase, setPassphrase] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [imported, setImported] = useState<Record<string, unknown> | null>(null);

  useEffect(() => {
    if (type === "local_dir") return;
    api.targetSecrets(type).then(setSecrets, () => setSecrets([]));
  }, [type]);

  const target = (): TargetInput =>
    type === "webdav"
      ? { type, base_url: baseUrl.trim(), secret_name: secretName }
      : type === "rclone"
        ? { type, remote: remote.trim(), secret_name: secretName }
        : { type, base_dir: baseDir.trim() };

  const scan = async () => {
    setBusy(true);
    setImported(null);
    try {
      const result = await api.recoveryScan(target());
      setFound(result.jobs);
      setPicked(result.jobs.map((job) => job.job_id));
      setError(null);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const importJobs = async () => {
    setBusy(true);
    try {
      setImported(await api.recoveryImport({ target: target(), job_ids: picked, ...(passphrase ? { passphrase } : {}) }));
      setPassphrase("");
      setError(null);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const needsPassphrase = (found ?? []).some((job) => picked.includes(job.job_id) && job.encrypted);
  const ready = type === "local_dir" ? baseDir.trim() !== "" : secretName !== "" && (type === "webdav" ? baseUrl.trim() !== "" : remote.trim() !== "");

  return (
    <section className="recovery">
      <header className="page-header">
        <h1>{t("recovery.title")}</h1>
        <Link to="/settings">{t("nav.settings")}</Link>
      </header>
      <p className="muted">
        {t("recovery.intro")}
      </p>
      <fieldset className="card">
        <legend>{t("recovery.target")}</legend>
        <label className="field">
          {t("recovery.kind")}
          <select name="recoveryType" value={type} onChange={(event) => setType(event.target.value as TargetType)}>
            <option value="local_dir">{t("recovery.kind.localDir")}</option>
            <option value="webdav">{t("recovery.kind.webdav")}</option>
            <option value="rclone">{t("recovery.kind.rclone")}</option>
          </select>
        </label>
        {type === "local_dir" && (
          <label className="field">
            {t("recovery.directory")}
            <input name="recoveryBaseDir" value={baseDir} placeholder={t("job.editor.example.localDir")} onChange={(event) => setBaseDir(event.target.value)} />
          </label>
        )}
        {type === "webdav" && (
          <label className="field">
            {t("recovery.baseUrl")} <input name="recoveryBaseUrl" value={baseUrl} placeholder={t("settings.example.webdavUrl")} onChange={(event) => setBaseUrl(event.target.value)} />
          </label>
        )}
        {type === "rclone" && (
          <label className="field">
            {t("recovery.remote")} <input name="recoveryRemote" value={remote} placeholder={t("job.editor.example.rcloneRemote")} onChange={(event) => setRemote(event.target.value)} />
          </label>
        )}
        {type !== "local_dir" && (
          <label className="field">
            {t("recovery.credentials")}
            <select name="recoverySecret" value={secretName} onChange={(event) => setSecretName(event.target.value)}>
              <option value="">{t("common.a.choose")}</option>
              {secrets.map((secret) => (
                <option key={secret.name} value={secret.name}>
                  {secret.name}
                </option>
              ))}
            </select>
            <span className="hint muted">
              {t("recovery.addFirstBefore")}
              <Link to="/settings">{t("nav.settings")}</Link>
              {t("recovery.addFirstAfter")}
            </span>
          </label>
        )}
        <button className="primary" disabled={busy || !ready} onClick={() => void scan()}>
          {busy && found === null ? t("recovery.scanning") : t("recovery.scan")}
        </button>
      </fieldset>
      <ErrorBox error={error} />
      {found !== null && (
        <div className="card recovery-jobs" data-testid="recovery-jobs">
          <h2>{t("recovery.foundOn", { target: describeTarget(target()) })}</h2>
          {found.length === 0 && <p className="muted">{t("recovery.noneFound")}</p>}
          {found.map((job) => (
            <div className="subcard" key={job.job_id} data-job={job.name}>
              <label className="inline recovery-pick">
                <input
                  type="checkbox"
                  checked={picked.includes(job.job_id)}
                  onChange={(event) => setPicked(event.target.checked ? [...picked, job.job_id] : picked.filter((id) => id !== job.job_id))}
                />{" "}
                <strong>{job.name}</strong> <span className="muted mono">{job.job_id}</span>
              </label>
              <p className="muted">
                {t(job.snapshots.length === 1 ? "recovery.snapshots.one" : "recovery.snapshots.other", { count: job.snapshots.length })}
                {job.encrypted
                  ? t(job.has_key_file ? "recovery.encryptedWithCopy" : "recovery.encryptedNoCopy", { key: job.key_name ?? "?" })
                  : t("recovery.notEncrypted")}
              </p>
              <ul className="recovery-snapshots">
                {job.snapshots.map((snapshot) => (
                  <li key={snapshot.run_id}>
                    {formatTime(snapshot.ended_at)}
                    {snapshot.base_run_id ? <span className="muted"> {t("recovery.incremental")}</span> : null}
                    {!snapshot.complete && <span className="warning-text"> {t("recovery.incompleteSkipped")}</span>}
                  </li>
                ))}
              </ul>
            </div>
          ))}
          {found.length > 0 && (
            <>
              {needsPassphrase && (
                <label className="field">
                  {t("recovery.passphrase")}
                  <input name="recoveryPassphrase" type="password" autoComplete="off" value={passphrase} onChange={(event) => setPassphrase(event.target.value)} />
                </label>
              )}
              <button className="primary" disabled={busy || picked.length === 0 || (needsPassphrase && passphrase === "")} onClick={() => void importJobs()}>
                {busy ? t("recovery.importing") : t(picked.length === 1 ? "recovery.import.one" : "recovery.import.other", { count: picked.length })}
              </button>
            </>
          )}
          {imported && (
            <p className="notice" role="status">
              {t("recovery.importedBefore")}
              <Link to="/jobs">{t("nav.jobs")}</Link>
              {t("recovery.importedAfter")}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
