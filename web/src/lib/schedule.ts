// The editor's simple schedules and their 5-field cron form, both ways; and any cron in words for lists, in the UI's
// language (docs/ui.md, "Languages": the words and their order come from the catalogue).
import { t, type MessageKey } from "../i18n";

export type Simple =
  | { kind: "every_minutes"; minutes: number }
  | { kind: "hourly"; minute: number }
  | { kind: "daily"; hour: number; minute: number }
  | { kind: "weekly"; weekdays: number[]; hour: number; minute: number }
  | { kind: "monthly"; day: number; hour: number; minute: number };

/** A weekly schedule's days as cron writes them: 0 (Sunday) to 6, each once, in order. */
export const sortedWeekdays = (days: number[]): number[] => [...new Set(days.map((day) => ((day % 7) + 7) % 7))].sort((a, b) => a - b);

export function toCron(simple: Simple): string {
  switch (simple.kind) {
    case "every_minutes":
      return `*/${simple.minutes} * * * *`;
    case "hourly":
      return `${simple.minute} * * * *`;
    case "daily":
      return `${simple.minute} ${simple.hour} * * *`;
    case "weekly":
      // No day ticked is no schedule: `scheduleProblems` (lib/jobForm.ts) stops the save before this is sent.
      return `${simple.minute} ${simple.hour} * * ${sortedWeekdays(simple.weekdays).join(",")}`;
    case "monthly":
      return `${simple.minute} ${simple.hour} ${simple.day} * *`;
  }
}

const number = (text: string, min: number, max: number): number | null => {
  if (!/^\d{1,2}$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
};

/** The simple schedule a cron string is, or null when it is not one of them. */
export function fromCron(cron: string): Simple | null {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return null;
  const [minute, hour, day, month, weekday] = fields;
  if (month !== "*") return null;
  const every = /^\*\/(\d{1,2})$/.exec(minute);
  if (every && hour === "*" && day === "*" && weekday === "*") {
    const minutes = number(every[1], 1, 59);
    return minutes === null ? null : { kind: "every_minutes", minutes };
  }
  const m = number(minute, 0, 59);
  if (m === null) return null;
  if (hour === "*" && day === "*" && weekday === "*") return { kind: "hourly", minute: m };
  const h = number(hour, 0, 23);
  if (h === null) return null;
  if (day === "*" && weekday === "*") return { kind: "daily", hour: h, minute: m };
  if (day === "*") {
    // Several days are a list of numbers (what the simple editor writes); ranges and names stay cron.
    const days = weekday.split(",").map((part) => number(part, 0, 7));
    if (days.some((value) => value === null)) return null;
    return { kind: "weekly", weekdays: sortedWeekdays(days as number[]), hour: h, minute: m };
  }
  if (weekday === "*") {
    const d = number(day, 1, 28);
    return d === null ? null : { kind: "monthly", day: d, hour: h, minute: m };
  }
  return null;
}

const two = (value: number) => String(value).padStart(2, "0");
const time = (hour: number, minute: number) => `${two(hour)}:${two(minute)}`;

const weekdayKeys: MessageKey[] = [
  "schedule.day.sun",
  "schedule.day.mon",
  "schedule.day.tue",
  "schedule.day.wed",
  "schedule.day.thu",
  "schedule.day.fri",
  "schedule.day.sat",
];
const monthKeys: MessageKey[] = [
  "schedule.month.1",
  "schedule.month.2",
  "schedule.month.3",
  "schedule.month.4",
  "schedule.month.5",
  "schedule.month.6",
  "schedule.month.7",
  "schedule.month.8",
  "schedule.month.9",
  "schedule.month.10",
  "schedule.month.11",
  "schedule.month.12",
];
/** A weekday's name in the current language (0 = Sunday). */
export const weekdayName = (day: number): string => t(weekdayKeys[day % 7]);
const everyMinutes = (minutes: number | undefined) =>
  minutes === undefined || minutes === 1 ? t("schedule.everyMinute") : t("schedule.everyMinutes", { minutes });

/** `:05, :35` in English, `第 5、35 分钟` in Chinese. */
const minutesOfHour = (values: number[]) =>
  t("schedule.minutesOfHour", {
    minutes: values.map((value) => t("schedule.minuteMark", { minute: two(value), number: value })).join(t("schedule.joiner")),
  });

/** `every day at 02:30`, or null when the words of any cron say it better (a week of several days). */
function describeSimple(simple: Simple): string | null {
  switch (simple.kind) {
    case "every_minutes":
      return everyMinutes(simple.minutes);
    case "hourly":
      return t("schedule.hourlyAt", { minutes: minutesOfHour([simple.minute]) });
    case "daily":
      return t("schedule.dailyAt", { time: time(simple.hour, simple.minute) });
    case "weekly":
      return simple.weekdays.length === 1 ? t("schedule.weeklyAt", { day: weekdayName(simple.weekdays[0]), time: time(simple.hour, simple.minute) }) : null;
    case "monthly":
      return t("schedule.monthlyAt", { day: simple.day, time: time(simple.hour, simple.minute) });
  }
}

// The hub's schedule macros (docs/architecture.md, "Jobs and specs"), as their five fields.
const macros: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A macro's five fields; null for an `@` word the hub refuses; undefined when the text is no macro at all. */
export function cronMacro(cron: string): string | null | undefined {
  const text = cron.replace(/^[ \t]+|[ \t]+$/g, "");
  if (!text.startsWith("@")) return undefined;
  return Object.prototype.hasOwnProperty.call(macros, text.toLowerCase()) ? macros[text.toLowerCase()] : null;
}

// Cron's names of months and days (always English, whatever the UI's language).
const monthAbbreviations = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const dayAbbreviations = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** A cron field: `any` (`*`), or its values; `step` when it is exactly `*` + `/n`. */
interface Field {
  any: boolean;
  values: number[];
  step?: number;
}

function parseField(text: string, min: number, max: number, names: string[] = [], nameBase = 0): Field | null {
  if (text === "*") return { any: true, values: [] };
  const stepOnly = /^\*\/(\d+)$/.exec(text);
  const values = new Set<number>();
  const value = (part: string): number | null => {
    const named = names.indexOf(part.toUpperCase());
    if (named >= 0) return named + nameBase;
    if (!/^\d+$/.test(part)) return null;
    const number = Number(part);
    return number >= min && number <= max ? number : null;
  };
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) return null;
    let low: number | null;
    let high: number | null;
    if (range === "*") [low, high] = [min, max];
    else if (range.includes("-")) [low, high] = range.split("-").map(value) as [number | null, number | null];
    else [low, high] = [value(range), stepText === undefined ? value(range) : max];
    if (low === null || high === null || low > high) return null;
    for (let item = low; item <= high; item += step) values.add(item);
  }
  return { any: false, values: [...values].sort((a, b) => a - b), step: stepOnly ? Number(stepOnly[1]) : undefined };
}

/** `Monday–Friday, Sunday`: runs of three or more consecutive values become ranges. */
function runs(values: number[], name: (value: number) => string, joiner = t("schedule.joiner")): string {
  const parts: string[] = [];
  for (let index = 0; index < values.length; ) {
    let end = index;
    while (end + 1 < values.length && values[end + 1] === values[end] + 1) end += 1;
    if (end - index >= 2) parts.push(`${name(values[index])}–${name(values[end])}`);
    else for (let item = index; item <= end; item += 1) parts.push(name(values[item]));
    index = end + 1;
  }
  return parts.join(joiner);
}

/** The time of day part; `at` tells whether it names fixed times (then "every day" may lead it). */
function describeTime(minute: Field, hour: Field): { text: string; at: boolean } {
  if (minute.any || minute.step) {
    const every = everyMinutes(minute.any ? 1 : minute.step);
    if (hour.any) return { text: every, at: false };
    const hours = runs(hour.values, (h) => `${two(h)}:00`).replace(/(\d\d:00)–(\d\d):00/g, "$1–$2:59");
    return { text: t("schedule.duringHours", { every, hours }), at: false };
  }
  const minutes = minutesOfHour(minute.values);
  if (hour.any) return { text: t("schedule.hourlyAt", { minutes }), at: false };
  if (hour.step && minute.values.length === 1) return { text: t("schedule.everyHoursAt", { hours: hour.step, minutes }), at: false };
  if (minute.values.length * hour.values.length <= 6) {
    const times = hour.values.flatMap((h) => minute.values.map((m) => time(h, m))).join(t("schedule.joiner"));
    return { text: t("schedule.atTimes", { times }), at: true };
  }
  return { text: t("schedule.minutesOfHours", { minutes: runs(minute.values, String), hours: runs(hour.values, two) }), at: true };
}

function describeDays(dayOfMonth: Field, weekday: Field): string | null {
  const ordinalDays = (field: Field) => t("schedule.daysOfMonth", { days: runs(field.values, String) });
  const days = (field: Field) => {
    const set = [...new Set(field.values.map((value) => value % 7))].sort((a, b) => a - b);
    if (set.join() === "1,2,3,4,5") return t("schedule.onWorkdays");
    if (set.join() === "0,6") return t("schedule.onWeekends");
    return t("schedule.onDays", { days: runs(set, weekdayName) });
  };
  if (dayOfMonth.any && weekday.any) return null;
  if (weekday.any) return ordinalDays(dayOfMonth);
  if (dayOfMonth.any) return days(weekday);
  return t("schedule.dayOrWeekday", { days: ordinalDays(dayOfMonth), weekdays: days(weekday) });
}

/**
 * A cron in words (`every day at 02:30`, `every 15 minutes during 09:00–17:59 hours on weekdays`), or null when it
 * is not a cron Bastion accepts (5 fields, or 6 with a leading `0` seconds field).
 */
export function describeCron(cron: string): string | null {
  const macro = cronMacro(cron);
  if (macro !== undefined) return macro === null ? null : describeCron(macro);
  const simple = fromCron(cron);
  const words = simple && describeSimple(simple);
  if (words) return words;
  let fields = cron.trim().split(/\s+/);
  if (fields.length === 6 && fields[0] === "0") fields = fields.slice(1);
  if (fields.length !== 5) return null;
  const minute = parseField(fields[0], 0, 59);
  const hour = parseField(fields[1], 0, 23);
  const dayOfMonth = parseField(fields[2], 1, 31);
  const month = parseField(fields[3], 1, 12, monthAbbreviations, 1);
  const weekday = parseField(fields[4], 0, 7, dayAbbreviations, 0);
  if (!minute || !hour || !dayOfMonth || !month || !weekday) return null;
  const times = describeTime(minute, hour);
  const days = describeDays(dayOfMonth, weekday);
  const months = month.any ? null : t("schedule.inMonths", { months: runs(month.values, (value) => t(monthKeys[value - 1])) });
  // Fixed times on no particular day read "every day at …"; a language may say so within months too (Chinese: "1月每天").
  const daily = !days && times.at ? (months ? t("schedule.everyDayInMonths") : t("schedule.everyDay")) : "";
  return t("schedule.compose", { daily, time: times.text, days: days ?? "", months: months ?? "" })
    .replace(/\s+/g, " ")
    .trim();
}
