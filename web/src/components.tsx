import { useState, type MouseEvent, type ReactNode } from "react";
import { api, ApiError, type RunListItem, type RunStatus, type SnapshotLocation, type TargetInput, type TargetTestStep } from "./api";
import { t, tOr } from "./i18n";
import { isActiveStatus } from "./lib/liveRefresh";
import { navigate } from "./lib/router";
import { runOutcomeLine } from "./lib/runOutcome";

// Small shared pieces: links that use the router, status badges, error boxes that show the server's message and id.

export function Link(props: { to: string; children: ReactNode; className?: string }) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(props.to);
  };
  return (
    <a href={props.to} onClick={onClick} className={props.className}>
      {props.children}
    </a>
  );
}

export function StatusBadge(props: { status: RunStatus | "canceling" | null | undefined }) {
  if (!props.status) return <span className="badge">{t("common.status.never")}</span>;
  return <span className={`badge status-${props.status}`}>{statusName(props.status)}</span>;
}

/** What a finished run did, on one line of a list (the runs list, a job's history; lib/runOutcome.ts): the short form
 * shown and cut to its cell, the run page's sentences as its title and for screen readers. */
export function RunOutcomeLine(props: { run: Pick<RunListItem, "kind" | "status" | "summary"> }) {
  if (isActiveStatus(props.run.status)) return null;
  const outcome = runOutcomeLine(props.run);
  if (!outcome) return null;
  return (
    <span className="list-outcome" title={outcome.full} data-testid="run-outcome-line">
      <span aria-hidden="true">{outcome.short}</span>
      <span className="visually-hidden">{outcome.full}</span>
    </span>
  );
}

/** A run's status for people (`common.status.*`). */
export const statusName = (status: string): string => tOr(`common.status.${status}`, status);

/** A run's kind for people (`common.kind.*`). */
export const kindName = (kind: string): string => tOr(`common.kind.${kind}`, kind);

export function ErrorBox(props: { error: unknown }) {
  if (!props.error) return null;
  const error = props.error;
  if (error instanceof ApiError) {
    return (
      <div className="error-box" role="alert">
        <strong>{error.message}</strong>
        <span className="muted">
          {" "}
          ({error.code}
          {error.requestId ? `, ${t("common.error.request", { id: error.requestId })}` : ""})
        </span>
      </div>
    );
  }
  return (
    <div className="error-box" role="alert">
      {String(error)}
    </div>
  );
}

/** What a Run now / Backup now did: queued, or rejected by the overlap policy, with a link to the run. */
export function RunStarted(props: { started: { runId: string; status: RunStatus } | undefined }) {
  if (!props.started) return null;
  return (
    <span className="run-started">
      {props.started.status === "rejected" ? t("common.runStarted.rejected") : t("common.runStarted.queued")} ·{" "}
      <Link to={`/runs/${props.started.runId}`}>{t("common.runStarted.open")}</Link>
    </span>
  );
}

/** Test connection (docs/targets.md): writes, reads back and deletes a small object on `target`; each step's outcome. */
export function TestConnection(props: { target: () => TargetInput; disabled?: boolean }) {
  const [steps, setSteps] = useState<TargetTestStep[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setSteps(null);
    setError(null);
    try {
      setSteps((await api.testTarget(props.target())).steps);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const allSteps: TargetTestStep["step"][] = ["connect", "create", "write", "read", "delete"];
  return (
    <div className="target-test">
      <button type="button" onClick={() => void run()} disabled={busy || props.disabled}>
        {busy ? t("common.test.busy") : t("common.test.button")}
      </button>
      {error !== null && <ErrorBox error={error} />}
      {steps && (
        <ol className="test-steps" aria-label={t("common.test.steps")}>
          {allSteps.map((name) => {
            const step = steps.find((item) => item.step === name);
            const state = step ? (step.ok ? "ok" : "failed") : "skipped";
            return (
              <li key={name} className={`test-step ${state}`} data-step={name} data-state={state}>
                <span className="test-mark" aria-hidden="true">
                  {state === "ok" ? "✓" : state === "failed" ? "✗" : "–"}
                </span>{" "}
                {t(`common.test.step.${name}`)}
                {step && <span className="muted"> {step.ms.toFixed(0)} ms</span>}
                {step && !step.ok && (
                  <span className="test-error">
                    {" "}
                    {step.code}: {step.message}
                    {step.hint ? ` (${step.hint})` : ""}
                  </span>
                )}
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}

/** Which copy of a snapshot is read (restore, browse): the primary target or a copy target (only present ones can be picked). */
export function LocationPicker(props: {
  locations: SnapshotLocation[];
  value: string | null;
  onChange: (id: string) => void;
  describe: (location: SnapshotLocation) => string;
  hint?: string;
}) {
  return (
    <fieldset className="card location-picker">
      <legend>{t("common.location.legend")}</legend>
      <p className="hint muted">{props.hint ?? t("common.location.hint")}</p>
      {props.locations.map((location) => (
        <label className="inline option" key={location.id}>
          <input
            type="radio"
            name="location"
            value={location.id}
            checked={props.value === location.id}
            disabled={location.status !== "present"}
            onChange={() => props.onChange(location.id)}
          />{" "}
          <strong>{location.id === "primary" ? t("common.location.primary") : t("common.location.copy")}</strong> <span title={location.display}>{props.describe(location)}</span>{" "}
          <span className={`badge location-${location.status}`}>{t(`common.location.status.${location.status}`)}</span>
        </label>
      ))}
    </fieldset>
  );
}

/** A folder, a page, or an arrow for links (drawn, not an emoji: a server's browser may have no emoji font). */
export function EntryIcon(props: { kind: string }) {
  const shape =
    props.kind === "dir" ? (
      <path d="M1.5 3.5h5l1.5 2h6.5v8h-13z" fill="currentColor" fillOpacity="0.25" stroke="currentColor" />
    ) : props.kind === "symlink" || props.kind === "hardlink" ? (
      <path d="M3 12.5c0-5 3-7 9-7M9 2.5l3 3-3 3" fill="none" stroke="currentColor" strokeWidth="1.5" />
    ) : (
      <path d="M3.5 1.5h6l3 3v10h-9zM9.5 1.5v3h3" fill="none" stroke="currentColor" />
    );
  return (
    <svg className={`kind-icon kind-${props.kind}`} viewBox="0 0 16 16" aria-hidden="true">
      {shape}
    </svg>
  );
}
