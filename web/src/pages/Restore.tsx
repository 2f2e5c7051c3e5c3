import { useEffect, useState } from "react";
import { api, ApiError, type ConflictPolicy, type Run } from "../api";
import { ErrorBox, Link } from "../components";
import { formatTime } from "../lib/format";
import { navigate } from "../lib/router";
import { toSelection, type Picked } from "../lib/selection";
import { browsePath, EntryIcon } from "./Browse";
import { loadPicks } from "./snapshotActions";

// The restore wizard: where to, what to do with names that already exist there, and what (the browser's pick, or
// everything). Start queues a restore run and opens its page, which follows its progress, ETA and log.

const policies: { value: ConflictPolicy; label: string; explanation: string }[] = [
  { value: "fail", label: "Stop", explanation: "Stop at the first name that already exists; nothing that exists is changed." },
  { value: "skip", label: "Keep existing", explanation: "Leave what exists as it is and restore everything else." },
  { value: "overwrite", label: "Overwrite", explanation: "Replace what exists with the snapshot's version." },
];

export function RestorePage(props: { runId: string; search: string }) {
  const everything = new URLSearchParams(props.search).get("all") === "1";
  const [run, setRun] = useState<Run | null>(null);
  const [picked, setPicked] = useState<Picked[]>(() => (everything ? [] : loadPicks(props.runId)));
  const [directory, setDirectory] = useState("");
  const [policy, setPolicy] = useState<ConflictPolicy>("fail");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.run(props.runId).then(setRun, setError);
  }, [props.runId]);

  const wholeSnapshot = everything || picked.length === 0;
  const fieldError = error instanceof ApiError && error.details?.field === "destination" ? error.message : null;
  const start = async () => {
    setBusy(true);
    try {
      const queued = await api.restore(props.runId, {
        destination: { type: "local_fs", directory: directory.trim() },
        conflict_policy: policy,
        selection: wholeSnapshot ? undefined : toSelection(picked),
      });
      navigate(`/runs/${encodeURIComponent(queued.run_id)}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <header className="page-header">
        <h1>Restore</h1>
        <Link to={browsePath(props.runId)} className="button">
          Back to the snapshot
        </Link>
      </header>
      {run && (
        <p className="muted">
          From the snapshot of {run.job_name ?? run.job_id} taken {formatTime(run.ended_at ?? run.started_at)}.
        </p>
      )}
      <div className="editor-grid">
        <fieldset className="card">
          <legend>Where to</legend>
          <div className={`field${fieldError ? " has-error" : ""}`}>
            <label>
              Destination directory (absolute, on the machine that runs the worker)
              <input name="destination" value={directory} placeholder="/srv/restore" onChange={(event) => setDirectory(event.target.value)} />
            </label>
            <p className="hint muted">Paths are restored under it as they were backed up, e.g. /srv/restore/home/ann/notes.txt.</p>
            {fieldError && (
              <p className="field-error" role="alert">
                {fieldError}
              </p>
            )}
          </div>
          <div className="field" role="radiogroup" aria-label="When a name already exists">
            <span>When a name already exists</span>
            {policies.map((option) => (
              <label className="inline option" key={option.value}>
                <input type="radio" name="conflict" value={option.value} checked={policy === option.value} onChange={() => setPolicy(option.value)} />{" "}
                <strong>{option.label}</strong> <span className="muted">{option.explanation}</span>
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset className="card">
          <legend>What</legend>
          {wholeSnapshot ? (
            <p>Everything in the snapshot.</p>
          ) : (
            <ul className="selection" aria-label="Selection">
              {picked.map((item) => (
                <li key={item.key}>
                  <EntryIcon kind={item.dir ? "dir" : "file"} />
                  <code>{item.path}</code>
                  {item.dir && <span className="muted"> and everything below it</span>}{" "}
                  <button className="ghost" aria-label={`Remove ${item.path}`} onClick={() => setPicked(picked.filter((other) => other.key !== item.key))}>
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
        <button className="primary" disabled={busy || directory.trim() === ""} onClick={() => void start()}>
          Start restore
        </button>
      </div>
    </section>
  );
}
