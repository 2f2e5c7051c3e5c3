import { request, type BodyOf, type JobListItem, type ResponseOf } from "../api";

// The jobs list at scale (docs/ui.md, "Jobs at scale"): its filters as the page's URL and as `GET /api/jobs`'s query,
// the walk that selects every job a filter shows, and bulk actions sent in chunks the API takes. Pure but for the two
// requests, so the rules are tested without a browser (web/test/jobsList.test.ts).

export type JobSort = "name_asc" | "name_desc" | "updated_desc" | "updated_asc";
export type ArchivedFilter = "active" | "archived" | "all";
export type BulkAction = BodyOf<"POST /api/jobs/bulk">["action"];
export type BulkAnswer = ResponseOf<"POST /api/jobs/bulk">;
export type BulkResult = BulkAnswer["results"][number];

export interface JobFilters {
  q: string;
  /** The latest run's status, `never`, or `all`. */
  status: string;
  /** The spec's type, or `all`. */
  type: string;
  /** `hub`, an agent's id, or `all`. */
  node: string;
  archived: ArchivedFilter;
  sort: JobSort;
  page: number;
}

export const defaultFilters: JobFilters = { q: "", status: "all", type: "all", node: "all", archived: "active", sort: "name_asc", page: 1 };

export const jobStatuses = ["all", "never", "queued", "running", "success", "failed", "canceled", "rejected"];
export const jobTypes = ["all", "filesystem", "sqlite", "postgres", "mariadb", "vaultwarden"];
export const archivedFilters: ArchivedFilter[] = ["active", "archived", "all"];
const sorts: JobSort[] = ["name_asc", "name_desc", "updated_desc", "updated_asc"];

/** Rows per page: 50 fills a desktop screen twice and keeps a phone's page short enough to scroll. */
export const jobsPageSize = 50;
/** The API's most ids per bulk request (`JobsController.bulkMaxIds`). */
export const bulkMaxIds = 500;

/** The filters a `/jobs?…` URL holds; anything unknown or malformed is the default (a URL is typed by hand too). */
export function filtersFromSearch(search: string): JobFilters {
  const params = new URLSearchParams(search);
  const pick = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const value = params.get(name);
    return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
  };
  const page = Number(params.get("page"));
  const node = params.get("node");
  return {
    q: (params.get("q") ?? "").slice(0, 200),
    status: pick("status", jobStatuses, "all"),
    type: pick("type", jobTypes, "all"),
    node: node && node.length <= 128 ? node : "all",
    archived: pick("archived", archivedFilters, "active"),
    sort: pick("sort", sorts, "name_asc"),
    page: Number.isInteger(page) && page >= 1 && page <= 1_000_000 ? page : 1,
  };
}

/** The page's own URL query: only what differs from the defaults. */
export function filtersToSearch(filters: JobFilters): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(defaultFilters) as (keyof JobFilters)[]) {
    if (filters[key] !== defaultFilters[key]) params.set(key, String(filters[key]));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** `GET /api/jobs`'s query for these filters (`page`, `page_size` given). */
export function listQuery(filters: JobFilters, page: number, pageSize: number): string {
  const params = new URLSearchParams({ page: String(page), page_size: String(pageSize), sort: filters.sort, archived: filters.archived });
  if (filters.q) params.set("q", filters.q);
  if (filters.status !== "all") params.set("status", filters.status);
  if (filters.type !== "all") params.set("type", filters.type);
  if (filters.node !== "all") params.set("node", filters.node);
  return params.toString();
}

/** Whether any filter narrows the list (an empty list then says "nothing matches", not "no jobs yet"). */
export function isFiltered(filters: JobFilters): boolean {
  return filters.q !== "" || filters.status !== "all" || filters.type !== "all" || filters.node !== "all" || filters.archived !== "active";
}

/** `ids` in chunks of at most `size`, in order. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/** Several chunks' answers as one. */
export function mergeAnswers(action: BulkAction, answers: BulkAnswer[]): BulkAnswer {
  return {
    action,
    done: answers.reduce((sum, answer) => sum + answer.done, 0),
    unchanged: answers.reduce((sum, answer) => sum + answer.unchanged, 0),
    failed: answers.reduce((sum, answer) => sum + answer.failed, 0),
    results: answers.flatMap((answer) => answer.results),
  };
}

/** Runs `action` on `ids` (any number: chunks of `bulkMaxIds`, one after another). A chunk that fails throws, with
 * what the chunks before it did in `partial` (each chunk is one transaction on the server: all of it or none). */
export async function bulkJobs(action: BulkAction, ids: readonly string[], send = sendBulk): Promise<BulkAnswer> {
  const answers: BulkAnswer[] = [];
  for (const chunk of chunks(ids, bulkMaxIds)) {
    try {
      answers.push(await send(action, chunk));
    } catch (error) {
      throw new BulkError(error, answers.length > 0 ? mergeAnswers(action, answers) : null);
    }
  }
  return mergeAnswers(action, answers);
}

/** A bulk action that stopped at a failed request: the error, and what was done before it (null: nothing). */
export class BulkError extends Error {
  constructor(
    readonly cause: unknown,
    readonly partial: BulkAnswer | null,
  ) {
    super(String(cause));
  }
}

function sendBulk(action: BulkAction, ids: string[]): Promise<BulkAnswer> {
  return request<BulkAnswer>("POST", "/api/jobs/bulk", { action, ids });
}

/** Every job the filters show, across pages (100 a request, the API's most), for "select all that match". */
export async function allMatching(filters: JobFilters, load = loadPage): Promise<JobListItem[]> {
  const items: JobListItem[] = [];
  for (let page = 1; ; page += 1) {
    const answer = await load(listQuery(filters, page, 100));
    items.push(...answer.items);
    if (answer.items.length === 0 || items.length >= answer.total) return items;
  }
}

function loadPage(query: string): Promise<{ items: JobListItem[]; total: number }> {
  return request<ResponseOf<"GET /api/jobs">>("GET", "/api/jobs?" + query);
}

/** The ids from `anchor` to `target` in the page's order (Shift+click extends a selection over a range). */
export function rangeIds(order: readonly string[], anchor: string, target: string): string[] {
  const from = order.indexOf(anchor);
  const to = order.indexOf(target);
  if (from < 0 || to < 0) return [target];
  return order.slice(Math.min(from, to), Math.max(from, to) + 1);
}
