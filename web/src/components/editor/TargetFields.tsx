import { useState } from "react";
import type { SecretKind } from "../../api";
import { Link, TestConnection } from "../../components";
import { CredentialForm } from "../CredentialForm";
import { Dialog } from "../../names";
import { t } from "../../i18n";
import { formatBytes } from "../../lib/format";
import { bandwidthAt, emptyBandwidthRule, targetOf, weekDays, type BandwidthForm, type BandwidthRuleForm, type JobForm, type TargetForm } from "../../lib/jobForm";
import { dayLabel, Field, type Secrets } from "./fields";

// One target's fields, the primary's and each copy's (docs/targets.md): where, which credential, Test connection,
// part size and bandwidth.

function targetHint(type: JobForm["targetType"]): string {
  if (type === "local_dir") return t("job.editor.targetHint.localDir");
  if (type === "webdav") return t("job.editor.targetHint.webdav");
  return t("job.editor.targetHint.rclone");
}

/** One target: where, its credentials, Test connection, part size and bandwidth (the primary and each copy). */
export function TargetFields(props: {
  fields: TargetForm;
  onChange: (change: Partial<TargetForm>) => void;
  secrets: Secrets;
  error?: string;
  bandwidthError?: string;
  zones: string[];
  /** Input names get this prefix (copies: `copies.0.`); the primary's names are plain. */
  prefix?: string;
  /** A credential was stored from here: the page reloads its lists before this target picks it. */
  onSecretSaved: () => Promise<void>;
}) {
  const { fields, onChange } = props;
  const name = (field: string) => `${props.prefix ?? ""}${field}`;
  const available = props.secrets[fields.targetType as SecretKind] ?? [];
  const [adding, setAdding] = useState(false);
  return (
    <>
      <Field label={t("job.page.fact.whereTo")} hint={targetHint(fields.targetType)}>
        <select name={name("targetType")} value={fields.targetType} onChange={(event) => onChange({ targetType: event.target.value as TargetForm["targetType"] })}>
          <option value="local_dir">{t("recovery.kind.localDir")}</option>
          <option value="webdav">{t("job.editor.target.webdav")}</option>
          <option value="rclone">{t("job.editor.target.rclone")}</option>
        </select>
      </Field>
      {fields.targetType === "local_dir" && (
        <Field label={t("job.editor.target.localDir")} error={props.error}>
          <input name={name("baseDir")} value={fields.baseDir} placeholder={t("job.editor.example.localDir")} onChange={(event) => onChange({ baseDir: event.target.value })} />
        </Field>
      )}
      {fields.targetType === "webdav" && (
        <Field label={t("recovery.baseUrl")} error={props.error} hint={t("job.editor.target.baseUrlHint")}>
          <input name={name("baseUrl")} placeholder={t("job.editor.example.webdavUrl")} value={fields.baseUrl} onChange={(event) => onChange({ baseUrl: event.target.value })} />
        </Field>
      )}
      {fields.targetType === "rclone" && (
        <Field label={t("recovery.remote")} error={props.error} hint={t("job.editor.target.remoteHint")}>
          <input name={name("remote")} placeholder={t("job.editor.example.rcloneRemote")} value={fields.remote} onChange={(event) => onChange({ remote: event.target.value })} />
        </Field>
      )}
      {fields.targetType !== "local_dir" && (
        <Field
          label={fields.targetType === "webdav" ? t("settings.webdav.label") : t("job.editor.target.rcloneConfig")}
          hint={
            <>
              {t("job.editor.target.secretHintBefore")}
              <Link to="/settings">{t("nav.settings")}</Link>
              {t("job.editor.target.secretHintAfter")}
            </>
          }
        >
          <select name={name("secretName")} value={fields.secretName} onChange={(event) => onChange({ secretName: event.target.value })}>
            <option value="">{t("common.a.choose")}</option>
            {available.map((secret) => (
              <option key={secret.name} value={secret.name}>
                {secret.name}
              </option>
            ))}
            {fields.secretName && !available.some((secret) => secret.name === fields.secretName) && <option value={fields.secretName}>{t("job.editor.missing", { name: fields.secretName })}</option>}
          </select>
        </Field>
      )}
      {fields.targetType !== "local_dir" && (
        <button type="button" className="ghost" onClick={() => setAdding(true)}>
          {t("editor.credential.new")}
        </button>
      )}
      {adding && fields.targetType !== "local_dir" && (
        <Dialog title={t("editor.credential.title")} onClose={() => setAdding(false)} testId="new-credential">
          <CredentialForm
            kind={fields.targetType}
            className="credential-form"
            onSaved={async (secretName) => {
              await props.onSecretSaved();
              onChange({ secretName });
              setAdding(false);
            }}
          />
        </Dialog>
      )}
      <TestConnection target={() => targetOf(fields)} disabled={fields.targetType !== "local_dir" && !fields.secretName} />
      <Field label={t("job.editor.target.partSize")}>
        <input name={name("partSize")} type="number" min={1} value={fields.partSizeMiB} onChange={(event) => onChange({ partSizeMiB: Number(event.target.value) })} />
      </Field>
      {fields.targetType !== "local_dir" && (
        <BandwidthFields bandwidth={fields.bandwidth} onChange={(bandwidth) => onChange({ bandwidth })} error={props.bandwidthError} zones={props.zones} prefix={name("bw")} />
      )}
    </>
  );
}

const mibText = (bps: number | null) => (bps === null ? t("jobForm.bandwidth.unlimited") : `${formatBytes(bps)}/s`);

/** A target's bandwidth: a limit in MiB/s, and optional hour ranges by weekday with their own limits. */
function BandwidthFields(props: { bandwidth: BandwidthForm; onChange: (bandwidth: BandwidthForm) => void; error?: string; zones: string[]; prefix: string }) {
  const { bandwidth } = props;
  const set = (change: Partial<BandwidthForm>) => props.onChange({ ...bandwidth, ...change });
  const setRule = (index: number, change: Partial<BandwidthRuleForm>) => set({ schedule: bandwidth.schedule.map((rule, at) => (at === index ? { ...rule, ...change } : rule)) });
  return (
    <div className="subcard bandwidth" role="group" aria-label={t("job.page.fact.bandwidth")}>
      <Field
        label={t("job.editor.bw.limit")}
        error={props.error}
        hint={t("job.editor.bw.limitHint")}
      >
        <input name={`${props.prefix}Limit`} className="num-wide" type="number" min={0.0625} step="any" placeholder={t("jobForm.bandwidth.unlimited")} value={bandwidth.limitMiB} onChange={(event) => set({ limitMiB: event.target.value })} />
      </Field>
      {bandwidth.schedule.map((rule, index) => (
        <div className="bw-rule" key={index} role="group" aria-label={t("job.editor.bw.hours", { number: index + 1 })}>
          <div className="days">
            {weekDays.map((day) => (
              <label className="inline day" key={day}>
                <input
                  type="checkbox"
                  name={`${props.prefix}Rule${index}Day-${day}`}
                  checked={rule.days.includes(day)}
                  onChange={(event) => setRule(index, { days: event.target.checked ? [...rule.days, day] : rule.days.filter((item) => item !== day) })}
                />
                {dayLabel(day)}
              </label>
            ))}
          </div>
          <div className="row">
            <label>
              {t("job.editor.bw.fromHour")}
              <input name={`${props.prefix}Rule${index}Start`} type="number" min={0} max={23} value={rule.startHour} onChange={(event) => setRule(index, { startHour: event.target.value })} />
            </label>
            <label>
              {t("job.editor.bw.toHour")}
              <input name={`${props.prefix}Rule${index}End`} type="number" min={1} max={24} value={rule.endHour} onChange={(event) => setRule(index, { endHour: event.target.value })} />
            </label>
            <label>
              {t("job.editor.bw.ruleLimit")}
              <input name={`${props.prefix}Rule${index}Limit`} type="number" min={0.0625} step="any" placeholder={t("jobForm.bandwidth.unlimited")} value={rule.limitMiB} onChange={(event) => setRule(index, { limitMiB: event.target.value })} />
            </label>
            <button type="button" className="ghost danger" onClick={() => set({ schedule: bandwidth.schedule.filter((_, at) => at !== index) })}>
              {t("common.a.remove")}
            </button>
          </div>
        </div>
      ))}
      <button type="button" onClick={() => set({ schedule: [...bandwidth.schedule, emptyBandwidthRule()] })}>
        {t("job.editor.bw.addHours")}
      </button>
      {bandwidth.schedule.length > 0 && (
        <>
          <p className="hint muted">{t("job.editor.bw.rulesHint")}</p>
          <Field label={t("job.editor.bw.timezone")} hint={t("job.editor.bw.timezoneHint")}>
            <input name={`${props.prefix}Timezone`} list="zones" placeholder={t("job.editor.bw.hubZone")} value={bandwidth.timezone} onChange={(event) => set({ timezone: event.target.value })} />
          </Field>
          <WeekGrid bandwidth={bandwidth} />
        </>
      )}
    </div>
  );
}

/** The week at a glance: one cell per hour, shaded by its limit. */
function WeekGrid(props: { bandwidth: BandwidthForm }) {
  const limits = weekDays.flatMap((day) => Array.from({ length: 24 }, (_, hour) => bandwidthAt(props.bandwidth, day, hour)));
  const finite = limits.filter((limit): limit is number => limit !== null);
  const highest = finite.length ? Math.max(...finite) : 1;
  return (
    <table className="week-grid" aria-label={t("job.editor.bw.grid")}>
      <caption className="week-caption muted">{t("job.editor.bw.gridCaption")}</caption>
      <thead>
        <tr>
          <th />
          {Array.from({ length: 24 }, (_, hour) => (
            <th key={hour}>{hour % 6 === 0 ? hour : ""}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {weekDays.map((day) => (
          <tr key={day}>
            <th>{dayLabel(day)}</th>
            {Array.from({ length: 24 }, (_, hour) => {
              const limit = bandwidthAt(props.bandwidth, day, hour);
              const level = limit === null ? 0 : 1 - limit / highest / 1.25;
              return <td key={hour} title={t("job.editor.bw.cell", { day: dayLabel(day), from: hour, to: hour + 1, rate: mibText(limit) })} style={{ opacity: 0.15 + level * 0.85 }} data-limit={limit ?? "unlimited"} />;
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
