import { api } from "../../api";
import { ErrorBox } from "../../components";
import { t, type MessageKey } from "../../i18n";
import type { JobForm } from "../../lib/jobForm";
import { useLoad } from "../../lib/useLoad";
import { Field, type Update } from "./fields";
import { RetentionFields } from "./RetentionFields";

/** Who hears of the job's runs (the hub's defaults or picked destinations), and which snapshots are kept. */
export function NotifyRetentionSection(props: { form: JobForm; update: Update; errorFor: (key: string) => string | undefined }) {
  const { form, update, errorFor } = props;
  return (
    <fieldset className="card">
      <legend>{t("job.editor.notifyRetention")}</legend>
      <Field label={t("settings.notify.title")} error={errorFor("notifications")}>
        <select value={form.notifications} onChange={(event) => update({ notifications: event.target.value as JobForm["notifications"] })}>
          <option value="inherit">{t("job.editor.notify.inherit")}</option>
          <option value="custom">{t("job.editor.notify.custom")}</option>
        </select>
      </Field>
      {form.notifications === "custom" && <DestinationPicker selected={form.notifyTo} onChange={(notifyTo) => update({ notifyTo })} />}
      <RetentionFields form={form} update={update} error={errorFor("retention")} />
    </fieldset>
  );
}

const channelKeys: Record<string, MessageKey> = {
  webhook: "settings.channel.webhook",
  wecom_bot: "settings.channel.wecomBot",
  email: "settings.channel.email",
  ping: "settings.channel.ping",
};
/** A notification channel's name in words (ntfy and unknown channels as they are). */
const channelWord = (channel: string) => (channelKeys[channel] ? t(channelKeys[channel]) : channel);

/** Custom notifications: one checkbox per destination the hub has, plus any the job names that no longer exist. */
function DestinationPicker(props: { selected: string[]; onChange: (selected: string[]) => void }) {
  const { data: destinations, error } = useLoad(() => api.destinations(), []);
  if (error) return <ErrorBox error={error} />;
  if (!destinations) return <p className="muted">{t("job.editor.notify.loading")}</p>;
  const known = destinations.map((destination) => ({ ...destination, key: `${destination.channel}/${destination.name}`, missing: false }));
  const missing = props.selected
    .filter((key) => !known.some((destination) => destination.key === key))
    .map((key) => ({ key, channel: key.split("/")[0], name: key.slice(key.indexOf("/") + 1), enabled: false, missing: true }));
  const all = [...known, ...missing];
  const toggle = (key: string, on: boolean) =>
    props.onChange(on ? [...props.selected.filter((item) => item !== key), key] : props.selected.filter((item) => item !== key));
  return (
    <div className="destinations" role="group" aria-label={t("job.editor.notify.group")}>
      {all.length === 0 && <p className="muted">{t("job.editor.notify.none")}</p>}
      {all.map((destination) => (
        <label className="inline" key={destination.key}>
          <input type="checkbox" checked={props.selected.includes(destination.key)} onChange={(event) => toggle(destination.key, event.target.checked)} />{" "}
          {destination.name} <span className="badge">{channelWord(destination.channel)}</span>
          {destination.missing ? <span className="muted"> {t("job.editor.notify.gone")}</span> : !destination.enabled && <span className="muted"> {t("job.editor.notify.disabled")}</span>}
        </label>
      ))}
      {all.length > 0 && props.selected.length === 0 && <p className="muted">{t("job.editor.notify.nothingPicked")}</p>}
    </div>
  );
}
