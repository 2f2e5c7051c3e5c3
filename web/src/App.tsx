import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, setCsrfToken, type SystemInfo } from "./api";
import { Link } from "./components";
import { FlashStatus } from "./components/FlashStatus";
import { languages, setLanguage, t, useLanguage, type Language } from "./i18n";
import { match, navigate, usePath } from "./lib/router";
import { BrowsePage } from "./pages/Browse";
import { JobPage } from "./pages/JobPage";
import { JobsPage } from "./pages/Jobs";
import { LoginPage } from "./pages/Login";
import { OverviewPage } from "./pages/Overview";
import { RestorePage } from "./pages/Restore";
import { RunPage } from "./pages/RunPage";
import { RunsPage } from "./pages/Runs";
import { SetupPage } from "./pages/Setup";

declare const __BASTION_UI_VERSION__: string;

// Pages an admin opens now and then are chunks of their own, loaded on first visit (docs/ui.md, "Size").
const SettingsPage = lazy(() => import("./pages/Settings").then((module) => ({ default: module.SettingsPage })));
const JobEditorPage = lazy(() => import("./pages/JobEditor").then((module) => ({ default: module.JobEditorPage })));
const RecoveryPage = lazy(() => import("./pages/Recovery").then((module) => ({ default: module.RecoveryPage })));
const AgentsPage = lazy(() => import("./pages/Agents").then((module) => ({ default: module.AgentsPage })));

type Auth = "unknown" | "setup" | "signed-out" | "signed-in";

const isAuthPath = (path: string) => path.startsWith("/login") || path.startsWith("/setup");
const loginPath = (returnTo: string) => `/login?next=${encodeURIComponent(returnTo)}`;

/** Where to go after signing in: `next` when it is a path of this site, else the overview. */
export function nextPath(path: string): string {
  const next = new URLSearchParams(path.split("?")[1] ?? "").get("next");
  return next && next.startsWith("/") && !next.startsWith("//") && !isAuthPath(next) ? next : "/";
}

function useTheme(): [string, () => void] {
  const [theme, setTheme] = useState<string>(() => document.documentElement.dataset.theme ?? "light");
  const toggle = () => {
    const next = theme === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem("bastion.theme", next);
    } catch {
      // Private windows may refuse storage: the toggle still works for this page.
    }
    setTheme(next);
  };
  return [theme, toggle];
}

/** The shell: who is signed in, where to go, and the page for the current path. */
export function App() {
  const path = usePath();
  const [auth, setAuth] = useState<Auth>("unknown");
  const [username, setUsername] = useState("");
  const [system, setSystem] = useState<SystemInfo | null>(null);
  const [theme, toggleTheme] = useTheme();
  const lang = useLanguage();

  const check = useCallback(async () => {
    try {
      const session = await api.session();
      setCsrfToken(session.csrf_token);
      setUsername(session.username);
      setAuth("signed-in");
    } catch {
      try {
        setAuth((await api.setupStatus()).needs_setup ? "setup" : "signed-out");
      } catch {
        setAuth("signed-out");
      }
    }
  }, []);

  useEffect(() => {
    void check();
    api.system().then(setSystem, () => {});
  }, [check]);

  useEffect(() => {
    // Any 401: back to sign-in, then back here.
    const onUnauthorized = () => {
      const here = location.pathname + location.search;
      if (!isAuthPath(here)) navigate(loginPath(here), true);
      setCsrfToken(null);
      setAuth("signed-out");
    };
    window.addEventListener("bastion:unauthorized", onUnauthorized);
    return () => window.removeEventListener("bastion:unauthorized", onUnauthorized);
  }, []);

  // The path follows the state: setup and sign-in have their own addresses, and `/login?next=…` remembers where the
  // user was; once signed in, back there.
  useEffect(() => {
    if (auth === "setup" && !path.startsWith("/setup")) navigate("/setup", true);
    else if (auth === "signed-out" && !path.startsWith("/login")) navigate(isAuthPath(path) || path === "/" ? "/login" : loginPath(path), true);
    else if (auth === "signed-in" && isAuthPath(path)) navigate(nextPath(path), true);
  }, [auth, path]);

  const signOut = async () => {
    try {
      await api.logout();
    } finally {
      // A deliberate sign-out starts the next session at the overview, not where this one ended.
      setCsrfToken(null);
      navigate("/login", true);
      setAuth("signed-out");
    }
  };

  let page = null;
  if (auth === "setup") page = <SetupPage onSignedIn={check} />;
  else if (auth === "signed-out") page = <LoginPage onSignedIn={check} />;
  else if (auth === "signed-in") {
    const search = path.split("?")[1] ?? "";
    const run = match("/runs/:id", path);
    const browse = match("/runs/:id/browse", path);
    const restore = match("/runs/:id/restore", path);
    const job = match("/jobs/:id", path);
    if (path.split("?")[0] === "/") page = <OverviewPage />;
    else if (run) page = <RunPage key={run.id} runId={run.id} />;
    else if (browse) page = <BrowsePage key={browse.id} runId={browse.id} search={search} />;
    else if (restore) page = <RestorePage key={restore.id} runId={restore.id} search={search} />;
    else if (match("/jobs/new", path)) page = <JobEditorPage key="new" jobId={null} hubTimezone={system?.hub_timezone ?? "UTC"} />;
    else if (match("/jobs/:id/edit", path)) {
      const id = match("/jobs/:id/edit", path)!.id;
      page = <JobEditorPage key={id} jobId={id} hubTimezone={system?.hub_timezone ?? "UTC"} />;
    } else if (job) page = <JobPage key={job.id} jobId={job.id} search={search} />;
    else if (match("/jobs", path)) page = <JobsPage />;
    else if (match("/runs", path)) page = <RunsPage />;
    else if (match("/agents", path)) page = <AgentsPage />;
    else if (match("/settings", path)) page = <SettingsPage />;
    else if (match("/recovery", path)) page = <RecoveryPage />;
    else
      page = (
        <p className="muted">
          {t("app.notFound")} <Link to="/">{t("app.notFoundLink")}</Link>
        </p>
      );
  }

  return (
    <div className="app">
      {system?.insecure_http && (
        <div className="banner" role="alert">
          {t("app.insecureHttp")}
        </div>
      )}
      <header className="topbar">
        <Link to="/" className="brand">
          {t("app.name")}
        </Link>
        {auth === "signed-in" && (
          <nav className="nav" aria-label={t("nav.main")}>
            <Link to="/" className={path.split("?")[0] === "/" ? "active" : undefined}>
              {t("nav.overview")}
            </Link>
            <Link to="/jobs" className={path.startsWith("/jobs") ? "active" : undefined}>
              {t("nav.jobs")}
            </Link>
            <Link to="/runs" className={path.startsWith("/runs") ? "active" : undefined}>
              {t("nav.runs")}
            </Link>
            <Link to="/agents" className={path.startsWith("/agents") ? "active" : undefined}>
              {t("nav.agents")}
            </Link>
            <Link to="/settings" className={path.startsWith("/settings") ? "active" : undefined}>
              {t("nav.settings")}
            </Link>
          </nav>
        )}
        <div className="topbar-end">
          <select
            className="lang-select"
            aria-label={t("lang.label")}
            value={lang}
            onChange={(event) => void setLanguage(event.target.value as Language)}
          >
            {languages.map((option) => (
              <option key={option.code} value={option.code} lang={option.code}>
                {option.name}
              </option>
            ))}
          </select>
          <button className="ghost" onClick={toggleTheme} aria-label={t("theme.toggle")} title={t("theme.current", { theme: t(theme === "dark" ? "common.theme.dark" : "common.theme.light") })}>
            ◐
          </button>
          {auth === "signed-in" && (
            <>
              <span className="muted user">{username}</span>
              <button className="ghost" onClick={signOut}>
                {t("auth.signOut")}
              </button>
            </>
          )}
        </div>
      </header>
      <main className="content">
        <FlashStatus />
        <Suspense fallback={<p className="muted">{t("common.loading")}</p>}>{page}</Suspense>
      </main>
      <footer className="footer muted">
        {t("footer.versions", { version: system?.version ?? "", ui: __BASTION_UI_VERSION__ })}
        {system ? t("footer.hubZone", { zone: system.hub_timezone }) : ""}
      </footer>
    </div>
  );
}
