import { useMemo, type ReactNode } from "react";
import type { SecretKind, TargetSecretInfo } from "../../api";
import { t, type MessageKey } from "../../i18n";
import type { JobForm, WeekDay } from "../../lib/jobForm";

// The pieces every section of the job editor shares (docs/ui.md, "The job editor"): the labelled field, the form's
// update function, the credentials by kind, day names and the time zones offered.

/** Merges a change into the editor's form (and keeps the draft). */
export type Update = (change: Partial<JobForm>) => void;

/** The hub's stored credentials, by kind (a kind the hub does not know is left out). */
export type Secrets = Partial<Record<SecretKind, TargetSecretInfo[]>>;

/** A form control with its label, an optional hint under it, and the server's error for it. */
export function Field(props: { label: string; error?: string; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className={`field${props.error ? " has-error" : ""}`}>
      <label>
        {props.label}
        {props.children}
      </label>
      {props.hint && <p className="hint muted">{props.hint}</p>}
      {props.error && (
        <p className="field-error" role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}

/** A section's error that belongs to no one field (a list's server error). */
export function SectionError(props: { error?: string }) {
  if (!props.error) return null;
  return (
    <p className="field-error" role="alert">
      {props.error}
    </p>
  );
}

const dayKeys: Record<WeekDay, MessageKey> = {
  mon: "job.editor.day.mon",
  tue: "job.editor.day.tue",
  wed: "job.editor.day.wed",
  thu: "job.editor.day.thu",
  fri: "job.editor.day.fri",
  sat: "job.editor.day.sat",
  sun: "job.editor.day.sun",
};
/** A weekday's short name (`Mon`, `周一`). */
export const dayLabel = (day: WeekDay) => t(dayKeys[day]);

/** The IANA zones this browser knows (the `zones` datalist), or just UTC. */
export function useZones(): string[] {
  return useMemo(() => {
    try {
      return (Intl as unknown as { supportedValuesOf(kind: string): string[] }).supportedValuesOf("timeZone");
    } catch {
      return ["UTC"];
    }
  }, []);
}
