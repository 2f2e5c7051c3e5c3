import assert from "node:assert/strict";
import { test } from "node:test";
import { asText, fileUrl, imageType, previewPlan, readStart } from "../src/lib/snapshotFile";
import { ApiError } from "../src/api";

test("a file's address: the text path, or its exact bytes, and the location", () => {
  assert.equal(fileUrl("r 1", { path: "docs/a b.md" }), "/api/runs/r%201/file?path=docs%2Fa+b.md");
  assert.equal(fileUrl("r", { path: "x\ufffd", path_b64: "eOk=" }, "copy:nas"), "/api/runs/r/file?path_b64=eOk%3D&location=copy%3Anas");
});

test("images are previewed by extension, raster types only, never SVG; small ones only", () => {
  assert.equal(imageType("photo.JPG"), "image/jpeg");
  assert.equal(imageType("a.png"), "image/png");
  assert.equal(imageType("logo.svg"), null);
  assert.equal(imageType("page.html"), null);
  assert.equal(imageType("png"), null);
  assert.equal(previewPlan({ name: "a.png", size: 1000, kind: "file" }), "image");
  assert.equal(previewPlan({ name: "a.png", size: 10 << 20, kind: "file" }), "none");
  assert.equal(previewPlan({ name: "a.svg", size: 100, kind: "file" }), "text");
  assert.equal(previewPlan({ name: "dir", size: 0, kind: "dir" }), "none");
});

test("text is UTF-8 without NUL; a character cut by the bound is not binary", () => {
  const utf8 = new TextEncoder().encode("héllo 世界");
  assert.equal(asText(utf8, false), "héllo 世界");
  assert.equal(asText(utf8.subarray(0, utf8.length - 1), true), "héllo 世");
  assert.equal(asText(utf8.subarray(0, utf8.length - 1), false), null);
  assert.equal(asText(new Uint8Array([0x61, 0, 0x62]), false), null);
  assert.equal(asText(new Uint8Array([0xe9, 0x61]), false), null);
  assert.equal(asText(new TextEncoder().encode("<script>alert(1)</script>"), false), "<script>alert(1)</script>");
});

test("a preview reads at most its bound and stops the download", async () => {
  let aborted = false;
  const fetcher = async (_url: string, init?: RequestInit) => {
    init?.signal?.addEventListener("abort", () => (aborted = true));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1000;
        controller.enqueue(new Uint8Array(1000).fill(0x61));
        if (sent >= 1_000_000) controller.close();
      },
    });
    return new Response(body, { status: 200 });
  };
  const { bytes, truncated } = await readStart("/x", 2500, fetcher);
  assert.equal(bytes.length, 2500);
  assert.equal(truncated, true);
  assert.equal(aborted, true);
  const refused = async () => new Response(JSON.stringify({ error: "not_a_file", message: "a dir", details: {} }), { status: 400 });
  await assert.rejects(readStart("/x", 10, refused), (error: unknown) => error instanceof ApiError && error.code === "not_a_file" && error.status === 400);
});
