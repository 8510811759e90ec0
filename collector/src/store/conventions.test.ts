/**
 * Every convention of @gavel/conventions, one row each: a span as the client writes it goes
 * into otel_traces (real chDB), and the materialized columns (SpanType, GenAiModel, InputTokens,
 * OutputTokens, TotalTokens) and the payload expressions must give the expected values, equal
 * to what the JavaScript reader (the judges' trace formatter) gives for the same span.
 * Then the trace-level rule: a root without payloads takes them from its outermost span that
 * has them, whatever the order and batching of arrival.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { spanText, spanTokens, type SpanAttributesLike } from "@gavel/conventions";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreClient, type StoreClient } from "./clickhouse.js";
import { migrate } from "./migrations.js";
import { INPUTS_EXPR, OUTPUTS_EXPR } from "./schema.js";
import { fillTracePayloads } from "./queries/trace-io.js";
import { getTrace } from "./queries/traces.js";
import { listSessions, sessionTraceIds } from "./queries/sessions.js";

interface Expected {
  inputs: string;
  outputs: string;
  spanType: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}
interface Row {
  name: string;
  attrs: Record<string, string>;
  events?: { name: string; attrs: Record<string, string> }[];
  expect: Partial<Expected>;
}

const msgs = (...m: [string, string][]) => JSON.stringify(m.map(([role, content]) => ({ role, content })));

const ROWS: Row[] = [
  {
    name: "Gavel SDK",
    attrs: { "gavel.inputs": '{"q":"hi"}', "gavel.outputs": '"ok"', "gavel.span_type": "CHAIN" },
    expect: { inputs: '{"q":"hi"}', outputs: '"ok"', spanType: "CHAIN" },
  },
  {
    name: "MLflow",
    attrs: { "mlflow.spanInputs": '{"question":"q"}', "mlflow.spanOutputs": '"a"', "mlflow.spanType": '"LLM"' },
    expect: { inputs: '{"question":"q"}', outputs: '"a"', spanType: "LLM" },
  },
  {
    name: "OpenInference LLM span (messages before the request body)",
    attrs: {
      "openinference.span.kind": "LLM",
      "input.value": '{"messages":[{"role":"user","content":"What is 2+2?"}],"model":"gpt-4o-mini"}',
      "output.value": '{"choices":[]}',
      "llm.input_messages.0.message.role": "system",
      "llm.input_messages.0.message.content": "Be brief.",
      "llm.input_messages.1.message.role": "user",
      "llm.input_messages.1.message.content": "What is 2+2?",
      "llm.output_messages.0.message.role": "assistant",
      "llm.output_messages.0.message.content": "4",
      "llm.model_name": "gpt-4o-mini-2024-07-18",
      "llm.token_count.prompt": "12",
      "llm.token_count.completion": "1",
      "llm.token_count.total": "13",
    },
    expect: {
      inputs: msgs(["system", "Be brief."], ["user", "What is 2+2?"]),
      outputs: msgs(["assistant", "4"]),
      spanType: "LLM",
      model: "gpt-4o-mini-2024-07-18",
      inputTokens: 12,
      outputTokens: 1,
      totalTokens: 13,
    },
  },
  {
    name: "OpenInference chain span",
    attrs: { "openinference.span.kind": "CHAIN", "input.value": "What?", "output.value": "That." },
    expect: { inputs: "What?", outputs: "That.", spanType: "CHAIN" },
  },
  {
    name: "GenAI semantic conventions, current attributes",
    attrs: {
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.response.model": "gpt-4o-2024-08-06",
      "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]',
      "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text","content":"Hello"}]}]',
      "gen_ai.usage.input_tokens": "7",
      "gen_ai.usage.output_tokens": "2",
    },
    expect: {
      inputs: '[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]',
      outputs: '[{"role":"assistant","parts":[{"type":"text","content":"Hello"}]}]',
      spanType: "LLM",
      model: "gpt-4o",
      inputTokens: 7,
      outputTokens: 2,
      totalTokens: 9,
    },
  },
  {
    name: "GenAI semantic conventions, older prompt/completion events",
    attrs: { "gen_ai.operation.name": "embeddings", "gen_ai.usage.prompt_tokens": "5", "gen_ai.usage.completion_tokens": "6" },
    events: [
      { name: "gen_ai.content.prompt", attrs: { "gen_ai.prompt": '[{"role":"user","content":"Q"}]' } },
      { name: "gen_ai.content.completion", attrs: { "gen_ai.completion": '[{"role":"assistant","content":"A"}]' } },
    ],
    expect: { inputs: '[{"role":"user","content":"Q"}]', outputs: '[{"role":"assistant","content":"A"}]', spanType: "EMBEDDING", inputTokens: 5, outputTokens: 6, totalTokens: 11 },
  },
  {
    name: "OpenLLMetry LLM span",
    attrs: {
      "llm.request.type": "chat",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.prompt.0.role": "user",
      "gen_ai.prompt.0.content": "Capital of France?",
      "gen_ai.completion.0.role": "assistant",
      "gen_ai.completion.0.content": "Paris",
      "gen_ai.completion.0.finish_reason": "stop",
      "gen_ai.usage.prompt_tokens": "10",
      "gen_ai.usage.completion_tokens": "3",
      "llm.usage.total_tokens": "14",
    },
    expect: {
      inputs: msgs(["user", "Capital of France?"]),
      outputs: msgs(["assistant", "Paris"]),
      spanType: "LLM",
      model: "gpt-4o-mini",
      inputTokens: 10,
      outputTokens: 3,
      totalTokens: 14,
    },
  },
  {
    name: "OpenLLMetry workflow span",
    attrs: { "traceloop.span.kind": "workflow", "traceloop.entity.input": '{"args":["q"]}', "traceloop.entity.output": '"a"' },
    expect: { inputs: '{"args":["q"]}', outputs: '"a"', spanType: "CHAIN" },
  },
  {
    name: "Vercel AI SDK generateText (outer span)",
    attrs: {
      "ai.operationId": "ai.generateText",
      "ai.prompt": '{"prompt":"Why is the sky blue?"}',
      "ai.response.text": "Rayleigh scattering.",
      "ai.model.id": "gpt-4o-mini",
      "ai.usage.promptTokens": "8",
      "ai.usage.completionTokens": "4",
    },
    // Its usage repeats the provider call's (the doGenerate span below it): read there only.
    expect: { inputs: '{"prompt":"Why is the sky blue?"}', outputs: "Rayleigh scattering.", spanType: "CHAIN", model: "gpt-4o-mini" },
  },
  {
    name: "Vercel AI SDK doStream (older usage names)",
    attrs: {
      "ai.operationId": "ai.streamText.doStream",
      "ai.model.id": "gpt-4o-mini",
      "ai.usage.promptTokens": "8",
      "ai.usage.completionTokens": "4",
    },
    expect: { spanType: "LLM", model: "gpt-4o-mini", inputTokens: 8, outputTokens: 4, totalTokens: 12 },
  },
  {
    name: "Vercel AI SDK embed: usage on ai.embed.doEmbed, not again on ai.embed",
    attrs: { "ai.operationId": "ai.embed.doEmbed", "ai.model.id": "text-embedding-3-small", "ai.usage.tokens": "6" },
    expect: { spanType: "EMBEDDING", model: "text-embedding-3-small", inputTokens: 6, totalTokens: 6 },
  },
  {
    name: "Vercel AI SDK embed (outer span)",
    attrs: { "ai.operationId": "ai.embed", "ai.model.id": "text-embedding-3-small", "ai.usage.tokens": "6" },
    expect: { spanType: "EMBEDDING", model: "text-embedding-3-small" },
  },
  {
    name: "Traceloop's SDK translating the AI SDK's generateObject span (gen_ai.usage.* on the wrapper)",
    attrs: {
      "ai.operationId": "ai.generateObject",
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.usage.input_tokens": "8",
      "gen_ai.usage.output_tokens": "4",
      "llm.usage.total_tokens": "12",
    },
    expect: { spanType: "LLM", model: "gpt-4o-mini" },
  },
  {
    name: "OpenInference token names on the AI SDK's generateText span (a translating processor)",
    attrs: { "ai.operationId": "ai.generateText", "openinference.span.kind": "LLM", "llm.token_count.prompt": "8", "llm.token_count.completion": "4" },
    expect: { spanType: "LLM" },
  },
  {
    name: "AI SDK usage names on a span without ai.operationId (not the SDK's own span)",
    attrs: { "ai.usage.inputTokens": "3", "ai.usage.outputTokens": "1" },
    expect: { inputTokens: 3, outputTokens: 1, totalTokens: 4 },
  },
  {
    name: "Vercel AI SDK doGenerate (newer usage names)",
    attrs: {
      "ai.operationId": "ai.generateText.doGenerate",
      "ai.prompt.messages": '[{"role":"user","content":[{"type":"text","text":"Hi"}]}]',
      "ai.response.text": "Hello",
      "ai.model.id": "gpt-4o-mini",
      "ai.usage.inputTokens": "3",
      "ai.usage.outputTokens": "1",
      "ai.usage.totalTokens": "4",
    },
    expect: { inputs: '[{"role":"user","content":[{"type":"text","text":"Hi"}]}]', outputs: "Hello", spanType: "LLM", model: "gpt-4o-mini", inputTokens: 3, outputTokens: 1, totalTokens: 4 },
  },
  {
    name: "Vercel AI SDK generateObject",
    attrs: { "ai.operationId": "ai.generateObject", "ai.prompt": '{"prompt":"p"}', "ai.response.object": '{"n":1}' },
    expect: { inputs: '{"prompt":"p"}', outputs: '{"n":1}', spanType: "CHAIN" },
  },
  {
    name: "Langfuse generation",
    attrs: {
      "langfuse.observation.type": "generation",
      "langfuse.observation.input": '[{"role":"user","content":"Q"}]',
      "langfuse.observation.output": '{"role":"assistant","content":"A"}',
      "langfuse.observation.model.name": "gpt-4.1",
      "langfuse.observation.usage_details": '{"input":11,"output":22,"total":33}',
    },
    expect: {
      inputs: '[{"role":"user","content":"Q"}]',
      outputs: '{"role":"assistant","content":"A"}',
      spanType: "LLM",
      model: "gpt-4.1",
      inputTokens: 11,
      outputTokens: 22,
      totalTokens: 33,
    },
  },
  {
    name: "Langfuse trace attributes",
    attrs: { "langfuse.observation.type": "span", "langfuse.trace.input": '"question"', "langfuse.trace.output": '"answer"' },
    expect: { inputs: '"question"', outputs: '"answer"', spanType: "CHAIN" },
  },
  {
    name: "no convention",
    attrs: { "http.method": "GET" },
    expect: {},
  },
];

const DEFAULTS: Expected = { inputs: "", outputs: "", spanType: "", model: "", inputTokens: 0, outputTokens: 0, totalTokens: 0 };

let store: StoreClient;
let client: ClickHouseClient;
let dir: string;

const hex = (n: number, len: number) => n.toString(16).padStart(len, "0");
const T0 = 1_700_000_000_000_000_000n;

interface SpanIn {
  trace: number;
  span: number;
  parent?: number;
  startMs: number;
  durMs: number;
  attrs?: Record<string, string>;
  events?: { name: string; attrs: Record<string, string> }[];
}

function otelRow(s: SpanIn): Record<string, unknown> {
  const ev = s.events ?? [];
  return {
    Timestamp: (T0 + BigInt(s.startMs) * 1_000_000n).toString(),
    TraceId: hex(s.trace, 32),
    SpanId: hex(s.span, 16),
    ParentSpanId: s.parent !== undefined ? hex(s.parent, 16) : "",
    SpanName: `span ${s.span}`,
    SpanKind: "Internal",
    ServiceName: "svc",
    ResourceAttributes: {},
    SpanAttributes: s.attrs ?? {},
    Duration: String(s.durMs * 1_000_000),
    StatusCode: "Unset",
    StatusMessage: "",
    "Events.Timestamp": ev.map(() => T0.toString()),
    "Events.Name": ev.map((e) => e.name),
    "Events.Attributes": ev.map((e) => e.attrs),
  };
}

async function insert(spans: SpanIn[]): Promise<void> {
  await client.insert({ table: "otel_traces", values: spans.map(otelRow), format: "JSONEachRow" });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gavel-conventions-"));
  store = await openStoreClient({ dataDir: dir });
  client = store.client;
  await migrate(client);
  await insert(ROWS.map((r, i) => ({ trace: 1, span: i + 1, parent: 1000, startMs: i, durMs: 1, attrs: r.attrs, ...(r.events ? { events: r.events } : {}) })));
});

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("conventions: SQL columns and the JavaScript reader agree", () => {
  it.each(ROWS.map((r, i) => [r.name, r, i + 1] as const))("%s", async (_name, r, span) => {
    const rs = await client.query({
      query: `SELECT ${INPUTS_EXPR} AS inputs, ${OUTPUTS_EXPR} AS outputs, SpanType AS spanType, GenAiModel AS model,
        InputTokens AS inputTokens, OutputTokens AS outputTokens, TotalTokens AS totalTokens
        FROM otel_traces WHERE SpanId = {s:String}`,
      query_params: { s: hex(span, 16) },
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0, output_format_json_escape_forward_slashes: 0 },
    });
    const [sql] = await rs.json<Expected>();
    const expected = { ...DEFAULTS, ...r.expect };
    expect(sql).toEqual(expected);
    const jsSpan: SpanAttributesLike = { attributes: r.attrs, events: (r.events ?? []).map((e) => ({ name: e.name, attributes: e.attrs })) };
    const js: Expected = {
      inputs: spanText("inputs", jsSpan),
      outputs: spanText("outputs", jsSpan),
      spanType: spanText("spanType", jsSpan),
      model: spanText("model", jsSpan),
      inputTokens: spanTokens("inputTokens", jsSpan),
      outputTokens: spanTokens("outputTokens", jsSpan),
      totalTokens: spanTokens("totalTokens", jsSpan),
    };
    expect(js).toEqual(expected);
  });
});

describe("trace inputs and outputs from the outermost span that has them", () => {
  // root (no payload) ─ app step (outputs only, starts at 1) ─ llm (inputs+outputs, starts at 2)
  //                   └ later sibling (inputs, starts at 5)
  const trace = 77;
  const root: SpanIn = { trace, span: 100, startMs: 0, durMs: 100, attrs: { "http.route": "/ask" } };
  const step: SpanIn = { trace, span: 101, parent: 100, startMs: 1, durMs: 90, attrs: { "traceloop.entity.output": '"step out"' } };
  const llm: SpanIn = {
    trace,
    span: 102,
    parent: 101,
    startMs: 2,
    durMs: 50,
    attrs: { "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "the question", "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "the answer" },
  };
  const sibling: SpanIn = { trace, span: 103, parent: 100, startMs: 5, durMs: 10, attrs: { "input.value": "later input" } };

  it("is the same whatever the order and batching of arrival", async () => {
    // Leaves first, one request each, the root last: the common exporter order, reversed.
    await insert([sibling]);
    await insert([llm]);
    await insert([root]);
    await insert([step]);
    const [row] = await fillTracePayloads(client, [{ traceId: hex(trace, 32), inputs: "", outputs: "" }]);
    expect(row).toEqual({ traceId: hex(trace, 32), inputs: msgs(["user", "the question"]), outputs: '"step out"' });
    // The same trace's summary, through getTrace (REST, SDK, UI, evaluate).
    const t = await getTrace(client, hex(trace, 32));
    expect(t?.info.inputs).toEqual([{ role: "user", content: "the question" }]);
    expect(t?.info.outputs).toBe("step out");
  });

  it("keeps the root's own payloads when it has them", async () => {
    await insert([
      { trace: 78, span: 201, parent: 200, startMs: 1, durMs: 5, attrs: { "input.value": "child" , "output.value": "child out" } },
      { trace: 78, span: 200, startMs: 0, durMs: 10, attrs: { "ai.prompt": '{"prompt":"root q"}', "ai.response.text": "root a" } },
    ]);
    const [row] = await fillTracePayloads(client, [{ traceId: hex(78, 32), inputs: "", outputs: "" }]);
    // fillTracePayloads only fills what the summary lacks; the summary itself has the root's.
    const t = await getTrace(client, hex(78, 32));
    expect(t?.info.inputs).toEqual({ prompt: "root q" });
    expect(t?.info.outputs).toBe("root a");
    expect(row!.inputs).toBe("child");
  });
});

describe("trace name, session, user, tags and metadata of other clients", () => {
  // As @langfuse/tracing writes them on the root span (propagateAttributes, observe()).
  const langfuseRoot = {
    "langfuse.observation.type": "span",
    "langfuse.trace.name": "support-chat",
    "session.id": "sess-42",
    "user.id": "user-7",
    "langfuse.trace.tags": '["beta","eu"]',
    "langfuse.trace.metadata.plan": "pro",
  };

  it("names the trace, groups it in its session, and keeps session, user, tags and metadata", async () => {
    await insert([
      { trace: 90, span: 300, startMs: 0, durMs: 10, attrs: langfuseRoot },
      // A child repeating the propagated attributes with other values is not read: the root is.
      { trace: 90, span: 301, parent: 300, startMs: 1, durMs: 5, attrs: { "langfuse.trace.name": "child-name", "session.id": "other" } },
    ]);
    const t = await getTrace(client, hex(90, 32));
    expect(t?.info.name).toBe("support-chat");
    expect(t?.info.tags).toEqual({ beta: "", eu: "" });
    expect(t?.info.metadata).toEqual({ plan: "pro", "mlflow.trace.session": "sess-42", "mlflow.trace.user": "user-7" });
    expect((await listSessions(client, "0", 50)).find((s) => s.sessionId === "sess-42")?.traceCount).toBe(1);
    expect(await sessionTraceIds(client, "0", "sess-42", 10)).toEqual([hex(90, 32)]);
  });

  it("reads Langfuse's older langfuse.session.id / langfuse.user.id, and the root span's name without langfuse.trace.name", async () => {
    await insert([{ trace: 91, span: 310, startMs: 0, durMs: 10, attrs: { "langfuse.session.id": "sess-old", "langfuse.user.id": "user-old" } }]);
    const t = await getTrace(client, hex(91, 32));
    expect(t?.info.name).toBe("span 310");
    expect(t?.info.tags).toEqual({});
    expect(t?.info.metadata).toEqual({ "mlflow.trace.session": "sess-old", "mlflow.trace.user": "user-old" });
    expect(await sessionTraceIds(client, "0", "sess-old", 10)).toEqual([hex(91, 32)]);
  });

  it("names a trace whose root has not arrived by the trace name its spans carry", async () => {
    await insert([{ trace: 93, span: 331, parent: 330, startMs: 1, durMs: 5, attrs: { "langfuse.trace.name": "support-chat", "langfuse.observation.type": "generation" } }]);
    const t = await getTrace(client, hex(93, 32));
    expect(t?.info.name).toBe("support-chat");
  });

  it("lets Gavel's own gavel.tag.* and gavel.metadata.* win over the same keys of other clients", async () => {
    await insert([
      {
        trace: 92,
        span: 320,
        startMs: 0,
        durMs: 10,
        attrs: {
          ...langfuseRoot,
          "gavel.tag.beta": "yes",
          "gavel.metadata.plan": "team",
          "gavel.metadata.mlflow.trace.session": "mlflow-sess",
          "gavel.metadata.mlflow.trace.user": "mlflow-user",
        },
      },
    ]);
    const t = await getTrace(client, hex(92, 32));
    expect(t?.info.tags).toEqual({ beta: "yes", eu: "" });
    expect(t?.info.metadata).toEqual({ plan: "team", "mlflow.trace.session": "mlflow-sess", "mlflow.trace.user": "mlflow-user" });
    expect(await sessionTraceIds(client, "0", "mlflow-sess", 10)).toEqual([hex(92, 32)]);
  });
});
