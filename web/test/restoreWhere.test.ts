import assert from "node:assert/strict";
import { test } from "node:test";
import { commonLeadingPath, needsConfirmation, restoredAs, stripPrefixFields, stripPrefixProblem } from "../src/lib/restoreWhere";

const b64 = (...bytes: number[]) => btoa(String.fromCharCode(...bytes));
const pick = (path: string, path_b64?: string) => ({ path, path_b64 });

test("the common leading directories of a pick are above every picked path", () => {
  assert.deepEqual(commonLeadingPath([pick("home/ann/docs")]), { text: "home/ann" });
  assert.deepEqual(commonLeadingPath([pick("home/ann/docs"), pick("home/ann/notes.txt")]), { text: "home/ann" });
  assert.deepEqual(commonLeadingPath([pick("home/ann/docs/a"), pick("home/ann/docs/b/c")]), { text: "home/ann/docs" });
  // By whole components: home/an is no prefix of home/ann.
  assert.deepEqual(commonLeadingPath([pick("home/ann/x"), pick("home/anna/y")]), { text: "home" });
  assert.equal(commonLeadingPath([pick("etc"), pick("home/ann")]), null);
  assert.equal(commonLeadingPath([]), null);
  assert.deepEqual(commonLeadingPath([pick("./home//ann/docs/")]), { text: "home/ann" });
});

test("a leading directory that is not UTF-8 goes as base64 bytes", () => {
  // "d\xE9/f" and "d\xE9/g": the common directory is the one byte-exact name d\xE9.
  const found = commonLeadingPath([pick("d\uFFFD/f", b64(0x64, 0xe9, 0x2f, 0x66)), pick("d\uFFFD/g", b64(0x64, 0xe9, 0x2f, 0x67))]);
  assert.equal(found?.b64, b64(0x64, 0xe9));
  assert.deepEqual(stripPrefixFields(found!), { strip_prefix_b64: b64(0x64, 0xe9) });
  assert.deepEqual(stripPrefixFields({ text: " home/ann " }), { strip_prefix: "home/ann" });
});

test("a prefix is refused as the server refuses it", () => {
  const picked = [pick("home/ann/docs"), pick("home/ann/notes.txt")];
  assert.equal(stripPrefixProblem({ text: "home/ann" }, picked), null);
  assert.equal(stripPrefixProblem({ text: "home" }, picked), null);
  assert.equal(stripPrefixProblem({ text: "" }, picked), "restore.strip.problem.empty");
  assert.equal(stripPrefixProblem({ text: "/home/ann" }, picked), "restore.strip.problem.absolute");
  assert.equal(stripPrefixProblem({ text: "home/../etc" }, picked), "restore.strip.problem.dotdot");
  assert.equal(stripPrefixProblem({ text: "home/a\0" }, picked), "restore.strip.problem.nul");
  // A picked path itself leaves nothing to restore; a sibling directory leads none of them.
  assert.equal(stripPrefixProblem({ text: "home/ann/docs" }, picked), "restore.strip.problem.notLeading");
  assert.equal(stripPrefixProblem({ text: "home/an" }, picked), "restore.strip.problem.notLeading");
  assert.equal(stripPrefixProblem({ text: "home" }, []), "restore.strip.problem.noSelection");
});

test("the preview line: where a picked path lands", () => {
  assert.equal(restoredAs("home/ann/docs", "home/ann", "/srv/restore"), "/srv/restore/docs");
  assert.equal(restoredAs("home/ann/docs", "home/ann", "/srv/restore/"), "/srv/restore/docs");
  assert.equal(restoredAs("home/ann/docs", null, "/"), "/home/ann/docs");
  assert.equal(restoredAs("db.sqlite3", null, "/var/lib/app"), "/var/lib/app/db.sqlite3");
});

test("only overwriting at the original location asks first", () => {
  assert.equal(needsConfirmation(true, "overwrite"), true);
  assert.equal(needsConfirmation(true, "skip"), false);
  assert.equal(needsConfirmation(true, "fail"), false);
  assert.equal(needsConfirmation(false, "overwrite"), false);
});
