import { useEffect, useState } from "react";
import { api, ApiError, type NotificationDestination, type NotificationSettingsInfo } from "../../api";
import { ErrorBox, Link } from "../../components";
import { t, type MessageKey } from "../../i18n";
import { formatRelative, formatTime } from "../../lib/format";
import {
  deliveryStatuses,
  notificationChannels,
  renderTemplate,
  settingsApi,
  type NotificationChannel,
  type NotificationSwitches,
  type QueuedNotification,
} from "../../lib/settingsApi";
import { describeConfig, EmailForm, NtfyForm, TemplatesForm } from "./notificationForms";
import { ConfirmDialog } from "../../dialogs";
import { useLoad } from "../../lib/useLoad";

// Settings → Notifications (docs/ui.md, "Settings pages"): the global and per-channel switches, every destination of
// every channel (enable, Test with its answer, edit, delete), the forms of each channel, the templates with a preview,
// and the delivery queue filtered by status and channel with Retry now and Cancel.

const channelKeys: Record<string, MessageKey> = {
  webhook: "settings.notify.channel.webhook",
  wecom_bot: "settings.notify.channel.wecom_bot",
  email: "settings.notify.channel.email",
  ntfy: "settings.notify.channel.ntfy",
  ping: "settings.notify.channel.ping",
};

export const channelName = (channel: string) => (channelKeys[channel] ? t(channelKeys[channel]) : channel);

const statusKeys: Record<string, MessageKey> = {
  queued: "settings.notify.status.queued",
  sending: "settings.notify.status.sending",
  sent: "settings.notify.status.sent",
  failed: "settings.notify.status.failed",
  canceled: "settings.notify.status.canceled",
};

type TestState = { state: "sending" } | { state: "ok" } | { state: "failed"; message: string };

export function NotificationsPage() {
  const loaded = useLoad(async () => {
    const [switches, destinations] = await Promise.all([settingsApi.switches(), api.destinations()]);
    return { switches, destinations };
  }, []);
  const load = loaded.reload;
  const switches = loaded.data?.switches ?? null;
  const destinations = loaded.data?.destinations ?? null;
  // What a switch or a destination shows before the hub answered (put back by the reload when it refuses).
  const setSwitches = (value: NotificationSwitches | null) => loaded.data && value && loaded.setData({ ...loaded.data, switches: value });
  const setDestinations = (value: NotificationDestination[] | null) => loaded.data && value && loaded.setData({ ...loaded.data, destinations: value });
  // An action's failure; the load's own error otherwise.
  const [actionError, setError] = useState<unknown>(null);
  const error = actionError ?? loaded.error;
  const [tested, setTested] = useState<Record<string, TestState>>({});
  const [editing, setEditing] = useState<NotificationDestination | null>(null);
  const [removing, setRemoving] = useState<NotificationDestination | null>(null);
  const [queueVersion, setQueueVersion] = useState(0);

  // Switches show their new state at once; a refusal puts the stored state back.
  const saveSwitches = async (body: { enabled?: boolean; channels?: Record<string, { enabled: boolean }> }) => {
    setSwitches(switches && { ...switches, enabled: body.enabled ?? switches.enabled, channels: { ...switches.channels, ...body.channels } });
    try {
      setSwitches(await settingsApi.saveSwitches(body));
      setError(null);
    } catch (caught) {
      setError(caught);
      await load();
    }
  };
  const setEnabled = async (destination: NotificationDestination, enabled: boolean) => {
    setDestinations(destinations && destinations.map((item) => (item === destination ? { ...item, enabled } : item)));
    try {
      await settingsApi.setDestinationEnabled(destination.channel, destination.name, enabled);
      setError(null);
      await load();
    } catch (caught) {
      setError(caught);
      await load();
    }
  };
  const test = async (destination: NotificationDestination) => {
    const key = `${destination.channel}/${destination.name}`;
    setTested((current) => ({ ...current, [key]: { state: "sending" } }));
    try {
      await api.testDestination(destination.channel, destination.name);
      setTested((current) => ({ ...current, [key]: { state: "ok" } }));
    } catch (caught) {
      const message = caught instanceof ApiError ? caught.message : String(caught);
      setTested((current) => ({ ...current, [key]: { state: "failed", message } }));
    }
    setQueueVersion((version) => version + 1);
  };
  const remove = async (destination: NotificationDestination) => {
    setRemoving(null);
    try {
      await api.deleteDestination(destination.channel, destination.name);
      setError(null);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  const globallyOn = switches?.enabled ?? true;
  return (
    <>
      <section className="card" aria-labelledby="notify-switches-heading">
        <h2 id="notify-switches-heading">{t("settings.notify.switchesTitle")}</h2>
        <p className="muted">{t("settings.notify.switchesHelp")}</p>
        {error !== null && <ErrorBox error={error} />}
        {switches === null ? (
          <p className="muted">{t("settings.notify.loading")}</p>
        ) : (
          <div className="switches">
            <label className="inline switch-global">
              <input type="checkbox" name="notifyEnabled" checked={switches.enabled} onChange={(event) => void saveSwitches({ enabled: event.target.checked })} />{" "}
              <strong>{t("settings.notify.globalSwitch")}</strong>
            </label>
            <fieldset className="channel-switches" disabled={!globallyOn}>
              <legend>{t("settings.notify.channelSwitches")}</legend>
              {notificationChannels.map((channel) => (
                <label className="inline" key={channel}>
                  <input
                    type="checkbox"
                    name={`channel-${channel}`}
                    checked={switches.channels[channel]?.enabled ?? true}
                    onChange={(event) => void saveSwitches({ channels: { [channel]: { enabled: event.target.checked } } })}
                  />{" "}
                  {channelName(channel)}
                </label>
              ))}
            </fieldset>
            {!globallyOn && <p className="warning-text">{t("settings.notify.allOff")}</p>}
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="notify-destinations-heading">
        <h2 id="notify-destinations-heading">{t("settings.notify.destinationsTitle")}</h2>
        <p className="muted">{t("settings.notify.destinationsHelp")}</p>
        {destinations === null ? (
          <p className="muted">{t("settings.notify.loading")}</p>
        ) : (
          <div className="table-scroll" tabIndex={0}>
            <table className="table list" aria-label={t("settings.notify.destinationsTitle")}>
              <thead>
                <tr>
                  <th>{t("settings.notify.col.name")}</th>
                  <th>{t("settings.notify.col.channel")}</th>
                  <th>{t("settings.notify.col.enabled")}</th>
                  <th>{t("settings.notify.col.actions")}</th>
                </tr>
              </thead>
              <tbody>
                {destinations.length === 0 && (
                  <tr>
                    <td colSpan={4} className="muted">
                      {t("settings.notify.noDestinations")}
                    </td>
                  </tr>
                )}
                {destinations.map((destination) => {
                  const key = `${destination.channel}/${destination.name}`;
                  const result = tested[key];
                  const channelOff = !globallyOn || switches?.channels[destination.channel]?.enabled === false;
                  return (
                    <tr key={key} data-destination={key}>
                      <td>
                        <strong className="name-cell">{destination.name}</strong>
                        <div className="muted destination-where">{describeConfig(destination)}</div>
                      </td>
                      <td>
                        <span className="badge">{channelName(destination.channel)}</span>
                      </td>
                      <td>
                        <label className="inline">
                          <input
                            type="checkbox"
                            checked={destination.enabled}
                            aria-label={t("settings.notify.enableDestination", { name: destination.name })}
                            onChange={(event) => void setEnabled(destination, event.target.checked)}
                          />{" "}
                          {destination.enabled ? t("settings.notify.on") : t("settings.notify.off")}
                        </label>
                        {destination.enabled && channelOff && <div className="muted">{t("settings.notify.channelOff")}</div>}
                      </td>
                      <td className="actions">
                        <button className="ghost" onClick={() => void test(destination)} disabled={result?.state === "sending"}>
                          {t("settings.notify.test")}
                        </button>{" "}
                        <button className="ghost" onClick={() => setEditing(destination)}>
                          {t("settings.notify.edit")}
                        </button>{" "}
                        <button className="ghost danger" onClick={() => setRemoving(destination)}>
                          {t("settings.notify.delete")}
                        </button>
                        {result && (
                          <div className={`test-result ${result.state}`} role="status" data-testid="test-result">
                            {result.state === "sending"
                              ? t("settings.notify.testSending")
                              : result.state === "ok"
                                ? t("settings.notify.testOk")
                                : t("settings.notify.testFailed", { message: result.message })}
                          </div>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <div className="settings-forms">
          <WebhookForm onSaved={load} editing={editing?.channel === "webhook" ? editing : null} />
          <WeComForm onSaved={load} editing={editing?.channel === "wecom_bot" ? editing : null} />
          <EmailForm onSaved={load} editing={editing?.channel === "email" ? editing : null} />
          <NtfyForm onSaved={load} editing={editing?.channel === "ntfy" ? editing : null} />
        </div>
      </section>

      {switches && (
        <section className="card" aria-labelledby="notify-templates-heading">
          <h2 id="notify-templates-heading">{t("settings.notify.templatesTitle")}</h2>
          <div className="settings-forms">
            <TemplatesForm settings={switches as unknown as NotificationSettingsInfo} onSaved={load} />
            <TemplatePreview switches={switches} onSaved={load} />
          </div>
        </section>
      )}

      <DeliveryQueue version={queueVersion} />

      {removing && (
        <ConfirmDialog
          title={t("settings.notify.deleteTitle")}
          confirm={t("settings.notify.delete")}
          danger
          onConfirm={() => void remove(removing)}
          onCancel={() => setRemoving(null)}
        >
          <p>{t("settings.dest.deleteConfirm", { channel: channelName(removing.channel), name: removing.name })}</p>
        </ConfirmDialog>
      )}
    </>
  );
}

/** A generic webhook: a JSON POST to the URL, signed with HMAC-SHA256 when a secret is set. */
function WebhookForm(props: { onSaved: () => Promise<void>; editing: NotificationDestination | null }) {
  return (
    <UrlDestinationForm
      channel="webhook"
      title={t("settings.notify.webhook.title")}
      help={t("settings.notify.webhook.help")}
      urlKey="url"
      urlLabel={t("settings.notify.webhook.url")}
      urlPlaceholder="https://hooks.example.com/bastion"
      withSecret
      {...props}
    />
  );
}

/** A WeCom (企业微信) group robot: its webhook URL carries the key. */
function WeComForm(props: { onSaved: () => Promise<void>; editing: NotificationDestination | null }) {
  return (
    <UrlDestinationForm
      channel="wecom_bot"
      title={t("settings.notify.wecom.title")}
      help={t("settings.notify.wecom.help")}
      urlKey="webhook_url"
      urlLabel={t("settings.notify.wecom.url")}
      urlPlaceholder="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
      {...props}
    />
  );
}

/** Webhook and WeCom destinations: the URL is a credential, never shown back, so editing means typing it again. */
function UrlDestinationForm(props: {
  channel: NotificationChannel;
  title: string;
  help: string;
  urlKey: string;
  urlLabel: string;
  urlPlaceholder: string;
  withSecret?: boolean;
  onSaved: () => Promise<void>;
  editing: NotificationDestination | null;
}) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    if (props.editing) {
      setName(props.editing.name);
      setUrl("");
      setSecret("");
    }
  }, [props.editing]);
  const save = async () => {
    try {
      const body: Record<string, unknown> = { [props.urlKey]: url.trim() };
      if (props.withSecret && secret) body.secret = secret;
      await settingsApi.saveDestination(props.channel, name.trim(), body);
      setSaved(name.trim());
      setUrl("");
      setSecret("");
      setError(null);
      await props.onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form
      className="subcard"
      aria-label={props.title}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{props.title}</h3>
      <p className="muted">{props.help}</p>
      <label>
        {t("settings.notify.form.name")}{" "}
        <input name={`${props.channel}Name`} value={name} onChange={(event) => setName(event.target.value)} placeholder={t("settings.notify.form.namePlaceholder")} />
      </label>
      <label>
        {props.urlLabel}{" "}
        <input
          name={`${props.channel}Url`}
          type="url"
          value={url}
          autoComplete="off"
          onChange={(event) => setUrl(event.target.value)}
          placeholder={props.editing ? t("settings.notify.form.urlAgain") : props.urlPlaceholder}
        />
      </label>
      {props.withSecret && (
        <label>
          {t("settings.notify.webhook.secret")}{" "}
          <input name={`${props.channel}Secret`} type="password" autoComplete="new-password" value={secret} onChange={(event) => setSecret(event.target.value)} />
        </label>
      )}
      <button type="submit" disabled={!name.trim() || !url.trim()}>
        {t("settings.notify.form.save")}
      </button>
      {saved && <p className="muted">{t("settings.notify.form.saved", { name: saved })}</p>}
      {error !== null && <ErrorBox error={error} />}
    </form>
  );
}

/** Each template rendered with a sample failed backup, and the WeCom markdown (which the e-mail/ntfy form leaves out). */
function TemplatePreview(props: { switches: NotificationSwitches; onSaved: () => Promise<void> }) {
  const templates = props.switches.templates;
  const [wecom, setWecom] = useState(templates.wecom_markdown ?? "");
  const [which, setWhich] = useState<"email" | "ntfy" | "wecom">("email");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const sample: Record<string, string> = {
    title: t("settings.notify.sample.title"),
    job_id: "3f2a9c1e-7b1d-4c55-9a0e-2d8f7c6b5a41",
    job_name: "nas-photos",
    run_id: "9c7e5a3b-1d2f-4e6a-8b0c-5f4e3d2c1b0a",
    status: "failed",
    status_text: t("settings.notify.sample.statusText"),
    started_at: "2026-12-07 02:00:00 UTC",
    ended_at: "2026-12-07 02:03:12 UTC",
    target_type: "webdav",
    target_location: "https://dav.example.com/backups",
    target: "webdav https://dav.example.com/backups",
    error: t("settings.notify.sample.error"),
    error_line: `${t("settings.notify.sample.errorLabel")}: ${t("settings.notify.sample.error")}`,
    target_line_wecom: "> Target: webdav https://dav.example.com/backups\n",
    error_line_wecom: `> ${t("settings.notify.sample.errorLabel")}: ${t("settings.notify.sample.error")}\n`,
  };
  const parts: [string, string][] =
    which === "email"
      ? [
          [t("settings.notify.preview.subject"), templates.email?.subject ?? ""],
          [t("settings.notify.preview.body"), templates.email?.body ?? ""],
        ]
      : which === "ntfy"
        ? [
            [t("settings.notify.preview.subject"), templates.ntfy?.title ?? ""],
            [t("settings.notify.preview.body"), templates.ntfy?.body ?? ""],
          ]
        : [[t("settings.notify.preview.body"), wecom]];
  const saveWecom = async () => {
    try {
      await settingsApi.saveSwitches({ templates: { wecom_markdown: wecom } });
      setSaved(true);
      setError(null);
      await props.onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <div className="subcard template-preview" role="group" aria-label={t("settings.notify.preview.title")}>
      <h3>{t("settings.notify.preview.title")}</h3>
      <p className="muted">{t("settings.notify.preview.help")}</p>
      <p className="template-vars" data-testid="preview-variables">
        {props.switches.template_variables.map((variable) => (
          <code key={variable} title={sample[variable] ?? ""}>{`{{${variable}}}`}</code>
        ))}
      </p>
      <label>
        {t("settings.notify.preview.which")}
        <select name="previewTemplate" value={which} onChange={(event) => setWhich(event.target.value as typeof which)}>
          <option value="email">{channelName("email")}</option>
          <option value="ntfy">{channelName("ntfy")}</option>
          <option value="wecom">{channelName("wecom_bot")}</option>
        </select>
      </label>
      {which === "wecom" && (
        <label>
          {t("settings.notify.preview.wecomTemplate")}
          <textarea name="wecomMarkdown" rows={6} value={wecom} onChange={(event) => setWecom(event.target.value)} />
        </label>
      )}
      {parts.map(([label, template]) => (
        <div key={label}>
          <div className="muted">{label}</div>
          <pre className="preview" data-testid="template-preview">
            {renderTemplate(template, sample)}
          </pre>
        </div>
      ))}
      {which === "wecom" && (
        <button type="button" onClick={() => void saveWecom()}>
          {t("settings.notify.preview.saveWecom")}
        </button>
      )}
      {saved && <p className="muted">{t("settings.notify.preview.saved")}</p>}
      {error !== null && <ErrorBox error={error} />}
    </div>
  );
}

/** The delivery queue, newest first, filtered by status and channel; Retry now and Cancel where the hub allows them. */
function DeliveryQueue(props: { version: number }) {
  const [status, setStatus] = useState("");
  const [channel, setChannel] = useState("");
  // The first page for the filters (read again when a test was sent: `version`); More appends to it.
  const loaded = useLoad(() => settingsApi.queue(status, channel), [status, channel, props.version]);
  const load = loaded.reload;
  const items = loaded.data?.items ?? null;
  const next = loaded.data?.next_cursor ?? null;
  const [actionError, setError] = useState<unknown>(null);
  const error = actionError ?? loaded.error;
  const [busy, setBusy] = useState<string | null>(null);

  const more = async () => {
    if (!next || !loaded.data) return;
    try {
      const page = await settingsApi.queue(status, channel, next);
      loaded.setData({ ...page, items: [...loaded.data.items, ...page.items] });
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  };
  const act = async (item: QueuedNotification, action: "retry" | "cancel") => {
    setBusy(item.id);
    try {
      if (action === "retry") await settingsApi.retryNow(item.id);
      else await settingsApi.cancel(item.id);
      setError(null);
      await load();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="card" aria-labelledby="notify-queue-heading">
      <h2 id="notify-queue-heading">{t("settings.notify.queueTitle")}</h2>
      <p className="muted">{t("settings.notify.queueHelp")}</p>
      <div className="row filters">
        <label>
          {t("settings.notify.filter.status")}{" "}
          <select name="queueStatus" value={status} onChange={(event) => setStatus(event.target.value)}>
            <option value="">{t("settings.notify.filter.any")}</option>
            {deliveryStatuses.map((value) => (
              <option key={value} value={value}>
                {t(statusKeys[value])}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("settings.notify.filter.channel")}{" "}
          <select name="queueChannel" value={channel} onChange={(event) => setChannel(event.target.value)}>
            <option value="">{t("settings.notify.filter.any")}</option>
            {[...notificationChannels, "ping"].map((value) => (
              <option key={value} value={value}>
                {channelName(value)}
              </option>
            ))}
          </select>
        </label>
        <button className="ghost" onClick={() => void load()}>
          {t("settings.notify.refresh")}
        </button>
      </div>
      {error !== null && <ErrorBox error={error} />}
      {items === null ? (
        <p className="muted">{t("settings.notify.loading")}</p>
      ) : items.length === 0 ? (
        <p className="muted">{t("settings.notify.queueEmpty")}</p>
      ) : (
        <div className="table-scroll" tabIndex={0}>
          <table className="table" aria-label={t("settings.notify.queueTitle")}>
            <thead>
              <tr>
                <th>{t("settings.notify.col.created")}</th>
                <th>{t("settings.notify.col.destination")}</th>
                <th>{t("settings.notify.col.run")}</th>
                <th>{t("settings.notify.col.status")}</th>
                <th>{t("settings.notify.col.attempts")}</th>
                <th>{t("settings.notify.col.lastError")}</th>
                <th>{t("settings.notify.col.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id} data-notification={item.id} data-status={item.status}>
                  <td title={formatTime(item.created_at)}>{formatRelative(item.created_at)}</td>
                  <td>
                    <span className="badge">{channelName(item.channel)}</span> <span className="name-cell">{item.destination}</span>
                  </td>
                  <td>
                    <Link to={`/runs/${item.run_id}`}>{item.run_id.slice(0, 8)}</Link>
                  </td>
                  <td>
                    <span className={`badge notify-${item.status}`}>{statusKeys[item.status] ? t(statusKeys[item.status]) : item.status}</span>
                    {item.status === "queued" && item.attempts > 0 && (
                      <div className="muted" title={formatTime(item.next_attempt_at)}>
                        {t("settings.notify.nextAttempt", { when: formatRelative(item.next_attempt_at) })}
                      </div>
                    )}
                  </td>
                  <td>{item.attempts}</td>
                  <td className="muted error-cell">{item.last_error ?? ""}</td>
                  <td className="actions">
                    {["queued", "failed", "canceled"].includes(item.status) && (
                      <button className="ghost" disabled={busy === item.id} onClick={() => void act(item, "retry")}>
                        {t("settings.notify.retryNow")}
                      </button>
                    )}{" "}
                    {item.status === "queued" && (
                      <button className="ghost danger" disabled={busy === item.id} onClick={() => void act(item, "cancel")}>
                        {t("settings.notify.cancel")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button className="ghost" onClick={() => void more()}>
          {t("settings.notify.more")}
        </button>
      )}
    </section>
  );
}
