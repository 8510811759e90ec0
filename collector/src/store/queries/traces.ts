import type { ClickHouseClient } from "@clickhouse/client";
import type { Span as SpanJson, TraceInfo as TraceInfoJson, TraceJson, TraceStatus } from "@gavel/api";
import { ATTR_ASSESSMENT_SPAN, ATTR_EXPERIMENT_ID, ATTR_RUN_ID, TRACE_NAME_ATTRIBUTES, firstAttribute, outermost, spanText } from "@gavel/conventions";
import { fillTracePayloads } from "./trace-io.js";
import { TRACE_SUMMARY_COLUMNS, type TraceSummary } from "./trace-summary.js";

export type { SpanJson, TraceInfoJson, TraceJson, TraceStatus };

export const statusOf = (code: string): TraceStatus => (code === "Error" ? "ERROR" : code === "Ok" ? "OK" : "UNSET");

/** Stored payloads are JSON when Gavel's SDK wrote them; other conventions may hold plain text. */
export function parsePayload(s: string): unknown {
  if (s === "") return null;
  const c = s.charCodeAt(0);
  // Only try JSON where it can be JSON, so plain text costs no exception.
  if (c === 123 || c === 91 || c === 34 || c === 116 || c === 102 || c === 110 || c === 45 || (c >= 48 && c <= 57)) {
    try {
      return JSON.parse(s);
    } catch {
      return s;
    }
  }
  return s;
}

interface SpanRowJson {
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  StatusCode: string;
  StatusMessage: string;
  Start: string;
  Duration: string;
  SpanAttributes: Record<string, string>;
  ResourceAttributes: Record<string, string>;
  EvTs: string[];
  EvNames: string[];
  EvAttrs: Record<string, string>[];
}

// A span's type, inputs and outputs are read from its attributes in JavaScript, by the same
// conventions as the SQL of the views (@gavel/conventions, tested to agree): ClickHouse took
// ~10 ms to plan those long expressions, longer than reading a trace's spans.
const SPAN_SELECT = `SELECT TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, StatusCode, StatusMessage,
  toString(toUnixTimestamp64Nano(Timestamp)) AS Start, Duration,
  SpanAttributes, ResourceAttributes,
  arrayMap(x -> toString(toUnixTimestamp64Nano(x)), Events.Timestamp) AS EvTs, Events.Name AS EvNames, Events.Attributes AS EvAttrs
FROM otel_traces`;

function toSpanJson(r: SpanRowJson): SpanJson {
  const start = BigInt(r.Start);
  const dur = BigInt(r.Duration);
  const events = r.EvNames.map((name, i) => ({ name, timeUnixNano: r.EvTs[i]!, attributes: r.EvAttrs[i]! }));
  const read = { attributes: r.SpanAttributes, events };
  return {
    traceId: r.TraceId,
    spanId: r.SpanId,
    parentSpanId: r.ParentSpanId,
    name: r.SpanName,
    kind: r.SpanKind,
    startTimeUnixNano: r.Start,
    endTimeUnixNano: (start + dur).toString(),
    durationMs: Number(dur) / 1e6,
    status: { code: statusOf(r.StatusCode), message: r.StatusMessage },
    serviceName: r.ServiceName,
    spanType: spanText("spanType", read),
    inputs: parsePayload(spanText("inputs", read)),
    outputs: parsePayload(spanText("outputs", read)),
    attributes: r.SpanAttributes,
    resourceAttributes: r.ResourceAttributes,
    events,
  };
}

/** The span-time range of some traces, from the trace-id → time-range table (whole seconds). */
interface TimeRange {
  s: string;
  e: string;
}

async function timeRange(client: ClickHouseClient, traceIds: string[], notBeforeNs?: string): Promise<TimeRange | undefined> {
  // A known earliest start lets the lookup skip the partitions (days) before it.
  const since = notBeforeNs ? " AND Start >= toDateTime(intDiv({since:Int64}, 1000000000))" : "";
  const rs = await client.query({
    query: `SELECT toString(min(Start)) AS s, toString(max(End)) AS e, count() AS n FROM otel_traces_trace_id_ts WHERE TraceId IN {ids:Array(String)}${since}`,
    query_params: { ids: traceIds, ...(notBeforeNs ? { since: notBeforeNs } : {}) },
    format: "JSONEachRow",
  });
  const [r] = await rs.json<TimeRange & { n: string }>();
  return r && Number(r.n) > 0 ? { s: r.s, e: r.e } : undefined;
}

/**
 * Spans of several traces in one query. The trace-id → time-range table narrows the
 * scan to the partitions that hold the traces; the bloom filter on TraceId does the rest.
 */
export async function getSpans(client: ClickHouseClient, traceIds: string[], range?: TimeRange): Promise<Map<string, SpanJson[]>> {
  const out = new Map<string, SpanJson[]>();
  if (traceIds.length === 0) return out;
  const r = range ?? (await timeRange(client, traceIds));
  if (!r) return out;
  const rs = await client.query({
    query: `${SPAN_SELECT}
      WHERE TraceId IN {ids:Array(String)} AND SpanAttributes['${ATTR_ASSESSMENT_SPAN}'] != 'true'
        AND Timestamp >= toDateTime({s:String}) AND Timestamp <= toDateTime({e:String}) + 1
      ORDER BY Timestamp, SpanId
      LIMIT 1 BY TraceId, SpanId`,
    query_params: { ids: traceIds, ...r },
    format: "JSONEachRow",
  });
  for (const row of await rs.json<SpanRowJson>()) {
    const s = toSpanJson(row);
    let list = out.get(s.traceId);
    if (!list) out.set(s.traceId, (list = []));
    list.push(s);
  }
  return out;
}

/** What toTraceInfo needs of a summary (rootSpanId is not part of the API's TraceInfo). */
export type TraceSummaryLike = Omit<TraceSummary, "rootSpanId">;

export function toTraceInfo(r: TraceSummaryLike): TraceInfoJson {
  return {
    traceId: r.traceId,
    experimentId: r.experimentId,
    runId: r.runId || null,
    name: r.name,
    timestampMs: Number(BigInt(r.timestampNs) / 1_000_000n),
    executionTimeMs: Number(BigInt(r.durationNs)) / 1e6,
    status: r.status,
    serviceName: r.serviceName,
    spanType: r.spanType,
    inputs: parsePayload(r.inputs),
    outputs: parsePayload(r.outputs),
    tags: r.tags,
    metadata: r.metadata,
  };
}

/** A trace whose root span has not arrived (yet) still has an info, built from its earliest span. */
function infoFromSpans(spans: SpanJson[]): TraceInfoJson {
  const first = spans[0]!;
  const root = spans.find((s) => s.parentSpanId === "") ?? first;
  const ranked = spans.map((s) => ({ s, spanId: s.spanId, parentSpanId: s.parentSpanId, start: s.startTimeUnixNano, duration: s.durationMs }));
  const payload = (field: "inputs" | "outputs") => outermost(ranked, (r) => r.s[field] !== null && r.s[field] !== "")?.s[field] ?? null;
  return {
    traceId: first.traceId,
    experimentId: root.attributes[ATTR_EXPERIMENT_ID] || root.resourceAttributes[ATTR_EXPERIMENT_ID] || "0",
    runId: root.attributes[ATTR_RUN_ID] || null,
    name: firstAttribute(root.attributes, TRACE_NAME_ATTRIBUTES) ?? root.name,
    timestampMs: Number(BigInt(root.startTimeUnixNano) / 1_000_000n),
    executionTimeMs: root.durationMs,
    status: root.status.code,
    serviceName: root.serviceName,
    spanType: root.spanType,
    inputs: payload("inputs"),
    outputs: payload("outputs"),
    tags: {},
    metadata: {},
  };
}

/** A day before the root's start: how much earlier than its root a span may start and still show. */
const ROOT_SKEW_NS = 86_400_000_000_000n;

export async function getTrace(client: ClickHouseClient, traceId: string): Promise<TraceJson | null> {
  // The summary row first (bloom filter on TraceId): its start bounds the time-range lookup to
  // the days from the root's on, and the range then bounds the span read.
  const rs = await client.query({
    query: `SELECT ${TRACE_SUMMARY_COLUMNS} FROM gavel_traces AS t WHERE t.TraceId = {id:String} LIMIT 1`,
    query_params: { id: traceId },
    format: "JSONEachRow",
  });
  const [row] = await rs.json<TraceSummaryLike>();
  const range = await timeRange(client, [traceId], row ? (BigInt(row.timestampNs) - ROOT_SKEW_NS).toString() : undefined);
  if (!range) return null;
  const spans = (await getSpans(client, [traceId], range)).get(traceId);
  if (!spans || spans.length === 0) return null;
  const [summary] = row ? await fillTracePayloads(client, [row]) : [];
  return { info: summary ? toTraceInfo(summary) : infoFromSpans(spans), data: { spans } };
}
