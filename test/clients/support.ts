/**
 * What every client test does: send the client's spans to an in-process collector, read the
 * trace back through the REST API (what the SDK, the UI's Traces tab and evaluate() read), the
 * span columns through SQL, and run a judge on the trace with the provider simulator, whose
 * recorded request shows what the judge saw.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import type { TraceJson } from "@gavel/api";
import { makeJudge } from "@gavel/judges";
import type { ProviderSimulator } from "../simulator/src/index.js";

// Parent/child spans need a context manager, as NodeTracerProvider.register() would install.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

export interface ClientTracing {
  provider: NodeTracerProvider;
  /** Every span the app ended, in this process (to learn the trace id). */
  memory: InMemorySpanExporter;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** A tracer provider exporting to the collector over OTLP (protobuf over HTTP unless another exporter is given). */
export function clientTracing(gavelUrl: string, service: string, exporter?: SpanExporter, headers: Record<string, string> = {}): ClientTracing {
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": service }),
    spanProcessors: [new SimpleSpanProcessor(memory), new BatchSpanProcessor(exporter ?? new OTLPTraceExporter({ url: `${gavelUrl}/v1/traces`, headers }))],
  });
  return {
    provider,
    memory,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** The trace id of the spans recorded so far (one trace expected). */
export function onlyTraceId(spans: ReadableSpan[]): string {
  const ids = [...new Set(spans.map((s) => s.spanContext().traceId))];
  if (ids.length !== 1) throw new Error(`expected one trace, got ${ids.length}: ${spans.map((s) => s.name).join(", ")}`);
  return ids[0]!;
}

/** The stored trace once all `spanCount` spans are there (the REST API: what SDK, UI and evaluate() read). */
export async function storedTrace(gavelUrl: string, traceId: string, spanCount: number, headers: Record<string, string> = {}): Promise<TraceJson> {
  const deadline = Date.now() + 20_000;
  let last = "";
  for (;;) {
    const res = await fetch(`${gavelUrl}/api/v1/traces/${traceId}`, { headers });
    last = `${res.status} ${await res.clone().text()}`.slice(0, 300);
    if (res.ok) {
      const t = (await res.json()) as TraceJson;
      if (t.data.spans.length >= spanCount) return t;
    }
    if (Date.now() > deadline) throw new Error(`trace ${traceId} did not arrive with ${spanCount} spans: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface SpanColumns {
  SpanName: string;
  SpanType: string;
  GenAiModel: string;
  InputTokens: number;
  OutputTokens: number;
  TotalTokens: number;
}

/** The materialized columns of the trace's spans, read with SQL from the collector's store. */
export async function spanColumns(client: ClickHouseClient, traceId: string): Promise<SpanColumns[]> {
  const rs = await client.query({
    query: `SELECT SpanName, SpanType, GenAiModel, InputTokens, OutputTokens, TotalTokens FROM otel_traces
      WHERE TraceId = {id:String} ORDER BY Timestamp, SpanId`,
    query_params: { id: traceId },
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return rs.json<SpanColumns>();
}

export interface TokenSums {
  input: number;
  output: number;
  total: number;
}

/**
 * The trace's token sums over its spans (what a per-trace sum or a SQL dashboard over otel_traces
 * counts), and what the daily counters (`gavel_token_usage_daily`) hold for the model.
 */
export async function traceTokenSums(client: ClickHouseClient, traceId: string): Promise<TokenSums> {
  const rs = await client.query({
    query: `SELECT sum(InputTokens) AS input, sum(OutputTokens) AS output, sum(TotalTokens) AS total FROM otel_traces WHERE TraceId = {id:String}
      SETTINGS output_format_json_quote_64bit_integers = 0`,
    query_params: { id: traceId },
    format: "JSONEachRow",
  });
  const [r] = await rs.json<TokenSums>();
  return r!;
}

/** The input and output tokens of `gavel_token_usage_daily` for a model, over every day and experiment. */
export async function dailyTokenSums(client: ClickHouseClient, model: string): Promise<{ input: number; output: number }> {
  const rs = await client.query({
    query: `SELECT sum(InputTokens) AS input, sum(OutputTokens) AS output FROM gavel_token_usage_daily WHERE Model = {m:String}
      SETTINGS output_format_json_quote_64bit_integers = 0`,
    query_params: { m: model },
    format: "JSONEachRow",
  });
  const [r] = await rs.json<{ input: number; output: number }>();
  return { input: Number(r?.input ?? 0), output: Number(r?.output ?? 0) };
}

/**
 * Judges the stored trace the way evaluate() and online scoring do ({{ inputs }} and
 * {{ outputs }} resolved from the trace) and returns the user message the judge's LLM got.
 */
export async function judgePrompt(sim: ProviderSimulator, trace: TraceJson): Promise<{ prompt: string; error: unknown }> {
  const judge = makeJudge({
    name: "answers_question",
    instructions: "Does {{ outputs }} answer {{ inputs }}? Rate as one of: yes, no",
    model: "openai:/judge-model",
  });
  const before = sim.requests.length;
  const fb = await judge({ trace });
  const req = sim.requests.slice(before).find((r) => r.model === "judge-model");
  const messages = (req?.body?.messages ?? []) as { role: string; content: string }[];
  return { prompt: messages.filter((m) => m.role === "user").map((m) => m.content).join("\n"), error: fb.error };
}

/** A TCP port free right now on loopback (for the gRPC receiver, whose default 4317 may be taken). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
