import { useCallback, useEffect, useState } from "react";
import { api, type KeyInfo, type NotificationDestination, type NotificationSettingsInfo } from "../api";
import { ErrorBox, Link } from "../components";
import { formatRelative, formatTime } from "../lib/format";

// Settings for issue #26: notification destinations (e-mail, ntfy, and the existing ones) with their templates and a
// Test button; the backup keys with their passphrase-protected copies on the targets (escrow).

const channelLabels: Record<string, string> = { webhook: "Webhook", wecom_bot: "WeCom bot", email: "E-mail", ntfy: "ntfy", ping: "Ping" };

/** The placeholders the templates know when the hub does not list them. */
const fallbackVariables = ["{{job_name}}", "{{status}}", "{{run_id}}", "{{error}}", "{{started_at}}", "{{ended_at}}", "{{duration}}"];

export function NotificationsSection() {
  const [destinations, setDestinations] = useState<NotificationDestination[] | null>(null);
  const [settings, setSettings] = useState<NotificationSettingsInfo | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tested, setTested] = useState<Record<string, string>>({});
  const [editing, setEditing] = useState<NotificationDestination | null>(null);

  const load = useCallback(async () => {
    try {
      const [list, loaded] = await Promise.all([api.destinations(), api.notificationSettings()]);
      setDestinations(list);
      setSettings(loaded);
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const test = async (destination: NotificationDestination) => {
    const key = `${destination.channel}/${destination.name}`;
    setTested((current) => ({ ...current, [key]: "sending…" }));
    try {
      await api.testDestination(destination.channel, destination.name);
      setTested((current) => ({ ...current, [key]: "sent: check that it arrived" }));
    } catch (caught) {
      setTested((current) => ({ ...current, [key]: `failed: ${caught instanceof Error ? caught.message : String(caught)}` }));
    }
  };
  const remove = async (destination: NotificationDestination) => {
    if (!window.confirm(`Delete the ${channelLabels[destination.channel] ?? destination.channel} destination ${destination.name}?`)) return;
    try {
      await api.deleteDestination(destination.channel, destination.name);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <section className="card" aria-labelledby="notifications-heading">
      <h2 id="notifications-heading">Notifications</h2>
      <p className="muted">
        Where failed backups, failed restore drills and missed schedules are reported. Every job notifies every enabled destination unless its
        editor picks some. Addresses and passwords are stored encrypted; a saved password or token is never shown again.
      </p>
      {error !== null && <ErrorBox error={error} />}
      {destinations === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <table className="table list" aria-label="Notification destinations">
          <thead>
            <tr>
              <th>Name</th>
              <th>Where</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {destinations.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  None yet: add an e-mail or ntfy destination below.
                </td>
              </tr>
            )}
            {destinations.map((destination) => {
              const key = `${destination.channel}/${destination.name}`;
              return (
                <tr key={key} data-destination={key}>
                  <td>
                    <strong>{destination.name}</strong> <span className="badge">{channelLabels[destination.channel] ?? destination.channel}</span>
                  </td>
                  <td className="muted destination-where">{describeConfig(destination)}</td>
                  <td>{destination.enabled ? "enabled" : "disabled"}</td>
                  <td>
                    <button className="ghost" onClick={() => void test(destination)}>
                      Test
                    </button>{" "}
                    {(destination.channel === "email" || destination.channel === "ntfy") && (
                      <button className="ghost" onClick={() => setEditing(destination)}>
                        Edit
                      </button>
                    )}{" "}
                    <button className="ghost danger" onClick={() => void remove(destination)}>
                      Delete
                    </button>
                    {tested[key] && (
                      <span className="muted test-result" role="status">
                        {" "}
                        {tested[key]}
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div className="settings-forms">
        <EmailForm onSaved={load} editing={editing?.channel === "email" ? editing : null} />
        <NtfyForm onSaved={load} editing={editing?.channel === "ntfy" ? editing : null} />
      </div>
      {settings && <TemplatesForm settings={settings} onSaved={load} />}
    </section>
  );
}

/** A destination's stored settings in a line (no secrets). */
export function describeConfig(destination: NotificationDestination): string {
  const config = destination.config ?? {};
  if (destination.channel === "email" && typeof config.host === "string")
    return `${config.host}:${String(config.port)} (${String(config.tls)}) → ${Array.isArray(config.to) ? config.to.join(", ") : ""}`;
  if (destination.channel === "ntfy" && typeof config.server === "string")
    return `${config.server}${typeof config.priority === "number" ? `, priority ${config.priority}` : ""}`;
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
  const portHint = tls === "implicit" ? "465 for TLS from the first byte" : tls === "starttls" ? "587 (submission) with STARTTLS" : "25, unencrypted: only inside a trusted network";
  return (
    <form
      className="subcard"
      aria-label="E-mail destination"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>E-mail (SMTP)</h3>
      <label>
        Name <input name="emailName" value={name} onChange={(event) => setName(event.target.value)} placeholder="admins" />
      </label>
      <label>
        SMTP server <input name="emailHost" value={host} onChange={(event) => setHost(event.target.value)} placeholder="smtp.example.com" />
      </label>
      <div className="row">
        <label>
          Encryption
          <select name="emailTls" value={tls} onChange={(event) => setTls(event.target.value as typeof tls)}>
            <option value="starttls">STARTTLS</option>
            <option value="implicit">TLS (implicit, SMTPS)</option>
            <option value="none">none</option>
          </select>
        </label>
        <label>
          Port <input name="emailPort" className="num-wide" type="number" min={1} max={65535} value={port} onChange={(event) => setPort(event.target.value)} />
        </label>
      </div>
      <p className="muted">Usually {portHint}.</p>
      <label>
        User (empty: no login) <input name="emailUser" value={username} autoComplete="off" onChange={(event) => setUsername(event.target.value)} />
      </label>
      <label>
        Password{" "}
        <input
          name="emailPassword"
          type="password"
          value={password}
          autoComplete="new-password"
          placeholder={hasPassword ? "saved (leave empty to keep it)" : ""}
          onChange={(event) => setPassword(event.target.value)}
        />
      </label>
      <label>
        From <input name="emailFrom" value={from} onChange={(event) => setFrom(event.target.value)} placeholder="bastion@example.com" />
      </label>
      <label>
        To (comma-separated) <input name="emailTo" value={to} onChange={(event) => setTo(event.target.value)} placeholder="ops@example.com, me@example.com" />
      </label>
      <button type="submit" disabled={!name.trim() || !host.trim() || !from.trim() || !to.trim()}>
        Save
      </button>
      {saved && <p className="muted">Saved {saved}. Use Test in the list above to send one.</p>}
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
      aria-label="ntfy destination"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>ntfy (push to a phone)</h3>
      <label>
        Name <input name="ntfyName" value={name} onChange={(event) => setName(event.target.value)} placeholder="phone" />
      </label>
      <label>
        Topic URL{" "}
        <input
          name="ntfyUrl"
          value={url}
          onChange={(event) => setUrl(event.target.value)}
          placeholder={server ? `saved on ${server}: type it again to save` : "https://ntfy.sh/my-backups-7f3a"}
        />
      </label>
      <p className="muted">Anyone who knows a topic on ntfy.sh can read it: pick a long, unguessable name, or use your own server and a token.</p>
      <label>
        Access token (optional){" "}
        <input
          name="ntfyToken"
          type="password"
          value={token}
          autoComplete="new-password"
          placeholder={hasToken ? "saved (leave empty to keep it)" : ""}
          onChange={(event) => setToken(event.target.value)}
        />
      </label>
      <div className="row">
        <label>
          Priority
          <select name="ntfyPriority" value={priority} onChange={(event) => setPriority(event.target.value)}>
            <option value="">default (3)</option>
            <option value="1">1 min</option>
            <option value="2">2 low</option>
            <option value="3">3 default</option>
            <option value="4">4 high</option>
            <option value="5">5 urgent</option>
          </select>
        </label>
        <label>
          Tags <input name="ntfyTags" value={tags} onChange={(event) => setTags(event.target.value)} placeholder="backup, warning" />
        </label>
      </div>
      <button type="submit" disabled={!name.trim() || !url.trim()}>
        Save
      </button>
      {saved && <p className="muted">Saved {saved}. Use Test in the list above to send one.</p>}
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
      aria-label="Message templates"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>Message templates</h3>
      <p className="muted template-vars" data-testid="template-variables">
        Placeholders, replaced in each message:{" "}
        {variables.map((variable) => (
          <code key={variable}>{variable.startsWith("{{") ? variable : `{{${variable}}}`}</code>
        ))}
        .
      </p>
      <label>
        E-mail subject <input name="emailSubject" value={emailSubject} placeholder="[Bastion] {{job_name}}: {{status}}" onChange={(event) => setEmailSubject(event.target.value)} />
      </label>
      <label>
        E-mail body <textarea name="emailBody" rows={4} value={emailBody} placeholder={"Job {{job_name}} ended {{status}}.\n{{error}}"} onChange={(event) => setEmailBody(event.target.value)} />
      </label>
      <label>
        ntfy title <input name="ntfyTitle" value={ntfyTitle} placeholder="{{job_name}}: {{status}}" onChange={(event) => setNtfyTitle(event.target.value)} />
      </label>
      <label>
        ntfy message <textarea name="ntfyBody" rows={3} value={ntfyBody} placeholder="{{error}}" onChange={(event) => setNtfyBody(event.target.value)} />
      </label>
      <button type="submit">Save templates</button>
      {saved && <p className="muted">Templates saved.</p>}
      {error !== null && <ErrorBox error={error} />}
    </form>
  );
}

/** The backup keys, each with a passphrase-protected copy on the targets so a new hub can restore without this one. */
export function KeysSection() {
  const [keys, setKeys] = useState<KeyInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setKeys(await api.keys());
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section className="card" aria-labelledby="keys-heading">
      <h2 id="keys-heading">Encryption keys and disaster recovery</h2>
      <p className="muted">
        An encrypted job's key lives in this hub's data directory: if this machine is lost, so are its backups, unless a copy of the key is kept
        elsewhere. Set a recovery passphrase for a key and the hub writes the key, locked with that passphrase (age's own format), next to the job's
        snapshots on every target. With the target and the passphrase alone, a new hub (<Link to="/recovery">Recovery</Link>) or plain{" "}
        <code>age -d</code> restores them. The passphrase is not stored anywhere: write it down and keep it away from this machine.
      </p>
      {error !== null && <ErrorBox error={error} />}
      {keys === null ? (
        <p className="muted">Loading…</p>
      ) : keys.length === 0 ? (
        <p className="muted">No keys yet: an encrypted job creates its key on its first backup.</p>
      ) : (
        <div className="settings-forms">
          {keys.map((key) => (
            <EscrowForm key={key.name} info={key} onSaved={load} />
          ))}
        </div>
      )}
    </section>
  );
}

function EscrowForm(props: { info: KeyInfo; onSaved: () => Promise<void> }) {
  const [passphrase, setPassphrase] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const escrow = props.info.escrow;
  const problem =
    passphrase.length === 0 ? null : passphrase.length < 12 ? "At least 12 characters." : repeat !== passphrase ? "The two passphrases differ." : null;
  const save = async () => {
    setBusy(true);
    try {
      await api.setEscrow(props.info.name, passphrase);
      setPassphrase("");
      setRepeat("");
      setError(null);
      await props.onSaved();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="subcard key-escrow"
      aria-label={`Key ${props.info.name}`}
      data-key={props.info.name}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>Key {props.info.name}</h3>
      <p className="muted mono" title="The public half: what snapshots are encrypted to">
        {props.info.recipient}
      </p>
      <p className="escrow-status" data-testid="escrow-status">
        {escrow ? (
          <>
            Recovery copy set <span title={formatTime(escrow.set_at)}>{formatRelative(escrow.set_at)}</span>, written to {escrow.targets_written} target
            {escrow.targets_written === 1 ? "" : "s"}.
          </>
        ) : (
          <strong className="warning-text">No recovery copy: losing this hub loses this key's backups.</strong>
        )}
      </p>
      <label>
        {escrow ? "New recovery passphrase" : "Recovery passphrase"}{" "}
        <input name={`escrow-${props.info.name}`} type="password" autoComplete="new-password" value={passphrase} onChange={(event) => setPassphrase(event.target.value)} />
      </label>
      <label>
        The same again <input name={`escrow-${props.info.name}-repeat`} type="password" autoComplete="new-password" value={repeat} onChange={(event) => setRepeat(event.target.value)} />
      </label>
      {problem && <p className="field-error">{problem}</p>}
      <button type="submit" disabled={busy || passphrase === "" || problem !== null}>
        {busy ? "Writing to the targets…" : escrow ? "Replace the recovery copy" : "Set the recovery passphrase"}
      </button>
      {error !== null && <ErrorBox error={error} />}
    </form>
  );
}
