// Formatting for people: sizes, durations, times (absolute in a zone, and relative).

export function formatBytes(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null || !isFinite(bytes)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

/** `1h 2m`, `3m 4s`, `5s`. */
export function formatDuration(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null || !isFinite(seconds) || seconds < 0) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** `in 5m`, `3h ago`, `just now`. */
export function formatRelative(unixSeconds: number, nowMs: number = Date.now()): string {
  const delta = unixSeconds - Math.floor(nowMs / 1000);
  const magnitude = Math.abs(delta);
  if (magnitude < 5) return "just now";
  const text = formatDuration(magnitude).split(" ")[0];
  return delta > 0 ? `in ${text}` : `${text} ago`;
}

/**
 * One formatter per zone, made once: an `Intl.DateTimeFormat` owns ICU objects that V8 frees in a GC callback, so a
 * formatter per call (per log row, per render) made the run page stall ~45 ms every few hundred events.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? "";
  let cached = formatters.get(key);
  if (!cached) {
    cached = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(key, cached);
  }
  return cached;
}

/** `2026-11-30 20:05:07` in `timeZone` (the job's, or the browser's). */
export function formatTime(unixSeconds: number | null | undefined, timeZone?: string): string {
  if (unixSeconds === null || unixSeconds === undefined) return "–";
  try {
    const parts = formatter(timeZone).formatToParts(new Date(unixSeconds * 1000));
    const get = (type: string) => parts.find((part) => part.type === type)?.value ?? "";
    return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
  } catch {
    return new Date(unixSeconds * 1000).toISOString().replace("T", " ").slice(0, 19);
  }
}
