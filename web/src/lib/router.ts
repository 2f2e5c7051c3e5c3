import { useEffect, useState } from "react";

// A small history router: the path is the state; `navigate` pushes, links call it, the back button pops.

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function usePath(): string {
  const [path, setPath] = useState(() => location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    window.addEventListener("popstate", update);
    return () => window.removeEventListener("popstate", update);
  }, []);
  return path;
}

/** Matches `pattern` (`/runs/:id`) against a path; the parameters, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const [pathname] = path.split("?");
  const want = pattern.split("/").filter(Boolean);
  const got = pathname.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let index = 0; index < want.length; index += 1) {
    if (want[index].startsWith(":")) params[want[index].slice(1)] = decodeURIComponent(got[index]);
    else if (want[index] !== got[index]) return null;
  }
  return params;
}

/** `/runs/{id}/browse?path=a/b&location=copy:…`: the query's directory, as text or base64 bytes, and where it is read
 * (absent: the first healthy location, primary first). */
export function browsePath(runId: string, entry?: { path: string; path_b64?: string }, location?: string | null): string {
  const query = new URLSearchParams();
  if (entry?.path_b64) query.set("path_b64", entry.path_b64);
  else if (entry && entry.path !== "") query.set("path", entry.path);
  if (location) query.set("location", location);
  const text = query.toString();
  return `/runs/${encodeURIComponent(runId)}/browse${text ? `?${text}` : ""}`;
}
