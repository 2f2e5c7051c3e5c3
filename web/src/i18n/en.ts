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
  "charts.title": "Trends",
  "charts.empty": "No snapshots yet: the charts appear after the first backup.",
  "charts.none": "Nothing to show yet.",
  "charts.values": "Values",
  "charts.column.snapshot": "Snapshot",
  "charts.column.run": "Run",
  "charts.column.duration": "Duration",
  "charts.column.files": "Files changed",
  "charts.size.title": "Snapshot size",
  "charts.size.label": "stored and source size of the last {count} snapshots",
  "charts.size.stored": "Stored",
  "charts.size.source": "Source",
  "charts.duration.title": "Backup duration",
  "charts.duration.label": "duration of the last {count} successful backups",
  "charts.changes.title": "Files changed per run",
  "charts.changes.label": "files added, changed or removed in the last {count} snapshots",
  "charts.changes.note": "Added, changed and removed since the snapshot before; the first snapshot counts every file.",
  "charts.changes.counting": "Counting the changes…",
  "charts.changes.first": "{count} (first snapshot)",
  "charts.changes.unknown": "not counted",
  "charts.changes.pending": "counting…",
  // ── end charts
} as const;

export type MessageKey = keyof typeof en;
