import { useCallback, useEffect, useState } from "react";
import { api, type IncompleteCleanup, type SecretKind, type TargetSecretInfo } from "../api";
import { ErrorBox, Link, TestConnection } from "../components";
import { t } from "../i18n";
import { formatRelative, formatTime } from "../lib/format";
import { usePath } from "../lib/router";
import { KeysSection } from "./Settings26";
import { KeysPage } from "./SettingsKeys";
import { NotificationsPage } from "./SettingsNotifications";
import { SystemPage } from "./SettingsSystem";

// Settings (docs/targets.md): the credentials of remote targets, kept encrypted and never shown again, each with a
// test connection; and maintenance: what the janitor removes of incomplete runs.

type Kind = SecretKind;

const kindLabels: Record<Kind, string> = { webdav: "WebDAV", rclone: "rclone", postgres: "PostgreSQL", mariadb: "MariaDB" };

export function SettingsPage() {
  const [secrets, setSecrets] = useState<Record<Kind, TargetSecretInfo[]> | null>(null);
  const [cleanups, setCleanups] = useState<IncompleteCleanup[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      // Database passwords are listed where the hub knows their kinds (an older hub answers invalid_kind).
      const orNone = (kind: Kind) => api.targetSecrets(kind).catch(() => [] as TargetSecretInfo[]);
      const [webdav, rclone, postgres, mariadb, cleanupList] = await Promise.all([
        api.targetSecrets("webdav"),
        api.targetSecrets("rclone"),
        orNone("postgres"),
        orNone("mariadb"),
        api.incompleteCleanups(),
      ]);
      setSecrets({ webdav, rclone, postgres, mariadb });
      setCleanups(cleanupList);
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const remove = async (secret: TargetSecretInfo) => {
    if (!window.confirm(t("settings.credentials.deleteConfirm", { kind: kindLabels[secret.kind], name: secret.name }))) return;
    try {
      await api.deleteTargetSecret(secret.kind, secret.name);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  const act = async (cleanup: IncompleteCleanup, action: "retry-now" | "ignore" | "unignore") => {
    try {
      await api.cleanupAction(cleanup.run_id, action);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  const tab = settingsTab(usePath());
  if (tab !== "general") return <SettingsTabPage tab={tab} />;
  return (
    <div className="settings">
      <h1>{t("nav.settings")}</h1>
      <SettingsTabs current="general" />
      {error !== null && <ErrorBox error={error} />}
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
          <WebDAVForm onSaved={load} />
          <RcloneForm onSaved={load} />
          <DatabasePasswordForm kind="postgres" onSaved={load} />
          <DatabasePasswordForm kind="mariadb" onSaved={load} />
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
    </div>
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

const allSecrets = (secrets: Record<Kind, TargetSecretInfo[]>) => [...secrets.webdav, ...secrets.rclone, ...secrets.postgres, ...secrets.mariadb];

/** A database server's password (`{"password": ...}`), picked by name in a postgres or mariadb job. */
function DatabasePasswordForm(props: { kind: "postgres" | "mariadb"; onSaved: () => Promise<void> }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const label = kindLabels[props.kind];
  const save = async () => {
    try {
      await api.saveTargetSecret(props.kind, name.trim(), { password });
      setSaved(name.trim());
      setPassword("");
      setError(null);
      await props.onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form
      className="subcard"
      aria-label={t("settings.dbPassword.title", { kind: label })}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{t("settings.dbPassword.title", { kind: label })}</h3>
      <label>
        {t("common.a.name")} <input name={`${props.kind}Name`} value={name} onChange={(event) => setName(event.target.value)} placeholder={props.kind === "postgres" ? t("settings.example.pgName") : t("settings.example.mariadbName")} />
      </label>
      <label>
        {t("common.a.password")}{" "}
        <input name={`${props.kind}Password`} type="password" value={password} onChange={(event) => setPassword(event.target.value)} autoComplete="new-password" />
      </label>
      <p className="muted">
        {t("settings.dbPassword.hint", { kind: label, tool: props.kind === "postgres" ? "pg_dump" : "mariadb-dump" })}
      </p>
      <button type="submit" disabled={!name.trim() || !password}>
        {t("common.a.save")}
      </button>
      {saved && <p className="muted">{t("common.a.savedName", { name: saved })}</p>}
      {error !== null && <ErrorBox error={error} />}
    </form>
  );
}

function WebDAVForm(props: { onSaved: () => Promise<void> }) {
  const [name, setName] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [baseUrl, setBaseUrl] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const save = async () => {
    try {
      await api.saveTargetSecret("webdav", name.trim(), { username, password, url: baseUrl.trim() });
      setSaved(name.trim());
      setPassword("");
      setError(null);
      await props.onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form
      className="subcard"
      aria-label={t("settings.webdav.label")}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{t("settings.webdav.title")}</h3>
      <label>
        {t("common.a.name")} <input name="webdavName" value={name} onChange={(event) => setName(event.target.value)} placeholder={t("settings.example.webdavName")} />
      </label>
      <label>
        {t("common.a.username")} <input name="webdavUser" value={username} onChange={(event) => setUsername(event.target.value)} autoComplete="off" />
      </label>
      <label>
        {t("common.a.password")} <input name="webdavPassword" type="password" value={password} onChange={(event) => setPassword(event.target.value)} autoComplete="new-password" />
      </label>
      <label>
        {t("settings.webdav.url")}{" "}
        <input name="webdavTestUrl" value={baseUrl} onChange={(event) => setBaseUrl(event.target.value)} placeholder={t("settings.example.webdavUrl")} />
      </label>
      <button type="submit" disabled={!name.trim() || !username || !baseUrl.trim()}>
        {t("common.a.save")}
      </button>
      {saved && <p className="muted">{t("common.a.savedName", { name: saved })}</p>}
      {error !== null && <ErrorBox error={error} />}
      <TestConnection target={() => ({ type: "webdav", base_url: baseUrl.trim(), secret_name: (saved ?? name).trim() })} disabled={!baseUrl.trim() || !(saved ?? name).trim()} />
    </form>
  );
}

function RcloneForm(props: { onSaved: () => Promise<void> }) {
  const [name, setName] = useState("");
  const [config, setConfig] = useState("");
  const [remote, setRemote] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const save = async () => {
    try {
      await api.saveTargetSecret("rclone", name.trim(), { config });
      setSaved(name.trim());
      setConfig("");
      setError(null);
      await props.onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form
      className="subcard"
      aria-label={t("settings.rclone.title")}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{t("settings.rclone.title")}</h3>
      <label>
        {t("common.a.name")} <input name="rcloneName" value={name} onChange={(event) => setName(event.target.value)} placeholder={t("settings.example.rcloneName")} />
      </label>
      <label>
        <span>
          {t("settings.rclone.configBefore")}
          <code>{t("settings.rclone.configCommand")}</code>
          {t("settings.rclone.configAfter")}
        </span>
        <textarea name="rcloneConfig" rows={5} value={config} onChange={(event) => setConfig(event.target.value)} placeholder={t("settings.example.rcloneConfig")} />
      </label>
      <p className="muted">
        {t("settings.rclone.hintBefore")}
        <code>{t("settings.rclone.keysFolder")}</code>
        {t("settings.rclone.hintAfter")}
      </p>
      <button type="submit" disabled={!name.trim() || !config.trim()}>
        {t("common.a.save")}
      </button>
      {saved && <p className="muted">{t("common.a.savedName", { name: saved })}</p>}
      {error !== null && <ErrorBox error={error} />}
      <label>
        {t("settings.rclone.testRemote")} <input name="rcloneTestRemote" value={remote} onChange={(event) => setRemote(event.target.value)} placeholder={t("settings.example.rcloneRemote")} />
      </label>
      <TestConnection target={() => ({ type: "rclone", remote: remote.trim(), secret_name: (saved ?? name).trim() })} disabled={!remote.trim() || !(saved ?? name).trim()} />
    </form>
  );
}

// The settings tabs (docs/ui.md, "Settings pages"): `?tab=` keeps them on the one /settings route.
type SettingsTab = "general" | "notifications" | "keys" | "system";
const settingsTabs: SettingsTab[] = ["general", "notifications", "keys", "system"];

function settingsTab(path: string): SettingsTab {
  const tab = new URLSearchParams(path.split("?")[1] ?? "").get("tab");
  return settingsTabs.find((candidate) => candidate === tab) ?? "general";
}

function SettingsTabs(props: { current: SettingsTab }) {
  return (
    <nav className="tabs settings-tabs" aria-label={t("settings.tabs.label")}>
      {settingsTabs.map((tab) => (
        <Link key={tab} to={tab === "general" ? "/settings" : `/settings?tab=${tab}`} className={tab === props.current ? "active" : undefined}>
          <span aria-current={tab === props.current ? "page" : undefined}>{t(`settings.tabs.${tab}`)}</span>
        </Link>
      ))}
    </nav>
  );
}

function SettingsTabPage(props: { tab: Exclude<SettingsTab, "general"> }) {
  const [keysVersion, setKeysVersion] = useState(0);
  return (
    <div className="settings">
      <h1>{t("settings.tabs.title")}</h1>
      <SettingsTabs current={props.tab} />
      {props.tab === "notifications" && <NotificationsPage />}
      {props.tab === "keys" && (
        <>
          <KeysPage onChanged={() => setKeysVersion((version) => version + 1)} />
          <KeysSection key={keysVersion} />
        </>
      )}
      {props.tab === "system" && <SystemPage />}
    </div>
  );
}
