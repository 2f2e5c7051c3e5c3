import { useEffect, useState } from "react";
import { api, type AgentInfo } from "../api";
import { ErrorBox } from "../components";
import { useConfirm } from "../dialogs";
import { t } from "../i18n";
import { formatRelative, formatTime } from "../lib/format";
import { useLoad } from "../lib/useLoad";

// Other hosts that back up for this hub (docs/agents.md): who is online, and how to add one (a token and the exact
// command to run there) or revoke one.

/** The command that enrols an agent with `token`, as the other host runs it. */
export function enrollCommand(origin: string, token: string, name: string): string {
  const hub = origin.endsWith("/") ? origin : origin + "/";
  const named = name.trim() ? ` --name '${name.trim().replace(/'/g, "'\\''")}'` : "";
  return `BASTION_ENROLL_TOKEN=${token} bastion-agent --hub-url ${hub} --data-dir /var/lib/bastion-agent${named}`;
}

export function AgentsPage() {
  const { data: agents, error: loadError, reload: load } = useLoad(() => api.agents(), []);
  // An action's failure; the list's own error otherwise.
  const [actionError, setError] = useState<unknown>(null);
  const error = actionError ?? loadError;
  const [name, setName] = useState("");
  const [uses, setUses] = useState("1");
  const [token, setToken] = useState<{ token: string; expires_at: number } | null>(null);
  const [confirm, confirmDialog] = useConfirm();

  // Who is online changes on its own: the list is read again every 5 s.
  useEffect(() => {
    const timer = setInterval(() => void load(), 5000);
    return () => clearInterval(timer);
  }, [load]);

  const createToken = async () => {
    try {
      setToken(await api.enrollmentToken(Math.max(1, Number(uses) || 1), 3600));
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  };

  const rotate = async (agent: AgentInfo) => {
    if (!(await confirm({ title: t("agents.rotateConfirm", { name: agent.name }), confirm: t("agents.rotate") }))) return;
    try {
      await api.rotateAgentKey(agent.id);
      setError(null);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  const revoke = async (agent: AgentInfo) => {
    if (!(await confirm({ title: t("agents.revokeConfirm", { name: agent.name }), confirm: t("agents.revoke"), danger: true }))) return;
    try {
      await api.revokeAgent(agent.id);
      setError(null);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <section>
      {confirmDialog}
      <header className="page-header">
        <h1>{t("nav.agents")}</h1>
      </header>
      <p className="muted">
        {t("agents.intro")}
      </p>
      <ErrorBox error={error} />
      <div className="card add-agent">
        <h2>{t("agents.add")}</h2>
        <div className="row">
          <label className="field">
            {t("common.a.name")}
            <input name="agentName" value={name} placeholder={t("agents.example.name")} onChange={(event) => setName(event.target.value)} />
          </label>
          <label className="field">
            {t("agents.tokenUses")}
            <input type="number" min={1} max={1000} value={uses} onChange={(event) => setUses(event.target.value)} />
          </label>
          <button className="primary" onClick={() => void createToken()}>
            {t("agents.createToken")}
          </button>
        </div>
        {token && (
          <div className="enroll" data-testid="enroll">
            <p>
              {t("agents.runThis", { until: formatTime(token.expires_at) })}
            </p>
            <pre data-testid="enroll-command">{enrollCommand(location.origin, token.token, name)}</pre>
            <button onClick={() => void navigator.clipboard?.writeText(enrollCommand(location.origin, token.token, name))}>{t("common.a.copy")}</button>
          </div>
        )}
      </div>
      {agents && agents.length === 0 && <p className="muted">{t("agents.none")}</p>}
      {agents && agents.length > 0 && (
        <table className="list agents">
          <thead>
            <tr>
              <th>{t("common.a.name")}</th>
              <th>{t("common.a.state")}</th>
              <th>{t("agents.lastSeen")}</th>
              <th>{t("common.a.version")}</th>
              <th>{t("agents.running")}</th>
              <th aria-label={t("common.a.actions")} />
            </tr>
          </thead>
          <tbody>
            {agents.map((agent) => (
              <tr key={agent.id} data-agent={agent.name}>
                <td data-label={t("common.a.name")}>
                  <strong>{agent.name}</strong> <code className="muted">{agent.id.slice(0, 8)}</code>
                </td>
                <td data-label={t("common.a.state")}>
                  {agent.revoked_at ? (
                    <span className="badge status-failed">{t("agents.state.revoked")}</span>
                  ) : agent.connected ? (
                    <span className="badge status-success">{t("agents.state.online")}</span>
                  ) : (
                    <span className="badge">{t("agents.state.offline")}</span>
                  )}
                </td>
                <td data-label={t("agents.lastSeen")}>
                  {agent.last_seen_at ? <span title={formatTime(agent.last_seen_at)}>{formatRelative(agent.last_seen_at)}</span> : t("common.a.never")}
                </td>
                <td data-label={t("common.a.version")}>{agent.version ?? "–"}</td>
                <td data-label={t("agents.running")}>{agent.running_runs}</td>
                <td className="actions">
                  {!agent.revoked_at && (
                    <>
                      <button onClick={() => void rotate(agent)} disabled={!agent.connected} title={agent.connected ? undefined : t("agents.rotateOnlyOnline")}>
                        {t("agents.rotate")}
                      </button>{" "}
                      <button className="danger" onClick={() => void revoke(agent)}>
                        {t("agents.revoke")}
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
