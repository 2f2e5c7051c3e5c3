import type { SecretKind, TargetSecretInfo } from "../api";
import { Link, TestConnection } from "../components";
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

const dayLabels: Record<WeekDay, string> = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };

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
      <Field label="Where to" hint={targetHint(fields.targetType)}>
        <select name={name("targetType")} value={fields.targetType} onChange={(event) => onChange({ targetType: event.target.value as TargetForm["targetType"] })}>
          <option value="local_dir">directory on this host</option>
          <option value="webdav">WebDAV (Nextcloud, NAS, storage box)</option>
          <option value="rclone">rclone remote (SFTP, S3, B2, …)</option>
        </select>
      </Field>
      {fields.targetType === "local_dir" && (
        <Field label="Local directory" error={props.error}>
          <input name={name("baseDir")} value={fields.baseDir} placeholder="/mnt/usb/bastion" onChange={(event) => onChange({ baseDir: event.target.value })} />
        </Field>
      )}
      {fields.targetType === "webdav" && (
        <Field label="Base URL" error={props.error} hint="Snapshots go to <base URL>/<job>/<run>/.">
          <input name={name("baseUrl")} placeholder="https://nas.example/remote.php/dav/files/me/bastion/" value={fields.baseUrl} onChange={(event) => onChange({ baseUrl: event.target.value })} />
        </Field>
      )}
      {fields.targetType === "rclone" && (
        <Field label="Remote (name:path)" error={props.error} hint="name is the remote's configuration; path a folder or bucket on it.">
          <input name={name("remote")} placeholder="box:backups/bastion" value={fields.remote} onChange={(event) => onChange({ remote: event.target.value })} />
        </Field>
      )}
      {fields.targetType !== "local_dir" && (
        <Field
          label={fields.targetType === "webdav" ? "WebDAV credentials" : "rclone configuration"}
          hint={
            <>
              Kept encrypted; add or change them in <Link to="/settings">Settings</Link>.
            </>
          }
        >
          <select name={name("secretName")} value={fields.secretName} onChange={(event) => onChange({ secretName: event.target.value })}>
            <option value="">choose…</option>
            {available.map((secret) => (
              <option key={secret.name} value={secret.name}>
                {secret.name}
              </option>
            ))}
            {fields.secretName && !available.some((secret) => secret.name === fields.secretName) && <option value={fields.secretName}>{fields.secretName} (missing)</option>}
          </select>
        </Field>
      )}
      <TestConnection target={() => targetOf(fields)} disabled={fields.targetType !== "local_dir" && !fields.secretName} />
      <Field label="Part size (MiB)">
        <input name={name("partSize")} type="number" min={1} value={fields.partSizeMiB} onChange={(event) => onChange({ partSizeMiB: Number(event.target.value) })} />
      </Field>
      {fields.targetType !== "local_dir" && (
        <BandwidthFields bandwidth={fields.bandwidth} onChange={(bandwidth) => onChange({ bandwidth })} error={props.bandwidthError} zones={props.zones} prefix={name("bw")} />
      )}
    </>
  );
}

const mibText = (bps: number | null) => (bps === null ? "unlimited" : `${formatBytes(bps)}/s`);

/** A target's bandwidth: a limit in MiB/s, and optional hour ranges by weekday with their own limits. */
function BandwidthFields(props: { bandwidth: BandwidthForm; onChange: (bandwidth: BandwidthForm) => void; error?: string; zones: string[]; prefix: string }) {
  const { bandwidth } = props;
  const set = (change: Partial<BandwidthForm>) => props.onChange({ ...bandwidth, ...change });
  const setRule = (index: number, change: Partial<BandwidthRuleForm>) => set({ schedule: bandwidth.schedule.map((rule, at) => (at === index ? { ...rule, ...change } : rule)) });
  return (
    <div className="subcard bandwidth" role="group" aria-label="Bandwidth">
      <Field
        label="Bandwidth limit (MiB/s)"
        error={props.error}
        hint="Uploads and downloads each stay under it over any one second. Empty: as fast as the line allows. At least 0.0625 (64 KiB/s)."
      >
        <input name={`${props.prefix}Limit`} className="num-wide" type="number" min={0.0625} step="any" placeholder="unlimited" value={bandwidth.limitMiB} onChange={(event) => set({ limitMiB: event.target.value })} />
      </Field>
      {bandwidth.schedule.map((rule, index) => (
        <div className="bw-rule" key={index} role="group" aria-label={`Bandwidth hours ${index + 1}`}>
          <div className="days">
            {weekDays.map((day) => (
              <label className="inline day" key={day}>
                <input
                  type="checkbox"
                  name={`${props.prefix}Rule${index}Day-${day}`}
                  checked={rule.days.includes(day)}
                  onChange={(event) => setRule(index, { days: event.target.checked ? [...rule.days, day] : rule.days.filter((item) => item !== day) })}
                />
                {dayLabels[day]}
              </label>
            ))}
          </div>
          <div className="row">
            <label>
              From hour
              <input name={`${props.prefix}Rule${index}Start`} type="number" min={0} max={23} value={rule.startHour} onChange={(event) => setRule(index, { startHour: event.target.value })} />
            </label>
            <label>
              to hour
              <input name={`${props.prefix}Rule${index}End`} type="number" min={1} max={24} value={rule.endHour} onChange={(event) => setRule(index, { endHour: event.target.value })} />
            </label>
            <label>
              MiB/s
              <input name={`${props.prefix}Rule${index}Limit`} type="number" min={0.0625} step="any" placeholder="unlimited" value={rule.limitMiB} onChange={(event) => setRule(index, { limitMiB: event.target.value })} />
            </label>
            <button type="button" className="ghost danger" onClick={() => set({ schedule: bandwidth.schedule.filter((_, at) => at !== index) })}>
              Remove
            </button>
          </div>
        </div>
      ))}
      <button type="button" onClick={() => set({ schedule: [...bandwidth.schedule, emptyBandwidthRule()] })}>
        Add hours with another limit
      </button>
      {bandwidth.schedule.length > 0 && (
        <>
          <p className="hint muted">The first range that holds the current hour applies (to hour not included); outside every range, the limit above.</p>
          <Field label="Hours are in the time zone" hint="Empty: the hub's time zone.">
            <input name={`${props.prefix}Timezone`} list="zones" placeholder="hub time zone" value={bandwidth.timezone} onChange={(event) => set({ timezone: event.target.value })} />
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
    <table className="week-grid" aria-label="Bandwidth by hour">
      <caption className="week-caption muted">The week by hour: the darker, the slower (hover for the limit).</caption>
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
            <th>{dayLabels[day]}</th>
            {Array.from({ length: 24 }, (_, hour) => {
              const limit = bandwidthAt(props.bandwidth, day, hour);
              const level = limit === null ? 0 : 1 - limit / highest / 1.25;
              return <td key={hour} title={`${dayLabels[day]} ${hour}:00–${hour + 1}:00: ${mibText(limit)}`} style={{ opacity: 0.15 + level * 0.85 }} data-limit={limit ?? "unlimited"} />;
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
    <fieldset className="card copies" aria-label="Copies">
      <legend>Copies (other targets)</legend>
      <p className="hint muted">
        After each successful backup its snapshot is copied to each target here, checked part by part. Restore and verify can read any copy; a
        failed copy is retried and shows on the overview. Up to 4; each must differ from the target above and from the others.
      </p>
      {form.copies.map((copy, index) => (
        <div className="subcard copy" key={index} role="group" aria-label={`Copy ${index + 1}`}>
          <div className="hook-header">
            <strong>Copy #{index + 1}</strong>
            <button type="button" className="ghost danger" onClick={() => update({ copies: form.copies.filter((_, at) => at !== index) })}>
              Remove
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
        Add a copy target
      </button>
    </fieldset>
  );
}

const ruleLabels: [keyof JobForm, string, string][] = [
  ["keepLast", "Keep the last", "snapshots, whatever their age"],
  ["keepHourly", "Hourly", "the newest of each of the last N hours"],
  ["keepDaily", "Daily", "the newest of each of the last N days"],
  ["keepWeekly", "Weekly", "the newest of each of the last N weeks (Monday to Sunday)"],
  ["keepMonthly", "Monthly", "the newest of each of the last N months"],
  ["keepYearly", "Yearly", "the newest of each of the last N years"],
];

/** Retention as restic's `forget --keep-*`: a snapshot is kept when any rule keeps it. */
export function RetentionFields(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  return (
    <div className="retention-rules" role="group" aria-label="Retention">
      <label className="inline">
        <input type="checkbox" name="retentionEnabled" checked={form.retentionEnabled} onChange={(event) => update({ retentionEnabled: event.target.checked })} /> Delete old snapshots
      </label>
      {form.retentionEnabled && (
        <>
          <p className="hint muted">
            A snapshot is kept when any rule keeps it; the others are deleted. Hours, days, weeks, months and years are counted in the job's time
            zone ({form.timezone}). -1: no limit. Pinned snapshots, and those a kept incremental snapshot builds on, are always kept. The job page's
            Retention tab previews which rule keeps each snapshot.
          </p>
          <div className="rule-grid">
            {ruleLabels.map(([field, label, hint]) => (
              <Field key={field} label={label} hint={hint} error={field === "keepLast" ? props.error : undefined}>
                <input name={field} className="num-wide" type="number" min={-1} placeholder="–" value={form[field] as string} onChange={(event) => update({ [field]: event.target.value } as Partial<JobForm>)} />
              </Field>
            ))}
            <Field label="Keep everything within" hint="newer than this, e.g. 30d, 1y6m, 2d12h (y m d h)">
              <input name="keepWithin" className="num-wide" placeholder="–" value={form.keepWithin} onChange={(event) => update({ keepWithin: event.target.value })} />
            </Field>
            {form.keepDays.trim() !== "" && (
              <Field label="Keep days (older setting)" hint="every snapshot of the last N days; prefer Keep everything within">
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
    <fieldset className="card pings" aria-label="Pings">
      <legend>Pings (healthchecks.io and the like)</legend>
      <p className="hint muted">
        Each backup calls these URLs when it starts, succeeds or fails; the failure carries the run's summary. The service alerts you when a ping
        does not come: also when a backup did not run at all. Retried like webhooks.
      </p>
      {form.pings.map((ping, index) => (
        <div className="subcard ping" key={index} role="group" aria-label={`Ping ${index + 1}`}>
          <div className="hook-header">
            <select name={`pings.${index}.mode`} aria-label="Kind of ping" value={ping.mode} onChange={(event) => setPing(index, { mode: event.target.value as PingForm["mode"] })}>
              <option value="healthchecks">one check URL (healthchecks.io)</option>
              <option value="urls">three URLs of my own</option>
            </select>
            <button type="button" className="ghost danger" onClick={() => update({ pings: form.pings.filter((_, at) => at !== index) })}>
              Remove
            </button>
          </div>
          {ping.mode === "healthchecks" ? (
            <Field label="Check URL" hint="Start: URL/start; success: URL; failure: URL/fail.">
              <input name={`pings.${index}.url`} placeholder="https://hc-ping.com/your-check-uuid" value={ping.url} onChange={(event) => setPing(index, { url: event.target.value })} />
            </Field>
          ) : (
            <>
              <Field label="On start">
                <input name={`pings.${index}.startUrl`} placeholder="https://status.example/start" value={ping.startUrl} onChange={(event) => setPing(index, { startUrl: event.target.value })} />
              </Field>
              <Field label="On success">
                <input name={`pings.${index}.successUrl`} placeholder="https://status.example/ok" value={ping.successUrl} onChange={(event) => setPing(index, { successUrl: event.target.value })} />
              </Field>
              <Field label="On failure (the summary is the body)">
                <input name={`pings.${index}.failureUrl`} placeholder="https://status.example/fail" value={ping.failureUrl} onChange={(event) => setPing(index, { failureUrl: event.target.value })} />
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
        Add a ping
      </button>
    </fieldset>
  );
}

/** Restore drills: scheduled verify runs of a snapshot, optionally with a full test restore. */
export function DrillsFields(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  const words = describeCron(form.drillSchedule.trim() || defaultDrillSchedule);
  return (
    <fieldset className="card drills" aria-label="Restore drills">
      <legend>Restore drills</legend>
      <label className="inline">
        <input type="checkbox" name="drillsEnabled" checked={form.drillsEnabled} onChange={(event) => update({ drillsEnabled: event.target.checked })} /> Prove on a schedule
        that the backups restore
      </label>
      <p className="hint muted">
        A drill verifies a snapshot (reads every part and checks its hash). A failed drill alerts like a failed backup; the overview shows each
        job's last good drill.
      </p>
      {form.drillsEnabled && (
        <>
          <Field label="When (cron, in the job's time zone)" error={props.error} hint={words ? `${words} (${form.timezone})` : "minute hour day month weekday"}>
            <input name="drillSchedule" value={form.drillSchedule} placeholder={defaultDrillSchedule} onChange={(event) => update({ drillSchedule: event.target.value })} />
          </Field>
          <Field label="Which snapshot" hint={form.drillPick === "random" ? "Any present snapshot: old ones get checked too." : "The latest backup."}>
            <select name="drillPick" value={form.drillPick} onChange={(event) => update({ drillPick: event.target.value as JobForm["drillPick"] })}>
              <option value="newest">the newest</option>
              <option value="random">a random one</option>
            </select>
          </Field>
          <label className="inline">
            <input type="checkbox" name="drillTestRestore" checked={form.drillTestRestore} onChange={(event) => update({ drillTestRestore: event.target.checked })} /> Also restore
            it into a scratch directory on the hub, compare every file with the snapshot's index, then delete it (needs room for one snapshot)
          </label>
        </>
      )}
    </fieldset>
  );
}
