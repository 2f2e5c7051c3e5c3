import { useEffect, useMemo, useState, type ReactNode } from "react";
import { api, ApiError, type AgentInfo, type Job, type NotificationDestination, type SecretKind, type TargetSecretInfo } from "../api";
import { ErrorBox, Link } from "../components";
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
  if (mode === "off") return "Files are read as they are; one that changes meanwhile is handled by the consistency setting below.";
  if (mode === "auto")
    return "Sources on btrfs are read from a read-only snapshot taken just before (deleted after); elsewhere the live files are read, with a warning.";
  return "The run fails (snapshot_unavailable) when a source is not on btrfs. The snapshot is deleted after the run.";
}

type Update = (change: Partial<JobForm>) => void;

/** What a file that changed while it was read does to the run (filesystem and Vaultwarden jobs). */
function ConsistencyFields(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  return (
    <div className="row">
      <Field
        label="Files that change while read"
        error={props.error}
        hint={
          form.consistencyPolicy === "warn"
            ? "The run succeeds with a warning that lists them."
            : form.consistencyPolicy === "fail"
              ? "The run fails (source_consistency) when more files than this changed."
              : "Not checked."
        }
      >
        <select name="consistencyPolicy" value={form.consistencyPolicy} onChange={(event) => update({ consistencyPolicy: event.target.value as JobForm["consistencyPolicy"] })}>
          <option value="warn">warn</option>
          <option value="fail">fail the run</option>
          <option value="ignore">ignore</option>
        </select>
      </Field>
      {form.consistencyPolicy === "fail" && (
        <Field label="Tolerate up to (files)">
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
          label="Host, IP or socket"
          error={props.errorFor("source")}
          hint={engine === "postgres" ? "An absolute path is the socket directory." : "An absolute path is the socket file."}
        >
          <input name="dbHost" placeholder={defaults.host} value={form.dbHost} onChange={(event) => update({ dbHost: event.target.value })} />
        </Field>
        <Field label="Port">
          <input name="dbPort" className="num-wide" type="number" min={1} max={65535} placeholder={String(defaults.port)} value={form.dbPort} onChange={(event) => update({ dbPort: event.target.value })} />
        </Field>
      </div>
      <Field label="User (empty: the client's default)">
        <input name="dbUser" value={form.dbUser} placeholder={engine === "postgres" ? "backup" : "root"} autoComplete="off" onChange={(event) => update({ dbUser: event.target.value })} />
      </Field>
      <Field
        label="Password"
        error={props.errorFor("dbSecret")}
        hint={
          <>
            A {engine === "postgres" ? "PostgreSQL" : "MariaDB"} password kept encrypted; add one in <Link to="/settings">Settings</Link>. None: socket (peer) authentication.
          </>
        }
      >
        <select name="dbSecretName" value={form.dbSecretName} onChange={(event) => update({ dbSecretName: event.target.value })}>
          <option value="">none (socket authentication)</option>
          {props.secrets.map((secret) => (
            <option key={secret.name} value={secret.name}>
              {secret.name}
            </option>
          ))}
          {form.dbSecretName && !props.secrets.some((secret) => secret.name === form.dbSecretName) && (
            <option value={form.dbSecretName}>{form.dbSecretName} (missing)</option>
          )}
        </select>
      </Field>
      <Field
        label="Databases (one per line)"
        hint={
          names.length === 0
            ? engine === "postgres"
              ? "Empty: all databases (every one that allows connections, templates excepted)."
              : "Empty: all databases (information_schema, performance_schema, sys and mysql excepted)."
            : `${names.length} database${names.length === 1 ? "" : "s"}: ${names.join(", ")}.`
        }
      >
        <textarea name="dbDatabases" rows={3} placeholder="all databases" value={form.dbDatabases} onChange={(event) => update({ dbDatabases: event.target.value })} />
      </Field>
      <label className="inline">
        <input type="checkbox" name="dbGlobals" checked={form.dbGlobals} onChange={(event) => update({ dbGlobals: event.target.checked })} />{" "}
        {engine === "postgres" ? "Also back up roles and tablespaces (pg_dumpall --globals-only)" : "Also back up users and grants (mariadb-dump --system=users)"}
      </label>
      {engine === "mariadb" && (
        <label className="inline">
          <input type="checkbox" name="verifyScratchRestore" checked={form.verifyScratchRestore} onChange={(event) => update({ verifyScratchRestore: event.target.checked })} />{" "}
          When verifying, also restore each dump into a scratch database on this server (created, checked, dropped)
        </label>
      )}
      <p className="hint muted">Each database is dumped on its own ({engine === "postgres" ? "pg_dump -Fc" : "mariadb-dump --single-transaction"}) into the snapshot while it is read.</p>
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
    <fieldset className="card hooks" aria-label="Hooks">
      <legend>Commands before and after (hooks)</legend>
      <p className="warning hooks-note" role="note">
        Hooks run programs on the machine that runs the job (this hub's worker, or the agent), as its user, with its rights. Only add commands you
        would run there yourself.
      </p>
      <h3>Before the backup</h3>
      {list("hooksBefore")}
      {form.hooksBefore.length > 0 && (
        <label className="inline">
          <input
            type="checkbox"
            name="continueOnBeforeFailure"
            checked={form.continueOnBeforeFailure}
            onChange={(event) => update({ continueOnBeforeFailure: event.target.checked })}
          />{" "}
          Back up even if a command before fails (otherwise the run stops with hook_failed)
        </label>
      )}
      <h3>After the backup</h3>
      <p className="hint muted">Always run, also after a failure; BASTION_STATUS, BASTION_ERROR and BASTION_SNAPSHOT say how it went.</p>
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
      {props.hooks.length === 0 && <p className="muted">None.</p>}
      {props.hooks.map((hook, index) => {
        const envProblems = parseEnv(hook.env).problems;
        return (
          <div className="subcard hook" key={index} role="group" aria-label={`${when} command ${index + 1}`}>
            <div className="hook-header">
              <strong>
                {when === "before" ? "Before" : "After"} #{index + 1}
              </strong>
              <span className="hook-buttons">
                <button type="button" className="ghost" aria-label="Move up" disabled={index === 0} onClick={() => move(index, -1)}>
                  ↑
                </button>
                <button type="button" className="ghost" aria-label="Move down" disabled={index === props.hooks.length - 1} onClick={() => move(index, 1)}>
                  ↓
                </button>
                <button type="button" className="ghost danger" onClick={() => props.onChange(props.hooks.filter((_, at) => at !== index))}>
                  Remove
                </button>
              </span>
            </div>
            <Field label="Program and arguments, one per line" hint="The first line is the program's absolute path. No shell: | > * and $VAR are passed as they are.">
              <textarea
                name={`${when}Argv`}
                rows={Math.max(3, hook.argv.split("\n").length + 1)}
                wrap="off"
                className="mono"
                placeholder={when === "before" ? "/usr/bin/docker\nstop\nmy-app" : "/usr/bin/docker\nstart\nmy-app"}
                value={hook.argv}
                onChange={(event) => change(index, { argv: event.target.value })}
              />
            </Field>
            <div className="row">
              <Field label="Working directory">
                <input name={`${when}Cwd`} placeholder="/" value={hook.cwd} onChange={(event) => change(index, { cwd: event.target.value })} />
              </Field>
              <Field label="Timeout (s)">
                <input name={`${when}Timeout`} className="num-wide" type="number" min={1} max={86400} placeholder="300" value={hook.timeout} onChange={(event) => change(index, { timeout: event.target.value })} />
              </Field>
            </div>
            <Field
              label="Environment (KEY=value per line)"
              error={envProblems.length ? `Line ${envProblems.join(", ")}: write KEY=value.` : undefined}
              hint="Added to BASTION_JOB_ID, BASTION_JOB_NAME, BASTION_RUN_ID and BASTION_HOOK."
            >
              <textarea name={`${when}Env`} rows={Math.max(2, hook.env.split("\n").length)} wrap="off" className="mono" value={hook.env} onChange={(event) => change(index, { env: event.target.value })} />
            </Field>
          </div>
        );
      })}
      <button type="button" onClick={() => props.onChange([...props.hooks, emptyHook()])}>
        Add a command {when} the backup
      </button>
    </div>
  );
}

export function targetHint(type: JobForm["targetType"]): string {
  if (type === "local_dir") return "A backup on the same disk as its source is not a backup: prefer another disk or host.";
  if (type === "webdav") return "Each part is one PUT: keep the part size under the server's upload limit.";
  return "Reaches every backend Debian's rclone supports; the configuration is a secret in Settings.";
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

  if (!loaded) return error ? <ErrorBox error={error} /> : <p className="muted">Loading…</p>;
  const stale = draft && job && draft.updatedAt !== null && draft.updatedAt !== job.updated_at;
  return (
    <section className="editor">
      <header className="page-header">
        <h1>{props.jobId ? `Edit ${job?.name ?? "job"}` : "New job"}</h1>
        <Link to="/jobs">Cancel</Link>
      </header>
      {draft && (
        <div className="card draft-note" role="status">
          You have an unsaved draft of this {props.jobId ? "job" : "new job"}.
          {stale && <strong> The job has changed since the draft was taken.</strong>}{" "}
          <button
            onClick={() => {
              setForm(completeDraft(draft.form, props.hubTimezone));
              setTouched(true);
              setDraft(null);
            }}
          >
            Resume draft
          </button>{" "}
          <button
            onClick={() => {
              localStorage.removeItem(draftKey(props.jobId));
              setDraft(null);
            }}
          >
            Discard
          </button>
        </div>
      )}
      <div className="editor-grid">
        <fieldset className="card">
          <legend>Basics</legend>
          <Field label="Name" error={errorFor("name")}>
            <input name="name" value={form.name} onChange={(event) => update({ name: event.target.value })} required />
          </Field>
          <Field label="Type">
            <select name="type" value={form.type} onChange={(event) => update({ type: event.target.value as JobForm["type"] })}>
              <option value="filesystem">Files and directories</option>
              <option value="sqlite">SQLite database</option>
              <option value="postgres">PostgreSQL databases</option>
              <option value="mariadb">MariaDB / MySQL databases</option>
              <option value="vaultwarden">Vaultwarden (data directory)</option>
            </select>
          </Field>
          <AgentField value={form.agentId} onChange={(agentId) => update({ agentId })} />
          <Field label="When a run is still active" hint={form.overlap === "queue" ? "The new run waits for it." : "The new run is rejected (and notified)."}>
            <select name="overlap" value={form.overlap} onChange={(event) => update({ overlap: event.target.value as JobForm["overlap"] })}>
              <option value="queue">Queue the new run</option>
              <option value="reject">Reject the new run</option>
            </select>
          </Field>
        </fieldset>

        <fieldset className="card">
          <legend>Schedule</legend>
          <div className="segmented" role="radiogroup" aria-label="Schedule mode">
            {(["manual", "simple", "cron"] as const).map((mode) => (
              <label key={mode} className="inline">
                <input type="radio" name="scheduleMode" checked={form.scheduleMode === mode} onChange={() => update({ scheduleMode: mode, cron: schedule ?? form.cron })} />
                {mode === "manual" ? "Manual only" : mode === "simple" ? "Simple" : "Cron"}
              </label>
            ))}
          </div>
          {form.scheduleMode === "simple" && (
            <div className="row simple-schedule">
              <select aria-label="Repeat" value={form.simple.kind} onChange={(event) => {
                const kind = event.target.value as Simple["kind"];
                const base = { hour: 2, minute: 0 };
                update({
                  simple:
                    kind === "every_minutes" ? { kind, minutes: 15 } : kind === "hourly" ? { kind, minute: 0 } : kind === "daily" ? { kind, ...base } : kind === "weekly" ? { kind, weekday: 1, ...base } : { kind, day: 1, ...base },
                });
              }}>
                <option value="every_minutes">Every N minutes</option>
                <option value="hourly">Hourly</option>
                <option value="daily">Daily</option>
                <option value="weekly">Weekly</option>
                <option value="monthly">Monthly</option>
              </select>
              {form.simple.kind === "every_minutes" && (
                <>
                  <input aria-label="Minutes" type="number" min={1} max={59} value={form.simple.minutes} onChange={(event) => updateSimple({ minutes: Number(event.target.value) })} />
                  <span className="unit">minutes</span>
                </>
              )}
              {form.simple.kind === "weekly" && (
                <select aria-label="Weekday" value={form.simple.weekday} onChange={(event) => updateSimple({ weekday: Number(event.target.value) })}>
                  {[0, 1, 2, 3, 4, 5, 6].map((day) => (
                    <option key={day} value={day}>
                      {weekdayName(day)}
                    </option>
                  ))}
                </select>
              )}
              {form.simple.kind === "monthly" && <span className="unit">on day</span>}
              {form.simple.kind === "monthly" && (
                <input aria-label="Day of month" type="number" min={1} max={28} value={form.simple.day} onChange={(event) => updateSimple({ day: Number(event.target.value) })} />
              )}
              {form.simple.kind !== "every_minutes" && <span className="unit">at {form.simple.kind === "hourly" ? "minute" : ""}</span>}
              {(form.simple.kind === "daily" || form.simple.kind === "weekly" || form.simple.kind === "monthly") && (
                <>
                  <input aria-label="Hour" type="number" min={0} max={23} value={form.simple.hour} onChange={(event) => updateSimple({ hour: Number(event.target.value) })} />
                  <span className="unit">:</span>
                </>
              )}
              {form.simple.kind !== "every_minutes" && (
                <input aria-label="Minute" type="number" min={0} max={59} value={form.simple.minute} onChange={(event) => updateSimple({ minute: Number(event.target.value) })} />
              )}
            </div>
          )}
          {form.scheduleMode === "cron" && (
            <Field label="Cron (minute hour day month weekday)" error={errorFor("schedule")}>
              <input name="cron" value={form.cron} onChange={(event) => update({ cron: event.target.value })} placeholder="30 2 * * *" />
            </Field>
          )}
          {form.scheduleMode !== "manual" && (
            <>
              <Field label="Time zone" error={form.scheduleMode !== "cron" ? errorFor("schedule") : undefined}>
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
          <legend>Source</legend>
          {form.type === "filesystem" && (
            <>
              <Field label="Paths (one per line, absolute)" error={errorFor("source")}>
                <textarea name="paths" rows={3} value={form.paths} onChange={(event) => update({ paths: event.target.value })} />
              </Field>
              <Field label="Include (glob per line; empty: everything)">
                <textarea name="include" rows={2} value={form.include} onChange={(event) => update({ include: event.target.value })} />
              </Field>
              <Field label="Exclude (glob per line)" hint="For example */.cache or *.tmp">
                <textarea name="exclude" rows={2} value={form.exclude} onChange={(event) => update({ exclude: event.target.value })} />
              </Field>
              <label className="inline">
                <input type="checkbox" checked={form.preScan} onChange={(event) => update({ preScan: event.target.checked })} /> Count files first (progress shows totals and an ETA)
              </label>
              <div className="row">
                <Field label="Symlinks">
                  <select value={form.symlinkPolicy} onChange={(event) => update({ symlinkPolicy: event.target.value as JobForm["symlinkPolicy"] })}>
                    <option value="keep">keep as links</option>
                    <option value="follow">follow</option>
                    <option value="skip">skip</option>
                  </select>
                </Field>
                <Field label="Hard links">
                  <select value={form.hardlinkPolicy} onChange={(event) => update({ hardlinkPolicy: event.target.value as JobForm["hardlinkPolicy"] })}>
                    <option value="copy">store each</option>
                    <option value="keep">keep as links</option>
                  </select>
                </Field>
                <Field label="Unreadable files">
                  <select value={form.errorPolicy} onChange={(event) => update({ errorPolicy: event.target.value as JobForm["errorPolicy"] })}>
                    <option value="fail_fast">fail the run</option>
                    <option value="skip_fail">skip, then fail</option>
                    <option value="skip_ok">skip and warn</option>
                  </select>
                </Field>
              </div>
              <Field label="Filesystem snapshot (btrfs)" error={errorFor("snapshotMode")} hint={snapshotHint(form.snapshotMode)}>
                <select name="snapshotMode" value={form.snapshotMode} onChange={(event) => update({ snapshotMode: event.target.value as JobForm["snapshotMode"] })}>
                  <option value="off">off: read the live files</option>
                  <option value="auto">when possible (btrfs), else the live files</option>
                  <option value="required">required: fail if not on btrfs</option>
                </select>
              </Field>
              <ConsistencyFields form={form} update={update} error={errorFor("consistency")} />
            </>
          )}
          {form.type === "sqlite" && (
            <>
              <Field label="Database file (absolute path)" error={errorFor("source")}>
                <input name="sqlitePath" value={form.sqlitePath} onChange={(event) => update({ sqlitePath: event.target.value })} />
              </Field>
              <label className="inline">
                <input type="checkbox" checked={form.integrityCheck} onChange={(event) => update({ integrityCheck: event.target.checked })} /> Run PRAGMA integrity_check on the copy
              </label>
            </>
          )}
          {isDatabase(form.type) && <DatabaseFields form={form} update={update} secrets={secrets[form.type] ?? []} errorFor={errorFor} />}
          {form.type === "vaultwarden" && (
            <>
              <Field
                label="Vaultwarden data directory (absolute path)"
                error={errorFor("source")}
                hint="The folder with db.sqlite3, attachments, sends and rsa_key*. The database is copied with SQLite's online backup: Vaultwarden keeps running."
              >
                <input name="vwDataDir" placeholder="/srv/vaultwarden/data" value={form.vwDataDir} onChange={(event) => update({ vwDataDir: event.target.value })} />
              </Field>
              <ConsistencyFields form={form} update={update} error={errorFor("consistency")} />
            </>
          )}
        </fieldset>

        <fieldset className="card">
          <legend>Target and security</legend>
          <TargetFields fields={form} onChange={update} secrets={secrets} error={errorFor("target")} bandwidthError={errorFor("bandwidth")} zones={zones} />
          <Field label="Encryption" error={errorFor("encryption")} hint={form.encryption === "age" ? "age X25519; export the key from the API to decrypt without Bastion." : undefined}>
            <select name="encryption" value={form.encryption} onChange={(event) => update({ encryption: event.target.value as JobForm["encryption"] })}>
              <option value="none">none</option>
              <option value="age">age</option>
            </select>
          </Field>
          {form.encryption === "age" && (
            <Field label="Key name">
              <input value={form.keyName} onChange={(event) => update({ keyName: event.target.value })} />
            </Field>
          )}
          {form.type === "filesystem" && (
            <Field
              label="Snapshots"
              error={errorFor("snapshots")}
              hint={
                form.snapshots === "incremental"
                  ? "Each snapshot stores only the files changed since the one before; GNU tar restores the chain with tar -xG."
                  : "Every snapshot is a full copy."
              }
            >
              <select name="snapshots" value={form.snapshots} onChange={(event) => update({ snapshots: event.target.value as JobForm["snapshots"] })}>
                <option value="full">full every time</option>
                <option value="incremental">incremental</option>
              </select>
            </Field>
          )}
          {form.type === "filesystem" && form.snapshots === "incremental" && (
            <Field label="A full snapshot every" hint="snapshots (the chain restarts there)">
              <input name="fullEvery" type="number" min={1} max={1000} value={form.fullEvery} onChange={(event) => update({ fullEvery: event.target.value })} />
            </Field>
          )}
        </fieldset>

        <fieldset className="card">
          <legend>Notifications and retention</legend>
          <Field label="Notifications" error={errorFor("notifications")}>
            <select value={form.notifications} onChange={(event) => update({ notifications: event.target.value as JobForm["notifications"] })}>
              <option value="inherit">every enabled destination</option>
              <option value="custom">the destinations picked below</option>
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
          {props.jobId ? "Save" : "Create job"}
        </button>
        <button onClick={() => setShowJSON(!showJSON)}>{showJSON ? "Hide" : "Show"} what will be sent</button>
      </div>
      {showJSON && <pre className="json-view">{JSON.stringify(body, null, 2)}</pre>}
    </section>
  );
}

/** Custom notifications: one checkbox per destination the hub has, plus any the job names that no longer exist. */
function DestinationPicker(props: { selected: string[]; onChange: (selected: string[]) => void }) {
  const [destinations, setDestinations] = useState<NotificationDestination[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.destinations().then(setDestinations, setError);
  }, []);
  if (error) return <ErrorBox error={error} />;
  if (!destinations) return <p className="muted">Loading destinations…</p>;
  const known = destinations.map((destination) => ({ ...destination, key: `${destination.channel}/${destination.name}`, missing: false }));
  const missing = props.selected
    .filter((key) => !known.some((destination) => destination.key === key))
    .map((key) => ({ key, channel: key.split("/")[0], name: key.slice(key.indexOf("/") + 1), enabled: false, missing: true }));
  const all = [...known, ...missing];
  const toggle = (key: string, on: boolean) =>
    props.onChange(on ? [...props.selected.filter((item) => item !== key), key] : props.selected.filter((item) => item !== key));
  return (
    <div className="destinations" role="group" aria-label="Notify">
      {all.length === 0 && <p className="muted">No destinations yet. Add a webhook or WeCom bot first; until then this job notifies no one.</p>}
      {all.map((destination) => (
        <label className="inline" key={destination.key}>
          <input type="checkbox" checked={props.selected.includes(destination.key)} onChange={(event) => toggle(destination.key, event.target.checked)} />{" "}
          {destination.name} <span className="badge">{destination.channel}</span>
          {destination.missing ? <span className="muted"> (no longer exists)</span> : !destination.enabled && <span className="muted"> (disabled)</span>}
        </label>
      ))}
      {all.length > 0 && props.selected.length === 0 && <p className="muted">Nothing picked: this job notifies no one.</p>}
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
    <Field label="Runs on" hint={props.value ? "Paths and the target directory are on that host." : undefined}>
      <select name="agent" value={props.value} onChange={(event) => props.onChange(event.target.value)}>
        <option value="">this hub</option>
        {usable.map((agent) => (
          <option key={agent.id} value={agent.id}>
            agent {agent.name}
            {agent.connected ? "" : " (offline)"}
          </option>
        ))}
      </select>
    </Field>
  );
}
