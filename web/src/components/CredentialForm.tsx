import { useState } from "react";
import { api, type SecretKind, type TargetInput } from "../api";
import { ErrorBox, TestConnection } from "../components";
import { t } from "../i18n";

// The one form that stores a credential (docs/targets.md; docs/ui.md, "The job editor"): a WebDAV account, an rclone
// remote's configuration or a database password, by name. The hub keeps it encrypted and never shows it again, so
// the secret fields empty themselves after a save; Test connection tries the saved credential against a target.

const kindNames: Record<SecretKind, string> = { webdav: "WebDAV", rclone: "rclone", postgres: "PostgreSQL", mariadb: "MariaDB" };

/** What each kind stores, and whether the form holds enough to send it. */
interface Values {
  name: string;
  username: string;
  password: string;
  url: string;
  config: string;
  remote: string;
}
const empty: Values = { name: "", username: "", password: "", url: "", config: "", remote: "" };

function secretOf(kind: SecretKind, values: Values): Record<string, string> {
  if (kind === "webdav") return { username: values.username, password: values.password, url: values.url.trim() };
  if (kind === "rclone") return { config: values.config };
  return { password: values.password };
}

function complete(kind: SecretKind, values: Values): boolean {
  if (!values.name.trim()) return false;
  if (kind === "webdav") return values.username !== "" && values.url.trim() !== "";
  if (kind === "rclone") return values.config.trim() !== "";
  return values.password !== "";
}

/** Where Test connection writes (WebDAV: the server's URL; rclone: a remote), or null before there is one. */
function testTarget(kind: SecretKind, values: Values, name: string): TargetInput | null {
  if (!name) return null;
  if (kind === "webdav") return values.url.trim() ? { type: "webdav", base_url: values.url.trim(), secret_name: name } : null;
  if (kind === "rclone") return values.remote.trim() ? { type: "rclone", remote: values.remote.trim(), secret_name: name } : null;
  return null;
}

/** Stores one credential of `kind`; `onSaved` gets its name (a list reloads, the editor picks it). */
export function CredentialForm(props: { kind: SecretKind; onSaved: (name: string) => void | Promise<void>; className?: string }) {
  const { kind } = props;
  const [values, setValues] = useState<Values>(empty);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const set = (change: Partial<Values>) => setValues((current) => ({ ...current, ...change }));
  const title =
    kind === "webdav" ? t("settings.webdav.title") : kind === "rclone" ? t("settings.rclone.title") : t("settings.dbPassword.title", { kind: kindNames[kind] });
  const save = async () => {
    const name = values.name.trim();
    try {
      await api.saveTargetSecret(kind, name, secretOf(kind, values));
      setSaved(name);
      // The secret itself is never kept in the page once the hub has it.
      set({ password: "", config: "" });
      setError(null);
      await props.onSaved(name);
    } catch (caught) {
      setError(caught);
    }
  };
  const testName = (saved ?? values.name).trim();
  const target = testTarget(kind, values, testName);
  return (
    <form
      className={props.className ?? "subcard"}
      aria-label={kind === "webdav" ? t("settings.webdav.label") : title}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{title}</h3>
      <label>
        {t("common.a.name")}{" "}
        <input name={`${kind}Name`} value={values.name} onChange={(event) => set({ name: event.target.value })} placeholder={namePlaceholder(kind)} />
      </label>
      {kind === "webdav" && (
        <>
          <label>
            {t("common.a.username")} <input name="webdavUser" value={values.username} onChange={(event) => set({ username: event.target.value })} autoComplete="off" />
          </label>
          <label>
            {t("common.a.password")}{" "}
            <input name="webdavPassword" type="password" value={values.password} onChange={(event) => set({ password: event.target.value })} autoComplete="new-password" />
          </label>
          <label>
            {t("settings.webdav.url")}{" "}
            <input name="webdavTestUrl" value={values.url} onChange={(event) => set({ url: event.target.value })} placeholder={t("settings.example.webdavUrl")} />
          </label>
        </>
      )}
      {kind === "rclone" && (
        <>
          <label>
            <span>
              {t("settings.rclone.configBefore")}
              <code>{t("settings.rclone.configCommand")}</code>
              {t("settings.rclone.configAfter")}
            </span>
            <textarea name="rcloneConfig" rows={5} value={values.config} onChange={(event) => set({ config: event.target.value })} placeholder={t("settings.example.rcloneConfig")} />
          </label>
          <p className="muted">
            {t("settings.rclone.hintBefore")}
            <code>{t("settings.rclone.keysFolder")}</code>
            {t("settings.rclone.hintAfter")}
          </p>
        </>
      )}
      {(kind === "postgres" || kind === "mariadb") && (
        <>
          <label>
            {t("common.a.password")}{" "}
            <input name={`${kind}Password`} type="password" value={values.password} onChange={(event) => set({ password: event.target.value })} autoComplete="new-password" />
          </label>
          <p className="muted">{t("settings.dbPassword.hint", { kind: kindNames[kind], tool: kind === "postgres" ? "pg_dump" : "mariadb-dump" })}</p>
        </>
      )}
      <button type="submit" disabled={!complete(kind, values)}>
        {t("common.a.save")}
      </button>
      {saved && <p className="muted">{t("common.a.savedName", { name: saved })}</p>}
      {error !== null && <ErrorBox error={error} />}
      {kind === "rclone" && (
        <label>
          {t("settings.rclone.testRemote")}{" "}
          <input name="rcloneTestRemote" value={values.remote} onChange={(event) => set({ remote: event.target.value })} placeholder={t("settings.example.rcloneRemote")} />
        </label>
      )}
      {(kind === "webdav" || kind === "rclone") && <TestConnection target={() => target as TargetInput} disabled={target === null} />}
    </form>
  );
}

function namePlaceholder(kind: SecretKind): string {
  if (kind === "webdav") return t("settings.example.webdavName");
  if (kind === "rclone") return t("settings.example.rcloneName");
  return kind === "postgres" ? t("settings.example.pgName") : t("settings.example.mariadbName");
}
