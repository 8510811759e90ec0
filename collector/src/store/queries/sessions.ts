/**
 * Sessions (multi-turn conversations): traces grouped by the session id on their root span.
 * The id is read as the judges read it (packages/judges/src/session.ts), from the keys of
 * TRACE_SESSION_ATTRIBUTES in @gavel/conventions: MLflow's `mlflow.trace.session` metadata
 * (`gavel.metadata.mlflow.trace.session`, or the attribute itself), OpenInference's and
 * Langfuse's `session.id`, Langfuse's older `langfuse.session.id`, the GenAI conventions'
 * `gen_ai.conversation.id`.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { TRACE_SESSION_SQL } from "@gavel/conventions";


const ROOTS = `SELECT TraceId, Timestamp, ${TRACE_SESSION_SQL} AS SessionId FROM otel_traces
  WHERE ExperimentId = {e:String} AND ParentSpanId = '' AND SpanAttributes['gavel.assessment_span'] != 'true'
    AND SpanAttributes['gavel.judge'] != 'true'`;

export interface SessionSummary {
  sessionId: string;
  traceCount: number;
  firstMs: number;
  lastMs: number;
}

/** The experiment's sessions, most recently active first. */
export async function listSessions(client: ClickHouseClient, experimentId: string, limit: number): Promise<SessionSummary[]> {
  const rs = await client.query({
    query: `SELECT SessionId AS sessionId, toUInt32(uniqExact(TraceId)) AS traceCount,
  toString(toUnixTimestamp64Milli(min(Timestamp))) AS firstMs, toString(toUnixTimestamp64Milli(max(Timestamp))) AS lastMs
FROM (${ROOTS}) WHERE SessionId != '' GROUP BY SessionId ORDER BY max(Timestamp) DESC, SessionId LIMIT {n:UInt32}`,
    query_params: { e: experimentId, n: limit },
    format: "JSONEachRow",
  });
  return (await rs.json<{ sessionId: string; traceCount: number; firstMs: string; lastMs: string }>()).map((r) => ({
    sessionId: r.sessionId,
    traceCount: Number(r.traceCount),
    firstMs: Number(r.firstMs),
    lastMs: Number(r.lastMs),
  }));
}

/** The trace ids of one session, oldest first (at most `limit`). */
export async function sessionTraceIds(client: ClickHouseClient, experimentId: string, sessionId: string, limit: number): Promise<string[]> {
  const rs = await client.query({
    query: `SELECT TraceId, min(Timestamp) AS t FROM (${ROOTS}) WHERE SessionId = {s:String} GROUP BY TraceId ORDER BY t, TraceId LIMIT {n:UInt32}`,
    query_params: { e: experimentId, s: sessionId, n: limit },
    format: "JSONEachRow",
  });
  return (await rs.json<{ TraceId: string }>()).map((r) => r.TraceId);
}
