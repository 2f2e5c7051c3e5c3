// The editor's simple schedules and their 5-field cron form, both ways; and a cron in words for lists.

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
export function describeCron(cron: string): string | null {
  const simple = fromCron(cron);
  if (!simple) return null;
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
