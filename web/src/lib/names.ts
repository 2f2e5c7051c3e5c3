// Names as people can read them (docs/ui.md, "Names"). A file name is bytes: the API sends it as a string when it
// is valid UTF-8 and adds `<key>_b64` (the exact bytes) when it is not (docs/formats.md). Shown as is, a newline
// looks like a space and every invalid byte like "�", so two different names can look the same. Here each name
// becomes pieces of plain text and visible escapes: ⏎ for a newline, \t, \x1B for other control characters,
// \u202E for invisible format characters (bidi overrides, zero-width), and \xE9 for each byte that is not UTF-8.
// Pure, so it is tested without a DOM.

/** A piece of a readable name: text as it is, or an escape that stands for bytes that cannot be shown. */
export interface NamePiece {
  text: string;
  escape: boolean;
}

/** The bytes of a name: decoded from `b64` when the API sent it, else the UTF-8 of the text. */
export function nameBytes(name: string, b64?: string | null): Uint8Array {
  if (b64) {
    try {
      const binary = atob(b64);
      const bytes = new Uint8Array(binary.length);
      for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
      return bytes;
    } catch {
      // Not base64 (a hostile or broken answer): fall back to the text.
    }
  }
  return new TextEncoder().encode(name);
}

const hex = (value: number, width: number) => value.toString(16).toUpperCase().padStart(width, "0");

/** The escape for a code point that would be invisible or change the line, or null when it shows as itself. */
function escapeFor(point: number): string | null {
  if (point === 0x0a) return "⏎";
  if (point === 0x09) return "\\t";
  if (point === 0x0d) return "\\r";
  if (point < 0x20 || point === 0x7f) return `\\x${hex(point, 2)}`;
  if (point >= 0x80 && point <= 0x9f) return `\\u${hex(point, 4)}`;
  // Zero-width and direction marks, bidi embeddings/overrides/isolates, line/paragraph separators, the BOM.
  if ((point >= 0x200b && point <= 0x200f) || (point >= 0x2028 && point <= 0x202e) || (point >= 0x2066 && point <= 0x2069) || point === 0xfeff) {
    return `\\u${hex(point, 4)}`;
  }
  return null;
}

/** The length of a valid UTF-8 sequence at `bytes[at]` and its code point, or null when the byte starts none. */
function decodeAt(bytes: Uint8Array, at: number): { length: number; point: number } | null {
  const first = bytes[at];
  if (first < 0x80) return { length: 1, point: first };
  const length = first >= 0xc2 && first <= 0xdf ? 2 : first >= 0xe0 && first <= 0xef ? 3 : first >= 0xf0 && first <= 0xf4 ? 4 : 0;
  if (length === 0 || at + length > bytes.length) return null;
  let point = first & (0x7f >> length);
  for (let offset = 1; offset < length; offset += 1) {
    const next = bytes[at + offset];
    if ((next & 0xc0) !== 0x80) return null;
    point = (point << 6) | (next & 0x3f);
  }
  // Overlong forms, UTF-16 surrogates and points past U+10FFFF are not UTF-8.
  if ((length === 3 && point < 0x800) || (length === 4 && (point < 0x10000 || point > 0x10ffff)) || (point >= 0xd800 && point <= 0xdfff)) return null;
  return { length, point };
}

/** A name's readable pieces: runs of plain text, and one escape for each invisible character or invalid byte. */
export function namePieces(name: string, b64?: string | null): NamePiece[] {
  const bytes = nameBytes(name, b64);
  const pieces: NamePiece[] = [];
  let plain = "";
  const flush = () => {
    if (plain) pieces.push({ text: plain, escape: false });
    plain = "";
  };
  for (let at = 0; at < bytes.length; ) {
    const decoded = decodeAt(bytes, at);
    if (!decoded) {
      flush();
      pieces.push({ text: `\\x${hex(bytes[at], 2)}`, escape: true });
      at += 1;
      continue;
    }
    const escape = escapeFor(decoded.point);
    if (escape) {
      flush();
      pieces.push({ text: escape, escape: true });
    } else {
      plain += String.fromCodePoint(decoded.point);
    }
    at += decoded.length;
  }
  flush();
  return pieces;
}

/** A name as one line of text people can read (titles, aria labels, chips): the pieces joined. */
export function readableName(name: string, b64?: string | null): string {
  return namePieces(name, b64)
    .map((piece) => piece.text)
    .join("");
}

/** Whether the name needed an escape (the UI says so next to it, e.g. "not UTF-8" or "control characters"). */
export function nameHasEscapes(name: string, b64?: string | null): boolean {
  return namePieces(name, b64).some((piece) => piece.escape);
}

/** What "Copy name" puts on the clipboard: the API's form of the name, its text, or its base64 bytes when it has them. */
export function apiName(name: string, b64?: string | null): string {
  return b64 ? b64 : name;
}

/** The last component of a slash-separated path given as text and maybe as base64 bytes: `{name, name_b64}`. */
export function lastComponent(path: string, pathB64?: string | null): { name: string; name_b64?: string } {
  if (!pathB64) return { name: path.split("/").pop() ?? path };
  const bytes = nameBytes(path, pathB64);
  const slash = bytes.lastIndexOf(0x2f);
  const tail = bytes.subarray(slash + 1);
  let binary = "";
  for (const byte of tail) binary += String.fromCharCode(byte);
  return { name: path.split("/").pop() ?? path, name_b64: btoa(binary) };
}

/** The directory holding a path, in the browse link's form: text when its bytes are UTF-8, else also base64 bytes. */
export function parentOf(path: string, pathB64?: string | null): { path: string; path_b64?: string } {
  const textParent = path.split("/").slice(0, -1).join("/");
  if (!pathB64) return { path: textParent };
  const bytes = nameBytes(path, pathB64);
  const parent = bytes.subarray(0, Math.max(0, bytes.lastIndexOf(0x2f)));
  try {
    return { path: new TextDecoder("utf-8", { fatal: true }).decode(parent) };
  } catch {
    let binary = "";
    for (const byte of parent) binary += String.fromCharCode(byte);
    return { path: textParent, path_b64: btoa(binary) };
  }
}
