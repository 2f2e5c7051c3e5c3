import { useCallback, useEffect, useState } from "react";
import { api, type IncompleteCleanup, type SecretKind, type TargetSecretInfo } from "../api";
import { ErrorBox, Link, TestConnection } from "../components";
import { formatRelative, formatTime } from "../lib/format";
import { t } from "../i18n";
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
    if (!window.confirm(`Delete the ${kindLabels[secret.kind]} credentials ${secret.name}?`)) return;
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
      <h1>Settings</h1>
      <SettingsTabs current="general" />
      {error !== null && <ErrorBox error={error} />}
      <section className="card" aria-labelledby="targets-heading">
        <h2 id="targets-heading">Target credentials</h2>
        <p className="muted">
          WebDAV accounts and rclone remotes that jobs write to, and the passwords of the PostgreSQL and MariaDB servers that database jobs
          read. Stored encrypted with this Bastion's master key; a saved password or configuration is never shown again.
        </p>
        {secrets === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <table className="table" aria-label="Target credentials">
            <thead>
              <tr>
                <th>Kind</th>
                <th>Name</th>
                <th>Used by</th>
                <th>Changed</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {allSecrets(secrets).length === 0 && (
                <tr>
                  <td colSpan={5} className="muted">
                    None yet: add one below.
                  </td>
                </tr>
              )}
              {allSecrets(secrets).map((secret) => (
                <tr key={`${secret.kind}/${secret.name}`}>
                  <td>{kindLabels[secret.kind]}</td>
                  <td>{secret.name}</td>
                  <td>{secret.used_by.length ? secret.used_by.join(", ") : <span className="muted">no job</span>}</td>
                  <td title={formatTime(secret.updated_at)}>{formatRelative(secret.updated_at)}</td>
                  <td>
                    <button className="ghost danger" onClick={() => void remove(secret)} disabled={secret.used_by.length > 0} title={secret.used_by.length ? "In use by a job" : undefined}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div className="settings-forms">
          <WebDAVForm onSaved={load} />
          <RcloneForm onSaved={load} />
          <DatabasePasswordForm kind="postgres" onSaved={load} />
          <DatabasePasswordForm kind="mariadb" onSaved={load} />
        </div>
      </section>

      <section className="card" aria-labelledby="maintenance-heading">
        <h2 id="maintenance-heading">Maintenance: incomplete runs</h2>
        <p className="muted">
          A backup that failed or was canceled leaves what it wrote on its target. The janitor removes it after the cleanup delay
          (--incomplete-cleanup-days, 7 by default), retrying on failure.
        </p>
        {cleanups === null ? (
          <p className="muted">Loading…</p>
        ) : cleanups.length === 0 ? (
          <p className="muted">Nothing to clean up.</p>
        ) : (
          <table className="table" aria-label="Incomplete runs">
            <thead>
              <tr>
                <th>Run</th>
                <th>Job</th>
                <th>Target</th>
                <th>Status</th>
                <th>Attempts</th>
                <th>Last error</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {cleanups.map((cleanup) => (
                <tr key={cleanup.run_id} data-status={cleanup.status}>
                  <td>
                    <Link to={`/runs/${cleanup.run_id}`}>{cleanup.run_id.slice(0, 8)}</Link> <span className="muted">{cleanup.run_status}</span>
                  </td>
                  <td>{cleanup.job_name ?? cleanup.job_id}</td>
                  <td className="mono">{cleanup.target ?? "?"}</td>
                  <td>
                    {cleanup.status}
                    {cleanup.status === "retrying" && <span className="muted"> (next {formatRelative(cleanup.next_attempt_at)})</span>}
                  </td>
                  <td>{cleanup.attempts}</td>
                  <td className="muted">{cleanup.last_error ?? ""}</td>
                  <td>
                    {cleanup.status !== "done" && cleanup.status !== "ignored" && (
                      <>
                        <button className="ghost" onClick={() => void act(cleanup, "retry-now")}>
                          Retry now
                        </button>{" "}
                        <button className="ghost" onClick={() => void act(cleanup, "ignore")}>
                          Ignore
                        </button>
                      </>
                    )}
                    {cleanup.status === "ignored" && (
                      <button className="ghost" onClick={() => void act(cleanup, "unignore")}>
                        Unignore
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
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
      aria-label={`${label} password`}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{label} password</h3>
      <label>
        Name <input name={`${props.kind}Name`} value={name} onChange={(event) => setName(event.target.value)} placeholder={props.kind === "postgres" ? "pg-main" : "maria-main"} />
      </label>
      <label>
        Password{" "}
        <input name={`${props.kind}Password`} type="password" value={password} onChange={(event) => setPassword(event.target.value)} autoComplete="new-password" />
      </label>
      <p className="muted">
        The password of the user a {label} job connects as. It reaches {props.kind === "postgres" ? "pg_dump" : "mariadb-dump"} through its environment or a private option file, never its command line.
      </p>
      <button type="submit" disabled={!name.trim() || !password}>
        Save
      </button>
      {saved && <p className="muted">Saved {saved}.</p>}
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
      aria-label="WebDAV credentials"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>WebDAV account</h3>
      <label>
        Name <input name="webdavName" value={name} onChange={(event) => setName(event.target.value)} placeholder="nas" />
      </label>
      <label>
        Username <input name="webdavUser" value={username} onChange={(event) => setUsername(event.target.value)} autoComplete="off" />
      </label>
      <label>
        Password <input name="webdavPassword" type="password" value={password} onChange={(event) => setPassword(event.target.value)} autoComplete="new-password" />
      </label>
      <label>
        Server URL (the password is sent to this server only){" "}
        <input name="webdavTestUrl" value={baseUrl} onChange={(event) => setBaseUrl(event.target.value)} placeholder="https://nas.example/dav/bastion/" />
      </label>
      <button type="submit" disabled={!name.trim() || !username || !baseUrl.trim()}>
        Save
      </button>
      {saved && <p className="muted">Saved {saved}.</p>}
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
      aria-label="rclone remote"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>rclone remote</h3>
      <label>
        Name <input name="rcloneName" value={name} onChange={(event) => setName(event.target.value)} placeholder="box" />
      </label>
      <label>
        <span>
          Configuration, as <code>rclone config show NAME</code> prints it
        </span>
        <textarea name="rcloneConfig" rows={5} value={config} onChange={(event) => setConfig(event.target.value)} placeholder={"type = sftp\nhost = backup.example\nuser = bastion\nkey_pem = -----BEGIN OPENSSH PRIVATE KEY-----…"} />
      </label>
      <p className="muted">
        Only remote types that store data (sftp, s3, b2, webdav, …) and their own options are accepted; no command options.
        A key file must be in the data directory's <code>rclone-keys</code> folder, or put the key inline.
      </p>
      <button type="submit" disabled={!name.trim() || !config.trim()}>
        Save
      </button>
      {saved && <p className="muted">Saved {saved}.</p>}
      {error !== null && <ErrorBox error={error} />}
      <label>
        Remote to test (name:path) <input name="rcloneTestRemote" value={remote} onChange={(event) => setRemote(event.target.value)} placeholder="box:backups" />
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
