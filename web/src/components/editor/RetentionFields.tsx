import { t, type MessageKey } from "../../i18n";
import type { JobForm } from "../../lib/jobForm";
import { Field, type Update } from "./fields";

const ruleLabels: [keyof JobForm, MessageKey, MessageKey][] = [
  ["keepLast", "job.editor.keep.last", "job.editor.keep.lastHint"],
  ["keepHourly", "job.editor.schedule.hourly", "job.editor.keep.hourlyHint"],
  ["keepDaily", "job.editor.schedule.daily", "job.editor.keep.dailyHint"],
  ["keepWeekly", "job.editor.schedule.weekly", "job.editor.keep.weeklyHint"],
  ["keepMonthly", "job.editor.schedule.monthly", "job.editor.keep.monthlyHint"],
  ["keepYearly", "job.editor.keep.yearly", "job.editor.keep.yearlyHint"],
];

/** Retention as restic's `forget --keep-*`: a snapshot is kept when any rule keeps it. */
export function RetentionFields(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  return (
    <div className="retention-rules" role="group" aria-label={t("job.page.tab.retention")}>
      <label className="inline">
        <input type="checkbox" name="retentionEnabled" checked={form.retentionEnabled} onChange={(event) => update({ retentionEnabled: event.target.checked })} /> {t("job.editor.keep.enable")}
      </label>
      {form.retentionEnabled && (
        <>
          <p className="hint muted">
            {t("job.editor.keep.hint", { zone: form.timezone })}
          </p>
          <div className="rule-grid">
            {ruleLabels.map(([field, label, hint]) => (
              <Field key={field} label={t(label)} hint={t(hint)} error={field === "keepLast" ? props.error : undefined}>
                <input name={field} className="num-wide" type="number" min={-1} placeholder="–" value={form[field] as string} onChange={(event) => update({ [field]: event.target.value } as Partial<JobForm>)} />
              </Field>
            ))}
            <Field label={t("job.editor.keep.within")} hint={t("job.editor.keep.withinHint")}>
              <input name="keepWithin" className="num-wide" placeholder="–" value={form.keepWithin} onChange={(event) => update({ keepWithin: event.target.value })} />
            </Field>
            {form.keepDays.trim() !== "" && (
              <Field label={t("job.editor.keep.days")} hint={t("job.editor.keep.daysHint")}>
                <input name="keepDays" className="num-wide" type="number" min={0} value={form.keepDays} onChange={(event) => update({ keepDays: event.target.value })} />
              </Field>
            )}
          </div>
        </>
      )}
    </div>
  );
}
