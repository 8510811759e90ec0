/**
 * The worker's queries for session-level (`{{ conversation }}`) judges: which sessions of a
 * judge's experiment are complete, in its sample and shard, and not scored yet (or got new
 * traces since they were scored), and the traces a judge reads for one.
 *
 * A session is the traces whose root carries the same session id (gavel_traces.SessionId,
 * migration 12: MLflow's `mlflow.trace.session` metadata, `session.id` or
 * `gen_ai.conversation.id`, read as store/queries/sessions.ts reads them). It is complete when none of its traces received a span for the session settle period
 * (arrival time, server clock, as for traces). Every scan is bounded by the primary key
 * (ExperimentId, Timestamp) of gavel_traces: the lookback window for finding sessions, twice it
 * for reading a found session's traces.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { ParamBag } from "../search/filter-compiler.js";
import { TRACE_SUMMARY_COLUMNS, type TraceSummary } from "../store/queries/trace-summary.js";
import { sessionAssessmentIdSql } from "./assessment-id.js";
import { cutoffSql, eligible, LAST_SEEN, msParam, recentActivityJoin, startCounting, type ArrivalCounts, type Candidate, type CandidateQuery } from "./candidates.js";
import { SAMPLE_SCALE, sampledSql, shardSql } from "./sampler.js";

/** The session id of a gavel_traces row; '' when it has none. */
export const TRACE_SESSION_SQL = "t.SessionId";

/** At most this many traces of one session go to a judge (the session REST answer's limit too). */
export const MAX_SESSION_TRACES = 500;

export interface SessionCandidate {
  sessionId: string;
  /** When a trace of the session last received a span, server clock. */
  lastSeenMs: number;
  /** The session was scored before and got new traces since: this is a re-score. */
  rescore: boolean;
}

/**
 * The trace candidates' query, for sessions: sessions whose traces all started before `fromMs`
 * are out of the window, the sample threshold and the shard apply to the session id, and
 * `exclude` holds session ids already picked. A session judge has no filter.
 */
export type SessionQuery = Omit<CandidateQuery, "filter">;

/**
 * Complete, sampled sessions that have no assessment of this judge version, or whose newest
 * trace arrived after that assessment was written; oldest first. One grouped read of the
 * window's roots: the activity join takes only arrivals after the cutoff (as the trace
 * candidates do), and the assessments only this judge's session assessments written in the
 * window, so no set of every trace id is built.
 */
export async function findSessionCandidates(client: ClickHouseClient, q: SessionQuery): Promise<SessionCandidate[]> {
  const p = new ParamBag("s");
  const e = p.add("String", q.experimentId);
  const from = msParam(p, q.fromMs);
  const name = p.add("String", q.name);
  const version = p.add("UInt32", q.version);
  const cutoff = cutoffSql(p, q.settleMs);
  const conds = [`t.ExperimentId = ${e} AND t.Timestamp >= ${from}`, `${TRACE_SESSION_SQL} != ''`, eligible(e)];
  if (q.threshold < SAMPLE_SCALE) conds.push(sampledSql(TRACE_SESSION_SQL, name, p.add("UInt32", q.threshold)));
  if (q.shard.count > 1) conds.push(shardSql(TRACE_SESSION_SQL, p.add("UInt32", q.shard.count), p.add("UInt32", q.shard.index)));
  if (q.exclude.length > 0) conds.push(`${TRACE_SESSION_SQL} NOT IN ${p.add("Array(String)", q.exclude)}`);
  const rs = await client.query({
    query: `SELECT s.SessionId AS sessionId, toString(toUnixTimestamp64Milli(s.SessionLastSeen)) AS lastSeenMs, a.AssessmentId != '' AS rescore
FROM (
  SELECT ${TRACE_SESSION_SQL} AS SessionId, min(t.Timestamp) AS First, max(${LAST_SEEN}) AS SessionLastSeen,
    max(t.InsertedAt) AS LastTraceAt, ${sessionAssessmentIdSql("SessionId", name, version)} AS Aid
  FROM gavel_traces AS t
  ${recentActivityJoin(cutoff)}
  WHERE ${conds.join("\n    AND ")}
  GROUP BY SessionId
  HAVING SessionLastSeen <= ${cutoff}
) AS s
LEFT JOIN (
  SELECT AssessmentId, max(Version) AS ScoredAt FROM gavel_assessments
  WHERE Name = ${name} AND Version >= ${from} - INTERVAL 1 DAY AND startsWith(AssessmentId, 's-') GROUP BY AssessmentId
) AS a ON a.AssessmentId = s.Aid
WHERE a.AssessmentId = '' OR a.ScoredAt < s.LastTraceAt
ORDER BY s.First, s.SessionId
LIMIT ${p.add("UInt32", q.limit)}`,
    query_params: p.values,
    format: "JSONEachRow",
  });
  return (await rs.json<{ sessionId: string; lastSeenMs: string; rescore: number | boolean }>()).map((r) => ({
    sessionId: r.sessionId,
    lastSeenMs: Number(r.lastSeenMs),
    rescore: Boolean(Number(r.rescore)),
  }));
}

/**
 * Sessions that became complete in (afterMs, now - settle]: how many the worker saw, and how
 * many of those the sampler selected. Without `afterMs` only the cutoff is read.
 */
export async function countSessionArrivals(
  client: ClickHouseClient,
  q: Omit<SessionQuery, "exclude" | "limit" | "version"> & { afterMs: number | undefined },
): Promise<ArrivalCounts> {
  const p = new ParamBag("s");
  const cutoff = cutoffSql(p, q.settleMs);
  if (q.afterMs === undefined) return startCounting(client, p, cutoff);
  const e = p.add("String", q.experimentId);
  const name = p.add("String", q.name);
  const after = msParam(p, q.afterMs);
  const conds = [`t.ExperimentId = ${e} AND t.Timestamp >= ${msParam(p, q.fromMs)}`, `${TRACE_SESSION_SQL} != ''`, eligible(e)];
  if (q.shard.count > 1) conds.push(shardSql(TRACE_SESSION_SQL, p.add("UInt32", q.shard.count), p.add("UInt32", q.shard.index)));
  const sampled = q.threshold < SAMPLE_SCALE ? sampledSql("SessionId", name, p.add("UInt32", q.threshold)) : "1";
  const rs = await client.query({
    query: `SELECT count() AS seen, countIf(${sampled}) AS sampled, toString(toUnixTimestamp64Milli(${cutoff})) AS c FROM (
  SELECT ${TRACE_SESSION_SQL} AS SessionId, max(${LAST_SEEN}) AS SessionLastSeen
  FROM gavel_traces AS t
  ${recentActivityJoin(after)}
  WHERE ${conds.join("\n    AND ")}
  GROUP BY SessionId
  HAVING SessionLastSeen > ${after} AND SessionLastSeen <= ${cutoff}
)`,
    query_params: p.values,
    format: "JSONEachRow",
  });
  const [r] = await rs.json<{ seen: string; sampled: string; c: string }>();
  return { seen: Number(r!.seen), sampled: Number(r!.sampled), cutoffMs: Number(r!.c) };
}

/**
 * The traces of these sessions, oldest first (start time in milliseconds, then trace id, as
 * evaluate() and sessionAnchor() in packages/sdk order them, so the first is their anchor), read from twice the lookback window so a session that
 * began before the window still gets its first trace as anchor.
 */
export async function sessionTraces(
  client: ClickHouseClient,
  q: { experimentId: string; fromMs: number; sessionIds: string[] },
): Promise<Map<string, Candidate[]>> {
  const p = new ParamBag("s");
  const e = p.add("String", q.experimentId);
  const rs = await client.query({
    query: `SELECT ${TRACE_SUMMARY_COLUMNS}, ${TRACE_SESSION_SQL} AS sessionId, toString(toUnixTimestamp64Milli(t.InsertedAt)) AS LastSeenMs
FROM gavel_traces AS t
WHERE t.ExperimentId = ${e} AND t.Timestamp >= ${msParam(p, q.fromMs)} AND ${TRACE_SESSION_SQL} IN ${p.add("Array(String)", q.sessionIds)} AND ${eligible(e)}
ORDER BY toUnixTimestamp64Milli(t.Timestamp), t.TraceId
LIMIT 1 BY t.TraceId`,
    query_params: p.values,
    format: "JSONEachRow",
  });
  const out = new Map<string, Candidate[]>();
  for (const r of await rs.json<TraceSummary & { sessionId: string; LastSeenMs: string }>()) {
    const { LastSeenMs, sessionId, rootSpanId, ...summary } = r;
    let list = out.get(sessionId);
    if (!list) out.set(sessionId, (list = []));
    if (list.length < MAX_SESSION_TRACES) list.push({ traceId: r.traceId, rootSpanId, experimentId: r.experimentId, summary, lastSeenMs: Number(LastSeenMs) });
  }
  return out;
}
