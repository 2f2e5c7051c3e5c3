import type { MouseEvent, ReactNode } from "react";
import { ApiError, type RunStatus } from "./api";
import { navigate } from "./lib/router";

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
  if (!props.status) return <span className="badge">never run</span>;
  return <span className={`badge status-${props.status}`}>{props.status}</span>;
}

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
          {error.requestId ? `, request ${error.requestId}` : ""})
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
      {props.started.status === "rejected" ? "rejected: a run is active" : "queued"} · <Link to={`/runs/${props.started.runId}`}>open run</Link>
    </span>
  );
}
