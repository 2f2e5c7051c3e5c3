import { t } from "../../i18n";
import { defaultDrillSchedule, type JobForm } from "../../lib/jobForm";
import { describeCron } from "../../lib/schedule";
import { Field, type Update } from "./fields";

/** Restore drills: scheduled verify runs of a snapshot, optionally with a full test restore. */
export function DrillsSection(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  const words = describeCron(form.drillSchedule.trim() || defaultDrillSchedule);
  return (
    <fieldset className="card drills" aria-label={t("job.page.fact.drills")}>
      <legend>{t("job.page.fact.drills")}</legend>
      <label className="inline">
        <input type="checkbox" name="drillsEnabled" checked={form.drillsEnabled} onChange={(event) => update({ drillsEnabled: event.target.checked })} />{" "}
        {t("job.editor.drills.enable")}
      </label>
      <p className="hint muted">
        {t("job.editor.drills.hint")}
      </p>
      {form.drillsEnabled && (
        <>
          <Field label={t("job.editor.drills.when")} error={props.error} hint={words ? t("job.editor.drills.inZone", { words, zone: form.timezone }) : t("job.editor.drills.cronFields")}>
            <input name="drillSchedule" value={form.drillSchedule} placeholder={defaultDrillSchedule} onChange={(event) => update({ drillSchedule: event.target.value })} />
          </Field>
          <Field label={t("job.editor.drills.which")} hint={form.drillPick === "random" ? t("job.editor.drills.randomHint") : t("job.editor.drills.newestHint")}>
            <select name="drillPick" value={form.drillPick} onChange={(event) => update({ drillPick: event.target.value as JobForm["drillPick"] })}>
              <option value="newest">{t("job.editor.drills.newest")}</option>
              <option value="random">{t("job.editor.drills.random")}</option>
            </select>
          </Field>
          <label className="inline">
            <input type="checkbox" name="drillTestRestore" checked={form.drillTestRestore} onChange={(event) => update({ drillTestRestore: event.target.checked })} />{" "}
            {t("job.editor.drills.testRestore")}
          </label>
        </>
      )}
    </fieldset>
  );
}
