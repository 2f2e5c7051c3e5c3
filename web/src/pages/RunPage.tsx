import { useEffect, useMemo, useRef, useState, type UIEvent } from "react";
import { api, type Run, type RunEvent, type RunKind, type RunProgress } from "../api";
import { ErrorBox, kindName, Link, StatusBadge } from "../components";
import { formatNumber, t, tNodes, tOr } from "../i18n";
import { describeEvent, type EventLog } from "../lib/eventLog";
import { formatBytes, formatDuration, formatTime } from "../lib/format";
import { navigate } from "../lib/router";
import { RunStream, type RunStreamState, type SocketLike } from "../lib/runStream";
import { formatStageTime, stageName, stageSteps } from "../lib/stages";
import { browsePath } from "../lib/router";
import { savePicks, startVerify } from "../lib/snapshotActions";
import { describeTarget } from "../lib/jobForm";
import { useConfirm } from "../dialogs";
import { runOutcome, shownConnection } from "../lib/runOutcome";
import { terminalKinds } from "../lib/eventLog";

const rowHeight = 26;
const noEvents: readonly RunEvent[] = [];

function browserSocket(runId: string, afterSeq: number): SocketLike {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/runs/${encodeURIComponent(runId)}/events/ws?after_seq=${afterSeq}`);
  const like: SocketLike = { onopen: null, onmessage: null, onclose: null, close: () => socket.close() };
  socket.onopen = () => like.onopen?.();
  socket.onmessage = (message) => like.onmessage?.(String(message.data));
  socket.onclose = (close) => like.onclose?.(close.code);
  return like;
}

/** The later of two progress reports: a live frame can be older than the run's stored final progress (a short run's
 * last stages are often only in the stored one), and a refresh can be older than the frame that just arrived. */
function newerProgress(current: RunProgress | null, next: RunProgress | null): RunProgress | null {
  if (!current || !next) return current ?? next;
  if (next.ts !== current.ts) return next.ts > current.ts ? next : current;
  return (next.stages?.length ?? 0) >= (current.stages?.length ?? 0) ? next : current;
}

/** A run as it happens: status, progress from the live frames, and its log followed over the WebSocket. */
export function RunPage(props: { runId: string }) {
  const [run, setRun] = useState<Run | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<RunProgress | null>(null);
  const [stream, setStream] = useState<RunStreamState>({ connection: "loading" });
  // The log is append-only: the page re-renders on its length instead of copying it per event.
  const [logView, setLogView] = useState<{ log: EventLog; length: number } | null>(null);
  const streamRef = useRef<RunStream | null>(null);
  const [confirm, confirmDialog] = useConfirm();

  useEffect(() => {
    let alive = true;
    const refresh = async () => {
      try {
        const loaded = await api.run(props.runId);
        if (!alive) return;
        setRun(loaded);
        setProgress((current) => newerProgress(current, loaded.progress));
        setError(null);
      } catch (caught) {
        if (alive) setError(caught);
      }
    };
    void refresh();
    let seen = 0;
    const stream = new RunStream(
      {
        loadAfter: (afterSeq) => api.events(props.runId, afterSeq),
        openSocket: (afterSeq) => browserSocket(props.runId, afterSeq),
        setTimer: (callback, ms) => setTimeout(callback, ms),
        clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
        now: () => Date.now(),
      },
      (state: RunStreamState, log: EventLog) => {
        if (!alive) return;
        setStream(state);
        setLogView((current) => (current && current.log === log && current.length === log.length ? current : { log, length: log.length }));
        // A status change is in the log: read the run again (its status, end and summary). Every new event is looked
        // at, not only the last: a terminal event is often followed by others in the same batch (notifications).
        const fresh = log.events.slice(seen);
        seen = log.events.length;
        if (fresh.some((event) => terminalKinds.has(event.kind) || event.kind === "cancel_requested" || event.kind === "start")) void refresh();
      },
      (value) => alive && setProgress((current) => newerProgress(current, value)),
    );
    streamRef.current = stream;
    void stream.start();
    return () => {
      alive = false;
      stream.stop();
    };
  }, [props.runId]);

  const cancel = async () => {
    if (!run || !(await confirm({ title: t("pages.run.cancelConfirm"), confirm: t("pages.run.cancelDo"), cancel: t("pages.run.keep"), danger: true })))
      return;
    try {
      setRun(await api.cancelRun(run.id));
    } catch (caught) {
      setError(caught);
    }
  };

  const active = run && (run.status === "queued" || run.status === "running");
  const status = run && active && run.cancel_requested_at ? "canceling" : run?.status;
  const connection = shownConnection(run?.status, stream);
  const outcome = run && !active ? runOutcome(run) : [];
  return (
    <section>
      {confirmDialog}
      <header className="page-header">
        <h1>
          {tNodes("pages.run.title", { id: <code className="run-id">{props.runId.slice(0, 8)}</code> })} <StatusBadge status={status} />
        </h1>
        {run && (
          <div className="header-actions">
            {active && !run.cancel_requested_at && (
              <button className="danger" onClick={cancel}>
                {t("pages.run.cancel")}
              </button>
            )}
            {run.kind === "backup" && run.status === "success" && (
              <>
                <Link to={browsePath(run.id)} className="button">
                  {t("pages.run.browse")}
                </Link>
                <button
                  onClick={() => {
                    savePicks(run.id, []);
                    navigate(`/runs/${encodeURIComponent(run.id)}/restore?all=1`);
                  }}
                >
                  {t("common.restore")}
                </button>
                <button onClick={() => void startVerify(confirm, run.id, setError)}>{t("common.verify")}</button>
              </>
            )}
          </div>
        )}
      </header>
      <ErrorBox error={error} />
      {run && (
        <div className="run-layout">
          <div className="card run-summary">
            <dl>
              <dt>{t("pages.run.job")}</dt>
              <dd>
                <Link to={`/jobs/${encodeURIComponent(run.job_id)}`}>{run.job_name ?? run.job_id}</Link>
              </dd>
              {typeof run.operation?.source_run_id === "string" && (
                <>
                  <dt>{t("pages.run.snapshot")}</dt>
                  <dd>
                    <Link to={`/runs/${encodeURIComponent(run.operation.source_run_id)}`}>{run.operation.source_run_id.slice(0, 8)}</Link>
                  </dd>
                </>
              )}
              <dt>{t("pages.run.kind")}</dt>
              <dd>{describeKind(run)}</dd>
              {run.kind !== "copy" && typeof run.operation?.location_id === "string" && (
                <>
                  <dt>{t("pages.run.readFrom")}</dt>
                  <dd>
                    {run.operation.location_id === "primary"
                      ? t("pages.run.readFrom.primary")
                      : t("pages.run.readFrom.copy", { id: run.operation.location_id })}
                  </dd>
                </>
              )}
              {run.kind === "copy" && typeof run.operation?.location_id === "string" && (
                <>
                  <dt>{t("pages.run.copyTo")}</dt>
                  <dd>{describeCopyTarget(run.operation)}</dd>
                </>
              )}
              <dt>{t("pages.run.runsOn")}</dt>
              <dd>{run.node_id === "hub" ? t("pages.run.thisHub") : <Link to="/agents">{t("common.agentShort", { id: run.node_id.slice(0, 8) })}</Link>}</dd>
              <dt>{t("pages.run.started")}</dt>
              <dd>{formatTime(run.started_at)}</dd>
              <dt>{t("pages.run.ended")}</dt>
              <dd>{formatTime(run.ended_at)}</dd>
              <dt>{t("pages.run.duration")}</dt>
              <dd>
                <Elapsed start={run.started_at} end={run.ended_at} running={!!active} />
              </dd>
              {outcome.length > 0 && (
                <>
                  <dt>{t("pages.outcome.label")}</dt>
                  <dd className="run-outcome" data-testid="run-outcome">
                    {outcome.map((line, index) => (
                      <span key={line} className="outcome-line">
                        {index > 0 && <br />}
                        {line}
                      </span>
                    ))}
                  </dd>
                </>
              )}
              {run.error && (
                <>
                  <dt>{t("pages.run.error")}</dt>
                  <dd className="error-text">{run.error}</dd>
                </>
              )}
            </dl>
            <ProgressPanel progress={progress} active={!!active} kind={run.kind} endedAt={run.ended_at} counts={!!active || outcome.length === 0} />
          </div>
          <LogPanel log={logView?.log ?? null} length={logView?.length ?? 0} stream={connection} onRetry={() => streamRef.current?.retryNow()} />
        </div>
      )}
      <p>
        <Link to="/jobs">{t("pages.run.backToJobs")}</Link>
      </p>
    </section>
  );
}

/** The current time, once a second while `active` (only the small components that show it re-render). */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

function Elapsed(props: { start: number; end: number | null; running: boolean }) {
  const now = useNow(props.running);
  const end = props.end ?? (props.running ? Math.floor(now / 1000) : null);
  return <>{end ? formatDuration(end - props.start) : "–"}</>;
}

function RetryCountdown(props: { at: number | undefined }) {
  const now = useNow(props.at !== undefined);
  if (props.at === undefined) return null;
  return <> {t("pages.run.retryIn", { seconds: Math.max(0, Math.ceil((props.at - now) / 1000)) })}</>;
}

/** `counts`: show the progress's counts (while running, or for a finished run with no outcome to say instead). */
function ProgressPanel(props: { progress: RunProgress | null; active: boolean; kind: RunKind; endedAt: number | null; counts: boolean }) {
  const progress = props.progress;
  const now = useNow(props.active);
  if (!progress) return <p className="muted">{props.active ? t("pages.run.waiting") : t("pages.run.noProgress")}</p>;
  const doneBytes = progress.done.bytes ?? progress.done.pages ?? 0;
  const totalBytes = progress.total?.bytes ?? progress.total?.pages;
  const fraction = totalBytes ? Math.min(1, doneBytes / totalBytes) : null;
  const steps = stageSteps(progress, props.kind, props.active ? null : (props.endedAt ?? progress.ts) * 1000, now);
  return (
    <div className="progress-panel" data-stage={progress.stage}>
      {steps.length > 0 && (
        <ol className="stages" aria-label={t("pages.run.stages")}>
          {steps.map((step) => (
            <li key={step.stage} className={step.state === "pending" ? "" : step.state} data-stage={step.stage}>
              {stageName(step.stage)}
              {step.ms !== undefined && <span className="stage-time">{formatStageTime(step.ms, step.coarse)}</span>}
            </li>
          ))}
        </ol>
      )}
      <div className="progress-bar" role="progressbar" aria-label={t("pages.run.progress")} aria-valuemin={0} aria-valuemax={100} aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}>
        <div style={{ width: fraction === null ? "100%" : `${(fraction * 100).toFixed(1)}%` }} className={fraction === null ? "indeterminate" : ""} />
      </div>
      <p className="progress-text">
        <span className="stage-name">{stageName(progress.stage)}</span>
        {props.counts && <ProgressCounts progress={progress} />}
      </p>
    </div>
  );
}

/** How far the run got: files, bytes, pages, rate and ETA (a total the run did not know, or a 0, is left out). */
function ProgressCounts(props: { progress: RunProgress }) {
  const progress = props.progress;
  const total = (value: number | undefined) => (value ? value : undefined);
  return (
    <>
        {progress.done.files !== undefined && (
          <span>
            {" "}
            ·{" "}
            {total(progress.total?.files) !== undefined
              ? t("pages.run.filesOf", { done: formatNumber(progress.done.files), total: formatNumber(progress.total!.files!) })
              : t("pages.run.files", { done: formatNumber(progress.done.files) })}
          </span>
        )}
        {progress.done.bytes !== undefined && (
          <span>
            {" "}
            ·{" "}
            {total(progress.total?.bytes) !== undefined
              ? t("pages.run.bytesOf", { done: formatBytes(progress.done.bytes), total: formatBytes(progress.total!.bytes) })
              : formatBytes(progress.done.bytes)}
          </span>
        )}
        {progress.done.pages !== undefined && (
          <span>
            {" "}
            ·{" "}
            {total(progress.total?.pages) !== undefined
              ? t("pages.run.pagesOf", { done: formatNumber(progress.done.pages), total: formatNumber(progress.total!.pages!) })
              : t("pages.run.pages", { done: formatNumber(progress.done.pages) })}
          </span>
        )}
        {progress.rate_bps !== undefined && <span> · {t("pages.run.rate", { rate: formatBytes(progress.rate_bps) })}</span>}
        {progress.eta_seconds !== undefined && <span> · {t("pages.run.eta", { time: formatDuration(progress.eta_seconds) })}</span>}
    </>
  );
}

/** The log: a virtual list (only the visible rows exist), following the tail until the user scrolls up. */
function LogPanel(props: { log: EventLog | null; length: number; stream: RunStreamState; onRetry: () => void }) {
  const [level, setLevel] = useState("all");
  const [kind, setKind] = useState("all");
  const [text, setText] = useState("");
  const all: readonly RunEvent[] = props.log?.events ?? noEvents;
  const length = props.length;
  const kindCount = props.log?.kinds.size ?? 0;
  const kinds = useMemo(() => Array.from(props.log?.kinds ?? []).sort(), [props.log, kindCount]);
  const filtering = level !== "all" || kind !== "all" || text.trim() !== "";
  const shown = useMemo(() => {
    if (!filtering) return all;
    const needle = text.trim().toLowerCase();
    return all.filter(
      (event) =>
        (level === "all" || event.level === level) &&
        (kind === "all" || event.kind === kind) &&
        (!needle || event.message.toLowerCase().includes(needle) || event.kind.includes(needle)),
    );
    // `length` is a dependency: the log grows in place.
  }, [all, length, filtering, level, kind, text]);
  const [follow, setFollow] = useState(true);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(480);
  const [seenCount, setSeenCount] = useState(0);
  const [expanded, setExpanded] = useState<number | null>(null);
  const box = useRef<HTMLDivElement>(null);
  /** Where following last put the scroll position: a scroll event above it is the user's, not ours. */
  const autoTop = useRef(0);
  const count = filtering ? shown.length : length;

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (!follow || !box.current) return;
    box.current.scrollTop = count * rowHeight;
    autoTop.current = box.current.scrollTop;
    setSeenCount(count);
  }, [count, follow]);

  const onScroll = (event: UIEvent<HTMLDivElement>) => {
    const element = event.currentTarget;
    setScrollTop(element.scrollTop);
    const atBottom = element.scrollTop + element.clientHeight >= element.scrollHeight - rowHeight;
    if (atBottom) {
      setFollow(true);
      setSeenCount(count);
    } else if (element.scrollTop < autoTop.current - rowHeight) {
      // Only a scroll up stops following (rows arriving below are not the user leaving the tail).
      setFollow(false);
    }
  };

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - 10);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + 10);
  const visible = useMemo(() => shown.slice(first, last), [shown, first, last, count]);
  const unseen = follow ? 0 : Math.max(0, count - seenCount);
  const firstError = useMemo(
    () => (filtering ? shown.findIndex((event) => event.level === "error") : (props.log?.firstErrorIndex() ?? -1)),
    [filtering, shown, props.log, count],
  );
  const asJSON = () => JSON.stringify(all, null, 2);
  const download = () => {
    const url = URL.createObjectURL(new Blob([asJSON()], { type: "application/json" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `run-${all[0]?.run_id ?? "events"}.json`;
    link.click();
    URL.revokeObjectURL(url);
  };

  const jumpTo = (index: number) => {
    if (!box.current) return;
    setFollow(false);
    box.current.scrollTop = Math.max(0, index * rowHeight - height / 2);
  };

  return (
    <div className="card log-panel">
      <div className="log-toolbar">
        <span className={`connection connection-${props.stream.connection}`} data-testid="connection">
          {t(`a11y.run.connection.${props.stream.connection}`)}
          {props.stream.connection === "reconnecting" && <RetryCountdown at={props.stream.retryAt} />}
        </span>
        {props.stream.connection === "reconnecting" && <button onClick={props.onRetry}>{t("pages.run.retryNow")}</button>}
        <span className="muted">
          {filtering
            ? t("pages.run.eventsOf", { count: formatNumber(count), total: formatNumber(all.length) })
            : t("pages.run.events", { count: formatNumber(count) })}
        </span>
        <select aria-label={t("pages.run.level")} value={level} onChange={(event) => setLevel(event.target.value)}>
          <option value="all">{t("pages.run.level.all")}</option>
          <option value="info">{t("pages.run.level.info")}</option>
          <option value="warn">{t("pages.run.level.warn")}</option>
          <option value="error">{t("pages.run.level.error")}</option>
        </select>
        <select aria-label={t("pages.run.eventKind")} value={kind} onChange={(event) => setKind(event.target.value)}>
          <option value="all">{t("pages.run.eventKind.all")}</option>
          {kinds.map((value) => (
            <option key={value} value={value}>
              {eventKindName(value)}
            </option>
          ))}
        </select>
        <input type="search" aria-label={t("pages.run.searchLog")} placeholder={t("pages.run.search")} value={text} onChange={(event) => setText(event.target.value)} />
        <button onClick={() => void navigator.clipboard?.writeText(asJSON())}>{t("pages.run.copyJson")}</button>
        <button onClick={download}>{t("pages.run.download")}</button>
        {firstError >= 0 && <button onClick={() => jumpTo(firstError)}>{t("pages.run.firstError")}</button>}
        {!follow && (
          <button
            className="primary"
            onClick={() => {
              setFollow(true);
            }}
          >
            {unseen > 0 ? t("pages.run.latestNew", { count: unseen }) : t("pages.run.latest")}
          </button>
        )}
      </div>
      <div className="log-rows" ref={box} onScroll={onScroll} data-testid="log">
        <div style={{ height: count * rowHeight, position: "relative" }}>
          {visible.map((event, offset) => {
            const index = first + offset;
            const described = describeEvent(event);
            return (
              <div
                key={event.seq}
                className={`log-row level-${event.level}${described.tone === "hook" ? " log-hook" : ""}`}
                data-kind={event.kind}
                style={{ top: index * rowHeight, height: rowHeight }}
                data-seq={event.seq}
                onClick={() => setExpanded(expanded === event.seq ? null : event.seq)}
                title={event.fields ? JSON.stringify(event.fields) : undefined}
              >
                <span className="seq">#{event.seq}</span>
                <span className="time">{formatTime(event.ts).slice(11)}</span>
                <span className="kind" title={event.kind}>
                  {described.label === event.kind ? eventKindName(event.kind) : described.label}
                </span>
                <span className="message">{described.text}</span>
              </div>
            );
          })}
        </div>
      </div>
      {expanded !== null && (
        <pre className="event-fields">{JSON.stringify(all.find((event) => event.seq === expanded), null, 2)}</pre>
      )}
    </div>
  );
}

/** An event's kind for people (`pages.run.event.*`); the code itself for a kind the catalogue does not name. */
const eventKindName = (kind: string): string => tOr(`pages.run.event.${kind}`, kind);

/** "verify (restore drill, with a test restore)", "copy (to another target)", or the kind. */
function describeKind(run: { kind: string; operation?: Record<string, unknown> | null }): string {
  if (run.kind === "verify" && run.operation?.drill === true)
    return t(run.operation.test_restore === true ? "pages.run.kind.drillRestore" : "pages.run.kind.drill");
  if (run.kind === "copy") return t("pages.run.kind.copy");
  return kindName(run.kind);
}

/** A copy run's destination: its target in words, else its location id. */
function describeCopyTarget(operation: Record<string, unknown>): string {
  const target = operation.target;
  return target && typeof target === "object" ? describeTarget(target as Record<string, unknown>) : String(operation.location_id);
}
