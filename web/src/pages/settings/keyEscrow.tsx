import { useState } from "react";
import { api, type KeyInfo } from "../../api";
import { ErrorBox, Link } from "../../components";
import { t } from "../../i18n";
import { formatRelative, formatTime } from "../../lib/format";
import { useLoad } from "../../lib/useLoad";

// The Encryption keys tab's second half: each key's passphrase-protected copy on the targets (escrow), so a new hub
// restores without this one (docs/recovery.md).

/** The backup keys, each with a passphrase-protected copy on the targets so a new hub can restore without this one. */
export function KeysSection() {
  const { data: keys, error, reload: load } = useLoad(() => api.keys(), []);
  return (
    <section className="card" aria-labelledby="keys-heading">
      <h2 id="keys-heading">{t("settings.keys.title")}</h2>
      <p className="muted">
        {t("settings.keys.introBefore")}
        <Link to="/recovery">{t("settings.keys.recoveryLink")}</Link>
        {t("settings.keys.introMiddle")}
        <code>{t("settings.keys.ageCommand")}</code>
        {t("settings.keys.introAfter")}
      </p>
      <ErrorBox error={error} />
      {keys === null ? (
        <p className="muted">{t("common.a.loading")}</p>
      ) : keys.length === 0 ? (
        <p className="muted">{t("settings.keys.none")}</p>
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
    passphrase.length === 0 ? null : passphrase.length < 12 ? t("settings.keys.tooShort") : repeat !== passphrase ? t("settings.keys.differ") : null;
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
      aria-label={t("settings.keys.key", { name: props.info.name })}
      data-key={props.info.name}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{t("settings.keys.key", { name: props.info.name })}</h3>
      <p className="muted mono" title={t("settings.keys.recipient")}>
        {props.info.recipient}
      </p>
      <p className="escrow-status" data-testid="escrow-status">
        {escrow ? (
          <>
            {t("settings.keys.escrowSet")}
            <span title={formatTime(escrow.set_at)}>{formatRelative(escrow.set_at)}</span>
            {t(escrow.targets_written === 1 ? "settings.keys.escrowWritten.one" : "settings.keys.escrowWritten.other", { count: escrow.targets_written })}
          </>
        ) : (
          <strong className="warning-text">{t("settings.keys.noEscrow")}</strong>
        )}
      </p>
      <label>
        {escrow ? t("settings.keys.newPassphrase") : t("settings.keys.passphrase")}{" "}
        <input name={`escrow-${props.info.name}`} type="password" autoComplete="new-password" value={passphrase} onChange={(event) => setPassphrase(event.target.value)} />
      </label>
      <label>
        {t("settings.keys.repeat")} <input name={`escrow-${props.info.name}-repeat`} type="password" autoComplete="new-password" value={repeat} onChange={(event) => setRepeat(event.target.value)} />
      </label>
      {problem && <p className="field-error">{problem}</p>}
      <button type="submit" disabled={busy || passphrase === "" || problem !== null}>
        {busy ? t("settings.keys.writing") : escrow ? t("settings.keys.replace") : t("settings.keys.set")}
      </button>
      {error !== null && <ErrorBox error={error} />}
    </form>
  );
}
