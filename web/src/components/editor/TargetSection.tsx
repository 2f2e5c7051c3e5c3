import { t } from "../../i18n";
import type { JobForm } from "../../lib/jobForm";
import { Field, type Secrets, type Update } from "./fields";
import { TargetFields } from "./TargetFields";

/** Where the snapshots go, how they are encrypted, and (files) whether each is full or incremental. */
export function TargetSection(props: { form: JobForm; update: Update; secrets: Secrets; zones: string[]; onSecretSaved: () => Promise<void>; errorFor: (key: string) => string | undefined }) {
  const { form, update, errorFor } = props;
  return (
    <fieldset className="card">
      <legend>{t("job.editor.targetSecurity")}</legend>
      <TargetFields fields={form} onChange={update} secrets={props.secrets} error={errorFor("target")} bandwidthError={errorFor("bandwidth")} zones={props.zones} onSecretSaved={props.onSecretSaved} />
      <EncryptionFields form={form} update={update} error={errorFor("encryption")} />
      {form.type === "filesystem" && (
        <Field
          label={t("job.page.fact.snapshots")}
          error={errorFor("snapshots")}
          hint={form.snapshots === "incremental" ? t("job.editor.snapshots.incrementalHint") : t("job.editor.snapshots.fullHint")}
        >
          <select name="snapshots" value={form.snapshots} onChange={(event) => update({ snapshots: event.target.value as JobForm["snapshots"] })}>
            <option value="full">{t("job.page.fact.fullEveryTime")}</option>
            <option value="incremental">{t("job.editor.snapshots.incremental")}</option>
          </select>
        </Field>
      )}
      {form.type === "filesystem" && form.snapshots === "incremental" && (
        <Field label={t("job.editor.snapshots.fullEvery")} hint={t("job.editor.snapshots.fullEveryHint")}>
          <input name="fullEvery" type="number" min={1} max={1000} value={form.fullEvery} onChange={(event) => update({ fullEvery: event.target.value })} />
        </Field>
      )}
    </fieldset>
  );
}

/** Encryption: none, or age to a key of the hub's (docs/formats.md). */
function EncryptionFields(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  return (
    <>
      <Field label={t("job.page.fact.encryption")} error={props.error} hint={form.encryption === "age" ? t("job.editor.encryptionHint") : undefined}>
        <select name="encryption" value={form.encryption} onChange={(event) => update({ encryption: event.target.value as JobForm["encryption"] })}>
          <option value="none">{t("common.a.none")}</option>
          <option value="age">{t("job.editor.encryption.age")}</option>
        </select>
      </Field>
      {form.encryption === "age" && (
        <Field label={t("job.editor.keyName")}>
          <input value={form.keyName} onChange={(event) => update({ keyName: event.target.value })} />
        </Field>
      )}
    </>
  );
}
