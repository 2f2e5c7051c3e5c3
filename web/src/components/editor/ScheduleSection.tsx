import { useEffect, useState } from "react";
import { api, ApiError } from "../../api";
import { t } from "../../i18n";
import { formatRelative, formatTime } from "../../lib/format";
import { formSchedule, scheduleProblems, weekDays, type JobForm } from "../../lib/jobForm";
import { sortedWeekdays, weekdayName, type Simple } from "../../lib/schedule";
import { dayLabel, Field, type Update } from "./fields";

/** The weekday pickers' order (Monday first) and each day's cron number (0 = Sunday). */
const weekdayNumbers = weekDays.map((day, index) => [day, (index + 1) % 7] as const);

/** Manual, a simple schedule or any cron (a macro such as `@daily` too), its zone, and the next runs the hub computes. */
export function ScheduleSection(props: { form: JobForm; update: Update; error?: string; zones: string[] }) {
  const { form, update } = props;
  const schedule = formSchedule(form);
  const updateSimple = (change: Partial<Simple>) => update({ simple: { ...form.simple, ...change } as Simple });
  const noDay = scheduleProblems(form)[0];
  // A weekly schedule without a day is no cron: the picker says so, the hub is not asked.
  const preview = useSchedulePreview(noDay ? null : schedule, form.timezone);
  return (
    <fieldset className="card">
      <legend>{t("job.editor.schedule")}</legend>
      <div className="segmented" role="radiogroup" aria-label={t("job.editor.schedule.mode")}>
        {(["manual", "simple", "cron"] as const).map((mode) => (
          <label key={mode} className="inline">
            <input type="radio" name="scheduleMode" checked={form.scheduleMode === mode} onChange={() => update({ scheduleMode: mode, cron: schedule ?? form.cron })} />
            {mode === "manual" ? t("job.editor.schedule.manual") : mode === "simple" ? t("job.editor.schedule.simple") : t("job.editor.schedule.cronMode")}
          </label>
        ))}
      </div>
      {form.scheduleMode === "simple" && (
        <div className="row simple-schedule">
          <select
            aria-label={t("job.editor.schedule.repeat")}
            value={form.simple.kind}
            onChange={(event) => {
              const kind = event.target.value as Simple["kind"];
              const base = { hour: 2, minute: 0 };
              update({
                simple:
                  kind === "every_minutes"
                    ? { kind, minutes: 15 }
                    : kind === "hourly"
                      ? { kind, minute: 0 }
                      : kind === "daily"
                        ? { kind, ...base }
                        : kind === "weekly"
                          ? { kind, weekdays: [1], ...base }
                          : { kind, day: 1, ...base },
              });
            }}
          >
            <option value="every_minutes">{t("job.editor.schedule.everyMinutes")}</option>
            <option value="hourly">{t("job.editor.schedule.hourly")}</option>
            <option value="daily">{t("job.editor.schedule.daily")}</option>
            <option value="weekly">{t("job.editor.schedule.weekly")}</option>
            <option value="monthly">{t("job.editor.schedule.monthly")}</option>
          </select>
          {form.simple.kind === "every_minutes" && (
            <>
              <input aria-label={t("job.editor.schedule.minutes")} type="number" min={1} max={59} value={form.simple.minutes} onChange={(event) => updateSimple({ minutes: Number(event.target.value) })} />
              <span className="unit">{t("job.editor.schedule.minutesUnit")}</span>
            </>
          )}
          {form.simple.kind === "weekly" && <WeekdayPicker days={form.simple.weekdays} onChange={(weekdays) => updateSimple({ weekdays })} error={noDay} />}
          {form.simple.kind === "monthly" && <span className="unit">{t("job.editor.schedule.onDay")}</span>}
          {form.simple.kind === "monthly" && (
            <input aria-label={t("job.editor.schedule.dayOfMonth")} type="number" min={1} max={28} value={form.simple.day} onChange={(event) => updateSimple({ day: Number(event.target.value) })} />
          )}
          {form.simple.kind === "monthly" && t("job.editor.schedule.dayUnit") && <span className="unit">{t("job.editor.schedule.dayUnit")}</span>}
          {form.simple.kind !== "every_minutes" && <span className="unit">{form.simple.kind === "hourly" ? t("job.editor.schedule.atMinute") : t("job.editor.schedule.at")}</span>}
          {(form.simple.kind === "daily" || form.simple.kind === "weekly" || form.simple.kind === "monthly") && (
            <>
              <input aria-label={t("job.editor.schedule.hour")} type="number" min={0} max={23} value={form.simple.hour} onChange={(event) => updateSimple({ hour: Number(event.target.value) })} />
              <span className="unit">:</span>
            </>
          )}
          {form.simple.kind !== "every_minutes" && (
            <input aria-label={t("job.editor.schedule.minute")} type="number" min={0} max={59} value={form.simple.minute} onChange={(event) => updateSimple({ minute: Number(event.target.value) })} />
          )}
          {form.simple.kind === "hourly" && t("job.editor.schedule.minuteUnit") && <span className="unit">{t("job.editor.schedule.minuteUnit")}</span>}
        </div>
      )}
      {form.scheduleMode === "cron" && (
        <Field label={t("job.editor.schedule.cron")} error={props.error} hint={t("editor.schedule.macroHint")}>
          <input name="cron" value={form.cron} onChange={(event) => update({ cron: event.target.value })} placeholder="30 2 * * *" />
        </Field>
      )}
      {form.scheduleMode !== "manual" && (
        <>
          <Field label={t("job.editor.schedule.timezone")} error={form.scheduleMode !== "cron" ? props.error : undefined}>
            <input name="timezone" list="zones" value={form.timezone} onChange={(event) => update({ timezone: event.target.value })} />
            <datalist id="zones">
              {props.zones.map((zone) => (
                <option key={zone} value={zone} />
              ))}
            </datalist>
          </Field>
          <div className="preview" data-testid="schedule-preview">
            {schedule && !noDay && <code>{schedule}</code>}
            {preview && "next" in preview && (
              <ol>
                {preview.next.map((instant) => (
                  <li key={instant}>
                    {formatTime(instant, form.timezone)} <span className="muted">({formatRelative(instant)})</span>
                  </li>
                ))}
              </ol>
            )}
            {preview && "error" in preview && <p className="field-error">{preview.error}</p>}
          </div>
        </>
      )}
    </fieldset>
  );
}

/** The days of a weekly schedule: one checkbox each, Monday first; several make `30 2 * * 1,3,5`. */
function WeekdayPicker(props: { days: number[]; onChange: (days: number[]) => void; error?: string }) {
  return (
    <div className={`days weekday-picker${props.error ? " has-error" : ""}`} role="group" aria-label={t("editor.schedule.days")}>
      {weekdayNumbers.map(([day, number]) => (
        <label className="inline day" key={day}>
          <input
            type="checkbox"
            name={`weekday-${day}`}
            aria-label={weekdayName(number)}
            checked={props.days.includes(number)}
            onChange={(event) => props.onChange(sortedWeekdays(event.target.checked ? [...props.days, number] : props.days.filter((item) => item !== number)))}
          />
          {dayLabel(day)}
        </label>
      ))}
      {props.error && (
        <p className="field-error" role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}

type Preview = { next: number[] } | { error: string } | null;

/** The hub's next triggers of a schedule (`POST /api/schedules/preview`), asked a moment after typing stops. */
function useSchedulePreview(schedule: string | null, timezone: string): Preview {
  const [preview, setPreview] = useState<Preview>(null);
  useEffect(() => {
    if (schedule === null) {
      setPreview(null);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      api.previewSchedule(schedule, timezone).then(
        (result) => current && setPreview({ next: result.next }),
        (caught) => current && setPreview({ error: caught instanceof ApiError ? caught.message : String(caught) }),
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [schedule, timezone]);
  return preview;
}
