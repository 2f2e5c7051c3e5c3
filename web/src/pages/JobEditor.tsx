import { useEffect, useMemo, useState, type ReactNode } from "react";
import { api, ApiError, type AgentInfo, type Job, type NotificationDestination, type SecretKind, type TargetSecretInfo } from "../api";
import { ErrorBox, Link } from "../components";
import { t, type MessageKey } from "../i18n";
import { formatRelative, formatTime } from "../lib/format";
import {
  completeDraft,
  databaseDefaults,
  emptyForm,
  emptyHook,
  fieldOf,
  formSchedule,
  formToRequest,
  hookProblems,
  isDatabase,
  jobToForm,
  parseEnv,
  type HookForm,
  type JobForm,
} from "../lib/jobForm";
import { CopiesFields, DrillsFields, PingsFields, RetentionFields, TargetFields } from "./JobEditor26";
import { navigate } from "../lib/router";
import { weekdayName, type Simple } from "../lib/schedule";

function snapshotHint(mode: JobForm["snapshotMode"]): string {
  if (mode === "off") return t("job.editor.snapshotHint.off");
  if (mode === "auto") return t("job.editor.snapshotHint.auto");
  return t("job.editor.snapshotHint.required");
}

type Update = (change: Partial<JobForm>) => void;

/** What a file that changed while it was read does to the run (filesystem and Vaultwarden jobs). */
function ConsistencyFields(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  return (
    <div className="row">
      <Field
        label={t("job.editor.consistency")}
        error={props.error}
        hint={
          form.consistencyPolicy === "warn"
            ? t("job.editor.consistency.warnHint")
            : form.consistencyPolicy === "fail"
              ? t("job.editor.consistency.failHint")
              : t("job.editor.consistency.ignoreHint")
        }
      >
        <select name="consistencyPolicy" value={form.consistencyPolicy} onChange={(event) => update({ consistencyPolicy: event.target.value as JobForm["consistencyPolicy"] })}>
          <option value="warn">{t("job.editor.consistency.warn")}</option>
          <option value="fail">{t("job.editor.consistency.fail")}</option>
          <option value="ignore">{t("job.editor.consistency.ignore")}</option>
        </select>
      </Field>
      {form.consistencyPolicy === "fail" && (
        <Field label={t("job.editor.consistency.threshold")}>
          <input name="consistencyThreshold" className="num-wide" type="number" min={0} value={form.consistencyThreshold} onChange={(event) => update({ consistencyThreshold: event.target.value })} />
        </Field>
      )}
    </div>
  );
}

/** A PostgreSQL or MariaDB server, its password secret, and what to dump. */
function DatabaseFields(props: { form: JobForm; update: Update; secrets: TargetSecretInfo[]; errorFor: (key: string) => string | undefined }) {
  const { form, update } = props;
  const engine = form.type === "mariadb" ? "mariadb" : "postgres";
  const defaults = databaseDefaults[engine];
  const names = form.dbDatabases
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return (
    <>
      <div className="row">
        <Field
          label={t("job.editor.db.host")}
          error={props.errorFor("source")}
          hint={engine === "postgres" ? t("job.editor.db.hostHintPostgres") : t("job.editor.db.hostHintMariadb")}
        >
          <input name="dbHost" placeholder={defaults.host} value={form.dbHost} onChange={(event) => update({ dbHost: event.target.value })} />
        </Field>
        <Field label={t("job.editor.db.port")}>
          <input name="dbPort" className="num-wide" type="number" min={1} max={65535} placeholder={String(defaults.port)} value={form.dbPort} onChange={(event) => update({ dbPort: event.target.value })} />
        </Field>
      </div>
      <Field label={t("job.editor.db.user")}>
        <input name="dbUser" value={form.dbUser} placeholder={engine === "postgres" ? t("job.editor.example.pgUser") : t("job.editor.example.mariadbUser")} autoComplete="off" onChange={(event) => update({ dbUser: event.target.value })} />
      </Field>
      <Field
        label={t("common.a.password")}
        error={props.errorFor("dbSecret")}
        hint={
          <>
            {t("job.editor.db.passwordHintBefore", { engine: engine === "postgres" ? "PostgreSQL" : "MariaDB" })}
            <Link to="/settings">{t("nav.settings")}</Link>
            {t("job.editor.db.passwordHintAfter")}
          </>
        }
      >
        <select name="dbSecretName" value={form.dbSecretName} onChange={(event) => update({ dbSecretName: event.target.value })}>
          <option value="">{t("job.editor.db.noPassword")}</option>
          {props.secrets.map((secret) => (
            <option key={secret.name} value={secret.name}>
              {secret.name}
            </option>
          ))}
          {form.dbSecretName && !props.secrets.some((secret) => secret.name === form.dbSecretName) && (
            <option value={form.dbSecretName}>{t("job.editor.missing", { name: form.dbSecretName })}</option>
          )}
        </select>
      </Field>
      <Field
        label={t("job.editor.db.databases")}
        hint={
          names.length === 0
            ? engine === "postgres"
              ? t("job.editor.db.allPostgres")
              : t("job.editor.db.allMariadb")
            : t(names.length === 1 ? "job.editor.db.count.one" : "job.editor.db.count.other", { count: names.length, names: names.join(t("job.list.separator")) })
        }
      >
        <textarea name="dbDatabases" rows={3} placeholder={t("job.editor.db.allPlaceholder")} value={form.dbDatabases} onChange={(event) => update({ dbDatabases: event.target.value })} />
      </Field>
      <label className="inline">
        <input type="checkbox" name="dbGlobals" checked={form.dbGlobals} onChange={(event) => update({ dbGlobals: event.target.checked })} />{" "}
        {engine === "postgres" ? t("job.editor.db.globalsPostgres") : t("job.editor.db.globalsMariadb")}
      </label>
      {engine === "mariadb" && (
        <label className="inline">
          <input type="checkbox" name="verifyScratchRestore" checked={form.verifyScratchRestore} onChange={(event) => update({ verifyScratchRestore: event.target.checked })} />{" "}
          {t("job.editor.db.scratchRestore")}
        </label>
      )}
      <p className="hint muted">{t("job.editor.db.dumpHint", { tool: engine === "postgres" ? "pg_dump -Fc" : "mariadb-dump --single-transaction" })}</p>
    </>
  );
}

/** Commands run before and after each backup: argv lists, never a shell line. */
function HooksFields(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  const list = (which: "hooksBefore" | "hooksAfter") => (
    <HookList
      which={which}
      hooks={form[which]}
      onChange={(hooks) => update({ [which]: hooks } as Partial<JobForm>)}
    />
  );
  return (
    <fieldset className="card hooks" aria-label={t("job.page.fact.hooks")}>
      <legend>{t("job.editor.hooks.legend")}</legend>
      <p className="warning hooks-note" role="note">
        {t("job.editor.hooks.warning")}
      </p>
      <h3>{t("job.editor.hooks.before")}</h3>
      {list("hooksBefore")}
      {form.hooksBefore.length > 0 && (
        <label className="inline">
          <input
            type="checkbox"
            name="continueOnBeforeFailure"
            checked={form.continueOnBeforeFailure}
            onChange={(event) => update({ continueOnBeforeFailure: event.target.checked })}
          />{" "}
          {t("job.editor.hooks.continue")}
        </label>
      )}
      <h3>{t("job.editor.hooks.after")}</h3>
      <p className="hint muted">{t("job.editor.hooks.afterHint")}</p>
      {list("hooksAfter")}
      {props.error && (
        <p className="field-error" role="alert">
          {props.error}
        </p>
      )}
    </fieldset>
  );
}

function HookList(props: { which: "hooksBefore" | "hooksAfter"; hooks: HookForm[]; onChange: (hooks: HookForm[]) => void }) {
  const when = props.which === "hooksBefore" ? "before" : "after";
  const change = (index: number, patch: Partial<HookForm>) => props.onChange(props.hooks.map((hook, at) => (at === index ? { ...hook, ...patch } : hook)));
  const move = (index: number, by: number) => {
    const hooks = [...props.hooks];
    [hooks[index], hooks[index + by]] = [hooks[index + by], hooks[index]];
    props.onChange(hooks);
  };
  return (
    <div className="hook-list" data-testid={`hooks-${when}`}>
      {props.hooks.length === 0 && <p className="muted">{t("job.editor.hooks.none")}</p>}
      {props.hooks.map((hook, index) => {
        const envProblems = parseEnv(hook.env).problems;
        return (
          <div className="subcard hook" key={index} role="group" aria-label={t(when === "before" ? "job.editor.hooks.beforeCommand" : "job.editor.hooks.afterCommand", { number: index + 1 })}>
            <div className="hook-header">
              <strong>
                {t(when === "before" ? "job.editor.hooks.beforeNumber" : "job.editor.hooks.afterNumber", { number: index + 1 })}
              </strong>
              <span className="hook-buttons">
                <button type="button" className="ghost" aria-label={t("job.editor.moveUp")} disabled={index === 0} onClick={() => move(index, -1)}>
                  ↑
                </button>
                <button type="button" className="ghost" aria-label={t("job.editor.moveDown")} disabled={index === props.hooks.length - 1} onClick={() => move(index, 1)}>
                  ↓
                </button>
                <button type="button" className="ghost danger" onClick={() => props.onChange(props.hooks.filter((_, at) => at !== index))}>
                  {t("common.a.remove")}
                </button>
              </span>
            </div>
            <Field label={t("job.editor.hooks.argv")} hint={t("job.editor.hooks.argvHint")}>
              <textarea
                name={`${when}Argv`}
                rows={Math.max(3, hook.argv.split("\n").length + 1)}
                wrap="off"
                className="mono"
                placeholder={when === "before" ? t("job.editor.example.hookBefore") : t("job.editor.example.hookAfter")}
                value={hook.argv}
                onChange={(event) => change(index, { argv: event.target.value })}
              />
            </Field>
            <div className="row">
              <Field label={t("job.editor.hooks.cwd")}>
                <input name={`${when}Cwd`} placeholder="/" value={hook.cwd} onChange={(event) => change(index, { cwd: event.target.value })} />
              </Field>
              <Field label={t("job.editor.hooks.timeout")}>
                <input name={`${when}Timeout`} className="num-wide" type="number" min={1} max={86400} placeholder="300" value={hook.timeout} onChange={(event) => change(index, { timeout: event.target.value })} />
              </Field>
            </div>
            <Field
              label={t("job.editor.hooks.env")}
              error={envProblems.length ? t("job.editor.hooks.envProblem", { lines: envProblems.join(t("job.list.separator")) }) : undefined}
              hint={t("job.editor.hooks.envHint")}
            >
              <textarea name={`${when}Env`} rows={Math.max(2, hook.env.split("\n").length)} wrap="off" className="mono" value={hook.env} onChange={(event) => change(index, { env: event.target.value })} />
            </Field>
          </div>
        );
      })}
      <button type="button" onClick={() => props.onChange([...props.hooks, emptyHook()])}>
        {t(when === "before" ? "job.editor.hooks.addBefore" : "job.editor.hooks.addAfter")}
      </button>
    </div>
  );
}

export function targetHint(type: JobForm["targetType"]): string {
  if (type === "local_dir") return t("job.editor.targetHint.localDir");
  if (type === "webdav") return t("job.editor.targetHint.webdav");
  return t("job.editor.targetHint.rclone");
}

interface Draft {
  form: JobForm;
  /** The job's `updated_at` when the draft was taken (edits only). */
  updatedAt: number | null;
}

const draftKey = (jobId: string | null) => (jobId ? `bastion.jobs.draft.${jobId}` : "bastion.jobs.draft.new");

function readDraft(jobId: string | null): Draft | null {
  try {
    const text = localStorage.getItem(draftKey(jobId));
    return text ? (JSON.parse(text) as Draft) : null;
  } catch {
    return null;
  }
}

export function Field(props: { label: string; error?: string; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className={`field${props.error ? " has-error" : ""}`}>
      <label>
        {props.label}
        {props.children}
      </label>
      {props.hint && <p className="hint muted">{props.hint}</p>}
      {props.error && (
        <p className="field-error" role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}

/** Create or edit a job: every part of the spec, a live preview of the next runs, drafts that survive a reload. */
export function JobEditorPage(props: { jobId: string | null; hubTimezone: string }) {
  const [form, setForm] = useState<JobForm>(() => emptyForm(props.hubTimezone));
  const [job, setJob] = useState<Job | null>(null);
  const [loaded, setLoaded] = useState(props.jobId === null);
  const [draft, setDraft] = useState<Draft | null>(() => readDraft(props.jobId));
  const [error, setError] = useState<unknown>(null);
  const [preview, setPreview] = useState<{ next: number[] } | { error: string } | null>(null);
  const [showJSON, setShowJSON] = useState(false);
  const [saving, setSaving] = useState(false);
  const [secrets, setSecrets] = useState<Partial<Record<SecretKind, TargetSecretInfo[]>>>({});
  useEffect(() => {
    // Each kind on its own: a hub without one kind still lists the others.
    for (const kind of ["webdav", "rclone", "postgres", "mariadb"] as const) {
      api.targetSecrets(kind).then(
        (list) => setSecrets((current) => ({ ...current, [kind]: list })),
        () => undefined,
      );
    }
  }, []);

  useEffect(() => {
    if (!props.jobId) return;
    api.job(props.jobId).then(
      (loadedJob) => {
        setJob(loadedJob);
        setForm(jobToForm(loadedJob, props.hubTimezone));
        setLoaded(true);
      },
      (caught) => setError(caught),
    );
  }, [props.jobId, props.hubTimezone]);

  // Every change is kept as a draft (once the page has its starting values).
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    if (!touched) return;
    try {
      localStorage.setItem(draftKey(props.jobId), JSON.stringify({ form, updatedAt: job?.updated_at ?? null }));
    } catch {
      // Storage may be full or refused: the form still works.
    }
  }, [form, touched, job, props.jobId]);

  const update = (change: Partial<JobForm>) => {
    setTouched(true);
    setDraft(null);
    setForm((current) => ({ ...current, ...change }));
  };
  const updateSimple = (change: Partial<Simple>) => update({ simple: { ...form.simple, ...change } as Simple });

  const schedule = formSchedule(form);
  useEffect(() => {
    if (schedule === null) {
      setPreview(null);
      return;
    }
    const timer = setTimeout(() => {
      api.previewSchedule(schedule, form.timezone).then(
        (result) => setPreview({ next: result.next }),
        (caught) => setPreview({ error: caught instanceof ApiError ? caught.message : String(caught) }),
      );
    }, 250);
    return () => clearTimeout(timer);
  }, [schedule, form.timezone]);

  const body = useMemo(() => formToRequest(form), [form]);
  const problems = useMemo(() => hookProblems(form), [form]);
  const fieldError = error instanceof ApiError ? fieldOf(error.details?.field as string | undefined) : "";
  const errorFor = (key: string) => (fieldError === key && error instanceof ApiError ? error.message : undefined);
  const zones = useMemo(() => {
    try {
      return (Intl as unknown as { supportedValuesOf(kind: string): string[] }).supportedValuesOf("timeZone");
    } catch {
      return ["UTC"];
    }
  }, []);

  const save = async () => {
    setSaving(true);
    setError(null);
    try {
      const saved = props.jobId ? await api.updateJob(props.jobId, body) : await api.createJob(body);
      localStorage.removeItem(draftKey(props.jobId));
      navigate(`/jobs?saved=${encodeURIComponent(saved.id)}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setSaving(false);
    }
  };

  if (!loaded) return error ? <ErrorBox error={error} /> : <p className="muted">{t("common.a.loading")}</p>;
  const stale = draft && job && draft.updatedAt !== null && draft.updatedAt !== job.updated_at;
  return (
    <section className="editor">
      <header className="page-header">
        <h1>{props.jobId ? t("job.editor.editTitle", { name: job?.name ?? t("job.editor.jobWord") }) : t("job.editor.newTitle")}</h1>
        <Link to="/jobs">{t("common.a.cancel")}</Link>
      </header>
      {draft && (
        <div className="card draft-note" role="status">
          {props.jobId ? t("job.editor.draftJob") : t("job.editor.draftNew")}
          {stale && <strong> {t("job.editor.draftStale")}</strong>}{" "}
          <button
            onClick={() => {
              setForm(completeDraft(draft.form, props.hubTimezone));
              setTouched(true);
              setDraft(null);
            }}
          >
            {t("job.editor.resumeDraft")}
          </button>{" "}
          <button
            onClick={() => {
              localStorage.removeItem(draftKey(props.jobId));
              setDraft(null);
            }}
          >
            {t("job.editor.discard")}
          </button>
        </div>
      )}
      <div className="editor-grid">
        <fieldset className="card">
          <legend>{t("job.editor.basics")}</legend>
          <Field label={t("common.a.name")} error={errorFor("name")}>
            <input name="name" value={form.name} onChange={(event) => update({ name: event.target.value })} required />
          </Field>
          <Field label={t("job.editor.type")}>
            <select name="type" value={form.type} onChange={(event) => update({ type: event.target.value as JobForm["type"] })}>
              <option value="filesystem">{t("job.editor.type.filesystem")}</option>
              <option value="sqlite">{t("job.editor.type.sqlite")}</option>
              <option value="postgres">{t("job.editor.type.postgres")}</option>
              <option value="mariadb">{t("job.editor.type.mariadb")}</option>
              <option value="vaultwarden">{t("job.editor.type.vaultwarden")}</option>
            </select>
          </Field>
          <AgentField value={form.agentId} onChange={(agentId) => update({ agentId })} />
          <Field label={t("job.editor.overlap")} hint={form.overlap === "queue" ? t("job.editor.overlap.queueHint") : t("job.editor.overlap.rejectHint")}>
            <select name="overlap" value={form.overlap} onChange={(event) => update({ overlap: event.target.value as JobForm["overlap"] })}>
              <option value="queue">{t("job.editor.overlap.queue")}</option>
              <option value="reject">{t("job.editor.overlap.reject")}</option>
            </select>
          </Field>
        </fieldset>

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
              <select aria-label={t("job.editor.schedule.repeat")} value={form.simple.kind} onChange={(event) => {
                const kind = event.target.value as Simple["kind"];
                const base = { hour: 2, minute: 0 };
                update({
                  simple:
                    kind === "every_minutes" ? { kind, minutes: 15 } : kind === "hourly" ? { kind, minute: 0 } : kind === "daily" ? { kind, ...base } : kind === "weekly" ? { kind, weekday: 1, ...base } : { kind, day: 1, ...base },
                });
              }}>
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
              {form.simple.kind === "weekly" && (
                <select aria-label={t("job.editor.schedule.weekday")} value={form.simple.weekday} onChange={(event) => updateSimple({ weekday: Number(event.target.value) })}>
                  {[0, 1, 2, 3, 4, 5, 6].map((day) => (
                    <option key={day} value={day}>
                      {weekdayName(day)}
                    </option>
                  ))}
                </select>
              )}
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
            <Field label={t("job.editor.schedule.cron")} error={errorFor("schedule")}>
              <input name="cron" value={form.cron} onChange={(event) => update({ cron: event.target.value })} placeholder="30 2 * * *" />
            </Field>
          )}
          {form.scheduleMode !== "manual" && (
            <>
              <Field label={t("job.editor.schedule.timezone")} error={form.scheduleMode !== "cron" ? errorFor("schedule") : undefined}>
                <input name="timezone" list="zones" value={form.timezone} onChange={(event) => update({ timezone: event.target.value })} />
                <datalist id="zones">
                  {zones.map((zone) => (
                    <option key={zone} value={zone} />
                  ))}
                </datalist>
              </Field>
              <div className="preview" data-testid="schedule-preview">
                {schedule && <code>{schedule}</code>}
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

        <fieldset className="card">
          <legend>{t("job.editor.source")}</legend>
          {form.type === "filesystem" && (
            <>
              <Field label={t("job.editor.source.paths")} error={errorFor("source")}>
                <textarea name="paths" rows={3} value={form.paths} onChange={(event) => update({ paths: event.target.value })} />
              </Field>
              <Field label={t("job.editor.source.include")}>
                <textarea name="include" rows={2} value={form.include} onChange={(event) => update({ include: event.target.value })} />
              </Field>
              <Field label={t("job.editor.source.exclude")} hint={t("job.editor.source.excludeHint")}>
                <textarea name="exclude" rows={2} value={form.exclude} onChange={(event) => update({ exclude: event.target.value })} />
              </Field>
              <label className="inline">
                <input type="checkbox" checked={form.preScan} onChange={(event) => update({ preScan: event.target.checked })} /> {t("job.editor.source.preScan")}
              </label>
              <div className="row">
                <Field label={t("job.editor.source.symlinks")}>
                  <select value={form.symlinkPolicy} onChange={(event) => update({ symlinkPolicy: event.target.value as JobForm["symlinkPolicy"] })}>
                    <option value="keep">{t("job.editor.source.keepLinks")}</option>
                    <option value="follow">{t("job.editor.source.follow")}</option>
                    <option value="skip">{t("job.editor.source.skip")}</option>
                  </select>
                </Field>
                <Field label={t("job.editor.source.hardlinks")}>
                  <select value={form.hardlinkPolicy} onChange={(event) => update({ hardlinkPolicy: event.target.value as JobForm["hardlinkPolicy"] })}>
                    <option value="copy">{t("job.editor.source.storeEach")}</option>
                    <option value="keep">{t("job.editor.source.keepLinks")}</option>
                  </select>
                </Field>
                <Field label={t("job.editor.source.unreadable")}>
                  <select value={form.errorPolicy} onChange={(event) => update({ errorPolicy: event.target.value as JobForm["errorPolicy"] })}>
                    <option value="fail_fast">{t("job.editor.consistency.fail")}</option>
                    <option value="skip_fail">{t("job.editor.source.skipFail")}</option>
                    <option value="skip_ok">{t("job.editor.source.skipOk")}</option>
                  </select>
                </Field>
              </div>
              <Field label={t("job.editor.source.fsSnapshot")} error={errorFor("snapshotMode")} hint={snapshotHint(form.snapshotMode)}>
                <select name="snapshotMode" value={form.snapshotMode} onChange={(event) => update({ snapshotMode: event.target.value as JobForm["snapshotMode"] })}>
                  <option value="off">{t("job.editor.source.snapshotOff")}</option>
                  <option value="auto">{t("job.editor.source.snapshotAuto")}</option>
                  <option value="required">{t("job.editor.source.snapshotRequired")}</option>
                </select>
              </Field>
              <ConsistencyFields form={form} update={update} error={errorFor("consistency")} />
            </>
          )}
          {form.type === "sqlite" && (
            <>
              <Field label={t("job.editor.source.sqlitePath")} error={errorFor("source")}>
                <input name="sqlitePath" value={form.sqlitePath} onChange={(event) => update({ sqlitePath: event.target.value })} />
              </Field>
              <label className="inline">
                <input type="checkbox" checked={form.integrityCheck} onChange={(event) => update({ integrityCheck: event.target.checked })} /> {t("job.editor.source.integrityCheck")}
              </label>
            </>
          )}
          {isDatabase(form.type) && <DatabaseFields form={form} update={update} secrets={secrets[form.type] ?? []} errorFor={errorFor} />}
          {form.type === "vaultwarden" && (
            <>
              <Field
                label={t("job.editor.source.vwDataDir")}
                error={errorFor("source")}
                hint={t("job.editor.source.vwHint")}
              >
                <input name="vwDataDir" placeholder={t("job.editor.example.vwDataDir")} value={form.vwDataDir} onChange={(event) => update({ vwDataDir: event.target.value })} />
              </Field>
              <ConsistencyFields form={form} update={update} error={errorFor("consistency")} />
            </>
          )}
        </fieldset>

        <fieldset className="card">
          <legend>{t("job.editor.targetSecurity")}</legend>
          <TargetFields fields={form} onChange={update} secrets={secrets} error={errorFor("target")} bandwidthError={errorFor("bandwidth")} zones={zones} />
          <Field label={t("job.page.fact.encryption")} error={errorFor("encryption")} hint={form.encryption === "age" ? t("job.editor.encryptionHint") : undefined}>
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

        <fieldset className="card">
          <legend>{t("job.editor.notifyRetention")}</legend>
          <Field label={t("settings.notify.title")} error={errorFor("notifications")}>
            <select value={form.notifications} onChange={(event) => update({ notifications: event.target.value as JobForm["notifications"] })}>
              <option value="inherit">{t("job.editor.notify.inherit")}</option>
              <option value="custom">{t("job.editor.notify.custom")}</option>
            </select>
          </Field>
          {form.notifications === "custom" && <DestinationPicker selected={form.notifyTo} onChange={(notifyTo) => update({ notifyTo })} />}
          <RetentionFields form={form} update={update} error={errorFor("retention")} />
        </fieldset>

        <CopiesFields form={form} update={update} secrets={secrets} error={errorFor("copies")} zones={zones} />

        <PingsFields form={form} update={update} error={errorFor("pings")} />

        <DrillsFields form={form} update={update} error={errorFor("drills")} />

        <HooksFields form={form} update={update} error={errorFor("hooks")} />
      </div>
      <ErrorBox error={error} />
      <div className="editor-actions">
        <button className="primary" onClick={save} disabled={saving || problems.length > 0} title={problems.length ? problems.join(" ") : undefined}>
          {props.jobId ? t("common.a.save") : t("job.editor.create")}
        </button>
        <button onClick={() => setShowJSON(!showJSON)}>{showJSON ? t("job.editor.hideJson") : t("job.editor.showJson")}</button>
      </div>
      {showJSON && <pre className="json-view">{JSON.stringify(body, null, 2)}</pre>}
    </section>
  );
}

const channelKeys: Record<string, MessageKey> = {
  webhook: "settings.channel.webhook",
  wecom_bot: "settings.channel.wecomBot",
  email: "settings.channel.email",
  ping: "settings.channel.ping",
};
/** A notification channel's name in words (ntfy and unknown channels as they are). */
const channelWord = (channel: string) => (channelKeys[channel] ? t(channelKeys[channel]) : channel);

/** Custom notifications: one checkbox per destination the hub has, plus any the job names that no longer exist. */
function DestinationPicker(props: { selected: string[]; onChange: (selected: string[]) => void }) {
  const [destinations, setDestinations] = useState<NotificationDestination[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.destinations().then(setDestinations, setError);
  }, []);
  if (error) return <ErrorBox error={error} />;
  if (!destinations) return <p className="muted">{t("job.editor.notify.loading")}</p>;
  const known = destinations.map((destination) => ({ ...destination, key: `${destination.channel}/${destination.name}`, missing: false }));
  const missing = props.selected
    .filter((key) => !known.some((destination) => destination.key === key))
    .map((key) => ({ key, channel: key.split("/")[0], name: key.slice(key.indexOf("/") + 1), enabled: false, missing: true }));
  const all = [...known, ...missing];
  const toggle = (key: string, on: boolean) =>
    props.onChange(on ? [...props.selected.filter((item) => item !== key), key] : props.selected.filter((item) => item !== key));
  return (
    <div className="destinations" role="group" aria-label={t("job.editor.notify.group")}>
      {all.length === 0 && <p className="muted">{t("job.editor.notify.none")}</p>}
      {all.map((destination) => (
        <label className="inline" key={destination.key}>
          <input type="checkbox" checked={props.selected.includes(destination.key)} onChange={(event) => toggle(destination.key, event.target.checked)} />{" "}
          {destination.name} <span className="badge">{channelWord(destination.channel)}</span>
          {destination.missing ? <span className="muted"> {t("job.editor.notify.gone")}</span> : !destination.enabled && <span className="muted"> {t("job.editor.notify.disabled")}</span>}
        </label>
      ))}
      {all.length > 0 && props.selected.length === 0 && <p className="muted">{t("job.editor.notify.nothingPicked")}</p>}
    </div>
  );
}

/** Where the job runs: this hub's workers, or one of the enrolled agents (docs/agents.md). */
function AgentField(props: { value: string; onChange: (agentId: string) => void }) {
  const [agents, setAgents] = useState<AgentInfo[]>([]);
  useEffect(() => {
    api.agents().then(setAgents, () => setAgents([]));
  }, []);
  const usable = agents.filter((agent) => !agent.revoked_at || agent.id === props.value);
  return (
    <Field label={t("job.editor.runsOn")} hint={props.value ? t("job.editor.runsOnHint") : undefined}>
      <select name="agent" value={props.value} onChange={(event) => props.onChange(event.target.value)}>
        <option value="">{t("job.editor.thisHub")}</option>
        {usable.map((agent) => (
          <option key={agent.id} value={agent.id}>
            {t(agent.connected ? "job.editor.agentOption" : "job.editor.agentOptionOffline", { name: agent.name })}
          </option>
        ))}
      </select>
    </Field>
  );
}
