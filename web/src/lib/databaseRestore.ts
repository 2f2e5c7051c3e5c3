import type { DatabaseDestination, SnapshotEntry } from "../api";
import { t } from "../i18n";

// Restoring a postgres or mariadb snapshot into a database server (docs/databases.md): which databases the snapshot
// holds, and the request the form becomes. Pure, so it is tested without a browser.

export type Engine = "postgres" | "mariadb";

export const isEngine = (type: unknown): type is Engine => type === "postgres" || type === "mariadb";

/** The archive members that are not one database's dump (SPEC #25: `postgres/globals.sql`, `mariadb/users.sql`). */
const globalsMember: Record<Engine, string> = { postgres: "globals.sql", mariadb: "users.sql" };
const dumpSuffix: Record<Engine, string> = { postgres: ".dump", mariadb: ".sql" };

type Loose = Record<string, unknown>;
const object = (value: unknown): Loose => (value && typeof value === "object" && !Array.isArray(value) ? (value as Loose) : {});

/**
 * The dumped databases' names: from the run summary's `database.dumps[].database` when it has them, else from the
 * snapshot's members in `<engine>/` (`app.dump`, `app.sql`). Sorted, each once.
 */
export function dumpedDatabases(engine: Engine, summary: unknown, entries: readonly SnapshotEntry[]): string[] {
  const dumps = object(object(summary).database).dumps;
  const names = new Set<string>();
  if (Array.isArray(dumps)) {
    for (const dump of dumps) {
      const name = object(dump).database;
      if (typeof name === "string" && name) names.add(name);
    }
  }
  if (names.size === 0) {
    for (const entry of entries) {
      if (entry.kind !== "file" || entry.name === globalsMember[engine] || !entry.name.endsWith(dumpSuffix[engine])) continue;
      const name = entry.name.slice(0, -dumpSuffix[engine].length);
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

/** Whether the snapshot holds the roles/users dump. */
export const hasGlobals = (engine: Engine, entries: readonly SnapshotEntry[]) => entries.some((entry) => entry.name === globalsMember[engine]);

export interface DatabaseRestoreForm {
  host: string;
  port: string;
  user: string;
  secretName: string;
  /** One row per dumped database: restore it or not, and under which name. */
  rows: { from: string; restore: boolean; to: string }[];
  globals: boolean;
  dropExisting: boolean;
}

/** The form for a snapshot's databases, on the job's own server to start with (`source`: the job spec's source). */
export function emptyDatabaseRestore(names: string[], source: unknown = null): DatabaseRestoreForm {
  const server = object(source);
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  return {
    host: text(server.host),
    port: typeof server.port === "number" ? String(server.port) : "",
    user: text(server.user),
    secretName: text(server.secret_name),
    rows: names.map((name) => ({ from: name, restore: true, to: `${name}_restored` })),
    globals: false,
    dropExisting: false,
  };
}

/** The request's `destination`; empty optional fields left out (the server's defaults apply). */
export function databaseDestination(form: DatabaseRestoreForm): DatabaseDestination {
  const destination: DatabaseDestination = { type: "database", databases: {}, globals: form.globals, drop_existing: form.dropExisting };
  if (form.host.trim()) destination.host = form.host.trim();
  if (form.port.trim()) destination.port = /^\d+$/.test(form.port.trim()) ? Number(form.port.trim()) : (form.port.trim() as unknown as number);
  if (form.user.trim()) destination.user = form.user.trim();
  if (form.secretName) destination.secret_name = form.secretName;
  for (const row of form.rows) if (row.restore && row.from) destination.databases[row.from] = row.to.trim();
  return destination;
}

/** Why the form cannot be sent yet, or null. */
export function databaseRestoreProblem(form: DatabaseRestoreForm): string | null {
  const picked = form.rows.filter((row) => row.restore);
  if (picked.length === 0) return t("restore.db.problem.none");
  if (picked.some((row) => row.to.trim() === "")) return t("restore.db.problem.noName");
  const targets = picked.map((row) => row.to.trim());
  if (new Set(targets).size !== targets.length) return t("restore.db.problem.duplicate");
  return null;
}
