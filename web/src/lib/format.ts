// Formatting for people, in the current language (docs/ui.md, "Languages"): sizes, durations, times (absolute in a
// zone, and relative). Words and their order come from the catalogue (`format.*`), numbers from `Intl`.
import { formatNumber, t } from "../i18n";

export function formatBytes(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null || !isFinite(bytes)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : value < 10 ? 2 : value < 100 ? 1 : 0;
  return `${formatNumber(value, { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${units[unit]}`;
}

/** `1h 2m`, `3m 4s`, `5s` (中文：`1 小时 2 分`、`3 分 4 秒`、`5 秒`). */
export function formatDuration(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null || !isFinite(seconds) || seconds < 0) return "–";
  const s = Math.round(seconds);
  if (s < 60) return t("format.duration.s", { s });
  if (s < 3600) return t("format.duration.ms", { m: Math.floor(s / 60), s: s % 60 });
  if (s < 86400) return t("format.duration.hm", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return t("format.duration.dh", { d: formatNumber(Math.floor(s / 86400)), h: Math.floor((s % 86400) / 3600) });
}

/** The largest whole unit of a span: `5m`, `3h`, `2d` (中文：`5 分钟`、`3 小时`、`2 天`). */
function roughSpan(seconds: number): string {
  if (seconds < 60) return t("format.span.s", { n: seconds });
  if (seconds < 3600) return t("format.span.m", { n: Math.floor(seconds / 60) });
  if (seconds < 86400) return t("format.span.h", { n: Math.floor(seconds / 3600) });
  return t("format.span.d", { n: formatNumber(Math.floor(seconds / 86400)) });
}

/** `in 5m`, `3h ago`, `just now` (中文：`5 分钟后`、`3 小时前`、`刚刚`). */
export function formatRelative(unixSeconds: number, nowMs: number = Date.now()): string {
  const delta = unixSeconds - Math.floor(nowMs / 1000);
  const magnitude = Math.abs(delta);
  if (magnitude < 5) return t("format.justNow");
  const span = roughSpan(Math.round(magnitude));
  return delta > 0 ? t("format.in", { span }) : t("format.ago", { span });
}

/** A count for people: `12,345` (grouping of the current language). */
export const formatCount = (value: number): string => formatNumber(value);

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

/**
 * `2026-11-30 20:05:07` in `timeZone` (the job's, or the browser's). The same in every language: year first, 24-hour
 * clock, as Chinese admin tools write it too, and it sorts and compares at a glance in a table.
 */
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
