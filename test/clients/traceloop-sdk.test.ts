/**
 * OpenLLMetry's SDK (`@traceloop/node-server-sdk`, its own OTLP exporter with baseUrl = Gavel)
 * with `withWorkflow` and no other wrapper, the model answered by the provider simulator:
 * issue 12's row "OpenLLMetry, no wrapper; withWorkflow". The SDK registers a global tracer
 * provider, hence its own file (process). Also the Vercel AI SDK's spans as the SDK's processor
 * translates them (gen_ai.usage.* on the wrapper span too): the call's tokens count once.
 */
import * as traceloop from "@traceloop/node-server-sdk";
import { trace as otelTrace } from "@opentelemetry/api";
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, jsonSchema } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useGavel } from "../support/use-gavel.js";
import { useSimulator } from "../support/use-simulator.js";
import { judgePrompt, spanColumns, storedTrace, traceTokenSums } from "./support.js";

const gavel = useGavel();
const sim = useSimulator();

const QUESTION = "What is the boiling point of water at sea level?";
const ANSWER = "Water boils at 100 degrees Celsius at sea level.";
/** The usage the simulator reports for the call. */
const USAGE = { inputTokens: 14, outputTokens: 6 };

beforeAll(() => {
  traceloop.initialize({
    appName: "traceloop-app",
    baseUrl: gavel().url,
    apiKey: "unused-without-gavel-keys",
    disableBatch: true,
    silenceInitializationMessage: true,
    traceloopSyncEnabled: false,
    // The SDK types the module as its CommonJS typings; the ESM class is the same object at run time.
    instrumentModules: { openAI: OpenAI as never },
  });
});
afterAll(async () => {
  await traceloop.forceFlush();
});

describe("OpenLLMetry SDK", () => {
  it("withWorkflow, no wrapper: the workflow's traceloop.entity.input/output are the trace's", async () => {
    const client = new OpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
    sim().script([{ content: ANSWER, usage: USAGE }], { api: "openai" });
    let traceId = "";
    const answer = await traceloop.withWorkflow({ name: "answer_question" }, async (question: string) => {
      traceId = otelTrace.getActiveSpan()!.spanContext().traceId;
      const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: question }] });
      return res.choices[0]!.message.content;
    }, QUESTION);
    expect(answer).toBe(ANSWER);
    await traceloop.forceFlush();

    const trace = await storedTrace(gavel().url, traceId, 2);
    expect(trace.info.name).toBe("answer_question.workflow");
    expect(trace.info.spanType).toBe("CHAIN");
    expect(JSON.stringify(trace.info.inputs)).toContain(QUESTION);
    expect(JSON.stringify(trace.info.outputs)).toContain(ANSWER);

    const cols = await spanColumns(gavel().store.client, traceId);
    const llm = cols.find((c) => c.SpanType === "LLM");
    expect(llm, JSON.stringify(cols)).toBeDefined();
    expect(llm!.GenAiModel).toMatch(/^gpt-4o-mini/);
    expect([llm!.InputTokens, llm!.OutputTokens, llm!.TotalTokens]).toEqual([14, 6, 20]);
    // The call's usage is on its LLM span only: the trace's sum counts it once.
    expect(await traceTokenSums(gavel().store.client, traceId)).toEqual({ input: 14, output: 6, total: 20 });

    const { prompt, error } = await judgePrompt(sim(), trace);
    expect(error).toBeUndefined();
    expect(prompt).toContain(QUESTION);
    expect(prompt).toContain(ANSWER);
  });

  it("the Vercel AI SDK's spans translated by the SDK's processor: generateObject's usage counts once", async () => {
    // The SDK's processor rewrites the AI SDK's spans to gen_ai.* on the wrapper (ai.generateObject,
    // whose ai.usage.promptTokens it turns into gen_ai.usage.input_tokens) and on the provider call.
    const openai = createOpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
    sim().script([{ content: { answer: "100 °C" }, usage: { inputTokens: 21, outputTokens: 7 } }], { api: "openai" });
    const { object } = await generateObject({
      model: openai("gpt-4o-mini"),
      schema: jsonSchema<{ answer: string }>({ type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false }),
      prompt: QUESTION,
      experimental_telemetry: { isEnabled: true },
    });
    expect(object).toEqual({ answer: "100 °C" });
    await traceloop.forceFlush();
    // The SDK's own exporter sends the spans; the trace is the one with the AI SDK's wrapper span.
    let traceId = "";
    for (const deadline = Date.now() + 20_000; traceId === "" && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const rs = await gavel().store.client.query({
        query: "SELECT TraceId FROM otel_traces WHERE SpanAttributes['ai.operationId'] = 'ai.generateObject' LIMIT 1",
        format: "JSONEachRow",
      });
      traceId = (await rs.json<{ TraceId: string }>())[0]?.TraceId ?? "";
    }
    expect(traceId, "the ai.generateObject span did not arrive").not.toBe("");
    await storedTrace(gavel().url, traceId, 2);
    const cols = await spanColumns(gavel().store.client, traceId);
    expect(cols.map((c) => c.GenAiModel)).toEqual(["gpt-4o-mini", "gpt-4o-mini"]);
    // Both spans carry the call's usage under the GenAI names…
    const usage = await gavel().store.client.query({
      query: `SELECT SpanAttributes['ai.operationId'] AS op, SpanAttributes['gen_ai.usage.input_tokens'] AS input FROM otel_traces
        WHERE TraceId = {id:String} ORDER BY op`,
      query_params: { id: traceId },
      format: "JSONEachRow",
    });
    expect(await usage.json()).toEqual([
      { op: "ai.generateObject", input: "21" },
      { op: "ai.generateObject.doGenerate", input: "21" },
    ]);
    // …and the trace counts it once.
    expect(await traceTokenSums(gavel().store.client, traceId)).toEqual({ input: 21, output: 7, total: 28 });
  });
});
