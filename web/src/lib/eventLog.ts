import type { RunEvent } from "../api";

// A run's log as the page holds it: events in seq order, each once. `add` takes events from any source (the HTTP tail,
// the WebSocket, a re-read) and reports whether a gap remains, so the stream re-reads instead of skipping.

export class EventLog {
  private readonly items: RunEvent[] = [];
  private readonly kindSet = new Set<string>();
  private firstError = -1;

  /** The highest seq held with nothing missing below it (0 when empty). */
  get lastSeq(): number {
    return this.items.length === 0 ? 0 : this.items[this.items.length - 1].seq;
  }

  get events(): readonly RunEvent[] {
    return this.items;
  }

  get length(): number {
    return this.items.length;
  }

  /**
   * Appends the events that continue the log (`seq == lastSeq + 1`), drops those already held, and stops at the first
   * gap. Returns how many were appended and whether a gap was seen.
   */
  add(events: readonly RunEvent[]): { appended: number; gap: boolean } {
    let appended = 0;
    let gap = false;
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      if (event.seq <= this.lastSeq) continue;
      if (event.seq !== this.lastSeq + 1 && !(this.items.length === 0 && event.seq === 1)) {
        gap = true;
        break;
      }
      if (event.level === "error" && this.firstError < 0) this.firstError = this.items.length;
      this.kindSet.add(event.kind);
      this.items.push(event);
      appended += 1;
    }
    return { appended, gap };
  }

  /** Index of the first `error` event, or -1 (kept as events arrive: the page asks on every render). */
  firstErrorIndex(): number {
    return this.firstError;
  }

  /** The event kinds seen so far. */
  get kinds(): ReadonlySet<string> {
    return this.kindSet;
  }
}

export const terminalKinds = new Set(["complete", "failed", "canceled", "rejected"]);
