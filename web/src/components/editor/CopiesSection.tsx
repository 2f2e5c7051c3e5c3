import { t } from "../../i18n";
import { emptyCopy, type JobForm, type TargetForm } from "../../lib/jobForm";
import { SectionError, type Secrets, type Update } from "./fields";
import { TargetFields } from "./TargetFields";

/** Copy targets: each snapshot is also copied to each of them after the backup (3-2-1). */
export function CopiesSection(props: { form: JobForm; update: Update; secrets: Secrets; error?: string; zones: string[]; onSecretSaved: () => Promise<void> }) {
  const { form, update } = props;
  const setCopy = (index: number, change: Partial<TargetForm>) => update({ copies: form.copies.map((copy, at) => (at === index ? { ...copy, ...change } : copy)) });
  return (
    <fieldset className="card copies" aria-label={t("job.editor.copies")}>
      <legend>{t("job.editor.copies.legend")}</legend>
      <p className="hint muted">
        {t("job.editor.copies.hint")}
      </p>
      {form.copies.map((copy, index) => (
        <div className="subcard copy" key={index} role="group" aria-label={t("job.page.fact.copy", { number: index + 1 })}>
          <div className="hook-header">
            <strong>{t("job.editor.copies.number", { number: index + 1 })}</strong>
            <button type="button" className="ghost danger" onClick={() => update({ copies: form.copies.filter((_, at) => at !== index) })}>
              {t("common.a.remove")}
            </button>
          </div>
          <TargetFields fields={copy} onChange={(change) => setCopy(index, change)} secrets={props.secrets} zones={props.zones} prefix={`copies.${index}.`} onSecretSaved={props.onSecretSaved} />
        </div>
      ))}
      <SectionError error={props.error} />
      <button type="button" disabled={form.copies.length >= 4} onClick={() => update({ copies: [...form.copies, emptyCopy()] })}>
        {t("job.editor.copies.add")}
      </button>
    </fieldset>
  );
}
