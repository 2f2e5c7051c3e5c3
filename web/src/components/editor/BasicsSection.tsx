import { api } from "../../api";
import { t } from "../../i18n";
import type { JobForm } from "../../lib/jobForm";
import { useLoad } from "../../lib/useLoad";
import { Field, type Update } from "./fields";

/** Name, type, where it runs and what a second trigger does while a run is on. */
export function BasicsSection(props: { form: JobForm; update: Update; errorFor: (key: string) => string | undefined }) {
  const { form, update } = props;
  return (
    <fieldset className="card">
      <legend>{t("job.editor.basics")}</legend>
      <Field label={t("common.a.name")} error={props.errorFor("name")}>
        <input name="name" value={form.name} onChange={(event) => update({ name: event.target.value })} required />
      </Field>
      <Field label={t("job.editor.type")}>
        <select name="type" value={form.type} onChange={(event) => update({ type: event.target.value as JobForm["type"] })}>
          <option value="filesystem">{t("job.editor.type.filesystem")}</option>
          <option value="sqlite">{t("job.editor.type.sqlite")}</option>
          <option value="postgres">{t("job.editor.type.postgres")}</option>
          <option value="mariadb">{t("job.editor.type.mariadb")}</option>
          <option value="vaultwarden">{t("job.editor.type.vaultwarden")}</option>
        </select>
      </Field>
      <AgentField value={form.agentId} onChange={(agentId) => update({ agentId })} />
      <Field label={t("job.editor.overlap")} hint={form.overlap === "queue" ? t("job.editor.overlap.queueHint") : t("job.editor.overlap.rejectHint")}>
        <select name="overlap" value={form.overlap} onChange={(event) => update({ overlap: event.target.value as JobForm["overlap"] })}>
          <option value="queue">{t("job.editor.overlap.queue")}</option>
          <option value="reject">{t("job.editor.overlap.reject")}</option>
        </select>
      </Field>
    </fieldset>
  );
}

/** Where the job runs: this hub's workers, or one of the enrolled agents (docs/agents.md). */
function AgentField(props: { value: string; onChange: (agentId: string) => void }) {
  // Without the list (an error) the hub's workers are still offered, and the job's own agent below.
  const agents = useLoad(() => api.agents(), []).data ?? [];
  const usable = agents.filter((agent) => !agent.revoked_at || agent.id === props.value);
  return (
    <Field label={t("job.editor.runsOn")} hint={props.value ? t("job.editor.runsOnHint") : undefined}>
      <select name="agent" value={props.value} onChange={(event) => props.onChange(event.target.value)}>
        <option value="">{t("job.editor.thisHub")}</option>
        {usable.map((agent) => (
          <option key={agent.id} value={agent.id}>
            {t(agent.connected ? "job.editor.agentOption" : "job.editor.agentOptionOffline", { name: agent.name })}
          </option>
        ))}
      </select>
    </Field>
  );
}
