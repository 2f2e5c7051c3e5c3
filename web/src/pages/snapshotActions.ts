import { api, locationBase, type SnapshotLocation } from "../api";
import type { Picked } from "../lib/selection";
import { navigate } from "../lib/router";

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

export const verifyExplanation =
  "Verify reads every part of this snapshot and checks it against the BLAKE3 hash in its manifest, then decompresses " +
  "(and decrypts) the stream and checks every file's content against the hash recorded at backup time; an SQLite " +
  "snapshot also gets PRAGMA integrity_check. Nothing is restored over your files.";

/** Asks, queues a verify of the snapshot (read at `location`, described to the user as `where`), and opens its run page. */
export async function startVerify(runId: string, onError: (error: unknown) => void, location?: string, where?: string): Promise<void> {
  const at = where ?? location;
  if (!window.confirm(`${verifyExplanation}\n\nStart verifying this snapshot${at ? ` at ${at}` : ""}?`)) return;
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
  return `${found.id === "primary" ? "the primary target" : "the copy"} (${locationBase(found, jobId, runId)})`;
}
