/**
 * The review queue: traces a judge assessed that no human has labelled yet, most
 * informative first, plus per-judge label counts for alignment.
 *
 * Order (the UI shows the same rule):
 *   0 JUDGE_ERROR      the judge failed or gave no value
 *   1 LOW_CONFIDENCE   the judge reported metadata.confidence below 0.6
 *   2 JUDGES_DISAGREE  valid judge assessments of the same name on the trace differ (e.g. two versions)
 *   3 TRACE_ERROR      the app's own trace failed, which judges often misread
 *   4 RARE_VALUE       the judge's value is at most 20% of its values in the experiment
 *   5 OTHER
 * then rarer judge values first (minority classes are where disagreement hides and what
 * alignment lacks), then newest. Pages are keyset on that order, never OFFSET.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import { compileTraceFilter, ParamBag } from "../search/filter-compiler.js";
import { SearchRequestError } from "../search/errors.js";
import { decodePageToken, encodePageToken } from "../search/page-token.js";
import { toTraceInfo, type TraceInfoJson } from "../store/queries/traces.js";
import { TRACE_STATUS_SQL, TRACE_SUMMARY_COLUMNS, type TraceSummary } from "../store/queries/trace-summary.js";
import { fillTracePayloads } from "../store/queries/trace-io.js";

/** Labelled pairs SIMBA needs before it aligns (packages/judges/src/alignment/simba.ts). */
export const MIN_ALIGNMENT_LABELS = 10;

export const REVIEW_REASONS = ["JUDGE_ERROR", "LOW_CONFIDENCE", "JUDGES_DISAGREE", "TRACE_ERROR", "RARE_VALUE", "OTHER"] as const;
export type ReviewReason = (typeof REVIEW_REASONS)[number];

export interface ReviewQueueRequest {
  experimentId: string;
  /** One judge (assessment) name; all names when absent. */
  name?: string;
  /** searchTraces filter over the queued traces. */
  filter?: string;
  limit?: number;
  pageToken?: string;
}

export interface ReviewJudgeSummary {
  name: string;
  /** Traces with an LLM_JUDGE assessment of this name. */
  judged: number;
  /** Of those, traces with a valid HUMAN one too: alignment's training pairs. */
  labeled: number;
  /** Judged but not labelled: the queue. */
  pending: number;
  /** Labels still missing before alignment can run. */
  needed: number;
  /** The judge's latest value per trace, most frequent first (at most 20). */
  values: { value: unknown; count: number }[];
}

export interface ReviewQueueItem {
  traceId: string;
  name: string;
  reason: ReviewReason;
  judgeValue: unknown;
  /** Share of the judge's values in the experiment equal to this one, 0–1. */
  valueShare: number;
  trace: TraceInfoJson | null;
}

export interface ReviewQueuePage {
  minLabels: number;
  judges: ReviewJudgeSummary[];
  items: ReviewQueueItem[];
  nextPageToken?: string;
}

export const REVIEW_DEFAULT_LIMIT = 50;
export const REVIEW_MAX_LIMIT = 200;

function parseJson(s: string): unknown {
  if (s === "") return null;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** Latest judge and human state per (trace, name) of the experiment; judged pairs only. */
function pairsCte(p: ParamBag, experiment: string, name: string | undefined): string {
  const nameCond = name ? `AND Name = ${p.add("String", name)}` : "";
  // A judge assessment a human overrode is invalid but still a judged pair, so judges
  // count regardless of Valid while humans count only when valid.
  // An assessment names its trace's experiment (migration 10); those that cannot (stored before,
  // or written before their trace arrived: '' or '0') are checked against the experiment's
  // traces, looked up among those few only (the set of every trace id of an experiment took
  // seconds to build at a million traces).
  const unsure = "ExperimentId IN ('', '0')";
  return `pairs AS (
  SELECT TraceId, Name,
    countIf(SourceType = 'LLM_JUDGE') AS judges,
    countIf(SourceType = 'HUMAN' AND Valid) AS humans,
    argMaxIf(Value, CreatedAt, SourceType = 'LLM_JUDGE') AS judgeValue,
    argMaxIf(Error, CreatedAt, SourceType = 'LLM_JUDGE') AS judgeError,
    argMaxIf(Metadata, CreatedAt, SourceType = 'LLM_JUDGE') AS judgeMeta,
    uniqExactIf(Value, SourceType = 'LLM_JUDGE' AND Valid) AS judgeValues,
    max(TraceStart) AS traceStart,
    anyIf(TraceStatus, TraceStatus != '') AS traceStatus
  FROM gavel_assessments FINAL
  WHERE NOT Deleted AND Kind = 'feedback' AND SourceType IN ('LLM_JUDGE', 'HUMAN') ${nameCond}
    AND (ExperimentId = ${experiment} OR (${unsure} AND TraceId IN (
      SELECT TraceId FROM gavel_traces WHERE ExperimentId = ${experiment} AND NOT IsJudge
        AND TraceId IN (SELECT TraceId FROM gavel_assessments WHERE ${unsure} ${nameCond}))))
  GROUP BY TraceId, Name
  HAVING judges > 0
)`;
}

/** The review order's keys of the last item: tier, sharePpm, negTs, traceId, name. */
type QueueKeys = [number, number, string, string, string];

const RESTART = "Request the queue again without pageToken.";

function decodeToken(raw: string, hash: string): QueueKeys {
  const t = decodePageToken(raw);
  const k = t?.k;
  if (
    !t ||
    !Array.isArray(k) ||
    k.length !== 5 ||
    !Number.isInteger(k[0]) ||
    !Number.isInteger(k[1]) ||
    !/^-?\d{1,19}$/.test(String(k[2])) ||
    typeof k[3] !== "string" ||
    typeof k[4] !== "string"
  ) {
    throw new SearchRequestError("INVALID_PAGE_TOKEN", "pageToken", `pageToken is not a review-queue token this server issued. ${RESTART}`);
  }
  if (t.h !== hash) {
    throw new SearchRequestError("INVALID_PAGE_TOKEN", "pageToken", `pageToken belongs to another queue (experiment, name or filter changed). ${RESTART}`);
  }
  return k as QueueKeys;
}

interface ItemRow {
  traceId: string;
  name: string;
  judgeValue: string;
  sharePpm: number;
  tier: number;
  negTsText: string;
}

interface SummaryRow {
  name: string;
  judgeValue: string;
  judged: string;
  pending: string;
  /** Pending pairs whose assessments do not carry their trace's start and status. */
  unknown: string;
}

/**
 * One page of the queue and the per-judge counters.
 * @throws FilterSyntaxError, SearchRequestError (bad pageToken or limit)
 */
export async function reviewQueue(client: ClickHouseClient, req: ReviewQueueRequest): Promise<ReviewQueuePage> {
  const limit = req.limit ?? REVIEW_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > REVIEW_MAX_LIMIT) {
    throw new SearchRequestError("INVALID_PARAMETER_VALUE", "limit", `limit is a whole number from 1 to ${REVIEW_MAX_LIMIT}; page with pageToken.`);
  }
  const hash = createHash("sha256")
    .update(JSON.stringify([req.experimentId, req.name ?? "", req.filter ?? ""]))
    .digest("base64url")
    .slice(0, 22);

  // Summary: counts per judge name and value, over the whole experiment (not the filter).
  const sp = new ParamBag("s");
  const summarySql = `WITH ${pairsCte(sp, sp.add("String", req.experimentId), req.name)}
SELECT Name AS name, judgeValue, toString(count()) AS judged, toString(countIf(humans = 0)) AS pending,
  toString(countIf(humans = 0 AND (traceStart = toDateTime64(0, 9) OR traceStatus = ''))) AS unknown
FROM pairs GROUP BY Name, judgeValue ORDER BY Name, count() DESC, judgeValue`;

  const p = new ParamBag("q");
  const exp = p.add("String", req.experimentId);
  const filterSql = compileTraceFilter(req.filter, p);
  let keyset = "1";
  if (req.pageToken) {
    const k = decodeToken(req.pageToken, hash);
    keyset = `(tier, sharePpm, negTs, traceId, name) > (${p.add("UInt32", k[0])}, ${p.add("UInt32", k[1])}, ${p.add("Int64", k[2])}, ${p.add(
      "String",
      k[3],
    )}, ${p.add("String", k[4])})`;
  }
  // chDB runs one query at a time per session; sequential keeps the order explicit.
  const summaryRows = await (await client.query({ query: summarySql, query_params: sp.values, format: "JSONEachRow" })).json<SummaryRow>();

  // The trace's start and status come with its assessments (migration 10). Only the traces whose
  // assessments lack them are read from the trace list, or every pending one when a filter asks
  // about the traces; without a filter and with nothing unknown (the summary counted them) the
  // trace list is not read at all. A pair that turns unknown in between waits for the next read.
  const lookupAll = filterSql !== "1";
  const lookup = lookupAll || summaryRows.some((r) => Number(r.unknown) > 0);
  const known = "(pe.traceStart != toDateTime64(0, 9) AND pe.traceStatus != '')";
  const traceList = lookup
    ? `,
tr AS (
  SELECT t.TraceId AS TraceId, any(t.Timestamp) AS Ts, any(${TRACE_STATUS_SQL}) AS Status
  FROM gavel_traces AS t
  WHERE t.ExperimentId = ${exp} AND NOT t.IsJudge AND (${filterSql})
    AND t.TraceId IN (SELECT TraceId FROM pending AS pe WHERE ${lookupAll ? "1" : `NOT ${known}`})
  GROUP BY t.TraceId
)`
    : "";
  const from = lookup
    ? `pending AS pe ${lookupAll ? "INNER" : "LEFT"} JOIN tr ON tr.TraceId = pe.TraceId
  WHERE tr.TraceId != '' OR ${known}`
    : `pending AS pe WHERE ${known}`;
  const status = lookup ? "if(tr.TraceId != '', tr.Status, pe.traceStatus)" : "pe.traceStatus";
  const start = lookup ? "if(tr.TraceId != '', tr.Ts, pe.traceStart)" : "pe.traceStart";
  // The outer negTsText alias must differ from negTs: ClickHouse would resolve the WHERE's negTs to it.
  const itemsSql = `WITH ${pairsCte(p, exp, req.name)},
judged AS (
  SELECT TraceId, Name, humans, judgeValue, judgeError, judgeMeta, judgeValues, traceStart, traceStatus,
    count() OVER (PARTITION BY Name, judgeValue) / count() OVER (PARTITION BY Name) AS share
  FROM pairs
),
pending AS (SELECT * FROM judged WHERE humans = 0)${traceList}
SELECT traceId, name, judgeValue, sharePpm, tier, toString(negTs) AS negTsText FROM (
  SELECT pe.TraceId AS traceId, pe.Name AS name, pe.judgeValue AS judgeValue,
    toUInt32(round(pe.share * 1000000)) AS sharePpm,
    JSONExtract(pe.judgeMeta, 'confidence', 'Nullable(Float64)') AS confidence,
    toUInt32(multiIf(
      pe.judgeError != '' OR pe.judgeValue IN ('', 'null'), 0,
      confidence IS NOT NULL AND confidence < 0.6, 1,
      pe.judgeValues > 1, 2,
      ${status} = 'ERROR', 3,
      pe.share <= 0.2, 4,
      5)) AS tier,
    -toUnixTimestamp64Nano(${start}) AS negTs
  FROM ${from}
)
WHERE ${keyset}
ORDER BY tier, sharePpm, negTs, traceId, name
LIMIT ${p.add("UInt32", limit + 1)}`;

  const rows = await (await client.query({ query: itemsSql, query_params: p.values, format: "JSONEachRow" })).json<ItemRow>();

  const judges = new Map<string, ReviewJudgeSummary>();
  for (const r of summaryRows) {
    let j = judges.get(r.name);
    if (!j) judges.set(r.name, (j = { name: r.name, judged: 0, labeled: 0, pending: 0, needed: 0, values: [] }));
    const judged = Number(r.judged);
    const pending = Number(r.pending);
    j.judged += judged;
    j.pending += pending;
    j.labeled += judged - pending;
    if (j.values.length < 20) j.values.push({ value: parseJson(r.judgeValue), count: judged });
  }
  for (const j of judges.values()) j.needed = Math.max(0, MIN_ALIGNMENT_LABELS - j.labeled);

  const more = rows.length > limit;
  if (more) rows.length = limit;
  const traces = await traceInfos(client, req.experimentId, [...new Set(rows.map((r) => r.traceId))]);
  const items: ReviewQueueItem[] = rows.map((r) => ({
    traceId: r.traceId,
    name: r.name,
    reason: REVIEW_REASONS[Number(r.tier)] ?? "OTHER",
    judgeValue: parseJson(r.judgeValue),
    valueShare: Number(r.sharePpm) / 1e6,
    trace: traces.get(r.traceId) ?? null,
  }));
  const last = rows[rows.length - 1];
  const page: ReviewQueuePage = { minLabels: MIN_ALIGNMENT_LABELS, judges: [...judges.values()], items };
  if (more && last) {
    const keys: QueueKeys = [Number(last.tier), Number(last.sharePpm), last.negTsText, last.traceId, last.name];
    page.nextPageToken = encodePageToken(hash, keys);
  }
  return page;
}

async function traceInfos(client: ClickHouseClient, experimentId: string, ids: string[]): Promise<Map<string, TraceInfoJson>> {
  const out = new Map<string, TraceInfoJson>();
  if (ids.length === 0) return out;
  const rs = await client.query({
    query: `SELECT ${TRACE_SUMMARY_COLUMNS}
FROM gavel_traces AS t WHERE t.ExperimentId = {e:String} AND t.TraceId IN {ids:Array(String)}
LIMIT 1 BY t.TraceId`,
    query_params: { e: experimentId, ids },
    format: "JSONEachRow",
  });
  for (const r of await fillTracePayloads(client, await rs.json<TraceSummary>())) out.set(r.traceId, toTraceInfo(r));
  return out;
}
