import type { RunEvent, RunProgress } from "../api";
import { Backoff } from "./backoff";
import { EventLog, terminalKinds } from "./eventLog";

// Follows one run's log: loads what exists over HTTP, then the WebSocket from the last seq held. Every event is held
// once and in order (a gap is re-read over HTTP, never skipped); a dropped connection is retried with exponential
// backoff and full jitter from the last seq; the stream ends once the run's terminal event arrived and the server
// closed. Free of React and the DOM so it is tested with fakes (web/test/runStream.test.ts).

export interface SocketLike {
  onopen: (() => void) | null;
  onmessage: ((data: string) => void) | null;
  onclose: ((code: number) => void) | null;
  close(): void;
}

export interface RunStreamDeps {
  /** Events with seq > afterSeq, at most 500 per call, ascending. */
  loadAfter(afterSeq: number): Promise<RunEvent[]>;
  /** A WebSocket to `/api/runs/{id}/events/ws?after_seq=afterSeq`. */
  openSocket(afterSeq: number): SocketLike;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  now(): number;
}

export type Connection = "loading" | "connecting" | "live" | "reconnecting" | "ended" | "stopped";

export interface RunStreamState {
  connection: Connection;
  /** When reconnecting: the instant (ms) of the next attempt. */
  retryAt?: number;
  lastError?: string;
}

/** A connection that stayed open this long counts as healthy and resets the backoff. */
export const healthyAfterMs = 10_000;

export class RunStream {
  readonly log = new EventLog();
  private state: RunStreamState = { connection: "loading" };
  private socket: SocketLike | null = null;
  private timer: unknown = null;
  private healthyTimer: unknown = null;
  private stopped = false;
  private resyncing: Promise<void> | null = null;
  private readonly backoff: Backoff;

  constructor(
    private readonly deps: RunStreamDeps,
    private readonly onChange: (state: RunStreamState, log: EventLog) => void,
    private readonly onProgress: (progress: RunProgress) => void = () => {},
    random: () => number = Math.random,
  ) {
    this.backoff = new Backoff(1000, 30000, random);
  }

  get current(): RunStreamState {
    return this.state;
  }

  get sawTerminal(): boolean {
    const events = this.log.events;
    return events.length > 0 && terminalKinds.has(events[events.length - 1].kind);
  }

  async start(): Promise<void> {
    try {
      await this.readAll();
    } catch (error) {
      this.update({ connection: "reconnecting", lastError: String(error) });
      this.scheduleReconnect();
      return;
    }
    // A finished run's log is complete: nothing will follow, so the page says "ended", never "live".
    if (this.sawTerminal) {
      this.update({ connection: "ended" });
      return;
    }
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    if (this.healthyTimer !== null) this.deps.clearTimer(this.healthyTimer);
    this.socket?.close();
    this.socket = null;
    this.update({ connection: "stopped" });
  }

  /** Reconnects now (the user pressed Retry). */
  retryNow(): void {
    if (this.stopped || this.state.connection !== "reconnecting") return;
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
    void this.start();
  }

  private update(state: RunStreamState): void {
    this.state = state;
    this.onChange(state, this.log);
  }

  /** Reads over HTTP everything after the last seq held. */
  private async readAll(): Promise<void> {
    while (!this.stopped) {
      const page = await this.deps.loadAfter(this.log.lastSeq);
      const { appended } = this.log.add(page);
      if (appended > 0) this.onChange(this.state, this.log);
      if (page.length < 500 || appended === 0) return;
    }
  }

  private connect(): void {
    if (this.stopped) return;
    this.update({ connection: "connecting" });
    const socket = this.deps.openSocket(this.log.lastSeq);
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.update({ connection: "live" });
      this.healthyTimer = this.deps.setTimer(() => this.backoff.reset(), healthyAfterMs);
    };
    socket.onmessage = (data) => {
      if (this.socket !== socket) return;
      this.receive(data);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.healthyTimer !== null) this.deps.clearTimer(this.healthyTimer);
      this.healthyTimer = null;
      if (this.stopped) return;
      if (this.sawTerminal) {
        this.update({ connection: "ended" });
        return;
      }
      this.update({ connection: "reconnecting" });
      this.scheduleReconnect();
    };
  }

  private receive(data: string): void {
    let frame: (RunEvent & { type?: undefined }) | { type: "progress"; run_id: string; progress: RunProgress };
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "progress") {
      this.onProgress(frame.progress);
      return;
    }
    const { appended, gap } = this.log.add([frame]);
    if (appended > 0) this.onChange(this.state, this.log);
    if (gap) this.resync();
    if (this.sawTerminal && this.state.connection === "live") this.update({ connection: "ended" });
  }

  /** A gap: re-read over HTTP (once at a time), while the socket goes on. */
  private resync(): void {
    if (this.resyncing) return;
    this.resyncing = this.readAll()
      .catch(() => {})
      .finally(() => {
        this.resyncing = null;
      });
  }

  private scheduleReconnect(): void {
    const delay = this.backoff.next();
    const retryAt = this.deps.now() + delay;
    this.update({ connection: "reconnecting", retryAt, lastError: this.state.lastError });
    this.timer = this.deps.setTimer(() => {
      this.timer = null;
      void this.start();
    }, delay);
  }
}
