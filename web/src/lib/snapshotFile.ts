import { ApiError, type Fetch } from "../api";

// One file of a snapshot: its download address, and a bounded preview (docs/ui.md, "Snapshot browser: files,
// versions, search"). The server always answers `application/octet-stream`; what the browser shows is decided here,
// never by the bytes' own claims: text as text (React escapes it, no HTML), an image only of a raster type this list
// names and only through a blob with that type. Everything else is download-only.

/** At most this many bytes are read for a preview. */
export const previewBytes = 256 * 1024;

/** The image types a preview shows, by extension. SVG is not among them: it is a document that may hold scripts. */
const imageTypes: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  bmp: "image/bmp",
  ico: "image/x-icon",
};

/** Where `GET /api/runs/{id}/file` reads the entry (its exact bytes when its path is not UTF-8). */
export function fileUrl(runId: string, entry: { path: string; path_b64?: string }, location?: string | null): string {
  const query = new URLSearchParams();
  if (entry.path_b64) query.set("path_b64", entry.path_b64);
  else query.set("path", entry.path);
  if (location) query.set("location", location);
  return `/api/runs/${encodeURIComponent(runId)}/file?${query}`;
}

/** The image type of a name the preview may show (null: not an image it shows). */
export function imageType(name: string): string | null {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? null : (imageTypes[name.slice(dot + 1).toLowerCase()] ?? null);
}

/** What a preview of a file would show: an image (whole, so only one within `previewBytes`), text (its first
 * `previewBytes`), or nothing but the download. Text is decided from the bytes (`asText`) once read. */
export function previewPlan(entry: { name: string; size: number; kind: string }): "image" | "text" | "none" {
  if (entry.kind !== "file") return "none";
  if (imageType(entry.name)) return entry.size <= previewBytes ? "image" : "none";
  return "text";
}

/** The bytes as text when they look like text: no NUL and valid UTF-8 (a character cut at the preview's end is
 * allowed); null otherwise. */
export function asText(bytes: Uint8Array, truncated: boolean): string | null {
  if (bytes.includes(0)) return null;
  // A multi-byte character cut by the bound: drop its first bytes (at most 3) rather than call the file binary.
  let end = bytes.length;
  if (truncated) {
    let back = 0;
    while (back < 3 && end - back - 1 >= 0 && (bytes[end - back - 1] & 0xc0) === 0x80) back++;
    if (end - back - 1 >= 0 && bytes[end - back - 1] >= 0xc0) end = end - back - 1;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
  } catch {
    return null;
  }
}

/** Reads at most `limit` bytes of the file and stops the download there (`truncated`: more came than `limit`; a file
 * of exactly `limit` bytes or more may also be cut, which its size tells). Errors are the API's (`ApiError`). */
export async function readStart(url: string, limit = previewBytes, fetcher: Fetch = fetch): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const abort = new AbortController();
  const response = await fetcher(url, { credentials: "same-origin", signal: abort.signal });
  if (!response.ok) {
    const text = await response.text();
    let code = `http_${response.status}`;
    let message = text.slice(0, 200) || response.statusText;
    try {
      const parsed = JSON.parse(text) as { error?: string; message?: string };
      code = parsed.error ?? code;
      message = parsed.message ?? message;
    } catch {
      // Not the API's error shape: its start is the message.
    }
    throw new ApiError(response.status, code, message, response.headers.get("x-request-id") ?? undefined);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  const reader = response.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    if (total >= limit) {
      // The bound reached: the rest of the file is not fetched (the server stops reading when the client goes).
      truncated = total > limit;
      abort.abort();
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(total, limit));
  let at = 0;
  for (const chunk of chunks) {
    const take = Math.min(chunk.length, bytes.length - at);
    bytes.set(chunk.subarray(0, take), at);
    at += take;
    if (at >= bytes.length) break;
  }
  return { bytes, truncated };
}
