import Anthropic from "@anthropic-ai/sdk";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { complete } from "./complete.js";
import { instrumentAnthropic, instrumentOpenAI } from "./instrument.js";
import { makeJudge } from "./judge.js";
import { recordingRetry, startSimEnv, type SimEnv } from "./testing/sim.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register(); // global tracer provider + AsyncLocalStorage context manager

let env: SimEnv;
beforeAll(async () => {
  env = await startSimEnv();
});
afterAll(async () => {
  await env.close();
  await provider.shutdown();
});
beforeEach(() => {
  env.sim.reset();
  exporter.reset();
});

const spans = () => exporter.getFinishedSpans();
const byName = (name: string) => spans().filter((s) => s.name === name);
const one = (name: string): ReadableSpan => {
  const found = byName(name);
  expect(found, `spans named ${name} among ${spans().map((s) => s.name).join(", ")}`).toHaveLength(1);
  return found[0]!;
};
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const json = (s: ReadableSpan, k: string) => JSON.parse(String(s.attributes[k]));

const SUPPORT = "Rate as one of: excellent, good, poor\nJudge {{ outputs }} for {{ inputs }}.";

describe("the judge's own spans", () => {
  test("a judge span with a GenAI chat child, both marked gavel.judge", async () => {
    const judge = makeJudge({ name: "support_quality", instructions: SUPPORT, model: "openai:/gpt-4o-mini", inferenceParams: { temperature: 0 } });
    const fb = await judge({ inputs: { issue: "Billing" }, outputs: { response: "Sorry" } });
    const js = one("judge support_quality");
    const llm = one("chat gpt-4o-mini");
    expect(js.kind).toBe(SpanKind.INTERNAL);
    expect(js.attributes).toMatchObject({
      "gavel.judge": "true",
      "gavel.span_type": "EVALUATOR",
      "gavel.judge.name": "support_quality",
      "gavel.judge.model": "openai:/gpt-4o-mini",
      "gavel.judge.value": JSON.stringify(fb.value),
    });
    expect(JSON.parse(String(js.attributes["gavel.inputs"]))).toMatchObject({ inputs: { issue: "Billing" } });
    expect(fb.metadata["judgeTraceId"]).toBe(js.spanContext().traceId);
    expect(fb.metadata["judgeSpanId"]).toBe(js.spanContext().spanId);

    expect(llm.kind).toBe(SpanKind.CLIENT);
    expect(parentOf(llm)).toBe(js.spanContext().spanId);
    expect(llm.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.response.model": "gpt-4o-mini",
      "gen_ai.request.temperature": 0,
      "gen_ai.output.type": "json",
      "gen_ai.response.finish_reasons": ["stop"],
      "gavel.judge": "true",
      "gavel.span_type": "LLM",
      "server.address": "127.0.0.1",
    });
    expect(llm.attributes["gen_ai.usage.input_tokens"]).toBe(fb.metadata["inputTokens"]);
    expect(llm.attributes["gen_ai.usage.output_tokens"]).toBe(fb.metadata["outputTokens"]);
    expect(json(llm, "gen_ai.system_instructions")[0].content).toContain("Rate as one of");
    expect(json(llm, "gen_ai.input.messages")).toEqual([
      { role: "user", parts: [{ type: "text", content: expect.stringContaining('"issue": "Billing"') }] },
    ]);
    expect(json(llm, "gen_ai.output.messages")[0]).toMatchObject({ role: "assistant", finish_reason: "stop" });
  });

  test("nested under the caller's active span; re-asks are separate LLM spans", async () => {
    env.sim.script([{ content: { rationale: "x", result: "great" } }]);
    const judge = makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" });
    const tracer = trace.getTracer("app");
    await tracer.startActiveSpan("app.request", async (span) => {
      await judge({ inputs: "i", outputs: "o" });
      span.end();
    });
    const app = one("app.request");
    const js = one("judge q");
    expect(parentOf(js)).toBe(app.spanContext().spanId);
    expect(js.spanContext().traceId).toBe(app.spanContext().traceId);
    const llms = byName("chat gpt-4o-mini");
    expect(llms).toHaveLength(2);
    for (const l of llms) expect(parentOf(l)).toBe(js.spanContext().spanId);
    expect(js.events.map((e) => e.name)).toEqual(["gavel.judge.invalid_answer"]);
  });

  test("content capture off: no messages, no inputs", async () => {
    process.env["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "false";
    try {
      await makeJudge({ name: "q", instructions: SUPPORT, model: "anthropic:/claude-haiku-4-5" })({ inputs: "i", outputs: "o" });
    } finally {
      delete process.env["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"];
    }
    const llm = one("chat claude-haiku-4-5");
    expect(llm.attributes["gen_ai.input.messages"]).toBeUndefined();
    expect(llm.attributes["gen_ai.output.messages"]).toBeUndefined();
    expect(llm.attributes["gen_ai.system_instructions"]).toBeUndefined();
    expect(llm.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
    expect(one("judge q").attributes["gavel.inputs"]).toBeUndefined();
  });

  test("the Anthropic SDK's own span is not emitted for judge calls", async () => {
    await makeJudge({ name: "q", instructions: SUPPORT, model: "anthropic:/claude-haiku-4-5" })({ inputs: "i", outputs: "o" });
    expect(spans().map((s) => s.name).sort()).toEqual(["chat claude-haiku-4-5", "judge q"]);
    expect(one("chat claude-haiku-4-5").attributes["gen_ai.provider.name"]).toBe("anthropic");
  });

  test("a failed call: ERROR status, error.type, retry events", async () => {
    env.sim.inject({ kind: "server_error", times: 5 });
    const fb = await makeJudge({ name: "q", instructions: SUPPORT, model: "openai:/gpt-4o-mini" }, { retry: recordingRetry({ maxRetries: 2 }) })({
      inputs: "i",
      outputs: "o",
    });
    expect(fb.error?.code).toBe("PROVIDER_ERROR");
    const llm = one("chat gpt-4o-mini");
    expect(llm.status.code).toBe(SpanStatusCode.ERROR);
    expect(llm.attributes["error.type"]).toBe("PROVIDER_ERROR");
    expect(llm.events.filter((e) => e.name === "gavel.llm.retry")).toHaveLength(2);
    const js = one("judge q");
    expect(js.status.code).toBe(SpanStatusCode.ERROR);
    expect(js.attributes["gavel.judge.error_code"]).toBe("PROVIDER_ERROR");
  });

  test("complete() marks optimizer calls as judge traffic too", async () => {
    await complete("openai:/gpt-4o-mini", { messages: [{ role: "user", content: "hi" }] });
    expect(one("chat gpt-4o-mini").attributes["gavel.judge"]).toBe("true");
  });
});

describe("instrumentOpenAI", () => {
  const client = () => instrumentOpenAI(new OpenAI({ apiKey: "sk-test", baseURL: env.sim.openaiBaseUrl, maxRetries: 0 }));

  test("chat.completions.create: a GenAI span under the caller's span; result and withResponse untouched", async () => {
    const openai = client();
    const tracer = trace.getTracer("app");
    const res = await tracer.startActiveSpan("customerSupportApp", async (span) => {
      const r = await openai.chat.completions.create({
        model: "gpt-4o",
        temperature: 0.2,
        max_tokens: 50,
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Reset my password" },
        ],
      });
      span.end();
      return r;
    });
    expect(res.object).toBe("chat.completion");
    const app = one("customerSupportApp");
    const llm = one("chat gpt-4o");
    expect(parentOf(llm)).toBe(app.spanContext().spanId);
    expect(llm.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.response.model": "gpt-4o",
      "gen_ai.response.id": res.id,
      "gen_ai.request.temperature": 0.2,
      "gen_ai.request.max_tokens": 50,
      "gen_ai.usage.input_tokens": res.usage!.prompt_tokens,
      "gen_ai.usage.output_tokens": res.usage!.completion_tokens,
    });
    expect(llm.attributes["gavel.judge"]).toBeUndefined();
    expect(json(llm, "gen_ai.input.messages")).toEqual([
      { role: "system", parts: [{ type: "text", content: "Be brief." }] },
      { role: "user", parts: [{ type: "text", content: "Reset my password" }] },
    ]);
    expect(json(llm, "gen_ai.output.messages")).toEqual([
      { role: "assistant", parts: [{ type: "text", content: res.choices[0]!.message.content }], finish_reason: "stop" },
    ]);

    exporter.reset();
    const { data, response } = await openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).withResponse();
    expect(response.status).toBe(200);
    expect(data.choices).toHaveLength(1);
    expect(byName("chat gpt-4o")).toHaveLength(1);
  });

  test("streaming: the span ends when the stream does, with accumulated text and usage", async () => {
    const openai = client();
    const stream = await openai.chat.completions.create({
      model: "gpt-4o",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Tell me about billing discrepancy handling" }],
    });
    expect(byName("chat gpt-4o")).toHaveLength(0); // still open
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    const llm = one("chat gpt-4o");
    expect(text).toMatch(/Simulated reply/);
    expect(llm.attributes["gen_ai.request.stream"]).toBe(true);
    expect(llm.attributes["gen_ai.usage.output_tokens"]).toBe(usage!.completion_tokens);
    expect(llm.attributes["gen_ai.response.finish_reasons"]).toEqual(["stop"]);
    expect(json(llm, "gen_ai.output.messages")[0].parts[0].content).toBe(text);
  });

  test("the SDK's stream helper and early break are covered", async () => {
    const openai = client();
    const runner = openai.chat.completions.stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] });
    const final = await runner.finalChatCompletion();
    const llm = one("chat gpt-4o-mini");
    expect(json(llm, "gen_ai.output.messages")[0].parts[0].content).toBe(final.choices[0]!.message.content);

    exporter.reset();
    const stream = await openai.chat.completions.create({ model: "gpt-4o", stream: true, messages: [{ role: "user", content: "a long answer please" }] });
    for await (const _chunk of stream) break;
    const s = one("chat gpt-4o");
    expect(s.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  test("forced tool calls are recorded as tool_call parts", async () => {
    const openai = client();
    await openai.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "weather in Paris" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    const out = json(one("chat gpt-4o"), "gen_ai.output.messages");
    expect(out[0]).toMatchObject({ finish_reason: "tool_calls", parts: [{ type: "tool_call", name: "get_weather", arguments: { city: expect.any(String) } }] });
  });

  test("responses.create, plain and streamed", async () => {
    const openai = client();
    const r = await openai.responses.create({ model: "gpt-4.1", instructions: "Be kind.", input: "Hi there" });
    expect(r.output_text).toMatch(/Simulated reply/);
    const s1 = one("chat gpt-4.1");
    expect(s1.attributes["gen_ai.usage.input_tokens"]).toBe(r.usage!.input_tokens);
    expect(json(s1, "gen_ai.system_instructions")).toEqual([{ type: "text", content: "Be kind." }]);
    expect(json(s1, "gen_ai.output.messages")[0].parts[0]).toEqual({ type: "text", content: r.output_text });

    exporter.reset();
    const stream = await openai.responses.create({ model: "gpt-4.1", input: [{ role: "user", content: "Stream please" }], stream: true });
    let text = "";
    for await (const ev of stream) if (ev.type === "response.output_text.delta") text += ev.delta;
    const s2 = one("chat gpt-4.1");
    expect(s2.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);
    expect(json(s2, "gen_ai.output.messages")[0].parts[0].content).toBe(text);
  });

  test("embeddings.create", async () => {
    const openai = client();
    const r = await openai.embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"], dimensions: 8 });
    expect(r.data[0]!.embedding).toHaveLength(8);
    const s = one("embeddings text-embedding-3-small");
    expect(s.attributes).toMatchObject({
      "gen_ai.operation.name": "embeddings",
      "gen_ai.embeddings.dimension.count": 8,
      "gen_ai.usage.input_tokens": r.usage.prompt_tokens,
    });
  });

  test("errors end the span with ERROR; instrumenting twice does not double spans", async () => {
    const openai = instrumentOpenAI(client());
    env.sim.script([{ status: 400, errorMessage: "bad things" }]);
    await expect(openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })).rejects.toThrow(/bad things/);
    const s = one("chat gpt-4o");
    expect(s.status.code).toBe(SpanStatusCode.ERROR);
    expect(s.attributes["error.type"]).toBe("400");
  });
});

describe("instrumentAnthropic", () => {
  const client = () => instrumentAnthropic(new Anthropic({ apiKey: "sk-ant-test", baseURL: env.sim.anthropicBaseUrl, maxRetries: 0 }));

  test("messages.create: one GenAI span (the SDK's own span is replaced)", async () => {
    const anthropic = client();
    const tracer = trace.getTracer("app");
    const msg = await tracer.startActiveSpan("app", async (span) => {
      const m = await anthropic.messages.create({
        model: "claude-opus-4-1-20250805",
        max_tokens: 200,
        system: "You are support.",
        messages: [{ role: "user", content: "My invoice is wrong" }],
      });
      span.end();
      return m;
    });
    expect(spans().map((s) => s.name).sort()).toEqual(["app", "chat claude-opus-4-1-20250805"]);
    const llm = one("chat claude-opus-4-1-20250805");
    expect(parentOf(llm)).toBe(one("app").spanContext().spanId);
    expect(llm.attributes).toMatchObject({
      "gen_ai.provider.name": "anthropic",
      "gen_ai.request.model": "claude-opus-4-1-20250805",
      "gen_ai.request.max_tokens": 200,
      "gen_ai.response.id": msg.id,
      "gen_ai.usage.input_tokens": msg.usage.input_tokens,
      "gen_ai.usage.output_tokens": msg.usage.output_tokens,
      "gen_ai.response.finish_reasons": ["end_turn"],
    });
    expect(json(llm, "gen_ai.system_instructions")).toEqual([{ type: "text", content: "You are support." }]);
    expect(json(llm, "gen_ai.input.messages")).toEqual([{ role: "user", parts: [{ type: "text", content: "My invoice is wrong" }] }]);
    const block = msg.content[0];
    expect(json(llm, "gen_ai.output.messages")[0].parts[0]).toEqual({ type: "text", content: block?.type === "text" ? block.text : "" });
  });

  test("keepSdkSpans keeps the SDK's own span beside ours (so replacing it is a real change)", async () => {
    const anthropic = instrumentAnthropic(new Anthropic({ apiKey: "k", baseURL: env.sim.anthropicBaseUrl, maxRetries: 0 }), { keepSdkSpans: true });
    await anthropic.messages.create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    const names = spans().map((s) => s.name).sort();
    expect(names).toEqual(["anthropic.messages.create", "chat claude-haiku-4-5"]);
    // The SDK's span nests under ours, because ours is active during the call.
    expect(parentOf(one("anthropic.messages.create"))).toBe(one("chat claude-haiku-4-5").spanContext().spanId);
  });

  test("streaming with stream: true and with the messages.stream() helper", async () => {
    const anthropic = client();
    const stream = await anthropic.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 100,
      stream: true,
      messages: [{ role: "user", content: "Explain refunds" }],
    });
    let text = "";
    for await (const ev of stream) if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
    const s1 = one("chat claude-haiku-4-5");
    expect(s1.attributes["gen_ai.request.stream"]).toBe(true);
    expect(s1.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
    expect(s1.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);
    expect(json(s1, "gen_ai.output.messages")[0]).toEqual({ role: "assistant", parts: [{ type: "text", content: text }], finish_reason: "end_turn" });

    exporter.reset();
    const helper = anthropic.messages.stream({ model: "claude-haiku-4-5", max_tokens: 100, messages: [{ role: "user", content: "Hi" }] });
    const final = await helper.finalMessage();
    expect(spans().map((s) => s.name)).toEqual(["chat claude-haiku-4-5"]);
    const s2 = one("chat claude-haiku-4-5");
    expect(s2.attributes["gen_ai.usage.output_tokens"]).toBe(final.usage.output_tokens);
  });

  test("tool use in a stream is accumulated into a tool_call part", async () => {
    const anthropic = client();
    const stream = await anthropic.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 100,
      stream: true,
      tools: [{ name: "lookup", input_schema: { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: 9 } } } }],
      tool_choice: { type: "tool", name: "lookup" },
      messages: [{ role: "user", content: "find order" }],
    });
    for await (const _ev of stream) {
      // drain
    }
    const out = json(one("chat claude-haiku-4-5"), "gen_ai.output.messages");
    expect(out[0]).toMatchObject({ finish_reason: "tool_use", parts: [{ type: "tool_call", name: "lookup", arguments: { id: expect.any(Number) } }] });
  });
});
