import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobListItem } from "../src/api";
import {
  allMatching,
  BulkError,
  bulkJobs,
  bulkMaxIds,
  type BulkAnswer,
  chunks,
  defaultFilters,
  filtersFromSearch,
  filtersToSearch,
  isFiltered,
  listQuery,
  rangeIds,
} from "../src/lib/jobsList";

test("the filters round-trip through the page's URL; a hand-typed bad value is the default", () => {
  const filters = { ...defaultFilters, q: "db 1", status: "failed", type: "sqlite", node: "hub", archived: "all" as const, page: 3 };
  const search = filtersToSearch(filters);
  assert.deepEqual(filtersFromSearch(search), filters);
  assert.equal(filtersToSearch(defaultFilters), "", "the defaults make a bare /jobs");
  assert.deepEqual(filtersFromSearch("?status=exploded&type=zip&archived=maybe&sort=random&page=-2&node=" + "x".repeat(500)), defaultFilters);
  assert.deepEqual(filtersFromSearch("?page=1.5"), defaultFilters);
  assert.equal(filtersFromSearch("?q=" + "a".repeat(300)).q.length, 200);
});

test("the list query sends only the filters that narrow, and always the archived state", () => {
  const query = new URLSearchParams(listQuery({ ...defaultFilters, q: "web" }, 2, 50));
  assert.equal(query.get("page"), "2");
  assert.equal(query.get("page_size"), "50");
  assert.equal(query.get("q"), "web");
  assert.equal(query.get("archived"), "active");
  assert.equal(query.get("status"), null);
  assert.equal(query.get("node"), null);
  assert.ok(!isFiltered(defaultFilters));
  assert.ok(isFiltered({ ...defaultFilters, archived: "archived" }));
  assert.ok(!isFiltered({ ...defaultFilters, sort: "name_desc", page: 4 }), "order and page narrow nothing");
});

const answer = (ids: string[], failed: string[] = []): BulkAnswer => ({
  action: "archive",
  done: ids.length - failed.length,
  unchanged: 0,
  failed: failed.length,
  results: ids.map((id) => ({ id, ok: !failed.includes(id), result: failed.includes(id) ? "not_found" : "done", message: null, run_id: null, run_status: null })),
});

test("a bulk action over more ids than the API takes goes in chunks, answers merged in order", async () => {
  const ids = Array.from({ length: 1203 }, (_, index) => `job-${index}`);
  const sent: number[] = [];
  const merged = await bulkJobs("archive", ids, async (_action, chunk) => {
    sent.push(chunk.length);
    return answer(chunk, chunk.includes("job-700") ? ["job-700"] : []);
  });
  assert.deepEqual(sent, [bulkMaxIds, bulkMaxIds, 203]);
  assert.equal(merged.done, 1202);
  assert.equal(merged.failed, 1);
  assert.deepEqual(
    merged.results.map((row) => row.id),
    ids,
  );
  assert.deepEqual(chunks([1, 2, 3], 2), [[1, 2], [3]]);
});

test("a chunk that fails stops the action and says what the chunks before it did", async () => {
  const ids = Array.from({ length: 600 }, (_, index) => `job-${index}`);
  let calls = 0;
  await assert.rejects(
    bulkJobs("archive", ids, async (_action, chunk) => {
      calls += 1;
      if (calls === 2) throw new Error("hub gone");
      return answer(chunk);
    }),
    (error: unknown) => error instanceof BulkError && error.partial?.done === bulkMaxIds && String(error.cause).includes("hub gone"),
  );
  await assert.rejects(
    bulkJobs("run", ["a"], async () => {
      throw new Error("refused");
    }),
    (error: unknown) => error instanceof BulkError && error.partial === null,
  );
});

test("select all that match walks every page of the filter", async () => {
  const job = (index: number) => ({ id: `j${index}`, name: `job ${index}` }) as JobListItem;
  const pages: string[] = [];
  const all = await allMatching({ ...defaultFilters, type: "sqlite" }, async (query) => {
    pages.push(query);
    const page = Number(new URLSearchParams(query).get("page"));
    const items = Array.from({ length: 100 }, (_, index) => job((page - 1) * 100 + index)).filter((_, index) => (page - 1) * 100 + index < 250);
    return { items, total: 250 };
  });
  assert.equal(all.length, 250);
  assert.equal(pages.length, 3);
  assert.ok(pages.every((query) => new URLSearchParams(query).get("type") === "sqlite" && new URLSearchParams(query).get("page_size") === "100"));
});

test("Shift+click selects the range between the anchor and the row, either way", () => {
  const order = ["a", "b", "c", "d"];
  assert.deepEqual(rangeIds(order, "b", "d"), ["b", "c", "d"]);
  assert.deepEqual(rangeIds(order, "d", "b"), ["b", "c", "d"]);
  assert.deepEqual(rangeIds(order, "gone", "c"), ["c"], "an anchor on another page picks just the row");
});
