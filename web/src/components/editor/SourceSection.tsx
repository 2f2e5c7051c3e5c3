import { t } from "../../i18n";
import { databaseDefaults, isDatabase, type JobForm } from "../../lib/jobForm";
import { Link } from "../../components";
import type { TargetSecretInfo } from "../../api";
import { Field, type Secrets, type Update } from "./fields";

/** What the job backs up: paths and their rules, a SQLite file, a database server or a Vaultwarden data directory. */
export function SourceSection(props: { form: JobForm; update: Update; secrets: Secrets; errorFor: (key: string) => string | undefined }) {
  const { form, update, errorFor } = props;
  return (
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
      {isDatabase(form.type) && <DatabaseFields form={form} update={update} secrets={props.secrets[form.type] ?? []} errorFor={errorFor} />}
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
  );
}

function snapshotHint(mode: JobForm["snapshotMode"]): string {
  if (mode === "off") return t("job.editor.snapshotHint.off");
  if (mode === "auto") return t("job.editor.snapshotHint.auto");
  return t("job.editor.snapshotHint.required");
}

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

