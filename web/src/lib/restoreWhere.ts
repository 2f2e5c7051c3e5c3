import { request, type BodyOf, type ConflictPolicy, type ResponseOf, type Selection } from "../api";
import type { MessageKey } from "../i18n";
import type { Picked } from "./selection";

// Where a restore writes besides a chosen directory (docs/ui.md, "The restore wizard"): back to the original location,
// or into a directory without the selection's leading path; and what the selection holds before it starts. Pure but
// for the one call, so the rules are tested without a browser (web/test/restoreWhere.test.ts).

export type RestorePreview = ResponseOf<"POST /api/runs/{id}/restore/preview">;
export type RestorePreviewBody = BodyOf<"POST /api/runs/{id}/restore/preview">;

export const restorePreview = (runId: string, body: RestorePreviewBody) =>
  request<RestorePreview>("POST", `/api/runs/${encodeURIComponent(runId)}/restore/preview`, body);

/** A prefix to take off, as the API takes it: text, or base64 bytes when it is not UTF-8. */
export interface StripPrefix {
  text: string;
  b64?: string;
}

const slash = 0x2f;

function bytesOf(item: Pick<Picked, "path" | "path_b64">): Uint8Array {
  if (item.path_b64) return Uint8Array.from(atob(item.path_b64), (char) => char.charCodeAt(0));
  return new TextEncoder().encode(item.path);
}

/** A path's components (bytes), without empty and `.` ones, as the server reads them. */
function components(bytes: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let at = 0; at <= bytes.length; at++) {
    if (at === bytes.length || bytes[at] === slash) {
      const part = bytes.subarray(start, at);
      if (part.length > 0 && !(part.length === 1 && part[0] === 0x2e)) parts.push(part);
      start = at + 1;
    }
  }
  return parts;
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, at) => byte === b[at]);

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function prefixOf(parts: Uint8Array[]): StripPrefix | null {
  if (parts.length === 0) return null;
  const joined: number[] = [];
  parts.forEach((part, index) => {
    if (index > 0) joined.push(slash);
    joined.push(...part);
  });
  const bytes = Uint8Array.from(joined);
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return { text: new TextDecoder().decode(bytes), b64: toBase64(bytes) };
  }
}

/**
 * The directories every picked path starts with, above each of them: `home/ann/docs` and `home/ann/notes.txt` give
 * `home/ann`, so the restore writes `docs/` and `notes.txt` into the directory. Null when there is none (a pick at the
 * top, or nothing picked).
 */
export function commonLeadingPath(picked: readonly Pick<Picked, "path" | "path_b64">[]): StripPrefix | null {
  if (picked.length === 0) return null;
  let common: Uint8Array[] | null = null;
  for (const item of picked) {
    const parents = components(bytesOf(item)).slice(0, -1);
    if (common === null) {
      common = parents;
      continue;
    }
    let length = 0;
    while (length < common.length && length < parents.length && same(common[length], parents[length])) length++;
    common = common.slice(0, length);
  }
  return prefixOf(common ?? []);
}

/** Why `prefix` cannot be taken off the pick (the server checks the same and says so with a 400), or null. */
export function stripPrefixProblem(prefix: StripPrefix, picked: readonly Pick<Picked, "path" | "path_b64">[]): MessageKey | null {
  const text = prefix.text;
  if (!prefix.b64 && text.trim() === "") return "restore.strip.problem.empty";
  if (text.startsWith("/")) return "restore.strip.problem.absolute";
  if (text.includes("\0")) return "restore.strip.problem.nul";
  const wanted = components(prefix.b64 ? bytesOf({ path: text, path_b64: prefix.b64 }) : new TextEncoder().encode(text));
  if (wanted.some((part) => part.length === 2 && part[0] === 0x2e && part[1] === 0x2e)) return "restore.strip.problem.dotdot";
  if (wanted.length === 0) return "restore.strip.problem.empty";
  if (picked.length === 0) return "restore.strip.problem.noSelection";
  for (const item of picked) {
    const parts = components(bytesOf(item));
    if (parts.length <= wanted.length || !wanted.every((part, at) => same(part, parts[at]))) return "restore.strip.problem.notLeading";
  }
  return null;
}

/** Where a picked path lands: `directory` + the path without the prefix (text, for the preview line). */
export function restoredAs(path: string, prefix: string | null, directory: string): string {
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  const cut = prefix ? prefix.split("/").filter((part) => part !== "" && part !== ".").length : 0;
  const base = directory.replace(/\/+$/, "");
  return `${base}/${parts.slice(cut).join("/")}`;
}

/** The request fields of a prefix: `strip_prefix` or `strip_prefix_b64`. */
export const stripPrefixFields = (prefix: StripPrefix) => (prefix.b64 ? { strip_prefix_b64: prefix.b64 } : { strip_prefix: prefix.text.trim() });

/** What each conflict policy does at the original location, in words (the wizard shows the chosen one's). */
export const originalPolicyWords: Record<ConflictPolicy, MessageKey> = {
  overwrite: "restore.original.policy.overwrite",
  skip: "restore.original.policy.skip",
  fail: "restore.original.policy.fail",
};

/** Whether starting needs the confirmation dialog: files at their original place may be replaced. */
export const needsConfirmation = (original: boolean, policy: ConflictPolicy) => original && policy === "overwrite";

/** The selection as the preview takes it (null: everything). */
export const previewBody = (selection: Selection | undefined, location: string | null): RestorePreviewBody => ({
  ...(selection ? { selection } : {}),
  ...(location ? { location } : {}),
});
