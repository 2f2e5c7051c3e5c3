import { ErrorBox, Link } from "../../components";
import { t, type MessageKey } from "../../i18n";
import { formatBytes, formatRelative, formatTime } from "../../lib/format";
import { settingsApi, type BusPeerContact } from "../../lib/settingsApi";
import { useLoad } from "../../lib/useLoad";

// Settings → System (docs/ui.md, "Settings pages"): versions, the hub's time zone, the database and its WAL, the
// connected workers and janitor, the agents with their last contact, links to the OpenAPI document and the metrics,
// and every setting the API and the janitor read at start with where its value came from.

declare const __BASTION_UI_VERSION__: string;

const sourceKeys: Record<string, MessageKey> = {
  flag: "settings.system.source.flag",
  env: "settings.system.source.env",
  default: "settings.system.source.default",
};

export function SystemPage() {
  const { data: info, error, reload: load } = useLoad(() => settingsApi.system(), []);

  if (info === null) {
    return (
      <section className="card">
        {error !== null ? <ErrorBox error={error} /> : <p className="muted">{t("settings.notify.loading")}</p>}
      </section>
    );
  }
  const peers = (list: BusPeerContact[] | undefined, role: string) =>
    (list ?? []).map((peer) => (
      <tr key={`${role}-${peer.id}`} data-peer={peer.id}>
        <td>{role}</td>
        <td className="mono">{peer.id}</td>
        <td>{peer.pid}</td>
        <td title={formatTime(peer.connected_at)}>{formatRelative(peer.connected_at)}</td>
        <td title={formatTime(peer.last_contact_at)}>{formatRelative(peer.last_contact_at)}</td>
      </tr>
    ));
  return (
    <>
      <section className="card" aria-labelledby="system-heading">
        <div className="row">
          <h2 id="system-heading">{t("settings.system.title")}</h2>
          <button className="ghost" onClick={() => void load()}>
            {t("settings.notify.refresh")}
          </button>
        </div>
        {error !== null && <ErrorBox error={error} />}
        <dl className="facts system-facts">
          <dt>{t("settings.system.version")}</dt>
          <dd data-testid="system-version">
            {t("settings.system.versions", { hub: info.version, ui: __BASTION_UI_VERSION__ })}
          </dd>
          <dt>{t("settings.system.timezone")}</dt>
          <dd data-testid="system-timezone">{info.hub_timezone}</dd>
          <dt>{t("settings.system.http")}</dt>
          <dd>{info.insecure_http ? t("settings.system.insecureHttp") : t("settings.system.secureHttp")}</dd>
          {info.database && (
            <>
              <dt>{t("settings.system.database")}</dt>
              <dd data-testid="system-database">
                <span className="mono">{info.database.path}</span>
                <br />
                {t("settings.system.databaseSizes", {
                  size: formatBytes(info.database.size_bytes),
                  wal: formatBytes(info.database.wal_bytes),
                  sqlite: info.database.sqlite_version,
                  mode: info.database.journal_mode,
                })}
              </dd>
            </>
          )}
          <dt>{t("settings.system.links")}</dt>
          <dd>
            <a href="/api/openapi.json">{t("settings.system.openapi")}</a> · <a href="/metrics">{t("settings.system.metrics")}</a>
          </dd>
        </dl>
      </section>

      <section className="card" aria-labelledby="system-processes-heading">
        <h2 id="system-processes-heading">{t("settings.system.processesTitle")}</h2>
        <p className="muted">{t("settings.system.processesHelp")}</p>
        <div className="table-scroll" tabIndex={0}>
          <table className="table" aria-label={t("settings.system.processesTitle")}>
            <thead>
              <tr>
                <th>{t("settings.system.col.role")}</th>
                <th>{t("settings.system.col.id")}</th>
                <th>{t("settings.system.col.pid")}</th>
                <th>{t("settings.system.col.connected")}</th>
                <th>{t("settings.system.col.lastContact")}</th>
              </tr>
            </thead>
            <tbody>
              {peers(info.bus?.workers, t("settings.system.role.worker"))}
              {peers(info.bus?.janitors, t("settings.system.role.janitor"))}
              {!info.bus?.workers.length && (
                <tr>
                  <td colSpan={5} className="warning-text">
                    ⚠ {t("settings.system.noWorker")}
                  </td>
                </tr>
              )}
              {!info.bus?.janitors.length && (
                <tr>
                  <td colSpan={5} className="warning-text">
                    ⚠ {t("settings.system.noJanitor")}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        <h3>{t("settings.system.agentsTitle")}</h3>
        {!info.agents?.length ? (
          <p className="muted">
            {t("settings.system.noAgents")} <Link to="/agents">{t("settings.system.agentsLink")}</Link>
          </p>
        ) : (
          <div className="table-scroll" tabIndex={0}>
            <table className="table" aria-label={t("settings.system.agentsTitle")}>
              <thead>
                <tr>
                  <th>{t("settings.system.col.name")}</th>
                  <th>{t("settings.system.col.state")}</th>
                  <th>{t("settings.system.col.lastContact")}</th>
                </tr>
              </thead>
              <tbody>
                {info.agents.map((agent) => (
                  <tr key={agent.id} data-agent={agent.name}>
                    <td className="name-cell">{agent.name}</td>
                    <td>{agent.connected ? `● ${t("settings.system.connected")}` : `○ ${t("settings.system.disconnected")}`}</td>
                    <td title={agent.last_seen_at ? formatTime(agent.last_seen_at) : undefined}>
                      {agent.last_seen_at ? formatRelative(agent.last_seen_at) : t("settings.system.never")}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="system-runtime-heading">
        <h2 id="system-runtime-heading">{t("settings.system.runtimeTitle")}</h2>
        <p className="muted">{t("settings.system.runtimeHelp")}</p>
        <div className="table-scroll" tabIndex={0}>
          <table className="table runtime" aria-label={t("settings.system.runtimeTitle")}>
            <thead>
              <tr>
                <th>{t("settings.system.col.process")}</th>
                <th>{t("settings.system.col.setting")}</th>
                <th>{t("settings.system.col.value")}</th>
                <th>{t("settings.system.col.source")}</th>
                <th>{t("settings.system.col.change")}</th>
              </tr>
            </thead>
            <tbody>
              {(info.runtime ?? []).map((setting) => (
                <tr key={`${setting.process}-${setting.name}`} data-setting={`${setting.process}.${setting.name}`} data-source={setting.source}>
                  <td>{processName(setting.process)}</td>
                  <td>
                    <code>{setting.option}</code>
                    <div className="muted mono">{setting.env}</div>
                  </td>
                  <td className="mono value-cell">{setting.value === "" ? <span className="muted">{t("settings.system.empty")}</span> : setting.value}</td>
                  <td>
                    <span className={`badge source-${setting.source}`}>{t(sourceKeys[setting.source])}</span>
                  </td>
                  <td>{setting.restart_required ? t("settings.system.restartRequired") : t("settings.system.live")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

/** A process as its binary is named (the same in every language). */
const processName = (process: string): string => `bastion-${process}`;
