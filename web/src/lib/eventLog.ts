import type { RunEvent } from "../api";
import { t } from "../i18n";

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

/** How a log row shows an event: a short label in the kind column and the text (docs/hooks.md, docs/consistency.md). */
export function describeEvent(event: RunEvent): { label: string; text: string; tone: "hook" | "plain" } {
  const fields = event.fields ?? {};
  const hookName = fields.hook === "before" || fields.hook === "after" ? fields.hook : null;
  const position = typeof fields.index === "number" && Number.isInteger(fields.index) ? ` #${fields.index + 1}` : "";
  if (event.kind === "hook_output" && hookName) {
    const stream = fields.stream === "stderr" ? " stderr" : "";
    return { label: `${hookName}${position}${stream}`, text: `│ ${event.message}`, tone: "hook" };
  }
  if (event.kind === "hook") return { label: t("pages.run.event.hookLabel", { name: hookName ? `${hookName}${position}` : "" }).trim(), text: event.message, tone: "hook" };
  if (event.kind === "source_consistency") {
    const path = typeof fields.path === "string" ? fields.path : null;
    const reason = typeof fields.reason === "string" ? fields.reason : null;
    const total = typeof fields.changed_total === "number" ? fields.changed_total : null;
    const extra = [path && !event.message.includes(path) ? path : null, reason && !event.message.includes(reason) ? `(${reason})` : null]
      .filter(Boolean)
      .join(" ");
    const count = total !== null && !event.message.includes(String(total)) ? ` ${t("pages.run.event.changedTotal", { count: total })}` : "";
    return { label: t("pages.run.event.changedWhileRead"), text: `${event.message}${extra ? ": " + extra : ""}${count}`, tone: "plain" };
  }
  return { label: event.kind, text: event.message, tone: "plain" };
}
