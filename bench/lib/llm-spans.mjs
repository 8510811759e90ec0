// Realistic LLM-app spans for benchmarks (about 1.2 KB each in OTLP protobuf): traces of
// four spans — an agent root, then LLM, tool and retrieval children — with GenAI
// semantic-convention attributes, JSON inputs and outputs, and two events. Deterministic
// for a given seed, so every run encodes the same bytes.
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";

export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function hex(rand, bytes) {
  let s = "";
  for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, "0");
  return s;
}

const WORDS = ("the a judge answer question customer refund policy order shipping delay because " +
  "please thanks account billing invoice product warranty return window days support").split(" ");

function sentence(rand, words) {
  const out = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)]);
  return out.join(" ");
}

const RESOURCE = resourceFromAttributes({
  "service.name": "support-bot",
  "service.version": "1.4.2",
  "deployment.environment": "production",
  "telemetry.sdk.language": "nodejs",
  "telemetry.sdk.name": "opentelemetry",
  "telemetry.sdk.version": "2.12.1",
  "host.name": "ip-10-0-3-17",
  "process.pid": 4242,
});
const SCOPE = { name: "gavel", version: "0.1.0" };

/** `n` ReadableSpan-shaped objects, as the OTel SDK hands them to exporters. */
export function buildSpans(n, seed = 42, t0 = Math.floor(Date.now() / 1000) - 3600) {
  const rand = rng(seed);
  const spans = [];
  let traceId = hex(rand, 16);
  let rootId = "";
  for (let i = 0; i < n; i++) {
    const pos = i % 4;
    if (pos === 0) {
      traceId = hex(rand, 16);
      rootId = hex(rand, 8);
    }
    // Per-span constants: spanContext() is called later (by the serializer), so it must not
    // close over the loop's `traceId`, which by then names the last trace of the batch.
    const tid = traceId;
    const parentId = rootId;
    const spanId = pos === 0 ? rootId : hex(rand, 8);
    const startNs = Math.floor(rand() * 1e9);
    const durNs = 50_000_000 + Math.floor(rand() * 2e9);
    const question = sentence(rand, 16);
    const answer = sentence(rand, 20);
    const attributes = {
      "gen_ai.system": "openai",
      "gen_ai.operation.name": pos === 1 ? "chat" : "invoke_agent",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
      "gen_ai.response.id": "chatcmpl-" + hex(rand, 12),
      "gen_ai.request.temperature": 0.2,
      "gen_ai.request.max_tokens": 512,
      "gen_ai.usage.input_tokens": 200 + Math.floor(rand() * 800),
      "gen_ai.usage.output_tokens": 20 + Math.floor(rand() * 300),
      "gen_ai.response.finish_reasons": ["stop"],
      "gavel.span_type": pos === 0 ? "AGENT" : pos === 1 ? "LLM" : pos === 2 ? "TOOL" : "RETRIEVER",
      "gavel.experiment_id": "exp-7f3a9c",
      "session.id": "sess-" + hex(rand, 6),
      "gavel.inputs": JSON.stringify({ messages: [{ role: "system", content: "You are a support agent." }, { role: "user", content: question }] }),
      "gavel.outputs": JSON.stringify({ role: "assistant", content: answer }),
    };
    spans.push({
      name: pos === 0 ? "support_agent" : pos === 1 ? "chat gpt-4o-mini" : pos === 2 ? "lookup_order" : "retrieve_docs",
      kind: pos === 1 ? 2 : 0,
      spanContext: () => ({ traceId: tid, spanId, traceFlags: 1 }),
      parentSpanContext: pos === 0 ? undefined : { traceId: tid, spanId: parentId, traceFlags: 1, isRemote: false },
      startTime: [t0 + i, startNs],
      endTime: [t0 + i + Math.floor((startNs + durNs) / 1e9), (startNs + durNs) % 1e9],
      status: { code: 1 },
      attributes,
      links: [],
      events: [
        { name: "gen_ai.content.prompt", time: [t0 + i, startNs + 1000], attributes: { "gen_ai.prompt": question.slice(0, 80) } },
        { name: "gen_ai.content.completion", time: [t0 + i, startNs + 2000], attributes: { "gen_ai.completion": answer.slice(0, 80) } },
      ],
      duration: [Math.floor(durNs / 1e9), durNs % 1e9],
      ended: true,
      resource: RESOURCE,
      instrumentationScope: SCOPE,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    });
  }
  return spans;
}

/**
 * The shape of generated spans, read back through `spanContext()` as an exporter reads it:
 * how many traces, and the fewest/most spans and root spans per trace.
 */
export function traceShape(spans) {
  const traces = new Map();
  for (const s of spans) {
    const { traceId } = s.spanContext();
    const t = traces.get(traceId) ?? { spans: 0, roots: 0 };
    t.spans++;
    if (!s.parentSpanContext) t.roots++;
    else if (s.parentSpanContext.traceId !== traceId) throw new Error(`span ${s.spanContext().spanId} has a parent in another trace`);
    traces.set(traceId, t);
  }
  const v = [...traces.values()];
  return {
    traces: traces.size,
    minSpans: Math.min(...v.map((t) => t.spans)),
    maxSpans: Math.max(...v.map((t) => t.spans)),
    minRoots: Math.min(...v.map((t) => t.roots)),
    maxRoots: Math.max(...v.map((t) => t.roots)),
  };
}

/** Throws unless `spans` are whole four-span traces with one root each, as the benchmarks assume. */
export function assertFourSpanTraces(spans) {
  const s = traceShape(spans);
  const want = Math.ceil(spans.length / 4);
  const whole = spans.length % 4 === 0;
  if (s.traces !== want || s.maxSpans !== 4 || (whole && s.minSpans !== 4) || s.minRoots !== 1 || s.maxRoots !== 1) {
    throw new Error(`generated spans have the wrong shape: ${JSON.stringify(s)} for ${spans.length} spans (want ${want} traces of 4 spans, 1 root each)`);
  }
  return s;
}

/** OTLP protobuf request bodies of `spansPerRequest` spans each, all with distinct trace ids. */
export function buildProtobufRequests(count, spansPerRequest) {
  const out = [];
  const seen = new Set();
  for (let i = 0; i < count; i++) {
    const spans = buildSpans(spansPerRequest, 1000 + i);
    assertFourSpanTraces(spans);
    for (const s of spans) {
      const id = s.spanContext().traceId;
      if (s.parentSpanContext === undefined && seen.has(id)) throw new Error(`trace ${id} appears in two requests`);
      seen.add(id);
    }
    out.push(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)));
  }
  return out;
}

let uniqueSent = 0;
/**
 * `template` with a tail that makes the body unique: the collector answers a repeat of an
 * acknowledged request without storing it (collector/src/store/request-dedup.ts), as it must for
 * an exporter's retry, and real exporters never repeat a body otherwise. The tail is an empty
 * ResourceSpans with a schema_url: it adds no rows and keeps the body on the transcoder's path.
 */
export function uniqueBody(template) {
  const tag = Buffer.from(`bench-${process.pid}-${uniqueSent++}`);
  return Buffer.concat([template, Buffer.from([0x0a, tag.length + 2, 0x1a, tag.length]), tag]);
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
