import type { JobForm } from "../../lib/jobForm";

// The editor keeps every change as a draft in localStorage, one per job (and one for a new job), so a reload or a
// closed tab loses nothing; the draft remembers the job's `updated_at` to say when the job changed since.

export interface Draft {
  form: JobForm;
  /** The job's `updated_at` when the draft was taken (edits only). */
  updatedAt: number | null;
}

const draftKey = (jobId: string | null) => (jobId ? `bastion.jobs.draft.${jobId}` : "bastion.jobs.draft.new");

export function readDraft(jobId: string | null): Draft | null {
  try {
    const text = localStorage.getItem(draftKey(jobId));
    return text ? (JSON.parse(text) as Draft) : null;
  } catch {
    return null;
  }
}

export function writeDraft(jobId: string | null, draft: Draft): void {
  try {
    localStorage.setItem(draftKey(jobId), JSON.stringify(draft));
  } catch {
    // Storage may be full or refused: the form still works.
  }
}

export function removeDraft(jobId: string | null): void {
  try {
    localStorage.removeItem(draftKey(jobId));
  } catch {
    // As above: nothing to remove where nothing could be stored.
  }
}
