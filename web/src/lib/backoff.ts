// Reconnect delays: exponential from `base` doubling to `cap`, with full jitter (a uniform pick below the ceiling),
// reset only after a connection that stayed healthy (docs/architecture.md, "Run events over WebSocket").

export class Backoff {
  private attempt = 0;

  constructor(
    readonly baseMs = 1000,
    readonly capMs = 30000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The ceiling of the next delay. */
  get ceilingMs(): number {
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 20));
  }

  /** The next delay (full jitter), and one more attempt counted. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceilingMs);
    this.attempt += 1;
    return delay;
  }

  /** A connection stayed up: start again from `base`. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
