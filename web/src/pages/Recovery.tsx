import { useEffect, useState } from "react";
import { api, type RecoveredJob, type TargetInput, type TargetSecretInfo } from "../api";
import { ErrorBox, Link } from "../components";
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
        <h1>Recover from a target</h1>
        <Link to="/settings">Settings</Link>
      </header>
      <p className="muted">
        For a new or rebuilt hub: give the target the old hub backed up to. Bastion lists the jobs and snapshots it finds there and imports them
        (unscheduled, so nothing runs until you say so); then restore as usual. Encrypted jobs need the recovery passphrase set on the old hub
        (Settings, Encryption keys).
      </p>
      <fieldset className="card">
        <legend>The target</legend>
        <label className="field">
          Kind
          <select name="recoveryType" value={type} onChange={(event) => setType(event.target.value as TargetType)}>
            <option value="local_dir">directory on this host</option>
            <option value="webdav">WebDAV</option>
            <option value="rclone">rclone remote</option>
          </select>
        </label>
        {type === "local_dir" && (
          <label className="field">
            Directory (the job's target directory, which holds one folder per job)
            <input name="recoveryBaseDir" value={baseDir} placeholder="/mnt/usb/bastion" onChange={(event) => setBaseDir(event.target.value)} />
          </label>
        )}
        {type === "webdav" && (
          <label className="field">
            Base URL <input name="recoveryBaseUrl" value={baseUrl} placeholder="https://nas.example/dav/bastion/" onChange={(event) => setBaseUrl(event.target.value)} />
          </label>
        )}
        {type === "rclone" && (
          <label className="field">
            Remote (name:path) <input name="recoveryRemote" value={remote} placeholder="box:backups/bastion" onChange={(event) => setRemote(event.target.value)} />
          </label>
        )}
        {type !== "local_dir" && (
          <label className="field">
            Credentials
            <select name="recoverySecret" value={secretName} onChange={(event) => setSecretName(event.target.value)}>
              <option value="">choose…</option>
              {secrets.map((secret) => (
                <option key={secret.name} value={secret.name}>
                  {secret.name}
                </option>
              ))}
            </select>
            <span className="hint muted">
              Add them in <Link to="/settings">Settings</Link> first.
            </span>
          </label>
        )}
        <button className="primary" disabled={busy || !ready} onClick={() => void scan()}>
          {busy && found === null ? "Scanning…" : "Scan the target"}
        </button>
      </fieldset>
      <ErrorBox error={error} />
      {found !== null && (
        <div className="card recovery-jobs" data-testid="recovery-jobs">
          <h2>Found on {describeTarget(target())}</h2>
          {found.length === 0 && <p className="muted">No Bastion jobs there. Is it the directory the job wrote to (not one job's folder)?</p>}
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
                {job.snapshots.length} snapshot{job.snapshots.length === 1 ? "" : "s"}
                {job.encrypted
                  ? `; encrypted with key ${job.key_name ?? "?"}${job.has_key_file ? ", whose recovery copy is there" : ": no recovery copy of the key there, it cannot be decrypted"}`
                  : "; not encrypted"}
              </p>
              <ul className="recovery-snapshots">
                {job.snapshots.map((snapshot) => (
                  <li key={snapshot.run_id}>
                    {formatTime(snapshot.ended_at)}
                    {snapshot.base_run_id ? <span className="muted"> (incremental)</span> : null}
                    {!snapshot.complete && <span className="warning-text"> incomplete, skipped</span>}
                  </li>
                ))}
              </ul>
            </div>
          ))}
          {found.length > 0 && (
            <>
              {needsPassphrase && (
                <label className="field">
                  Recovery passphrase (set on the old hub for the key)
                  <input name="recoveryPassphrase" type="password" autoComplete="off" value={passphrase} onChange={(event) => setPassphrase(event.target.value)} />
                </label>
              )}
              <button className="primary" disabled={busy || picked.length === 0 || (needsPassphrase && passphrase === "")} onClick={() => void importJobs()}>
                {busy ? "Importing (opening the key takes a few seconds)…" : `Import ${picked.length} job${picked.length === 1 ? "" : "s"}`}
              </button>
            </>
          )}
          {imported && (
            <p className="notice" role="status">
              Imported. The jobs are in <Link to="/jobs">Jobs</Link>, unscheduled: open one, pick a snapshot and restore it; edit it to schedule backups
              again.
            </p>
          )}
        </div>
      )}
    </section>
  );
}
