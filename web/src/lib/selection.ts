import type { Selection, SnapshotEntry } from "../api";

// What the snapshot browser has picked for a restore: entries from any directory, kept by their exact path, with
// click, ctrl-click and shift-click ranges over the list the user sees. Pure, so it is tested without a DOM.

export interface Picked {
  key: string;
  path: string;
  path_b64?: string;
  dir: boolean;
}

export interface PickState {
  picked: ReadonlyMap<string, Picked>;
  /** The index of the last plain or toggling click in the current list: where a shift-click range starts. */
  anchor: number | null;
}

export const emptyPick: PickState = { picked: new Map(), anchor: null };

/** An entry's identity: its exact bytes when the name is not UTF-8, else its path. */
export const entryKey = (entry: Pick<SnapshotEntry, "path" | "path_b64">) => (entry.path_b64 ? `b64:${entry.path_b64}` : entry.path);

const pickOf = (entry: SnapshotEntry): Picked => ({
  key: entryKey(entry),
  path: entry.path,
  path_b64: entry.path_b64,
  dir: entry.kind === "dir",
});

/**
 * A click on `entries[index]`: a plain click or a toggle (checkbox, ctrl/cmd) flips it and moves the anchor; a shift
 * click picks every entry between the anchor and it (inclusive), keeping what was picked elsewhere.
 */
export function click(state: PickState, entries: readonly SnapshotEntry[], index: number, shift: boolean): PickState {
  const picked = new Map(state.picked);
  if (shift && state.anchor !== null && state.anchor < entries.length) {
    const [from, to] = state.anchor <= index ? [state.anchor, index] : [index, state.anchor];
    for (const entry of entries.slice(from, to + 1)) picked.set(entryKey(entry), pickOf(entry));
    return { picked, anchor: state.anchor };
  }
  const entry = entries[index];
  const key = entryKey(entry);
  if (picked.has(key)) picked.delete(key);
  else picked.set(key, pickOf(entry));
  return { picked, anchor: index };
}

/** Picks or unpicks every entry of the list. */
export function pickAll(state: PickState, entries: readonly SnapshotEntry[], on: boolean): PickState {
  const picked = new Map(state.picked);
  for (const entry of entries) {
    if (on) picked.set(entryKey(entry), pickOf(entry));
    else picked.delete(entryKey(entry));
  }
  return { picked, anchor: null };
}

export function unpick(state: PickState, key: string): PickState {
  const picked = new Map(state.picked);
  picked.delete(key);
  return { picked, anchor: state.anchor };
}

/** The restore API's selection: directories (their whole subtree) and files, as text or as base64 bytes. */
export function toSelection(picked: Iterable<Picked>): Selection {
  const selection: Selection = { files: [], dirs: [], files_b64: [], dirs_b64: [] };
  for (const item of picked) {
    if (item.path_b64) (item.dir ? selection.dirs_b64 : selection.files_b64).push(item.path_b64);
    else (item.dir ? selection.dirs : selection.files).push(item.path);
  }
  return selection;
}

/**
 * Shift+arrow from `from` to `to` (the keyboard's shift-click): picks every entry between the anchor and `to`. With
 * no anchor yet, `from` becomes the anchor, so the first Shift+arrow picks the row left and the row reached.
 */
export function extend(state: PickState, entries: readonly SnapshotEntry[], from: number, to: number): PickState {
  if (to < 0 || to >= entries.length) return state;
  const anchored = state.anchor !== null && state.anchor < entries.length ? state : { ...state, anchor: from };
  return click(anchored, entries, to, true);
}

/** The row a key moves to from `index` in a list of `count` (arrows, Home, End), or null for other keys. */
export function moveTo(key: string, index: number, count: number): number | null {
  if (count === 0) return null;
  if (key === "ArrowDown") return Math.min(count - 1, index + 1);
  if (key === "ArrowUp") return Math.max(0, index - 1);
  if (key === "Home") return 0;
  if (key === "End") return count - 1;
  return null;
}
