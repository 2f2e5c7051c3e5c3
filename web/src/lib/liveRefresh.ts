import { useEffect, useRef } from "react";

// Lists that show runs refresh when a run they show changes state (docs/ui.md, "Lists that follow their runs"). The
// API's live events are per run (`/api/runs/{id}/events/ws`); a list of 50 jobs would need a socket per active run,
// so a list instead polls lightly while anything it shows is queued or running, and stops once nothing is: an idle
// list costs no request. A hidden tab does not poll; it reloads once when shown again. Free of React and the DOM (the
// hook below wires it up) so it is tested with fake timers (web/test/liveRefresh.test.ts).

export interface RefreshDeps {
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** How often a list with active runs reloads. */
export const activeRefreshMs = 2000;

export class ActiveRefresh {
  private active = false;
  private visible = true;
  private timer: unknown = null;
  private loading = false;
  private stopped = false;
  /** A state change seen while hidden: reload once on showing. */
  private stale = false;

  constructor(
    private readonly deps: RefreshDeps,
    private readonly reload: () => Promise<void>,
    private readonly intervalMs = activeRefreshMs,
  ) {}

  /** Whether what the list shows has a queued or running run (after each load). */
  setActive(active: boolean): void {
    if (this.stopped) return;
    this.active = active;
    this.schedule();
  }

  /** The tab's visibility (`document.visibilityState === "visible"`). */
  setVisible(visible: boolean): void {
    if (this.stopped || visible === this.visible) return;
    this.visible = visible;
    if (!visible) {
      this.stale = this.active;
      this.cancel();
      return;
    }
    if (this.stale) {
      this.stale = false;
      void this.tick();
    } else this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  get polling(): boolean {
    return this.timer !== null || this.loading;
  }

  private schedule(): void {
    if (!this.active || !this.visible || this.loading) {
      if (!this.active) this.cancel();
      return;
    }
    if (this.timer !== null) return;
    this.timer = this.deps.setTimer(() => {
      this.timer = null;
      void this.tick();
    }, this.intervalMs);
  }

  private cancel(): void {
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
  }

  /** One reload at a time; the next is timed from when this one answered (a slow hub is never asked twice). */
  private async tick(): Promise<void> {
    if (this.stopped || this.loading) return;
    this.loading = true;
    try {
      await this.reload();
    } catch {
      // The page's own load state shows the error; polling goes on while the list still shows active runs.
    } finally {
      this.loading = false;
    }
    if (!this.stopped) this.schedule();
  }
}

/** Reloads the page's data every `activeRefreshMs` while `active` (something shown is queued or running) and the tab
 * is visible. `reload` should not throw (useLoad's never does). */
export function useActiveRefresh(active: boolean, reload: () => Promise<void>): void {
  const latest = useRef(reload);
  latest.current = reload;
  const refresher = useRef<ActiveRefresh | null>(null);
  useEffect(() => {
    const refresh = new ActiveRefresh({ setTimer: (callback, ms) => setTimeout(callback, ms), clearTimer: (handle) => clearTimeout(handle as number) }, () =>
      latest.current(),
    );
    refresher.current = refresh;
    const onVisibility = () => refresh.setVisible(document.visibilityState === "visible");
    onVisibility();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      document.removeEventListener("visibilitychange", onVisibility);
      refresh.stop();
      refresher.current = null;
    };
  }, []);
  useEffect(() => {
    refresher.current?.setActive(active);
  }, [active]);
}

/** A run status that can still change. */
export function isActiveStatus(status: string | null | undefined): boolean {
  return status === "queued" || status === "running";
}
