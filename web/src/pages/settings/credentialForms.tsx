import { useState } from "react";
import { api, type SecretKind } from "../../api";
import { ErrorBox, TestConnection } from "../../components";
import { t } from "../../i18n";

// The forms that save a target credential or a database password (the Targets and maintenance tab; docs/targets.md).

/** A credential's kind as the table shows it (product names, the same in every language). */
export const kindLabels: Record<SecretKind, string> = { webdav: "WebDAV", rclone: "rclone", postgres: "PostgreSQL", mariadb: "MariaDB" };

/** A database server's password (`{"password": ...}`), picked by name in a postgres or mariadb job. */
export function DatabasePasswordForm(props: { kind: "postgres" | "mariadb"; onSaved: () => Promise<void> }) {
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

export function WebDAVForm(props: { onSaved: () => Promise<void> }) {
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

export function RcloneForm(props: { onSaved: () => Promise<void> }) {
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
