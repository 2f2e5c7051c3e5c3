import { useState } from "react";
import { api, type KeyInfo } from "../../api";
import { ErrorBox } from "../../components";
import { ConfirmDialog } from "../../dialogs";
import { t } from "../../i18n";
import { formatRelative, formatTime } from "../../lib/format";
import { settingsApi } from "../../lib/settingsApi";
import { useLoad } from "../../lib/useLoad";

// Settings → Keys (docs/ui.md, "Settings pages"): the backup keys, a new one by name, and the export of a private key
// behind a confirmation that says what it reveals and how to decrypt a snapshot without Bastion. The recovery
// passphrase (escrow) forms follow on the same tab (keyEscrow.tsx).

// The same in every language: a shell command (docs/recovery.md).
const keyNameExample = "offsite-2027";
const decryptCommand = `cat payload.part* | age -d -i key.txt | zstd -d | tar -x`;


export function KeysPage(props: { onChanged: () => void }) {
  const { data: keys, error: loadError, reload: load } = useLoad(() => api.keys(), []);
  // An action's failure; the list's own error otherwise.
  const [actionError, setError] = useState<unknown>(null);
  const error = actionError ?? loadError;
  const [name, setName] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const [exporting, setExporting] = useState<KeyInfo | null>(null);
  const [exported, setExported] = useState<{ name: string; identity: string } | null>(null);

  const create = async () => {
    try {
      const key = await settingsApi.createKey(name.trim());
      setCreated(key.name);
      setName("");
      setError(null);
      await load();
      props.onChanged();
    } catch (caught) {
      setError(caught);
    }
  };
  const reveal = async (key: KeyInfo) => {
    setExporting(null);
    try {
      const result = await settingsApi.exportKey(key.name);
      setExported({ name: result.name, identity: result.identity });
    } catch (caught) {
      setError(caught);
    }
  };
  const download = (value: { name: string; identity: string }) => {
    const url = URL.createObjectURL(new Blob([value.identity + "\n"], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `${value.name}.key.txt`;
    link.click();
    URL.revokeObjectURL(url);
  };
  const validName = /^[A-Za-z0-9._-]{1,64}$/.test(name.trim()) && name.trim() !== "." && name.trim() !== "..";

  return (
    <section className="card" aria-labelledby="keys-list-heading">
      <h2 id="keys-list-heading">{t("settings.keyList.title")}</h2>
      <p className="muted">{t("settings.keys.help")}</p>
      {error !== null && <ErrorBox error={error} />}
      {keys === null ? (
        <p className="muted">{t("settings.notify.loading")}</p>
      ) : (
        <div className="table-scroll" tabIndex={0}>
          <table className="table" aria-label={t("settings.keyList.title")}>
            <thead>
              <tr>
                <th>{t("settings.keys.col.name")}</th>
                <th>{t("settings.keys.col.recipient")}</th>
                <th>{t("settings.keys.col.escrow")}</th>
                <th>{t("settings.notify.col.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {keys.length === 0 && (
                <tr>
                  <td colSpan={4} className="muted">
                    {t("settings.keyList.none")}
                  </td>
                </tr>
              )}
              {keys.map((key) => (
                <tr key={key.name} data-key-row={key.name}>
                  <td>
                    <strong className="name-cell">{key.name}</strong>
                  </td>
                  <td className="mono recipient" title={t("settings.keys.recipientHint")}>
                    {key.recipient}
                  </td>
                  <td>
                    {key.escrow ? (
                      <span title={formatTime(key.escrow.set_at)}>
                        ✓ {t("settings.keyList.escrowSet", { when: formatRelative(key.escrow.set_at), count: key.escrow.targets_written })}
                      </span>
                    ) : (
                      <span className="warning-text">⚠ {t("settings.keys.escrowNone")}</span>
                    )}
                  </td>
                  <td>
                    <button className="ghost" onClick={() => setExporting(key)}>
                      {t("settings.keys.export")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form
        className="subcard key-create"
        aria-label={t("settings.keys.createTitle")}
        onSubmit={(event) => {
          event.preventDefault();
          void create();
        }}
      >
        <h3>{t("settings.keys.createTitle")}</h3>
        <p className="muted">{t("settings.keys.createHelp")}</p>
        <label>
          {t("settings.keys.col.name")} <input name="keyName" value={name} onChange={(event) => setName(event.target.value)} placeholder={keyNameExample} />
        </label>
        {name.trim() !== "" && !validName && <p className="field-error">{t("settings.keys.nameRule")}</p>}
        <button type="submit" disabled={!validName}>
          {t("settings.keys.create")}
        </button>
        {created && <p className="muted" role="status">{t("settings.keys.created", { name: created })}</p>}
      </form>

      {exporting && (
        <ConfirmDialog
          title={t("settings.keys.exportTitle", { name: exporting.name })}
          confirm={t("settings.keys.exportConfirm")}
          danger
          onConfirm={() => void reveal(exporting)}
          onCancel={() => setExporting(null)}
        >
          <p>
            <strong>{t("settings.keys.exportWarning")}</strong>
          </p>
          <p>{t("settings.keys.exportHow")}</p>
          <pre className="preview">{decryptCommand}</pre>
          <p className="muted">{t("settings.keys.exportEscrow")}</p>
        </ConfirmDialog>
      )}
      {exported && (
        <div className="subcard key-exported" role="region" aria-label={t("settings.keys.exportedTitle", { name: exported.name })}>
          <h3>{t("settings.keys.exportedTitle", { name: exported.name })}</h3>
          <p className="warning-text">{t("settings.keys.exportedWarning")}</p>
          <pre className="preview identity" data-testid="exported-identity">
            {exported.identity}
          </pre>
          <p className="muted">{t("settings.keys.exportHow")}</p>
          <pre className="preview">{decryptCommand}</pre>
          <div className="row">
            <button type="button" onClick={() => download(exported)}>
              {t("settings.keys.download")}
            </button>
            <button type="button" className="ghost" onClick={() => void navigator.clipboard?.writeText(exported.identity)}>
              {t("settings.keys.copy")}
            </button>
            <button type="button" className="ghost" onClick={() => setExported(null)}>
              {t("settings.keys.hide")}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
