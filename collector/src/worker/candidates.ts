/**
 * The worker's queries over `gavel_traces AS t`: which traces are complete, in a judge's
 * sample and shard, match its filter, and have no assessment from it yet.
 *
 * Complete = the root span has arrived (the trace has a gavel_traces row, stamped InsertedAt
 * on arrival) and no span arrived for the settle period (gavel_trace_activity.LastSeen, also
 * arrival time, on the server's clock: client clocks are not trusted for this).
 *
 * Every scan is bounded by the primary key (ExperimentId, Timestamp): a lookback window for
 * the online worker, the backfill's range, or a page of it.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { compileTraceFilter, ParamBag } from "../search/filter-compiler.js";
import type { TraceSummaryLike } from "../store/queries/traces.js";
import { TRACE_SUMMARY_COLUMNS, type TraceSummary } from "../store/queries/trace-summary.js";
import { judgeAssessmentId, judgeAssessmentIdSql } from "./assessment-id.js";
import { SAMPLE_SCALE, sampledSql, shardSql } from "./sampler.js";
import type { Shard } from "./shard.js";

export interface Candidate {
  traceId: string;
  rootSpanId: string;
  experimentId: string;
  summary: TraceSummaryLike;
  /** When the trace last received a span (its root's arrival if none came after), server clock. */
  lastSeenMs: number;
}

interface Row extends TraceSummary {
  LastSeenMs: string;
}

function toCandidate(r: Row): Candidate {
  const { LastSeenMs, rootSpanId, ...summary } = r;
  return { traceId: r.traceId, rootSpanId, experimentId: r.experimentId, summary, lastSeenMs: Number(LastSeenMs) };
}

/**
 * Never scored: the judges' own LLM traces, evaluate()'s traces (marked on their root), and
 * any trace of a run of kind "evaluation" (in case an instrumentation did not mark its root).
 */
export function eligible(experiment: string): string {
  return `NOT t.IsJudge AND NOT t.IsEvaluation
  AND (t.RunId = '' OR t.RunId NOT IN (SELECT RunId FROM gavel_runs WHERE ExperimentId = ${experiment} AND Kind = 'evaluation'))`;
}

export const msParam = (p: ParamBag, ms: number) => `fromUnixTimestamp64Milli(${p.add("Int64", Math.floor(ms))})`;

/** Server time less the settle period: what arrived before it has settled. */
export const cutoffSql = (p: ParamBag, settleMs: number) => `now64(3) - toIntervalMillisecond(${p.add("UInt32", settleMs)})`;

/**
 * Arrival-time join with the traces that received a span after `since` (epoch for the others).
 * Only those can change the answer of `greatest(InsertedAt, LastSeen) > since`, and they are
 * the few rows written lately, which the min/max index on LastSeen finds without reading the
 * older parts (schema.ts, gavelTraceActivityLastSeenIndex): the poll no longer joins every
 * trace of the lookback window.
 */
export function recentActivityJoin(since: string): string {
  return `LEFT JOIN (SELECT g.TraceId AS TraceId, max(g.LastSeen) AS LastSeen FROM gavel_trace_activity AS g WHERE g.LastSeen > ${since} GROUP BY g.TraceId) AS a
  ON a.TraceId = t.TraceId`;
}
/** When a trace last received a span, with recentActivityJoin. */
export const LAST_SEEN = "greatest(t.InsertedAt, a.LastSeen)";

export interface JudgeRef {
  experimentId: string;
  name: string;
  version: number;
  filter: string | null;
}

export interface CandidateQuery extends JudgeRef {
  /** Roots that started before this (unix ms) are out of the window. */
  fromMs: number;
  settleMs: number;
  /** sampleThreshold(rate); SAMPLE_SCALE for every trace. */
  threshold: number;
  shard: Shard;
  /** Trace ids already picked (queued or being scored). */
  exclude: string[];
  limit: number;
}

/** Complete, sampled, unscored traces, oldest first. */
export async function findCandidates(client: ClickHouseClient, q: CandidateQuery): Promise<Candidate[]> {
  const p = new ParamBag("w");
  const e = p.add("String", q.experimentId);
  const from = msParam(p, q.fromMs);
  const name = p.add("String", q.name);
  const version = p.add("UInt32", q.version);
  const filter = compileTraceFilter(q.filter ?? undefined, p);
  const cutoff = cutoffSql(p, q.settleMs);
  const conds = [`t.ExperimentId = ${e} AND t.Timestamp >= ${from}`, eligible(e), `${LAST_SEEN} <= ${cutoff}`];
  if (q.threshold < SAMPLE_SCALE) conds.push(sampledSql("t.TraceId", name, p.add("UInt32", q.threshold)));
  if (q.shard.count > 1) conds.push(shardSql("t.TraceId", p.add("UInt32", q.shard.count), p.add("UInt32", q.shard.index)));
  if (q.exclude.length > 0) conds.push(`t.TraceId NOT IN ${p.add("Array(String)", q.exclude)}`);
  // This judge version's assessments of the window's traces were written after those traces
  // started (less a day for clocks that disagree): a scan of recent assessment times rather
  // than a set of every trace id in the window (measured: 37 ms → a few on a million traces).
  conds.push(
    `t.TraceId NOT IN (SELECT TraceId FROM gavel_assessments WHERE Name = ${name} AND Version >= ${from} - INTERVAL 1 DAY
      AND AssessmentId = ${judgeAssessmentIdSql("TraceId", name, version)})`,
    `(${filter})`,
  );
  const found = await selectCandidates(client, p, { lastSeen: LAST_SEEN, join: recentActivityJoin(cutoff), conds, limit: q.limit });
  // The join saw only arrivals after the cutoff; the lag metric wants each trace's last one.
  if (found.length > 0) {
    const { lastSeenMs } = await traceActivity(client, found.map((c) => c.traceId));
    for (const c of found) c.lastSeenMs = Math.max(c.lastSeenMs, lastSeenMs.get(c.traceId) ?? 0);
  }
  return found;
}

/**
 * Trace summaries matching `conds`, one row per trace (a root stored twice counts once), oldest
 * first: the shape both the online worker and backfill read.
 */
async function selectCandidates(
  client: ClickHouseClient,
  p: ParamBag,
  q: { lastSeen: string; join: string; conds: string[]; limit: number },
): Promise<Candidate[]> {
  const rs = await client.query({
    query: `SELECT ${TRACE_SUMMARY_COLUMNS}, toString(toUnixTimestamp64Milli(${q.lastSeen})) AS LastSeenMs
FROM gavel_traces AS t
${q.join}
WHERE ${q.conds.join("\n  AND ")}
ORDER BY t.Timestamp, t.TraceId
LIMIT 1 BY t.TraceId
LIMIT ${p.add("UInt32", q.limit)}`,
    query_params: p.values,
    format: "JSONEachRow",
  });
  return (await rs.json<Row>()).map(toCandidate);
}

export interface ArrivalCounts {
  seen: number;
  sampled: number;
  /** Server time up to which traces were counted; pass it back as `afterMs` next time. */
  cutoffMs: number;
}

/** The first count of a worker: nothing seen yet, only the cutoff to count from next time. */
export async function startCounting(client: ClickHouseClient, p: ParamBag, cutoff: string): Promise<ArrivalCounts> {
  const rs = await client.query({ query: `SELECT toString(toUnixTimestamp64Milli(${cutoff})) AS c`, query_params: p.values, format: "JSONEachRow" });
  const [r] = await rs.json<{ c: string }>();
  return { seen: 0, sampled: 0, cutoffMs: Number(r!.c) };
}

/**
 * Traces that became complete in (afterMs, now - settle]: how many the worker saw, and how
 * many of those its sampler and filter selected. Without `afterMs` only the cutoff is read,
 * so traces that completed before the worker started are not counted as seen.
 */
export async function countArrivals(
  client: ClickHouseClient,
  q: Omit<CandidateQuery, "exclude" | "limit"> & { afterMs: number | undefined },
): Promise<ArrivalCounts> {
  const p = new ParamBag("w");
  const cutoff = cutoffSql(p, q.settleMs);
  if (q.afterMs === undefined) return startCounting(client, p, cutoff);
  const e = p.add("String", q.experimentId);
  const from = msParam(p, q.fromMs);
  const name = p.add("String", q.name);
  const after = msParam(p, q.afterMs);
  const filter = compileTraceFilter(q.filter ?? undefined, p);
  const selected = q.threshold < SAMPLE_SCALE ? `${sampledSql("t.TraceId", name, p.add("UInt32", q.threshold))} AND (${filter})` : `(${filter})`;
  const conds = [
    `t.ExperimentId = ${e} AND t.Timestamp >= ${from}`,
    eligible(e),
    `${LAST_SEEN} > ${after} AND ${LAST_SEEN} <= ${cutoff}`,
  ];
  if (q.shard.count > 1) conds.push(shardSql("t.TraceId", p.add("UInt32", q.shard.count), p.add("UInt32", q.shard.index)));
  const rs = await client.query({
    query: `SELECT uniqExact(t.TraceId) AS seen, uniqExactIf(t.TraceId, ${selected}) AS sampled,
  toString(toUnixTimestamp64Milli(${cutoff})) AS c
FROM gavel_traces AS t
${recentActivityJoin(after)}
WHERE ${conds.join("\n  AND ")}`,
    query_params: p.values,
    format: "JSONEachRow",
  });
  const [r] = await rs.json<{ seen: string; sampled: string; c: string }>();
  return { seen: Number(r!.seen), sampled: Number(r!.sampled), cutoffMs: Number(r!.c) };
}

export interface RangeQuery extends JudgeRef {
  fromMs: number;
  toMs: number;
}

/** Traces a backfill would consider: eligible, matching the filter, started in [fromMs, toMs]. */
export async function countTraces(client: ClickHouseClient, q: RangeQuery): Promise<number> {
  const p = new ParamBag("w");
  const e = p.add("String", q.experimentId);
  const filter = compileTraceFilter(q.filter ?? undefined, p);
  const rs = await client.query({
    query: `SELECT uniqExact(t.TraceId) AS n FROM gavel_traces AS t
WHERE t.ExperimentId = ${e} AND t.Timestamp >= ${msParam(p, q.fromMs)} AND t.Timestamp <= ${msParam(p, q.toMs)}
  AND ${eligible(e)} AND (${filter})`,
    query_params: p.values,
    format: "JSONEachRow",
  });
  const [r] = await rs.json<{ n: string }>();
  return Number(r?.n ?? 0);
}

export interface PageKey {
  timestampNs: string;
  traceId: string;
}

/**
 * One page of a backfill range in (Timestamp, TraceId) order, after `after`. Keyset paging
 * keeps each page a primary-key range read however long the range is.
 */
export async function tracePage(client: ClickHouseClient, q: RangeQuery & { after?: PageKey; limit: number }): Promise<Candidate[]> {
  const p = new ParamBag("w");
  const e = p.add("String", q.experimentId);
  const conds = [`t.ExperimentId = ${e} AND t.Timestamp >= ${msParam(p, q.fromMs)} AND t.Timestamp <= ${msParam(p, q.toMs)}`, eligible(e)];
  if (q.after) {
    const ts = `fromUnixTimestamp64Nano(${p.add("Int64", q.after.timestampNs)})`;
    conds.push(`t.Timestamp >= ${ts} AND (t.Timestamp > ${ts} OR t.TraceId > ${p.add("String", q.after.traceId)})`);
  }
  conds.push(`(${compileTraceFilter(q.filter ?? undefined, p)})`);
  return selectCandidates(client, p, { lastSeen: "t.InsertedAt", join: "", conds, limit: q.limit });
}

export interface TraceStates {
  /** Server time now, unix ms. */
  nowMs: number;
  /** Newest span arrival per trace, where gavel_trace_activity knows it. */
  lastSeenMs: Map<string, number>;
  /** Traces that already have this judge version's assessment; the value is its error code or "". */
  assessed: Map<string, string>;
}

/** For a page of traces: arrival times and the judge's existing assessments. */
export async function traceStates(client: ClickHouseClient, traceIds: string[], name: string, version: number): Promise<TraceStates> {
  const ids = traceIds.map((t) => judgeAssessmentId(t, name, version));
  const [activity, assessed] = await Promise.all([
    traceActivity(client, traceIds),
    client.query({
      query: `SELECT TraceId, argMax(Error, Version) AS Error FROM gavel_assessments
WHERE Name = {name:String} AND TraceId IN {ids:Array(String)} AND AssessmentId IN {aids:Array(String)} GROUP BY TraceId`,
      query_params: { name, ids: traceIds, aids: ids },
      format: "JSONEachRow",
    }),
  ]);
  const out: TraceStates = { ...activity, assessed: new Map() };
  for (const r of await assessed.json<{ TraceId: string; Error: string }>()) {
    let code = "";
    if (r.Error) {
      try {
        code = String((JSON.parse(r.Error) as { code?: unknown }).code ?? "ERROR");
      } catch {
        code = "ERROR";
      }
    }
    out.assessed.set(r.TraceId, code);
  }
  return out;
}

/** The server's time, and the newest span arrival of each of these traces that has one (a key lookup). */
async function traceActivity(client: ClickHouseClient, traceIds: string[]): Promise<Pick<TraceStates, "nowMs" | "lastSeenMs">> {
  const rs = await client.query({
    query: `SELECT TraceId, toString(toUnixTimestamp64Milli(max(LastSeen))) AS ms, toString(toUnixTimestamp64Milli(now64(3))) AS now
FROM gavel_trace_activity WHERE TraceId IN {ids:Array(String)} GROUP BY TraceId
UNION ALL SELECT '' AS TraceId, '0' AS ms, toString(toUnixTimestamp64Milli(now64(3))) AS now`,
    query_params: { ids: traceIds },
    format: "JSONEachRow",
  });
  const out = { nowMs: Date.now(), lastSeenMs: new Map<string, number>() };
  for (const r of await rs.json<{ TraceId: string; ms: string; now: string }>()) {
    out.nowMs = Number(r.now);
    if (r.TraceId) out.lastSeenMs.set(r.TraceId, Number(r.ms));
  }
  return out;
}
