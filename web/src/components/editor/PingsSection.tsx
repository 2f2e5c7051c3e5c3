import { t } from "../../i18n";
import { emptyPing, type JobForm, type PingForm } from "../../lib/jobForm";
import { Field, SectionError, type Update } from "./fields";

/** Dead-man's-switch pings: a service like healthchecks.io is told when a backup starts, succeeds or fails. */
export function PingsSection(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  const setPing = (index: number, change: Partial<PingForm>) => update({ pings: form.pings.map((ping, at) => (at === index ? { ...ping, ...change } : ping)) });
  return (
    <fieldset className="card pings" aria-label={t("job.page.fact.pings")}>
      <legend>{t("job.editor.pings.legend")}</legend>
      <p className="hint muted">
        {t("job.editor.pings.hint")}
      </p>
      {form.pings.map((ping, index) => (
        <div className="subcard ping" key={index} role="group" aria-label={t("job.editor.pings.number", { number: index + 1 })}>
          <div className="hook-header">
            <select name={`pings.${index}.mode`} aria-label={t("job.editor.pings.kind")} value={ping.mode} onChange={(event) => setPing(index, { mode: event.target.value as PingForm["mode"] })}>
              <option value="healthchecks">{t("job.editor.pings.healthchecks")}</option>
              <option value="urls">{t("job.editor.pings.urls")}</option>
            </select>
            <button type="button" className="ghost danger" onClick={() => update({ pings: form.pings.filter((_, at) => at !== index) })}>
              {t("common.a.remove")}
            </button>
          </div>
          {ping.mode === "healthchecks" ? (
            <Field label={t("job.editor.pings.checkUrl")} hint={t("job.editor.pings.checkUrlHint")}>
              <input name={`pings.${index}.url`} placeholder={t("job.editor.example.pingUrl")} value={ping.url} onChange={(event) => setPing(index, { url: event.target.value })} />
            </Field>
          ) : (
            <>
              <Field label={t("job.editor.pings.onStart")}>
                <input name={`pings.${index}.startUrl`} placeholder={t("job.editor.example.pingStart")} value={ping.startUrl} onChange={(event) => setPing(index, { startUrl: event.target.value })} />
              </Field>
              <Field label={t("job.editor.pings.onSuccess")}>
                <input name={`pings.${index}.successUrl`} placeholder={t("job.editor.example.pingOk")} value={ping.successUrl} onChange={(event) => setPing(index, { successUrl: event.target.value })} />
              </Field>
              <Field label={t("job.editor.pings.onFailure")}>
                <input name={`pings.${index}.failureUrl`} placeholder={t("job.editor.example.pingFail")} value={ping.failureUrl} onChange={(event) => setPing(index, { failureUrl: event.target.value })} />
              </Field>
            </>
          )}
        </div>
      ))}
      <SectionError error={props.error} />
      <button type="button" disabled={form.pings.length >= 8} onClick={() => update({ pings: [...form.pings, emptyPing()] })}>
        {t("job.editor.pings.add")}
      </button>
    </fieldset>
  );
}
