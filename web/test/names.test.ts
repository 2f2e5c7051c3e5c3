import assert from "node:assert/strict";
import { test } from "node:test";
import type { SnapshotEntry } from "../src/api";
import { apiName, lastComponent, nameBytes, nameHasEscapes, namePieces, parentOf, readableName } from "../src/lib/names";
import { click, emptyPick, extend, moveTo } from "../src/lib/selection";

const b64 = (...bytes: number[]) => btoa(String.fromCharCode(...bytes));

test("plain names read as they are, in any script", () => {
  assert.equal(readableName("report.pdf"), "report.pdf");
  assert.equal(readableName("照片 2024.jpg"), "照片 2024.jpg");
  assert.equal(readableName("emoji 😀.txt"), "emoji 😀.txt");
  assert.equal(nameHasEscapes("照片.jpg"), false);
  assert.deepEqual(namePieces("a b"), [{ text: "a b", escape: false }]);
});

test("control characters are visible: a newline as ⏎, a tab as \\t, others as \\xNN", () => {
  assert.equal(readableName("line1\nline2"), "line1⏎line2");
  assert.deepEqual(namePieces("a\nb"), [
    { text: "a", escape: false },
    { text: "⏎", escape: true },
    { text: "b", escape: false },
  ]);
  assert.equal(readableName("tab\there"), "tab\\there");
  assert.equal(readableName("esc\x1b[31m"), "esc\\x1B[31m");
  assert.equal(readableName("del\x7f"), "del\\x7F");
  assert.equal(readableName("cr\r"), "cr\\r");
  // A newline and a space must not look alike.
  assert.notEqual(readableName("a\nb"), readableName("a b"));
});

test("invisible format characters (bidi override, zero-width) are escapes", () => {
  assert.equal(readableName("invoice\u202Efdp.exe"), "invoice\\u202Efdp.exe");
  assert.equal(readableName("a\u200Bb"), "a\\u200Bb");
  assert.equal(nameHasEscapes("x\u2066"), true);
});

test("bytes that are not UTF-8 are \\xNN escapes, so names differing in one byte read differently", () => {
  const ff = readableName("\uFFFD\uFFFD", b64(0xe9, 0xff));
  const fe = readableName("\uFFFD\uFFFD", b64(0xe9, 0xfe));
  assert.equal(ff, "\\xE9\\xFF");
  assert.equal(fe, "\\xE9\\xFE");
  assert.notEqual(ff, fe);
  assert.equal(readableName("latin1-\uFFFD.bin", b64(...new TextEncoder().encode("latin1-"), 0xe9, ...new TextEncoder().encode(".bin"))), "latin1-\\xE9.bin");
  // Valid UTF-8 inside a name that has invalid bytes stays readable.
  assert.equal(readableName("", b64(0xc3, 0xa9, 0xe9)), "é\\xE9");
  // Truncated, overlong and surrogate sequences are bytes, not characters.
  assert.equal(readableName("", b64(0xe2, 0x82)), "\\xE2\\x82");
  assert.equal(readableName("", b64(0xc0, 0xaf)), "\\xC0\\xAF");
  assert.equal(readableName("", b64(0xed, 0xa0, 0x80)), "\\xED\\xA0\\x80");
  assert.equal(readableName("", b64(0xf0, 0x9f, 0x98, 0x80)), "😀");
});

test("a broken base64 falls back to the text; the bytes come from base64 when given", () => {
  assert.equal(readableName("fallback", "%%%"), "fallback");
  assert.deepEqual([...nameBytes("x", b64(1, 2, 255))], [1, 2, 255]);
  assert.deepEqual([...nameBytes("é")], [0xc3, 0xa9]);
});

test("copy gives the API's form: the text, or the base64 bytes when the name is not UTF-8", () => {
  assert.equal(apiName("a\nb"), "a\nb");
  assert.equal(apiName("\uFFFD", b64(0xe9)), b64(0xe9));
});

test("the last component of a path keeps its exact bytes", () => {
  assert.deepEqual(lastComponent("a/b/c.txt"), { name: "c.txt" });
  const path = b64(...new TextEncoder().encode("dir/"), 0xe9, 0xff);
  assert.deepEqual(lastComponent("dir/\uFFFD\uFFFD", path), { name: "\uFFFD\uFFFD", name_b64: b64(0xe9, 0xff) });
  assert.equal(readableName(lastComponent("dir/\uFFFD\uFFFD", path).name, lastComponent("dir/\uFFFD\uFFFD", path).name_b64), "\\xE9\\xFF");
});

test("a 250-byte name reads whole (the table truncates it, the title and details show all of it)", () => {
  const long = "n".repeat(246) + ".txt";
  assert.equal(readableName(long), long);
});

test("the keyboard's pick: arrows move, Shift+arrows extend from the row left (or the anchor)", () => {
  const entry = (path: string): SnapshotEntry => ({
    name: path,
    path,
    kind: "file",
    size: 1,
    mtime: 0,
    mtime_nsec: 0,
    mode: 0o644,
    uid: 0,
    gid: 0,
    hash: null,
    link_target: null,
    implied: false,
  });
  const rows = ["a", "b", "c", "d"].map(entry);
  assert.equal(moveTo("ArrowDown", 0, 4), 1);
  assert.equal(moveTo("ArrowDown", 3, 4), 3);
  assert.equal(moveTo("ArrowUp", 0, 4), 0);
  assert.equal(moveTo("End", 0, 4), 3);
  assert.equal(moveTo("Home", 2, 4), 0);
  assert.equal(moveTo("x", 2, 4), null);
  // No anchor: Shift+↓ from row 1 picks rows 1 and 2, another picks row 3 too.
  let state = extend(emptyPick, rows, 1, 2);
  assert.deepEqual([...state.picked.keys()], ["b", "c"]);
  state = extend(state, rows, 2, 3);
  assert.deepEqual([...state.picked.keys()], ["b", "c", "d"]);
  // Space on row 0 (a toggle) moves the anchor; Shift+↓ then extends from there.
  state = click(emptyPick, rows, 0, false);
  state = extend(state, rows, 0, 1);
  assert.deepEqual([...state.picked.keys()], ["a", "b"]);
  assert.equal(extend(state, rows, 1, 9), state, "past the end: nothing changes");
});

test("a path's directory: text when its bytes are UTF-8, base64 bytes when they are not", () => {
  assert.deepEqual(parentOf("a/b/c.txt"), { path: "a/b" });
  assert.deepEqual(parentOf("top.txt"), { path: "" });
  const utf8Parent = b64(...new TextEncoder().encode("dir/"), 0xe9, 0xff);
  assert.deepEqual(parentOf("dir/\uFFFD\uFFFD", utf8Parent), { path: "dir" });
  const badParent = b64(0xe9, 0x2f, ...new TextEncoder().encode("x.txt"));
  assert.deepEqual(parentOf("\uFFFD/x.txt", badParent), { path: "\uFFFD", path_b64: b64(0xe9) });
});
