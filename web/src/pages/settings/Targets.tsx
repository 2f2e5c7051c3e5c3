import { useState } from "react";
import { api, type IncompleteCleanup, type SecretKind, type TargetSecretInfo } from "../../api";
import { ErrorBox, Link } from "../../components";
import { useConfirm } from "../../dialogs";
import { t } from "../../i18n";
import { formatRelative, formatTime } from "../../lib/format";
import { useLoad } from "../../lib/useLoad";
import { CredentialForm } from "../../components/CredentialForm";

/** A credential's kind as the table shows it (product names, the same in every language). */
const kindLabels: Record<SecretKind, string> = { webdav: "WebDAV", rclone: "rclone", postgres: "PostgreSQL", mariadb: "MariaDB" };

// Settings → Targets and maintenance (docs/targets.md): the credentials of remote targets, kept encrypted and never
// shown again, each with a test connection; and maintenance: what the janitor removes of incomplete runs.

export function TargetsSection() {
  const loaded = useLoad(async () => {
    // Database passwords are listed where the hub knows their kinds (an older hub answers invalid_kind).
    const orNone = (kind: SecretKind) => api.targetSecrets(kind).catch(() => [] as TargetSecretInfo[]);
    const [webdav, rclone, postgres, mariadb, cleanups] = await Promise.all([
      api.targetSecrets("webdav"),
      api.targetSecrets("rclone"),
      orNone("postgres"),
      orNone("mariadb"),
      api.incompleteCleanups(),
    ]);
    return { secrets: { webdav, rclone, postgres, mariadb }, cleanups };
  }, []);
  const load = loaded.reload;
  const secrets = loaded.data?.secrets ?? null;
  const cleanups = loaded.data?.cleanups ?? null;
  // An action's failure; the load's own error is shown otherwise.
  const [actionError, setError] = useState<unknown>(null);
  const error = actionError ?? loaded.error;
  const [confirm, confirmDialog] = useConfirm();

  const remove = async (secret: TargetSecretInfo) => {
    const question = t("settings.credentials.deleteConfirm", { kind: kindLabels[secret.kind], name: secret.name });
    if (!(await confirm({ title: question, confirm: t("common.a.delete"), danger: true }))) return;
    try {
      await api.deleteTargetSecret(secret.kind, secret.name);
      setError(null);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  const act = async (cleanup: IncompleteCleanup, action: "retry-now" | "ignore" | "unignore") => {
    try {
      await api.cleanupAction(cleanup.run_id, action);
      setError(null);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <>
      {confirmDialog}
      <ErrorBox error={error} />
      <section className="card" aria-labelledby="targets-heading">
        <h2 id="targets-heading">{t("settings.credentials.title")}</h2>
        <p className="muted">
          {t("settings.credentials.intro")}
        </p>
        {secrets === null ? (
          <p className="muted">{t("common.a.loading")}</p>
        ) : (
          <div className="table-scroll" tabIndex={0}>
<table className="table" aria-label={t("settings.credentials.title")}>
            <thead>
              <tr>
                <th>{t("settings.credentials.kind")}</th>
                <th>{t("common.a.name")}</th>
                <th>{t("settings.credentials.usedBy")}</th>
                <th>{t("settings.credentials.changed")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {allSecrets(secrets).length === 0 && (
                <tr>
                  <td colSpan={5} className="muted">
                    {t("settings.credentials.none")}
                  </td>
                </tr>
              )}
              {allSecrets(secrets).map((secret) => (
                <tr key={`${secret.kind}/${secret.name}`}>
                  <td>{kindLabels[secret.kind]}</td>
                  <td>{secret.name}</td>
                  <td>{secret.used_by.length ? secret.used_by.join(", ") : <span className="muted">{t("settings.credentials.noJob")}</span>}</td>
                  <td title={formatTime(secret.updated_at)}>{formatRelative(secret.updated_at)}</td>
                  <td>
                    <button className="ghost danger" onClick={() => void remove(secret)} disabled={secret.used_by.length > 0} title={secret.used_by.length ? t("settings.credentials.inUse") : undefined}>
                      {t("common.a.delete")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
</div>
        )}
        <div className="settings-forms">
          {(["webdav", "rclone", "postgres", "mariadb"] as const).map((kind) => (
            <CredentialForm key={kind} kind={kind} onSaved={load} />
          ))}
        </div>
      </section>

      <section className="card" aria-labelledby="maintenance-heading">
        <h2 id="maintenance-heading">{t("settings.maintenance.title")}</h2>
        <p className="muted">
          {t("settings.maintenance.intro")}
        </p>
        {cleanups === null ? (
          <p className="muted">{t("common.a.loading")}</p>
        ) : cleanups.length === 0 ? (
          <p className="muted">{t("settings.maintenance.none")}</p>
        ) : (
          <div className="table-scroll" tabIndex={0}>
<table className="table" aria-label={t("settings.maintenance.table")}>
            <thead>
              <tr>
                <th>{t("settings.maintenance.run")}</th>
                <th>{t("settings.maintenance.job")}</th>
                <th>{t("settings.maintenance.target")}</th>
                <th>{t("common.a.status")}</th>
                <th>{t("settings.maintenance.attempts")}</th>
                <th>{t("settings.maintenance.lastError")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {cleanups.map((cleanup) => (
                <tr key={cleanup.run_id} data-status={cleanup.status}>
                  <td>
                    <Link to={`/runs/${cleanup.run_id}`}>{cleanup.run_id.slice(0, 8)}</Link> <span className="muted">{runStatus(cleanup.run_status)}</span>
                  </td>
                  <td>{cleanup.job_name ?? cleanup.job_id}</td>
                  <td className="mono">{cleanup.target ?? "?"}</td>
                  <td>
                    {cleanupStatus(cleanup.status)}
                    {cleanup.status === "retrying" && <span className="muted"> {t("settings.maintenance.next", { when: formatRelative(cleanup.next_attempt_at) })}</span>}
                  </td>
                  <td>{cleanup.attempts}</td>
                  <td className="muted">{cleanup.last_error ?? ""}</td>
                  <td>
                    {cleanup.status !== "done" && cleanup.status !== "ignored" && (
                      <>
                        <button className="ghost" onClick={() => void act(cleanup, "retry-now")}>
                          {t("settings.maintenance.retryNow")}
                        </button>{" "}
                        <button className="ghost" onClick={() => void act(cleanup, "ignore")}>
                          {t("settings.maintenance.ignore")}
                        </button>
                      </>
                    )}
                    {cleanup.status === "ignored" && (
                      <button className="ghost" onClick={() => void act(cleanup, "unignore")}>
                        {t("settings.maintenance.unignore")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
</div>
        )}
      </section>
    </>
  );
}

/** The cleaned-up run's status in words (the runs listed here failed or were canceled). */
function runStatus(status: string): string {
  if (status === "failed") return t("settings.maintenance.runFailed");
  if (status === "canceled") return t("settings.maintenance.runCanceled");
  return status;
}

/** A cleanup's status in words (the API's value when it is one we do not know). */
function cleanupStatus(status: string): string {
  switch (status) {
    case "queued":
      return t("settings.maintenance.status.queued");
    case "retrying":
      return t("settings.maintenance.status.retrying");
    case "done":
      return t("settings.maintenance.status.done");
    case "ignored":
      return t("settings.maintenance.status.ignored");
    case "abandoned":
      return t("settings.maintenance.status.abandoned");
    default:
      return status;
  }
}

const allSecrets = (secrets: Record<SecretKind, TargetSecretInfo[]>) => [...secrets.webdav, ...secrets.rclone, ...secrets.postgres, ...secrets.mariadb];
