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
  "a11y.name.copy": "Copy name",
  "a11y.name.copyOf": "Copy the name {name}",
  "a11y.name.copyPath": "Copy path",
  "a11y.name.copied": "Copied.",
  "a11y.name.copyFailed": "The browser refused the clipboard; select the name and copy it.",
  "a11y.name.escapes": "Shown with escapes: ⏎ is a newline, \\t a tab, \\xE9 a byte that is not UTF-8. Copy gives the name as the API has it{b64}.",
  "a11y.name.escapesB64": " (base64 of its bytes)",
  "a11y.name.notUtf8Directory": "a directory whose name is not UTF-8",
  "a11y.name.path": "Path",
  "a11y.dialog.close": "Close",
  "a11y.browse.keys": "Keyboard: ↑ ↓ move, Space picks, Shift+↑ ↓ extends the pick, Enter opens.",
  "a11y.browse.selectRow": "Select {name}",
  "a11y.browse.unselect": "Unselect {name}",
  "a11y.browse.details": "Details",
  "a11y.versions.title": "Versions of {name}",
  "a11y.run.progress": "Progress",
  "a11y.run.connection.loading": "loading",
  "a11y.run.connection.connecting": "connecting",
  "a11y.run.connection.live": "live",
  "a11y.run.connection.reconnecting": "reconnecting",
  "a11y.run.connection.ended": "ended",
  "a11y.run.connection.stopped": "stopped",
  "a11y.restore.remove": "Remove {name} from the selection",
  "a11y.overview.strip": "Last {days} days: {success} runs succeeded, {failed} failed, {other} other",
  // ── end names and accessibility

  // ── charts
  // ── end charts
} as const;

export type MessageKey = keyof typeof en;
