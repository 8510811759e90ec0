import type { ClickHouseClient } from "@clickhouse/client";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { protobufBody } from "../support/otlp-bodies.js";

export { eventually } from "../support/gavel-process.js";

export async function query<T = Record<string, unknown>>(client: ClickHouseClient, sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await client.query({ query: sql, query_params: params, format: "JSONEachRow" });
  return rs.json<T>();
}

/** Traces of `judge` with their number of assessments, latest versions only (FINAL). */
export async function assessedTraces(client: ClickHouseClient, judge: string): Promise<Map<string, number>> {
  const rows = await query<{ TraceId: string; n: string }>(
    client,
    "SELECT TraceId, count() AS n FROM gavel_assessments FINAL WHERE Name = {j:String} AND NOT Deleted GROUP BY TraceId",
    { j: judge },
  );
  return new Map(rows.map((r) => [r.TraceId, Number(r.n)]));
}

/** A value of a Prometheus series from GET /metrics text, summed over series matching `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Real OTel spans for `n` traces, each a root (with `attrs`) and `children` child spans, made
 * without a global provider so they can be sent over OTLP at chosen moments.
 */
export function makeTraces(n: number, attrs: Record<string, string>, children = 0, withPayloads = true): { root: ReadableSpan; children: ReadableSpan[] }[] {
  const exporter = new InMemorySpanExporter();
  const p = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "worker-test" }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = p.getTracer("worker-test");
  const out: { root: ReadableSpan; children: ReadableSpan[] }[] = [];
  // Trace i starts i ms after trace 0 (all in the past), so their order by start time is their
  // order here even at the millisecond resolution a session's turns are ordered by.
  const t0 = Date.now() - n - 1;
  for (let i = 0; i < n; i++) {
    const payloads = withPayloads ? { "gavel.inputs": JSON.stringify({ question: `question ${i}` }), "gavel.outputs": JSON.stringify({ answer: `answer ${i}` }) } : {};
    const root = tracer.startSpan(`request-${i}`, { attributes: { ...attrs, ...payloads }, startTime: t0 + i });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    for (let c = 0; c < children; c++) tracer.startSpan(`step-${c}`, { attributes: attrs, startTime: t0 + i }, ctx).end();
    root.end();
    const spans = exporter.getFinishedSpans();
    exporter.reset();
    out.push({ root: spans.find((s) => s.parentSpanContext === undefined)!, children: spans.filter((s) => s.parentSpanContext !== undefined) });
  }
  return out;
}

export async function postSpans(url: string, spans: ReadableSpan[]): Promise<void> {
  for (let i = 0; i < spans.length; i += 500) {
    const res = await fetch(`${url}/v1/traces`, { method: "POST", body: protobufBody(spans.slice(i, i + 500)), headers: { "content-type": "application/x-protobuf" } });
    if (res.status !== 200) throw new Error(`OTLP answered ${res.status}: ${await res.text()}`);
  }
}

export const traceIdOf = (s: ReadableSpan) => s.spanContext().traceId;
