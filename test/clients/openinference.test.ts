/**
 * OpenInference (`@arizeai/openinference-instrumentation-openai` on the real `openai` client,
 * `@arizeai/openinference-core` traceChain) → Gavel, answered by the provider simulator:
 * issue 12's rows "under traceChain" and "under a plain OTel span".
 */
import { setSession, setUser, traceChain } from "@arizeai/openinference-core";
import { context } from "@opentelemetry/api";
import { OpenAIInstrumentation } from "@arizeai/openinference-instrumentation-openai";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useGavel } from "../support/use-gavel.js";
import { useSimulator } from "../support/use-simulator.js";
import { clientTracing, judgePrompt, onlyTraceId, spanColumns, storedTrace, traceTokenSums, type ClientTracing } from "./support.js";

const gavel = useGavel();
const sim = useSimulator();

const QUESTION = "What is the capital of Australia?";
const ANSWER = "Canberra is the capital of Australia.";
/** The usage the simulator reports for the call. */
const USAGE = { inputTokens: 11, outputTokens: 4 };

let t: ClientTracing;
let instrumentation: OpenAIInstrumentation;
beforeAll(() => {
  t = clientTracing(gavel().url, "openinference-app");
  instrumentation = new OpenAIInstrumentation({ tracerProvider: t.provider });
  // ESM: the documented way to patch the module the app imported.
  instrumentation.manuallyInstrument(OpenAI);
});
afterAll(async () => {
  instrumentation.disable();
  await t.shutdown();
});
beforeEach(() => t.memory.reset());

async function chat(question: string): Promise<string> {
  const client = new OpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
  sim().script([{ content: ANSWER, usage: USAGE }], { api: "openai" });
  const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: question }] });
  return res.choices[0]!.message.content ?? "";
}

async function expectLlmSpan(traceId: string): Promise<void> {
  const cols = await spanColumns(gavel().store.client, traceId);
  const llm = cols.find((c) => c.SpanType === "LLM");
  expect(llm, JSON.stringify(cols)).toBeDefined();
  expect(llm!.GenAiModel).toMatch(/^gpt-4o-mini/);
  expect([llm!.InputTokens, llm!.OutputTokens, llm!.TotalTokens]).toEqual([11, 4, 15]);
  // The call's usage is on its LLM span only: the trace's sum counts it once.
  expect(await traceTokenSums(gavel().store.client, traceId)).toEqual({ input: 11, output: 4, total: 15 });
}

describe("OpenInference", () => {
  it("under traceChain: the chain span's input.value/output.value are the trace's", async () => {
    const answer = traceChain(chat, { name: "answer-question", tracer: t.provider.getTracer("app") });
    expect(await answer(QUESTION)).toBe(ANSWER);
    await t.flush();
    const traceId = onlyTraceId(t.memory.getFinishedSpans());
    const trace = await storedTrace(gavel().url, traceId, 2);
    expect(trace.info.spanType).toBe("CHAIN");
    expect(JSON.stringify(trace.info.inputs)).toContain(QUESTION);
    expect(JSON.stringify(trace.info.outputs)).toContain(ANSWER);
    await expectLlmSpan(traceId);
    const { prompt, error } = await judgePrompt(sim(), trace);
    expect(error).toBeUndefined();
    expect(prompt).toContain(QUESTION);
    expect(prompt).toContain(ANSWER);
  });

  it("under a plain OTel span: the LLM span's messages are the trace's", async () => {
    await t.provider.getTracer("app").startActiveSpan("handle-request", async (span) => {
      await chat(QUESTION);
      span.end();
    });
    await t.flush();
    const traceId = onlyTraceId(t.memory.getFinishedSpans());
    const trace = await storedTrace(gavel().url, traceId, 2);
    expect(trace.info.inputs).toEqual([{ role: "user", content: QUESTION }]);
    expect(trace.info.outputs).toEqual([{ role: "assistant", content: ANSWER }]);
    await expectLlmSpan(traceId);
    const { prompt, error } = await judgePrompt(sim(), trace);
    expect(error).toBeUndefined();
    expect(prompt).toContain(QUESTION);
    expect(prompt).toContain(ANSWER);
  });

  it("setSession / setUser: the trace's session and MLflow's session and user metadata", async () => {
    const answer = traceChain(chat, { name: "answer-question", tracer: t.provider.getTracer("app") });
    const ctx = setUser(setSession(context.active(), { sessionId: "oi-session-1" }), { userId: "oi-user-1" });
    expect(await context.with(ctx, () => answer(QUESTION))).toBe(ANSWER);
    await t.flush();
    const traceId = onlyTraceId(t.memory.getFinishedSpans());
    const trace = await storedTrace(gavel().url, traceId, 2);
    expect(trace.info.metadata).toEqual({ "mlflow.trace.session": "oi-session-1", "mlflow.trace.user": "oi-user-1" });
    const res = await fetch(`${gavel().url}/api/v1/experiments/0/sessions/oi-session-1`);
    expect(res.status).toBe(200);
    const session = (await res.json()) as { traces: { info: { traceId: string } }[] };
    expect(session.traces.map((x) => x.info.traceId)).toEqual([traceId]);
  });
});
