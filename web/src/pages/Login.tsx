import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, setCsrfToken } from "../api";
import { ErrorBox } from "../components";
import { t } from "../i18n";

/** Sign in; a throttled address is told how long to wait. Afterwards back to where the user was. */
export function LoginPage(props: { onSignedIn: () => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (retryAt === null) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [retryAt]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const login = await api.login(username, password);
      setCsrfToken(login.csrf_token);
      props.onSignedIn();
    } catch (caught) {
      setError(caught);
      if (caught instanceof ApiError && caught.code === "rate_limited") {
        const seconds = Number((caught.details?.params as { retry_after_seconds?: number } | undefined)?.retry_after_seconds ?? 60);
        setRetryAt(Date.now() + seconds * 1000);
        setNow(Date.now());
      }
    } finally {
      setBusy(false);
    }
  };

  const wait = retryAt !== null ? Math.max(0, Math.ceil((retryAt - now) / 1000)) : 0;
  return (
    <div className="auth-page">
      <form className="card auth-card" onSubmit={submit}>
        <h1>{t("pages.login.title")}</h1>
        <label>
          {t("pages.login.username")}
          <input name="username" value={username} onChange={(event) => setUsername(event.target.value)} autoComplete="username" required />
        </label>
        <label>
          {t("pages.login.password")}
          <input name="password" type="password" value={password} onChange={(event) => setPassword(event.target.value)} autoComplete="current-password" required />
        </label>
        <ErrorBox error={error} />
        {wait > 0 && (
          <p className="warning" role="status">
            {t("pages.login.throttled", { seconds: wait })}
          </p>
        )}
        <button className="primary" type="submit" disabled={busy || wait > 0}>
          {t("pages.login.submit")}
        </button>
      </form>
    </div>
  );
}
