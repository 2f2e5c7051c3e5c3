import { useEffect, useState } from "react";
import { api, type NotificationDestination, type NotificationSettingsInfo } from "../../api";
import { ErrorBox } from "../../components";
import { t } from "../../i18n";

// The Notifications tab's forms of its own shape: e-mail and ntfy destinations and the templates (the webhook and WeCom
// forms, one URL each, are in Notifications.tsx).

/** The placeholders the templates know when the hub does not list them. */
const fallbackVariables = ["{{job_name}}", "{{status}}", "{{run_id}}", "{{error}}", "{{started_at}}", "{{ended_at}}", "{{duration}}"];

/** A destination's stored settings in a line (no secrets). */
export function describeConfig(destination: NotificationDestination): string {
  const config = destination.config ?? {};
  if (destination.channel === "email" && typeof config.host === "string")
    return `${config.host}:${String(config.port)} (${String(config.tls)}) → ${Array.isArray(config.to) ? config.to.join(", ") : ""}`;
  if (destination.channel === "ntfy" && typeof config.server === "string")
    return `${config.server}${typeof config.priority === "number" ? t("settings.ntfy.priorityShort", { priority: config.priority }) : ""}`;
  return "";
}

/** An SMTP server and who gets the mail; the password is sealed with the master key and never returned. */
export function EmailForm(props: { onSaved: () => Promise<void>; editing: NotificationDestination | null }) {
  const [name, setName] = useState("");
  const [host, setHost] = useState("");
  const [port, setPort] = useState("587");
  const [tls, setTls] = useState<"none" | "starttls" | "implicit">("starttls");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [hasPassword, setHasPassword] = useState(false);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    if (!props.editing) return;
    setName(props.editing.name);
    const stored = props.editing.config ?? {};
    if (typeof stored.host === "string") setHost(stored.host);
    if (typeof stored.port === "number") setPort(String(stored.port));
    if (stored.tls === "none" || stored.tls === "starttls" || stored.tls === "implicit") setTls(stored.tls);
    setUsername(typeof stored.username === "string" ? stored.username : "");
    if (typeof stored.from === "string") setFrom(stored.from);
    if (Array.isArray(stored.to)) setTo(stored.to.join(", "));
    setHasPassword(stored.has_password === true);
    setPassword("");
  }, [props.editing]);

  const save = async () => {
    try {
      const body: Record<string, unknown> = {
        host: host.trim(),
        port: Number(port),
        tls,
        from: from.trim(),
        to: to
          .split(/[,\n]/)
          .map((address) => address.trim())
          .filter(Boolean),
      };
      if (username.trim()) body.username = username.trim();
      if (password) body.password = password;
      await api.saveDestination("email", name.trim(), body);
      setSaved(name.trim());
      setHasPassword(hasPassword || password !== "");
      setPassword("");
      setError(null);
      await props.onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  const portHint = tls === "implicit" ? t("settings.email.portImplicit") : tls === "starttls" ? t("settings.email.portStarttls") : t("settings.email.portNone");
  return (
    <form
      className="subcard"
      aria-label={t("settings.email.label")}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{t("settings.email.title")}</h3>
      <label>
        {t("common.a.name")} <input name="emailName" value={name} onChange={(event) => setName(event.target.value)} placeholder={t("settings.example.emailName")} />
      </label>
      <label>
        {t("settings.email.server")} <input name="emailHost" value={host} onChange={(event) => setHost(event.target.value)} placeholder={t("settings.example.smtpHost")} />
      </label>
      <div className="row">
        <label>
          {t("settings.email.encryption")}
          <select name="emailTls" value={tls} onChange={(event) => setTls(event.target.value as typeof tls)}>
            <option value="starttls">{t("settings.email.starttls")}</option>
            <option value="implicit">{t("settings.email.tlsImplicit")}</option>
            <option value="none">{t("common.a.none")}</option>
          </select>
        </label>
        <label>
          {t("settings.email.port")} <input name="emailPort" className="num-wide" type="number" min={1} max={65535} value={port} onChange={(event) => setPort(event.target.value)} />
        </label>
      </div>
      <p className="muted">{t("settings.email.usually", { hint: portHint })}</p>
      <label>
        {t("settings.email.user")} <input name="emailUser" value={username} autoComplete="off" onChange={(event) => setUsername(event.target.value)} />
      </label>
      <label>
        {t("common.a.password")}{" "}
        <input
          name="emailPassword"
          type="password"
          value={password}
          autoComplete="new-password"
          placeholder={hasPassword ? t("settings.savedKeep") : ""}
          onChange={(event) => setPassword(event.target.value)}
        />
      </label>
      <label>
        {t("settings.email.from")} <input name="emailFrom" value={from} onChange={(event) => setFrom(event.target.value)} placeholder={t("settings.example.emailFrom")} />
      </label>
      <label>
        {t("settings.email.to")} <input name="emailTo" value={to} onChange={(event) => setTo(event.target.value)} placeholder={t("settings.example.emailTo")} />
      </label>
      <button type="submit" disabled={!name.trim() || !host.trim() || !from.trim() || !to.trim()}>
        {t("common.a.save")}
      </button>
      {saved && <p className="muted">{t("settings.notify.savedTest", { name: saved })}</p>}
      {error !== null && <ErrorBox error={error} />}
    </form>
  );
}

/** An ntfy topic: one POST per message with a title, priority and tags. */
export function NtfyForm(props: { onSaved: () => Promise<void>; editing: NotificationDestination | null }) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [token, setToken] = useState("");
  const [priority, setPriority] = useState("");
  const [tags, setTags] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  /** When editing: the server of the stored topic (its URL is not shown back: the topic name is its secret). */
  const [server, setServer] = useState<string | null>(null);
  const [hasToken, setHasToken] = useState(false);

  useEffect(() => {
    if (!props.editing) return;
    setName(props.editing.name);
    const stored = props.editing.config ?? {};
    setServer(typeof stored.server === "string" ? stored.server : null);
    setHasToken(stored.has_token === true);
    setUrl("");
    setPriority(typeof stored.priority === "number" ? String(stored.priority) : "");
    setTags(Array.isArray(stored.tags) ? stored.tags.join(", ") : "");
  }, [props.editing]);

  const save = async () => {
    try {
      const body: Record<string, unknown> = { url: url.trim() };
      if (token) body.token = token;
      if (priority) body.priority = Number(priority);
      const tagList = tags
        .split(",")
        .map((tag) => tag.trim())
        .filter(Boolean);
      if (tagList.length) body.tags = tagList;
      await api.saveDestination("ntfy", name.trim(), body);
      setSaved(name.trim());
      setToken("");
      setError(null);
      await props.onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form
      className="subcard"
      aria-label={t("settings.ntfy.label")}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{t("settings.ntfy.title")}</h3>
      <label>
        {t("common.a.name")} <input name="ntfyName" value={name} onChange={(event) => setName(event.target.value)} placeholder={t("settings.example.ntfyName")} />
      </label>
      <label>
        {t("settings.ntfy.url")}{" "}
        <input
          name="ntfyUrl"
          value={url}
          onChange={(event) => setUrl(event.target.value)}
          placeholder={server ? t("settings.ntfy.savedOn", { server }) : t("settings.example.ntfyUrl")}
        />
      </label>
      <p className="muted">{t("settings.ntfy.hint")}</p>
      <label>
        {t("settings.ntfy.token")}{" "}
        <input
          name="ntfyToken"
          type="password"
          value={token}
          autoComplete="new-password"
          placeholder={hasToken ? t("settings.savedKeep") : ""}
          onChange={(event) => setToken(event.target.value)}
        />
      </label>
      <div className="row">
        <label>
          {t("settings.ntfy.priority")}
          <select name="ntfyPriority" value={priority} onChange={(event) => setPriority(event.target.value)}>
            <option value="">{t("settings.ntfy.priorityDefault")}</option>
            <option value="1">{t("settings.ntfy.priority1")}</option>
            <option value="2">{t("settings.ntfy.priority2")}</option>
            <option value="3">{t("settings.ntfy.priority3")}</option>
            <option value="4">{t("settings.ntfy.priority4")}</option>
            <option value="5">{t("settings.ntfy.priority5")}</option>
          </select>
        </label>
        <label>
          {t("settings.ntfy.tags")} <input name="ntfyTags" value={tags} onChange={(event) => setTags(event.target.value)} placeholder={t("settings.ntfy.tagsPlaceholder")} />
        </label>
      </div>
      <button type="submit" disabled={!name.trim() || !url.trim()}>
        {t("common.a.save")}
      </button>
      {saved && <p className="muted">{t("settings.notify.savedTest", { name: saved })}</p>}
      {error !== null && <ErrorBox error={error} />}
    </form>
  );
}

/** The e-mail and ntfy message templates, with the placeholders they may use. */
export function TemplatesForm(props: { settings: NotificationSettingsInfo; onSaved: () => Promise<void> }) {
  const stored = props.settings.templates ?? {};
  const [emailSubject, setEmailSubject] = useState(stored.email?.subject ?? "");
  const [emailBody, setEmailBody] = useState(stored.email?.body ?? "");
  const [ntfyTitle, setNtfyTitle] = useState(stored.ntfy?.title ?? "");
  const [ntfyBody, setNtfyBody] = useState(stored.ntfy?.body ?? "");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const variables = props.settings.template_variables?.length ? props.settings.template_variables : fallbackVariables;
  const save = async () => {
    try {
      await api.saveNotificationSettings({ templates: { email: { subject: emailSubject, body: emailBody }, ntfy: { title: ntfyTitle, body: ntfyBody } } });
      setSaved(true);
      setError(null);
      await props.onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form
      className="subcard templates"
      aria-label={t("settings.templates.title")}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{t("settings.templates.title")}</h3>
      <p className="muted template-vars" data-testid="template-variables">
        {t("settings.templates.placeholders")}{" "}
        {variables.map((variable) => (
          <code key={variable}>{variable.startsWith("{{") ? variable : `{{${variable}}}`}</code>
        ))}
        .
      </p>
      <label>
        {t("settings.templates.emailSubject")} <input name="emailSubject" value={emailSubject} placeholder={t("settings.example.emailSubject")} onChange={(event) => setEmailSubject(event.target.value)} />
      </label>
      <label>
        {t("settings.templates.emailBody")} <textarea name="emailBody" rows={4} value={emailBody} placeholder={t("settings.templates.emailBodyPlaceholder")} onChange={(event) => setEmailBody(event.target.value)} />
      </label>
      <label>
        {t("settings.templates.ntfyTitle")} <input name="ntfyTitle" value={ntfyTitle} placeholder={t("settings.example.ntfyTitle")} onChange={(event) => setNtfyTitle(event.target.value)} />
      </label>
      <label>
        {t("settings.templates.ntfyBody")} <textarea name="ntfyBody" rows={3} value={ntfyBody} placeholder={t("settings.example.ntfyBody")} onChange={(event) => setNtfyBody(event.target.value)} />
      </label>
      <button type="submit">{t("settings.templates.save")}</button>
      {saved && <p className="muted">{t("settings.templates.saved")}</p>}
      {error !== null && <ErrorBox error={error} />}
    </form>
  );
}
