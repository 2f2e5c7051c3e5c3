import { type DependencyList, useCallback, useEffect, useRef, useState } from "react";

// One page's load state (docs/ui.md, "The shape of web/"): what was loaded, the error of the last attempt, and a
// reload. An answer that arrives after the page moved on (unmounted, or loading for other deps) is dropped.

export interface Loaded<T> {
  /** The last value loaded; null until the first load succeeds. Kept while a reload runs or fails. */
  data: T | null;
  /** The last attempt's error, null after a success. */
  error: unknown;
  /** True until the first attempt (for these deps) ends. */
  loading: boolean;
  /** Loads again; resolves when the answer is in (errors land in `error`, never thrown). */
  reload: () => Promise<void>;
  /** Replaces the value without a request (e.g. with what a save answered). */
  setData: (value: T | null) => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: DependencyList): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, deps);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const value = await run();
      if (mine !== generation.current) return;
      setData(value);
      setError(null);
    } catch (caught) {
      if (mine === generation.current) setError(caught);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [run]);

  useEffect(() => {
    setLoading(true);
    void reload();
    return () => {
      generation.current++;
    };
  }, [reload]);

  return { data, error, loading, reload, setData };
}
