import { useState, type FormEvent } from "react";
import { api, setCsrfToken } from "../api";
import { ErrorBox } from "../components";
import { t } from "../i18n";

/** The first admin: username and a password of at least 12 bytes, typed twice. */
export function SetupPage(props: { onSignedIn: () => void }) {
  const [username, setUsername] = useState("admin");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== confirm) {
      setError(t("pages.setup.mismatch"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.initialize(username, password);
      const login = await api.login(username, password);
      setCsrfToken(login.csrf_token);
      props.onSignedIn();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-page">
      <form className="card auth-card" onSubmit={submit}>
        <h1>{t("pages.setup.title")}</h1>
        <p className="muted">{t("pages.setup.intro")}</p>
        <label>
          {t("pages.login.username")}
          <input name="username" value={username} onChange={(event) => setUsername(event.target.value)} autoComplete="username" required />
        </label>
        <label>
          {t("pages.setup.password")}
          <input name="password" type="password" value={password} onChange={(event) => setPassword(event.target.value)} autoComplete="new-password" required />
        </label>
        <label>
          {t("pages.setup.confirm")}
          <input name="confirm" type="password" value={confirm} onChange={(event) => setConfirm(event.target.value)} autoComplete="new-password" required />
        </label>
        <ErrorBox error={error} />
        <button className="primary" type="submit" disabled={busy}>
          {t("pages.setup.submit")}
        </button>
      </form>
    </div>
  );
}
