/**
 * Shared set-up of the MLflow parity tests: a collector on a fresh embedded store for the
 * file, the SDK pointed at it, and traces built with the real OpenTelemetry SDK and sent
 * over OTLP, the way an instrumented app sends them.
 *
 * MLflow's tests create a trace record (`_create_trace`) and then log spans into it; a Gavel
 * trace is its spans, so each MLflow trace becomes a root span carrying what MLflow puts on
 * the trace record: the name, tags (`gavel.tag.<key>`), metadata (`gavel.metadata.<key>`),
 * the run (`gavel.run_id`), the client request id (`gavel.client_request_id`).
 */
import { context, trace as otelTrace, SpanStatusCode, type Span } from "@opentelemetry/api";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { beforeAll, expect } from "vitest";
import { createExperiment } from "@gavel/sdk";
import { useGavel } from "../support/use-gavel.js";
import type { RunningGavel } from "../../collector/src/server/gavel-server.js";

/** A collector for this file, and GAVEL_URL pointing the SDK at it. */
export function parityGavel(): () => RunningGavel {
  const gavelOf = useGavel();
  beforeAll(() => {
    process.env.GAVEL_URL = gavelOf().url;
  });
  return gavelOf;
}

/** 2023-11-14T22:13:20Z; MLflow's tests use small integers as times, Gavel keeps them after this base. */
export const BASE_MS = 1_700_000_000_000;

export type Status = "OK" | "ERROR" | "UNSET";

export interface SpanSpec {
  name: string;
  /** Start, ms after BASE_MS. */
  startMs?: number;
  durationMs?: number;
  status?: Status;
  spanType?: string;
  attributes?: Record<string, string>;
  children?: SpanSpec[];
}

export interface TraceSpec extends SpanSpec {
  experimentId: string;
  tags?: Record<string, string>;
  metadata?: Record<string, string>;
  runId?: string;
  clientRequestId?: string;
}

const STATUS_CODE: Record<Status, SpanStatusCode> = { OK: SpanStatusCode.OK, ERROR: SpanStatusCode.ERROR, UNSET: SpanStatusCode.UNSET };

/** Sends traces in one OTLP/JSON request; resolves to their trace ids, in order, once stored. */
export async function sendTraces(url: string, specs: TraceSpec[]): Promise<string[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "mlflow-parity" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("mlflow-parity");
  const ids: string[] = [];

  const emit = (spec: SpanSpec, experimentId: string, extra: Record<string, string>, parent?: Span): Span => {
    const start = BASE_MS + (spec.startMs ?? 0);
    const attributes: Record<string, string> = { "gavel.experiment_id": experimentId, ...extra, ...(spec.attributes ?? {}) };
    if (spec.spanType) attributes["gavel.span_type"] = spec.spanType;
    const ctx = parent ? otelTrace.setSpan(context.active(), parent) : context.active();
    const span = tracer.startSpan(spec.name, { startTime: start, attributes }, ctx);
    if (spec.status) span.setStatus({ code: STATUS_CODE[spec.status] });
    for (const child of spec.children ?? []) emit({ startMs: spec.startMs, ...child }, experimentId, {}, span);
    span.end(start + (spec.durationMs ?? 1));
    return span;
  };

  for (const spec of specs) {
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.tags ?? {})) extra[`gavel.tag.${k}`] = v;
    for (const [k, v] of Object.entries(spec.metadata ?? {})) extra[`gavel.metadata.${k}`] = v;
    if (spec.runId) extra["gavel.run_id"] = spec.runId;
    if (spec.clientRequestId) extra["gavel.client_request_id"] = spec.clientRequestId;
    ids.push(emit(spec, spec.experimentId, extra).spanContext().traceId);
  }
  const body = Buffer.from(JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans())!);
  const res = await fetch(`${url}/v1/traces`, { method: "POST", body, headers: { "content-type": "application/json" } });
  expect(res.status).toBe(200);
  await provider.shutdown();
  return ids;
}

let experimentCount = 0;
/** A new experiment per test, like MLflow's `store.create_experiment(...)`. */
export async function newExperiment(name: string): Promise<string> {
  return createExperiment(`${name}-${process.pid}-${experimentCount++}`);
}
