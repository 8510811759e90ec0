// Issue 11, items 8 and 7: an exporter that resends a request (its response was lost) must not
// make SQL count its spans twice; a span the trace lookup cannot hold is refused at ingest
// through partial_success instead of being stored unopenable. Bodies come from the
// OpenTelemetry SDK's own serialisers; the store is chDB.
import { describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { context, trace, type HrTime } from "@opentelemetry/api";
import { useGavel } from "../support/use-gavel.js";
import { sql } from "../support/gavel-process.js";

// A linger long enough that copies sent together meet while the first is still being stored.
const gavelOf = useGavel({ batchWaitMs: 150 });

/** One LLM trace (agent root + two chat spans with token counts) from the real SDK. */
function llmTrace(service: string, start?: HrTime): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": service }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("resend-test");
  const root = tracer.startSpan("agent", start ? { startTime: start } : {});
  const ctx = trace.setSpan(context.active(), root);
  for (const [input, output] of [[120, 30], [80, 12]] as const) {
    const chat = tracer.startSpan(
      "chat gpt-4o-mini",
      { attributes: { "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": input, "gen_ai.usage.output_tokens": output }, ...(start ? { startTime: start } : {}) },
      ctx,
    );
    chat.end(start ? [start[0] + 1, start[1]] : undefined);
  }
  root.end(start ? [start[0] + 2, start[1]] : undefined);
  return exporter.getFinishedSpans();
}

const protobuf = (spans: ReadableSpan[]) => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
const json = (spans: ReadableSpan[]) => Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
const PB = { "content-type": "application/x-protobuf" };
const JSON_CT = { "content-type": "application/json" };

const post = (body: Buffer, headers: Record<string, string>) => fetch(`${gavelOf().url}/v1/traces`, { method: "POST", body, headers });

interface Totals {
  spans: number;
  distinctSpans: number;
  inputTokens: number;
  outputTokens: number;
  roots: number;
}

const TOTALS = `SELECT count() AS spans, uniqExact(TraceId, SpanId) AS distinctSpans,
  sum(toUInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens'])) AS inputTokens,
  sum(toUInt64OrZero(SpanAttributes['gen_ai.usage.output_tokens'])) AS outputTokens,
  (SELECT count() FROM gavel_traces WHERE ServiceName = {s:String}) AS roots
FROM otel_traces WHERE ServiceName = {s:String}`;

const numbers = (r: Record<string, unknown>): Totals => ({
  spans: Number(r.spans),
  distinctSpans: Number(r.distinctSpans),
  inputTokens: Number(r.inputTokens),
  outputTokens: Number(r.outputTokens),
  roots: Number(r.roots),
});

/** The same totals read through the store's client and through the SQL endpoint; they must agree. */
async function totals(service: string): Promise<Totals> {
  const rs = await gavelOf().store.client.query({ query: TOTALS, query_params: { s: service }, format: "JSONEachRow" });
  const [viaStore] = await rs.json<Record<string, unknown>>();
  const [viaEndpoint] = await sql(gavelOf().url, TOTALS, { s: service });
  expect(numbers(viaEndpoint!)).toEqual(numbers(viaStore!));
  return numbers(viaStore!);
}

const ONE_TRACE: Totals = { spans: 3, distinctSpans: 3, inputTokens: 200, outputTokens: 42, roots: 1 };

describe("a resent OTLP request is counted once", () => {
  it("protobuf: the identical body sent 3× gives one row per span, one answer each", async () => {
    const body = protobuf(llmTrace("resend-pb"));
    for (let i = 0; i < 3; i++) expect((await post(body, PB)).status).toBe(200);
    expect(await totals("resend-pb")).toEqual(ONE_TRACE);
  });

  it("JSON: the identical body sent 3× gives one row per span, also when a resend is gzip-compressed", async () => {
    const body = json(llmTrace("resend-json"));
    const answers = [await post(body, JSON_CT), await post(body, JSON_CT), await post(gzipSync(body), { ...JSON_CT, "content-encoding": "gzip" })];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(await Promise.all(answers.map((a) => a.json()))).toEqual([{}, {}, {}]);
    expect(await totals("resend-json")).toEqual(ONE_TRACE);
  });

  it("copies that arrive while the first is still being stored wait for it and are not stored again", async () => {
    const before = { ...gavelOf().store.acknowledged.stats };
    const inserted = gavelOf().store.batcher.stats.insertedRows;
    const body = protobuf(llmTrace("resend-inflight"));
    const answers = await Promise.all([post(body, PB), post(body, PB), post(body, PB)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    // The first copy is still lingering in the batcher (batchWaitMs 150) when the others arrive,
    // so at least one of them joins it (both, unless this machine stalls for 150 ms).
    const after = gavelOf().store.acknowledged.stats;
    expect(after.joined - before.joined).toBeGreaterThanOrEqual(1);
    expect(after.joined - before.joined + after.repeated - before.repeated).toBe(2);
    expect(gavelOf().store.batcher.stats.insertedRows - inserted).toBe(3);
    expect(await totals("resend-inflight")).toEqual(ONE_TRACE);
    const metrics = await (await fetch(`${gavelOf().url}/metrics`)).text();
    expect(metrics).toMatch(/gavel_ingest_resent_requests_total\{kind="joined"\} [1-9]/);
  });

  it("the same content with a new span id is a new span and is stored", async () => {
    const body = JSON.parse(json(llmTrace("resend-newid")).toString("utf8")) as { resourceSpans: { scopeSpans: { spans: { spanId: string; name: string }[] }[] }[] };
    expect((await post(Buffer.from(JSON.stringify(body)), JSON_CT)).status).toBe(200);
    const scope = body.resourceSpans[0]!.scopeSpans[0]!;
    const chat = scope.spans.find((s) => s.name.startsWith("chat"))!;
    scope.spans = [{ ...chat, spanId: "1111111111111111" }];
    for (let i = 0; i < 2; i++) expect((await post(Buffer.from(JSON.stringify(body)), JSON_CT)).status).toBe(200);
    const t = await totals("resend-newid");
    expect([t.spans, t.distinctSpans]).toEqual([4, 4]);
    expect(t.inputTokens).toBeGreaterThan(ONE_TRACE.inputTokens);
  });

  it("a request that failed is stored when it is sent again", async () => {
    // Only acknowledged requests are remembered: after a refusal the sender's fixed request is stored.
    const spans = llmTrace("resend-after-error");
    const body = protobuf(spans);
    const bad = Buffer.concat([body, Buffer.from([0x0a, 0xff])]); // truncated field: 400
    expect((await post(bad, PB)).status).toBe(400);
    expect((await post(bad, PB)).status).toBe(400);
    expect((await post(body, PB)).status).toBe(200);
    expect(await totals("resend-after-error")).toEqual(ONE_TRACE);
  });
});

describe("span start times the trace lookup cannot hold", () => {
  const open = (traceId: string) => fetch(`${gavelOf().url}/api/v1/traces/${traceId}`);

  for (const [encoding, encode, headers, field] of [
    ["protobuf", protobuf, PB, "start_time_unix_nano"],
    ["JSON", json, JSON_CT, "startTimeUnixNano"],
  ] as const) {
    it(`${encoding}: a span starting after 2106 is refused through partial_success; the rest are stored and open`, async () => {
      const late = llmTrace(`late-${encoding}`, [4_294_967_295, 0]);
      const now = llmTrace(`late-${encoding}`);
      const lastStorable = llmTrace(`late-${encoding}`, [4_294_967_294, 999_999_999]);
      const res = await post(encode([...late, ...now, ...lastStorable]), headers);
      expect(res.status).toBe(200);
      // Read as the exporters read it: with the SDK's own response deserialisers.
      const bytes = new Uint8Array(await res.arrayBuffer());
      const answer = (encoding === "JSON" ? JsonTraceSerializer : ProtobufTraceSerializer).deserializeResponse(bytes);
      const rejected = Number(answer.partialSuccess?.rejectedSpans);
      const message = answer.partialSuccess?.errorMessage ?? "";
      expect(rejected).toBe(3);
      expect(message).toContain(`${field} 4294967295000000000 is after 2106-02-07T06:28:14Z`);
      expect(message).toContain("send nanoseconds since 1970-01-01");
      const lateId = late[0]!.spanContext().traceId;
      const [stored] = await sql<{ n: string }>(gavelOf().url, "SELECT count() AS n FROM otel_traces WHERE TraceId = {t:String}", { t: lateId });
      expect(Number(stored!.n)).toBe(0);
      expect((await open(lateId)).status).toBe(404);
      for (const t of [now, lastStorable]) {
        const r = await open(t[0]!.spanContext().traceId);
        expect(r.status).toBe(200);
        expect(((await r.json()) as { data: { spans: unknown[] } }).data.spans).toHaveLength(3);
      }
    });
  }

  it("a span with start time 0 (unset) is stored, dated 1970-01-01, and its trace opens", async () => {
    const body = JSON.parse(json(llmTrace("zero-start")).toString("utf8")) as {
      resourceSpans: { scopeSpans: { spans: { traceId: string; startTimeUnixNano: unknown; endTimeUnixNano: unknown }[] }[] }[];
    };
    const spans = body.resourceSpans[0]!.scopeSpans[0]!.spans;
    for (const s of spans) {
      s.startTimeUnixNano = "0";
      s.endTimeUnixNano = "1000";
    }
    const res = await post(Buffer.from(JSON.stringify(body)), JSON_CT);
    expect(await res.json()).toEqual({});
    const r = await open(spans[0]!.traceId);
    expect(r.status).toBe(200);
    const t = (await r.json()) as { data: { spans: { startTimeUnixNano: string }[] } };
    expect(t.data.spans.map((s) => s.startTimeUnixNano)).toEqual(["0", "0", "0"]);
  });
});
