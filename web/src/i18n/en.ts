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
  // formats (web/src/lib/format.ts, stages.ts)
  "format.duration.s": "{s}s",
  "format.duration.ms": "{m}m {s}s",
  "format.duration.hm": "{h}h {m}m",
  "format.duration.dh": "{d}d {h}h",
  "format.span.s": "{n}s",
  "format.span.m": "{n}m",
  "format.span.h": "{n}h",
  "format.span.d": "{n}d",
  "format.justNow": "just now",
  "format.in": "in {span}",
  "format.ago": "{span} ago",
  "format.stage.ms": "{ms} ms",
  "format.stage.seconds": "{s} s",
  "format.stage.underSecond": "< 1 s",
  // run statuses, kinds and stages, as the server names them
  "common.status.queued": "queued",
  "common.status.running": "running",
  "common.status.success": "success",
  "common.status.failed": "failed",
  "common.status.canceled": "canceled",
  "common.status.rejected": "rejected",
  "common.status.canceling": "canceling",
  "common.status.never": "never run",
  "common.kind.backup": "backup",
  "common.kind.restore": "restore",
  "common.kind.verify": "verify",
  "common.kind.copy": "copy",
  "common.stage.snapshot": "snapshot",
  "common.stage.scan": "scan",
  "common.stage.packaging": "packaging",
  "common.stage.upload": "upload",
  "common.stage.index": "index",
  "common.stage.verify": "verify",
  "common.stage.restore": "restore",
  "common.stage.copy": "copy",
  "common.stage.dump": "dump",
  // generic words
  "common.loading": "Loading…",
  "common.close": "Close",
  "common.cancel": "Cancel",
  "common.edit": "Edit",
  "common.runNow": "Run now",
  "common.newJob": "New job",
  "common.createFirstJob": "Create your first job",
  "common.previous": "Previous",
  "common.next": "Next",
  "common.pages": "Pages",
  "common.pageOf": "Page {page} of {pages}",
  "common.actions": "Actions",
  "common.name": "Name",
  "common.size": "Size",
  "common.modified": "Modified",
  "common.manual": "manual",
  "common.never": "never",
  "common.archived": "archived",
  "common.verify": "Verify",
  "common.restore": "Restore",
  "common.agentShort": "agent {id}",
  "common.choose": "choose…",
  "common.settings": "Settings",
  // shared pieces (components.tsx)
  "common.error.request": "request {id}",
  "common.runStarted.rejected": "rejected: a run is active",
  "common.runStarted.queued": "queued",
  "common.runStarted.open": "open run",
  "common.test.button": "Test connection",
  "common.test.busy": "Testing…",
  "common.test.steps": "Test connection steps",
  "common.test.step.connect": "connect",
  "common.test.step.create": "create",
  "common.test.step.write": "write",
  "common.test.step.read": "read",
  "common.test.step.delete": "delete",
  "common.location.legend": "Read from",
  "common.location.hint":
    "The snapshot is stored in more than one place; each holds the same files. The first healthy one is picked for you.",
  "common.location.primary": "Primary target",
  "common.location.copy": "Copy",
  "common.location.status.present": "present",
  "common.location.status.deleting": "deleting",
  "common.location.status.deleted": "deleted",
  "common.location.status.missing": "missing",
  "common.location.status.error": "error",
  "common.location.status.failed": "failed",
  "common.location.status.copying": "copying",
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
