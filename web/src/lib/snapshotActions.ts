import { api, locationBase, type SnapshotLocation } from "../api";
import type { Picked } from "./selection";
import { t } from "../i18n";
import { navigate } from "./router";
import type { ConfirmOptions } from "../dialogs";

// What several pages do with a snapshot: hand a pick to the restore wizard, and start a verify.

const pickKey = (runId: string) => `bastion.restore.${runId}`;

/** The browser's pick, for the restore wizard (empty: everything). Kept for the tab's life only. */
export function savePicks(runId: string, picked: Picked[]): void {
  try {
    sessionStorage.setItem(pickKey(runId), JSON.stringify(picked));
  } catch {
    // Storage refused: the wizard then offers everything.
  }
}

export function loadPicks(runId: string): Picked[] {
  try {
    const parsed: unknown = JSON.parse(sessionStorage.getItem(pickKey(runId)) ?? "[]");
    return Array.isArray(parsed) ? (parsed as Picked[]).filter((item) => typeof item?.path === "string" && typeof item?.key === "string") : [];
  } catch {
    return [];
  }
}

/** What Verify does, in the current language (a function: the language can change while the page is open). */
export const verifyExplanation = (): string => t("browse.verify.explanation");

/**
 * Asks (through the page's `useConfirm()`, the UI's own dialog), queues a verify of the snapshot (read at `location`,
 * described to the user as `where`), and opens its run page.
 */
export async function startVerify(
  confirm: (options: ConfirmOptions) => Promise<boolean>,
  runId: string,
  onError: (error: unknown) => void,
  location?: string,
  where?: string,
): Promise<void> {
  const at = where ?? location;
  const explanation = verifyExplanation();
  const question = at ? t("browse.verify.confirmAt", { explanation, where: at }) : t("browse.verify.confirm", { explanation });
  if (!(await confirm({ title: t("common.verify"), body: question, confirm: t("common.verify") }))) return;
  try {
    const queued = await api.verify(runId, location);
    navigate(`/runs/${encodeURIComponent(queued.run_id)}`);
  } catch (caught) {
    onError(caught);
  }
}

/** How a confirm names a location: "the copy at https://nas/dav" (undefined: not found). */
export function describeLocation(locations: SnapshotLocation[], id: string | null | undefined, jobId: string, runId: string): string | undefined {
  const found = locations.find((location) => location.id === id);
  if (!found) return undefined;
  const base = locationBase(found, jobId, runId);
  return found.id === "primary" ? t("browse.location.primary", { base }) : t("browse.location.copy", { base });
}
