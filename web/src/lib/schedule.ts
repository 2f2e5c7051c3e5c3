// The editor's simple schedules and their 5-field cron form, both ways; and any cron in words for lists.

export type Simple =
  | { kind: "every_minutes"; minutes: number }
  | { kind: "hourly"; minute: number }
  | { kind: "daily"; hour: number; minute: number }
  | { kind: "weekly"; weekday: number; hour: number; minute: number }
  | { kind: "monthly"; day: number; hour: number; minute: number };

export const weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

export function toCron(simple: Simple): string {
  switch (simple.kind) {
    case "every_minutes":
      return `*/${simple.minutes} * * * *`;
    case "hourly":
      return `${simple.minute} * * * *`;
    case "daily":
      return `${simple.minute} ${simple.hour} * * *`;
    case "weekly":
      return `${simple.minute} ${simple.hour} * * ${simple.weekday}`;
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
    const w = number(weekday, 0, 7);
    return w === null ? null : { kind: "weekly", weekday: w % 7, hour: h, minute: m };
  }
  if (weekday === "*") {
    const d = number(day, 1, 28);
    return d === null ? null : { kind: "monthly", day: d, hour: h, minute: m };
  }
  return null;
}

const two = (value: number) => String(value).padStart(2, "0");

/** `every day at 02:30`, or null when the cron is not a simple schedule. */
function describeSimple(simple: Simple): string {
  switch (simple.kind) {
    case "every_minutes":
      return simple.minutes === 1 ? "every minute" : `every ${simple.minutes} minutes`;
    case "hourly":
      return `every hour at :${two(simple.minute)}`;
    case "daily":
      return `every day at ${two(simple.hour)}:${two(simple.minute)}`;
    case "weekly":
      return `every ${weekdays[simple.weekday]} at ${two(simple.hour)}:${two(simple.minute)}`;
    case "monthly":
      return `on day ${simple.day} of every month at ${two(simple.hour)}:${two(simple.minute)}`;
  }
}

const monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const monthAbbreviations = monthNames.map((name) => name.slice(0, 3).toUpperCase());
const dayAbbreviations = weekdays.map((name) => name.slice(0, 3).toUpperCase());

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
function runs(values: number[], name: (value: number) => string, joiner = ", "): string {
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

function describeTime(minute: Field, hour: Field): string {
  if (minute.any || minute.step) {
    const every = minute.any || minute.step === 1 ? "every minute" : `every ${minute.step} minutes`;
    return hour.any ? every : `${every} during ${runs(hour.values, (h) => `${two(h)}:00`)} hours`.replace(/(\d\d:00)–(\d\d):00/g, "$1–$2:59");
  }
  if (hour.any) return minute.values.length === 1 ? `every hour at :${two(minute.values[0])}` : `every hour at ${minute.values.map((m) => `:${two(m)}`).join(", ")}`;
  if (hour.step && minute.values.length === 1) return `every ${hour.step} hours at :${two(minute.values[0])}`;
  if (minute.values.length * hour.values.length <= 6) {
    return `at ${hour.values.flatMap((h) => minute.values.map((m) => `${two(h)}:${two(m)}`)).join(", ")}`;
  }
  return `at minute ${runs(minute.values, String)} of hours ${runs(hour.values, two)}`;
}

function describeDays(dayOfMonth: Field, weekday: Field): string | null {
  const ordinalDays = (field: Field) => `day ${runs(field.values, String)} of the month`;
  const days = (field: Field) => {
    const set = [...new Set(field.values.map((value) => value % 7))].sort((a, b) => a - b);
    if (set.join() === "1,2,3,4,5") return "weekdays";
    if (set.join() === "0,6") return "weekends";
    return runs(set, (value) => weekdays[value]);
  };
  if (dayOfMonth.any && weekday.any) return null;
  if (weekday.any) return `on ${ordinalDays(dayOfMonth)}`;
  if (dayOfMonth.any) return `on ${days(weekday)}`;
  return `on ${ordinalDays(dayOfMonth)} or on ${days(weekday)}`;
}

/**
 * A cron in words (`every day at 02:30`, `every 15 minutes during 09:00–17:59 hours on weekdays`), or null when it
 * is not a cron Bastion accepts (5 fields, or 6 with a leading `0` seconds field).
 */
export function describeCron(cron: string): string | null {
  const simple = fromCron(cron);
  if (simple) return describeSimple(simple);
  let fields = cron.trim().split(/\s+/);
  if (fields.length === 6 && fields[0] === "0") fields = fields.slice(1);
  if (fields.length !== 5) return null;
  const minute = parseField(fields[0], 0, 59);
  const hour = parseField(fields[1], 0, 23);
  const dayOfMonth = parseField(fields[2], 1, 31);
  const month = parseField(fields[3], 1, 12, monthAbbreviations, 1);
  const weekday = parseField(fields[4], 0, 7, dayAbbreviations, 0);
  if (!minute || !hour || !dayOfMonth || !month || !weekday) return null;
  const time = describeTime(minute, hour);
  const days = describeDays(dayOfMonth, weekday);
  const months = month.any ? null : `in ${runs(month.values, (value) => monthNames[value - 1])}`;
  const daily = !days && !months && /^at /.test(time) ? "every day" : null;
  return [daily, time, days, months].filter(Boolean).join(" ");
}
