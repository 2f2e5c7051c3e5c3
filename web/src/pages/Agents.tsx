import { useCallback, useEffect, useState } from "react";
import { api, type AgentInfo } from "../api";
import { ErrorBox } from "../components";
import { formatRelative, formatTime } from "../lib/format";

// Other hosts that back up for this hub (docs/agents.md): who is online, and how to add one (a token and the exact
// command to run there) or revoke one.

/** The command that enrols an agent with `token`, as the other host runs it. */
export function enrollCommand(origin: string, token: string, name: string): string {
  const hub = origin.endsWith("/") ? origin : origin + "/";
  const named = name.trim() ? ` --name '${name.trim().replace(/'/g, "'\\''")}'` : "";
  return `BASTION_ENROLL_TOKEN=${token} bastion-agent --hub-url ${hub} --data-dir /var/lib/bastion-agent${named}`;
}

export function AgentsPage() {
  const [agents, setAgents] = useState<AgentInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [uses, setUses] = useState("1");
  const [token, setToken] = useState<{ token: string; expires_at: number } | null>(null);

  const load = useCallback(async () => {
    try {
      setAgents(await api.agents());
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  }, []);

  useEffect(() => {
    void load();
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
    if (!window.confirm(`Give ${agent.name} a new key? It stores the new key, then the old one stops working.`)) return;
    try {
      await api.rotateAgentKey(agent.id);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  const revoke = async (agent: AgentInfo) => {
    if (!window.confirm(`Revoke ${agent.name}? Its key stops working at once and its link is closed; it must be enrolled again.`)) return;
    try {
      await api.revokeAgent(agent.id);
      await load();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <section>
      <header className="page-header">
        <h1>Agents</h1>
      </header>
      <p className="muted">
        An agent backs up another host for this hub: jobs set to run on it back up that host, to a directory there. It
        connects out to this hub, so the hub never needs to reach it.
      </p>
      <ErrorBox error={error} />
      <div className="card add-agent">
        <h2>Add an agent</h2>
        <div className="row">
          <label className="field">
            Name
            <input name="agentName" value={name} placeholder="web-1" onChange={(event) => setName(event.target.value)} />
          </label>
          <label className="field">
            Hosts this token may enrol
            <input type="number" min={1} max={1000} value={uses} onChange={(event) => setUses(event.target.value)} />
          </label>
          <button className="primary" onClick={() => void createToken()}>
            Create enrolment token
          </button>
        </div>
        {token && (
          <div className="enroll" data-testid="enroll">
            <p>
              Run this on the other host (the token works until {formatTime(token.expires_at)}, and is shown only now):
            </p>
            <pre data-testid="enroll-command">{enrollCommand(location.origin, token.token, name)}</pre>
            <button onClick={() => void navigator.clipboard?.writeText(enrollCommand(location.origin, token.token, name))}>Copy</button>
          </div>
        )}
      </div>
      {agents && agents.length === 0 && <p className="muted">No agent yet.</p>}
      {agents && agents.length > 0 && (
        <table className="list agents">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Last seen</th>
              <th>Version</th>
              <th>Running</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {agents.map((agent) => (
              <tr key={agent.id} data-agent={agent.name}>
                <td data-label="Name">
                  <strong>{agent.name}</strong> <code className="muted">{agent.id.slice(0, 8)}</code>
                </td>
                <td data-label="State">
                  {agent.revoked_at ? (
                    <span className="badge status-failed">revoked</span>
                  ) : agent.connected ? (
                    <span className="badge status-success">online</span>
                  ) : (
                    <span className="badge">offline</span>
                  )}
                </td>
                <td data-label="Last seen">
                  {agent.last_seen_at ? <span title={formatTime(agent.last_seen_at)}>{formatRelative(agent.last_seen_at)}</span> : "never"}
                </td>
                <td data-label="Version">{agent.version ?? "–"}</td>
                <td data-label="Running">{agent.running_runs}</td>
                <td className="actions">
                  {!agent.revoked_at && (
                    <>
                      <button onClick={() => void rotate(agent)} disabled={!agent.connected} title={agent.connected ? undefined : "only while it is online"}>
                        Rotate key
                      </button>{" "}
                      <button className="danger" onClick={() => void revoke(agent)}>
                        Revoke
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
