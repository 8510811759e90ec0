/**
 * Trace search over `gavel_traces` (one row per trace: its root span), with MLflow's
 * filter language and keyset paging. A page token carries the sort-key values of the
 * last row returned, so the next page is a range read from the primary key
 * (ExperimentId, Timestamp, TraceId) rather than an OFFSET that rescans every earlier page.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import { fillTracePayloads } from "../store/queries/trace-io.js";
import { SearchRequestError } from "./errors.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { compileTraceFilter, filterReadsSpans, ParamBag, type ParamType } from "./filter-compiler.js";
import { TRACE_STATUS_SQL, TRACE_SUMMARY_COLUMNS, type TraceSummary } from "../store/queries/trace-summary.js";

export interface TraceSearchRequest {
  /** Experiments to search; absent or empty searches all of them. */
  experimentIds?: string[];
  /** MLflow filter string; see filter-parser.ts. */
  filter?: string;
  /** e.g. `["timestamp_ms DESC"]` (the default), `["execution_time_ms ASC", "name"]`, `["tag.env"]`. */
  orderBy?: string[];
  /** Default 100, at most 1000. */
  maxResults?: number;
  pageToken?: string;
  /** Judges' own LLM traces are hidden unless asked for. */
  includeJudgeTraces?: boolean;
}

/** One row of a search: the trace summary (store/queries/trace-summary.ts). */
export type TraceSummaryRow = TraceSummary;

export interface TraceSearchPage {
  rows: TraceSummaryRow[];
  /** Present when more rows may follow; pass it back with the same search. */
  nextPageToken?: string;
}

export const DEFAULT_MAX_RESULTS = 100;
export const MAX_MAX_RESULTS = 1000;

export class InvalidPageTokenError extends SearchRequestError {
  override name = "InvalidPageTokenError";

  constructor(message: string) {
    super("INVALID_PAGE_TOKEN", "pageToken", message);
  }
}

export class InvalidOrderByError extends SearchRequestError {
  override name = "InvalidOrderByError";

  constructor(message: string) {
    super("INVALID_ORDER_BY", "orderBy", message);
  }
}

export class InvalidSearchParameterError extends SearchRequestError {
  override name = "InvalidSearchParameterError";
}

export type SortField = "timestamp_ms" | "execution_time_ms" | "name" | "status" | "trace_id" | "run_id" | "experiment_id" | "tag";
export type SortDirection = "ASC" | "DESC";

export interface SortKey {
  field: SortField;
  /** For `tag`: the tag's key. */
  tagKey?: string;
  /** Set on the hidden key that puts rows without the value last. */
  missingFirstKey?: boolean;
  direction: SortDirection;
  /** The SQL sort expression over `gavel_traces AS t`. */
  sql: string;
  /** The key's value in a result row, as the page token stores it. */
  fromRow: (r: TraceSummaryRow) => string;
  /** The token's value back as a typed SQL operand; undefined when it is malformed. */
  operand: (v: string, params: ParamBag) => string | undefined;
}

export interface CompiledOrderBy {
  /** The requested keys, then MLflow's tie-breakers (newest first, then trace id), making the order total. */
  keys: SortKey[];
  /** For `ORDER BY`. */
  sql: string;
}

const param = (type: ParamType, test?: RegExp) => (v: string, params: ParamBag) =>
  test && !test.test(v) ? undefined : params.add(type, v);

type KeyDef = Omit<SortKey, "direction">;

const SORT_FIELDS: Record<Exclude<SortField, "tag">, KeyDef> = {
  timestamp_ms: {
    field: "timestamp_ms",
    sql: "t.Timestamp",
    fromRow: (r) => r.timestampNs,
    operand: (v, params) => (/^-?\d{1,19}$/.test(v) ? `fromUnixTimestamp64Nano(${params.add("Int64", v)})` : undefined),
  },
  execution_time_ms: { field: "execution_time_ms", sql: "t.Duration", fromRow: (r) => r.durationNs, operand: param("UInt64", /^\d{1,20}$/) },
  name: { field: "name", sql: "t.Name", fromRow: (r) => r.name, operand: param("String") },
  status: { field: "status", sql: TRACE_STATUS_SQL, fromRow: (r) => r.status, operand: param("String") },
  trace_id: { field: "trace_id", sql: "t.TraceId", fromRow: (r) => r.traceId, operand: param("String") },
  run_id: { field: "run_id", sql: "t.RunId", fromRow: (r) => r.runId, operand: param("String") },
  experiment_id: { field: "experiment_id", sql: "t.ExperimentId", fromRow: (r) => r.experimentId, operand: param("String") },
};

const SORT_ALIASES: Record<string, Exclude<SortField, "tag">> = {
  timestamp_ms: "timestamp_ms",
  timestamp: "timestamp_ms",
  execution_time_ms: "execution_time_ms",
  execution_time: "execution_time_ms",
  name: "name",
  status: "status",
  run_id: "run_id",
  experiment_id: "experiment_id",
};
const SORTABLE = "timestamp_ms, execution_time_ms, name, status, run_id, experiment_id, tag.<key>";

/** Sorts rows that lack the value after the others, in either direction (MLflow puts NULLs last). */
const missingLast = (field: SortField, sql: string, isMissing: (r: TraceSummaryRow) => boolean, tagKey?: string): SortKey => ({
  field,
  ...(tagKey !== undefined ? { tagKey } : {}),
  missingFirstKey: true,
  direction: "ASC",
  sql,
  fromRow: (r) => (isMissing(r) ? "1" : "0"),
  operand: param("UInt8", /^[01]$/),
});

/**
 * MLflow-style order-by entries (`"<field> [ASC|DESC]"`, ascending when omitted) over an
 * allowlist: trace attributes and `tag.<key>`. Rows without the tag or run come last. Ties
 * break as in MLflow: newest first, then trace id ascending, on every page. Tag keys travel
 * as parameters of `params`.
 */
export function compileOrderBy(orderBy: string[] | undefined, params: ParamBag = new ParamBag("o")): CompiledOrderBy {
  const entries = orderBy && orderBy.length > 0 ? orderBy : ["timestamp_ms DESC"];
  const keys: SortKey[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const m = /^\s*(?:`?(?:trace|attributes|attribute)`?\.)?(?:`?(tags?)`?\.(?:`([^`]+)`|([A-Za-z0-9_.\-]+))|`?([A-Za-z_]+)`?)(?:\s+(ASC|DESC))?\s*$/i.exec(entry);
    const tagKey = m ? (m[2] ?? m[3]) : undefined;
    const field = m && m[4] ? SORT_ALIASES[m[4].toLowerCase()] : undefined;
    if (!m || (!field && tagKey === undefined)) {
      throw new InvalidOrderByError(
        `Invalid orderBy entry "${entry.slice(0, 100)}". Write "<field> [ASC|DESC]" with a field among ${SORTABLE}, ` +
          `e.g. ["timestamp_ms DESC"].`,
      );
    }
    const id = tagKey !== undefined ? `tag.${tagKey}` : field!;
    if (seen.has(id)) throw new InvalidOrderByError(`orderBy names ${id} twice ("${entry}"). Give each field once.`);
    seen.add(id);
    const direction = (m[5]?.toUpperCase() ?? "ASC") as SortDirection;
    if (tagKey !== undefined) {
      const k = params.add("String", tagKey);
      keys.push(missingLast("tag", `(NOT mapContains(t.Tags, ${k}))`, (r) => !(tagKey in r.tags), tagKey));
      keys.push({ field: "tag", tagKey, direction, sql: `t.Tags[${k}]`, fromRow: (r) => r.tags[tagKey] ?? "", operand: param("String") });
    } else if (field === "run_id") {
      keys.push(missingLast("run_id", "(t.RunId = '')", (r) => r.runId === ""));
      keys.push({ ...SORT_FIELDS.run_id, direction });
    } else {
      keys.push({ ...SORT_FIELDS[field!], direction });
    }
  }
  if (!seen.has("timestamp_ms")) keys.push({ ...SORT_FIELDS.timestamp_ms, direction: "DESC" });
  keys.push({ ...SORT_FIELDS.trace_id, direction: "ASC" });
  return { keys, sql: keys.map((k) => `${k.sql} ${k.direction}`).join(", ") };
}

const RESTART = "Repeat the search without pageToken to start from the first page.";

function decodeToken(token: string, hash: string, keyCount: number): string[] {
  const t = decodePageToken(token);
  if (!t || !t.k.every((x) => typeof x === "string")) {
    throw new InvalidPageTokenError(`pageToken is not a token this server issued (it may be truncated or edited). ${RESTART}`);
  }
  if (t.h !== hash || t.k.length !== keyCount) {
    throw new InvalidPageTokenError(
      "pageToken belongs to a different search: experimentIds, filter, orderBy and includeJudgeTraces must stay the same " +
        `while paging (only maxResults may change). ${RESTART}`,
    );
  }
  return t.k as string[];
}

/**
 * Rows strictly after the last row of the previous page, in the order of `keys`:
 * (k1 after v1) OR (k1 = v1 AND k2 after v2) OR … The leading inclusive bound on the
 * first key is redundant but lets ClickHouse prune granules by range.
 */
function keysetCondition(keys: SortKey[], values: string[], params: ParamBag): string {
  const operands = keys.map((k, i) => {
    const o = k.operand(values[i]!, params);
    if (o === undefined) throw new InvalidPageTokenError(`pageToken holds a malformed ${k.field} value. ${RESTART}`);
    return o;
  });
  const after = (i: number) => `${keys[i]!.sql} ${keys[i]!.direction === "DESC" ? "<" : ">"} ${operands[i]}`;
  const branches = keys.map((_, i) => {
    const eq = keys.slice(0, i).map((k, j) => `${k.sql} = ${operands[j]}`);
    return `(${[...eq, after(i)].join(" AND ")})`;
  });
  const first = keys[0]!;
  return `${first.sql} ${first.direction === "DESC" ? "<=" : ">="} ${operands[0]} AND (${branches.join(" OR ")})`;
}

function resolveMaxResults(n: number | undefined): number {
  if (n === undefined) return DEFAULT_MAX_RESULTS;
  if (!Number.isInteger(n) || n < 1 || n > MAX_MAX_RESULTS) {
    throw new InvalidSearchParameterError(
      "INVALID_PARAMETER_VALUE",
      "maxResults",
      `maxResults must be a whole number from 1 to ${MAX_MAX_RESULTS} (got ${String(n)}); fetch more with nextPageToken.`,
    );
  }
  return n;
}

const SELECT = `SELECT ${TRACE_SUMMARY_COLUMNS}
FROM gavel_traces AS t`;

/** Name of the LIMIT parameter, which searchTraceSummaries raises when duplicates fill a page. */
export const LIMIT_PARAM = "fetch";

/**
 * A time range of trace start times, unix ns: [fromNs, toNs). A newest-first search that reads
 * spans runs over successive windows (see searchTraceSummaries).
 */
export interface TimeWindow {
  fromNs?: bigint;
  toNs?: bigint;
}

/**
 * How much earlier than its trace's root a span may start and still be read by a windowed span
 * condition: clock skew between the services of one trace.
 */
export const SPAN_CLOCK_SKEW_NS = 3_600_000_000_000n;

export interface TraceSearchQuery {
  /** Ends with `LIMIT {fetch:UInt32}`. */
  query: string;
  params: Record<string, unknown>;
  /** Rows wanted on the page. */
  limit: number;
  order: CompiledOrderBy;
  /** Identifies the search in its page tokens. */
  hash: string;
}

/**
 * The SQL and parameters of one page, without running it (for EXPLAIN, benchmarks and
 * callers that stream). Validates the whole request.
 * @throws FilterSyntaxError, InvalidOrderByError, InvalidPageTokenError, InvalidSearchParameterError
 */
export function buildTraceSearchQuery(req: TraceSearchRequest, window?: TimeWindow): TraceSearchQuery {
  const limit = resolveMaxResults(req.maxResults);
  const params = new ParamBag();
  const order = compileOrderBy(req.orderBy, params);
  const where: string[] = [];

  const experiments = [...new Set(req.experimentIds ?? [])].sort();
  // A single id as `=` lets ClickHouse treat ExperimentId as fixed and read the
  // (Timestamp, TraceId) part of the primary key in order.
  if (experiments.length === 1) where.push(`t.ExperimentId = ${params.add("String", experiments[0])}`);
  else if (experiments.length > 1) where.push(`t.ExperimentId IN ${params.add("Array(String)", experiments)}`);
  if (!req.includeJudgeTraces) where.push("NOT t.IsJudge");
  const beforeFilter = params.clone();
  const filterSql = compileTraceFilter(req.filter, params);
  if (filterSql !== "1") where.push(filterSql);

  // Everything that defines the result set, in canonical form: the SQL is built from
  // constants and the values are the parsed ones, so whitespace or keyword case in the
  // filter does not invalidate a token, but any change of meaning does.
  const hash = createHash("sha256")
    .update(JSON.stringify([where, params.values, order.sql]))
    .digest("base64url")
    .slice(0, 22);

  // The floor below reads only the sort key's column: after a page it bounds by the last row's
  // start alone, strictly, which can only widen the range (rows of its start come after it).
  let floorBound: string | undefined;
  if (req.pageToken !== undefined && req.pageToken !== "") {
    const values = decodeToken(req.pageToken, hash, order.keys.length);
    where.push(keysetCondition(order.keys, values, params));
    const first = order.keys[0]!;
    if (first.field === "timestamp_ms") floorBound = `t.Timestamp ${first.direction === "DESC" ? "<" : ">"} ${first.operand(values[0]!, params)}`;
  }
  const floorWhere = floorBound ? [...where.slice(0, -1), floorBound] : [...where];

  if (window) {
    // The window's own parameters come after the hash: every window of a search has one token.
    const wp = new ParamBag("w");
    const ns = (v: bigint) => `fromUnixTimestamp64Nano(${wp.add("Int64", v.toString())})`;
    if (window.fromNs !== undefined) where.push(`t.Timestamp >= ${ns(window.fromNs)}`);
    if (window.toNs !== undefined) where.push(`t.Timestamp < ${ns(window.toNs)}`);
    if (window.fromNs !== undefined && filterSql !== "1") {
      // The same filter with its span scans cut to the window (less the clock-skew margin).
      const windowed = compileTraceFilter(req.filter, beforeFilter, { spanFrom: ns(window.fromNs - SPAN_CLOCK_SKEW_NS) });
      where[where.indexOf(filterSql)] = windowed;
    }
    Object.assign(params.values, wp.values);
  }

  // A first key that is a column of the sorting key, (ExperimentId, Timestamp, TraceId): the
  // newest (or oldest) `fetch` start times are read first, from the Timestamp column alone and
  // in index order, and their bound limits the full read to a few granules. Exact: every row of
  // the page starts at or past the fetch-th start time of a superset of its rows. Only where
  // nothing else is costly to evaluate twice (no subquery in the conditions).
  const first = order.keys[0]!;
  if (first.field === "timestamp_ms" && !where.some((w) => w.includes("SELECT"))) {
    const [agg, cmp] = first.direction === "DESC" ? ["min", ">="] : ["max", "<="];
    where.push(
      `t.Timestamp ${cmp} (SELECT ${agg}(ts) FROM (SELECT t.Timestamp AS ts FROM gavel_traces AS t WHERE ${floorWhere.join(" AND ") || "1"} ` +
        `ORDER BY t.Timestamp ${first.direction} LIMIT {${LIMIT_PARAM}:UInt32}))`,
    );
  }

  const query = `${SELECT}
WHERE ${where.length > 0 ? where.join("\n  AND ") : "1"}
ORDER BY ${order.sql}
LIMIT {${LIMIT_PARAM}:UInt32}`;
  return { query, params: { ...params.values, [LIMIT_PARAM]: limit + 1 }, limit, order, hash };
}

/** Keeps the first row of each trace: a root span stored twice sorts next to its copy. */
function dedupe(rows: TraceSummaryRow[]): TraceSummaryRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.traceId) && (seen.add(r.traceId), true));
}

/**
 * One page of trace summaries.
 *
 * A root span re-sent by an exporter retry stays duplicated in gavel_traces until the
 * ReplacingMergeTree merges it, so the page is deduplicated here rather than with
 * `LIMIT 1 BY TraceId`: LIMIT BY sits between ORDER BY and LIMIT and stops ClickHouse
 * from running a top-N sort that reads Inputs/Outputs only for the rows returned
 * (measured on 400k traces with 2 KB payloads: two experiments 2–10 s with LIMIT BY,
 * 45 ms without). A few spare rows absorb duplicates; if they are not enough, the
 * page is fetched again with more.
 * @throws FilterSyntaxError, InvalidOrderByError, InvalidPageTokenError, InvalidSearchParameterError
 */
export async function searchTraceSummaries(client: ClickHouseClient, req: TraceSearchRequest): Promise<TraceSearchPage> {
  const { limit, order, hash } = buildTraceSearchQuery(req);
  const first = order.keys[0]!;
  let rows: TraceSummaryRow[] = [];
  if (first.field === "timestamp_ms" && first.direction === "DESC" && filterReadsSpans(req.filter)) {
    // Newest first over span conditions: search the newest day, then earlier windows, stopping
    // once the page is full. Each window's span scan reads only its own days, so a common match
    // costs one day's spans instead of every span stored. Windows are disjoint and in order, so
    // their pages concatenate.
    const anchor = await newestStart(client, req);
    if (anchor === undefined) return { rows: [] };
    let toNs: bigint | undefined;
    let days = 0;
    for (let w = 0; ; w++) {
      const next = nextWindowDays(w, days, rows.length, limit + 1);
      const fromNs = next === undefined ? undefined : anchor - BigInt(days + next) * DAY_NS;
      const part = await fetchPage(client, buildTraceSearchQuery(req, { fromNs, toNs }), limit + 1 - rows.length);
      rows.push(...part);
      if (rows.length > limit || fromNs === undefined) break;
      days += next!;
      toNs = fromNs;
    }
  } else {
    rows = await fetchPage(client, buildTraceSearchQuery(req), limit + 1);
  }
  await fillTracePayloads(client, rows.slice(0, limit));
  if (rows.length <= limit) return { rows };
  rows.length = limit;
  const last = rows[limit - 1]!;
  return { rows, nextPageToken: encodePageToken(hash, order.keys.map((k) => k.fromRow(last))) };
}

const DAY_NS = 86_400_000_000_000n;

/**
 * The length in days of a windowed search's next window, or undefined for "everything older":
 * one day first; then as many days as the matches found so far say the rest of the page needs,
 * with a tenth to spare (at least twice the days searched when nothing matched yet); after
 * five windows, or beyond a year, the rest at once.
 */
export function nextWindowDays(windowIndex: number, daysSearched: number, found: number, wanted: number): number | undefined {
  if (windowIndex === 0) return 1;
  if (windowIndex >= 5 || daysSearched >= 366) return undefined;
  const perDay = found / daysSearched;
  const need = perDay > 0 ? Math.ceil(((wanted - found) / perDay) * 1.1) : daysSearched * 2;
  return Math.max(1, Math.min(need, 366 - daysSearched));
}

/** Up to `want` distinct traces of the query, in its order. */
async function fetchPage(client: ClickHouseClient, q: TraceSearchQuery, want: number): Promise<TraceSummaryRow[]> {
  let fetch = want + Math.min(want, 16);
  for (;;) {
    const rs = await client.query({ query: q.query, query_params: { ...q.params, [LIMIT_PARAM]: fetch }, format: "JSONEachRow" });
    const raw = await rs.json<TraceSummaryRow>();
    const rows = dedupe(raw);
    if (rows.length >= want || raw.length < fetch) return rows.slice(0, want);
    fetch *= 4;
  }
}

/**
 * Where a newest-first search starts: the start of its page token's last trace, else of the
 * newest trace in its experiments (read backwards along the sorting key: a few granules).
 */
async function newestStart(client: ClickHouseClient, req: TraceSearchRequest): Promise<bigint | undefined> {
  if (req.pageToken) {
    const t = decodePageToken(req.pageToken);
    const ts = t?.k[0];
    if (typeof ts === "string" && /^-?\d{1,19}$/.test(ts)) return BigInt(ts) + 1n;
  }
  const { query, params } = buildTraceSearchQuery({ ...req, filter: undefined, pageToken: undefined, orderBy: undefined, maxResults: 1 });
  const rs = await client.query({ query, query_params: params, format: "JSONEachRow" });
  const [row] = await rs.json<TraceSummaryRow>();
  return row ? BigInt(row.timestampNs) + 1n : undefined;
}
