import type { SecretKind, TargetSecretInfo } from "../api";
import { Link, TestConnection } from "../components";
import { t, type MessageKey } from "../i18n";
import { formatBytes } from "../lib/format";
import {
  bandwidthAt,
  defaultDrillSchedule,
  emptyBandwidthRule,
  emptyCopy,
  emptyPing,
  targetOf,
  weekDays,
  type BandwidthForm,
  type BandwidthRuleForm,
  type JobForm,
  type PingForm,
  type TargetForm,
  type WeekDay,
} from "../lib/jobForm";
import { describeCron } from "../lib/schedule";
import { Field, targetHint } from "./JobEditor";

// The job editor's parts for issue #26: copy targets, bandwidth limits, GFS retention, pings and restore drills.

type Update = (change: Partial<JobForm>) => void;
type Secrets = Partial<Record<SecretKind, TargetSecretInfo[]>>;

const dayKeys: Record<WeekDay, MessageKey> = {
  mon: "job.editor.day.mon",
  tue: "job.editor.day.tue",
  wed: "job.editor.day.wed",
  thu: "job.editor.day.thu",
  fri: "job.editor.day.fri",
  sat: "job.editor.day.sat",
  sun: "job.editor.day.sun",
};
const dayLabel = (day: WeekDay) => t(dayKeys[day]);

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
}) {
  const { fields, onChange } = props;
  const name = (field: string) => `${props.prefix ?? ""}${field}`;
  const available = props.secrets[fields.targetType as SecretKind] ?? [];
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

/** Copy targets: each snapshot is also copied to each of them after the backup (3-2-1). */
export function CopiesFields(props: { form: JobForm; update: Update; secrets: Secrets; error?: string; zones: string[] }) {
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
          <TargetFields fields={copy} onChange={(change) => setCopy(index, change)} secrets={props.secrets} zones={props.zones} prefix={`copies.${index}.`} />
        </div>
      ))}
      {props.error && (
        <p className="field-error" role="alert">
          {props.error}
        </p>
      )}
      <button type="button" disabled={form.copies.length >= 4} onClick={() => update({ copies: [...form.copies, emptyCopy()] })}>
        {t("job.editor.copies.add")}
      </button>
    </fieldset>
  );
}

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

/** Dead-man's-switch pings: a service like healthchecks.io is told when a backup starts, succeeds or fails. */
export function PingsFields(props: { form: JobForm; update: Update; error?: string }) {
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
      {props.error && (
        <p className="field-error" role="alert">
          {props.error}
        </p>
      )}
      <button type="button" disabled={form.pings.length >= 8} onClick={() => update({ pings: [...form.pings, emptyPing()] })}>
        {t("job.editor.pings.add")}
      </button>
    </fieldset>
  );
}

/** Restore drills: scheduled verify runs of a snapshot, optionally with a full test restore. */
export function DrillsFields(props: { form: JobForm; update: Update; error?: string }) {
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
