// The English catalogue: every string the UI shows a person, by key (docs/ui.md, "Languages"). `zh-CN.ts` must have
// exactly the same keys (the type checker refuses a missing or an extra one). `{name}` is replaced by `t`'s values.
// Keys are grouped by area; each area keeps its keys together between the markers below.

export const en = {
  // ── shell: navigation, language, theme, footer
  "app.name": "Bastion",
  "nav.overview": "Overview",
  "nav.jobs": "Jobs",
  "nav.runs": "Runs",
  "nav.agents": "Agents",
  "nav.settings": "Settings",
  "nav.main": "Main",
  "lang.label": "Language",
  "theme.toggle": "Toggle dark mode",
  "theme.current": "Theme: {theme}",
  "auth.signOut": "Sign out",
  "app.notFound": "Nothing here.",
  "app.notFoundLink": "Go to the overview.",
  "app.insecureHttp":
    "This Bastion accepts plain HTTP from other machines (--insecure-http): passwords and session cookies cross the network unencrypted. Put it behind HTTPS.",
  "footer.versions": "Bastion {version} · UI {ui}",
  "footer.hubZone": " · hub time zone {zone}",
  // ── end shell

  // ── common: buttons, states, units and formats used on many pages
  // ── end common

  // ── pages: overview, jobs, runs, run page, agents, login, setup, recovery
  // ── end pages

  // ── job editor and job page
  // ── end job editor and job page

  // ── browse, restore, compare
  // ── end browse, restore, compare

  // ── settings: targets, credentials, notifications, keys, system, runtime
  // ── end settings

  // ── names and accessibility
  // ── end names and accessibility

  // ── charts
  // ── end charts
} as const;

export type MessageKey = keyof typeof en;
