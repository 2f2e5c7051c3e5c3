import { useEffect, useState } from "react";
import { usePath } from "./router";

// A confirmation that outlives the page that made it (docs/ui.md, "The job editor"): the editor saves, says so here
// and moves to the list; the shell's one status region (`FlashStatus`) shows it on that path and forgets it when the
// user goes elsewhere.

export interface Flash {
  text: string;
  /** The path (without its query) the note belongs to. */
  path: string;
}

let current: Flash | null = null;
const listeners = new Set<(flash: Flash | null) => void>();

/** Shows `text` on `path` (the page about to be opened). */
export function flash(text: string, path: string): void {
  current = { text, path: path.split("?")[0] };
  for (const listener of listeners) listener(current);
}

export function clearFlash(): void {
  current = null;
  for (const listener of listeners) listener(null);
}

/** The note for the current path; a note for another path is dropped once the user is somewhere else. */
export function useFlash(): Flash | null {
  const path = usePath().split("?")[0];
  const [note, setNote] = useState<Flash | null>(current);
  useEffect(() => {
    listeners.add(setNote);
    setNote(current);
    return () => {
      listeners.delete(setNote);
    };
  }, []);
  useEffect(() => {
    // A navigation that is not to the note's page ends it (flash() runs before its navigate, so the order holds).
    if (current && current.path !== path) clearFlash();
  }, [path]);
  return note && note.path === path ? note : null;
}
