/**
 * Vercel AI SDK (`ai` + `@ai-sdk/openai`, experimental_telemetry) → Gavel, the model answered by
 * the provider simulator: issue 12's rows "inside the app's own span" and "no wrapper span".
 */
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { describe, expect, it } from "vitest";
import { useGavel } from "../support/use-gavel.js";
import { useSimulator } from "../support/use-simulator.js";
import { clientTracing, dailyTokenSums, judgePrompt, onlyTraceId, spanColumns, storedTrace, traceTokenSums } from "./support.js";

const gavel = useGavel();
const sim = useSimulator();

const QUESTION = "Why is the sky blue?";
const ANSWER = "Because of Rayleigh scattering of sunlight.";
/** The usage the simulator reports for the call. */
const USAGE = { inputTokens: 17, outputTokens: 5 };

async function ask(wrap: boolean): Promise<string> {
  const t = clientTracing(gavel().url, "vercel-app");
  const tracer = t.provider.getTracer("app");
  const openai = createOpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
  sim().script([{ content: ANSWER, usage: USAGE }], { api: "openai" });
  const call = () =>
    generateText({ model: openai("gpt-4o-mini"), prompt: QUESTION, experimental_telemetry: { isEnabled: true, tracer } });
  if (wrap) await tracer.startActiveSpan("handle-request", async (span) => {
    // The app's own span records nothing of the question: the common production layout.
    span.setAttribute("http.route", "/ask");
    await call();
    span.end();
  });
  else await call();
  await t.flush();
  const id = onlyTraceId(t.memory.getFinishedSpans());
  await t.shutdown();
  return id;
}

describe("Vercel AI SDK", () => {
  it.each([
    ["inside the app's own span", true, 3],
    ["no wrapper span: ai.generateText is the root", false, 2],
  ] as const)("%s: inputs, outputs, model, tokens, span type, and the judge sees them", async (_name, wrap, spanCount) => {
    const daily = await dailyTokenSums(gavel().store.client, "gpt-4o-mini");
    const traceId = await ask(wrap);
    const trace = await storedTrace(gavel().url, traceId, spanCount);
    // ai.generateText (the outermost span with a payload) carries ai.prompt and ai.response.text.
    expect(trace.info.inputs).toEqual({ prompt: QUESTION });
    expect(trace.info.outputs).toBe(ANSWER);

    const cols = await spanColumns(gavel().store.client, traceId);
    const outer = cols.find((c) => c.SpanName === "ai.generateText")!;
    const inner = cols.find((c) => c.SpanName === "ai.generateText.doGenerate")!;
    expect(outer.SpanType).toBe("CHAIN");
    expect(inner.SpanType).toBe("LLM");
    expect(inner.GenAiModel).toBe("gpt-4o-mini");
    // The provider call carries the usage the simulator reported.
    expect([inner.InputTokens, inner.OutputTokens, inner.TotalTokens]).toEqual([17, 5, 22]);
    // ai.generateText repeats it (ai.usage.*): read on the provider call only, so it counts once.
    expect(outer.GenAiModel).toBe("gpt-4o-mini");
    expect([outer.InputTokens, outer.OutputTokens, outer.TotalTokens]).toEqual([0, 0, 0]);
    expect(await traceTokenSums(gavel().store.client, traceId)).toEqual({ input: 17, output: 5, total: 22 });
    const after = await dailyTokenSums(gavel().store.client, "gpt-4o-mini");
    expect({ input: after.input - daily.input, output: after.output - daily.output }).toEqual({ input: 17, output: 5 });

    const { prompt, error } = await judgePrompt(sim(), trace);
    expect(error).toBeUndefined();
    expect(prompt).toContain(QUESTION);
    expect(prompt).toContain(ANSWER);
  });

  it("streamText: the usage of ai.streamText.doStream counts once, not again on ai.streamText", async () => {
    const daily = await dailyTokenSums(gavel().store.client, "gpt-4o-mini");
    const t = clientTracing(gavel().url, "vercel-app");
    const openai = createOpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
    sim().script([{ content: ANSWER, usage: { inputTokens: 9, outputTokens: 4 } }], { api: "openai" });
    const result = streamText({ model: openai("gpt-4o-mini"), prompt: QUESTION, experimental_telemetry: { isEnabled: true, tracer: t.provider.getTracer("app") } });
    expect(await result.text).toBe(ANSWER);
    await t.flush();
    const traceId = onlyTraceId(t.memory.getFinishedSpans());
    await t.shutdown();
    await storedTrace(gavel().url, traceId, 2);
    const cols = await spanColumns(gavel().store.client, traceId);
    const inner = cols.find((c) => c.SpanName === "ai.streamText.doStream")!;
    expect(inner.SpanType).toBe("LLM");
    expect([inner.InputTokens, inner.OutputTokens, inner.TotalTokens]).toEqual([9, 4, 13]);
    expect(await traceTokenSums(gavel().store.client, traceId)).toEqual({ input: 9, output: 4, total: 13 });
    const after = await dailyTokenSums(gavel().store.client, "gpt-4o-mini");
    expect({ input: after.input - daily.input, output: after.output - daily.output }).toEqual({ input: 9, output: 4 });
  });

  it("a tool call and an answer (two steps): each provider call counts once, the steps add up", async () => {
    const t = clientTracing(gavel().url, "vercel-app");
    const openai = createOpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
    // Step 1: the model must call the tool; step 2: it answers.
    sim().script(
      [
        { content: { topic: "sky" }, usage: { inputTokens: 5, outputTokens: 3 } },
        { content: ANSWER, usage: { inputTokens: 11, outputTokens: 4 } },
      ],
      { api: "openai" },
    );
    const lookup = tool({
      description: "Looks a topic up",
      inputSchema: jsonSchema<{ topic: string }>({ type: "object", properties: { topic: { type: "string" } }, required: ["topic"], additionalProperties: false }),
      execute: async ({ topic }) => `Facts about the ${topic}.`,
    });
    const res = await generateText({
      model: openai.chat("gpt-4o-mini"),
      prompt: QUESTION,
      tools: { lookup },
      prepareStep: ({ stepNumber }) => (stepNumber === 0 ? { toolChoice: { type: "tool", toolName: "lookup" } } : { toolChoice: "none" }),
      stopWhen: stepCountIs(2),
      experimental_telemetry: { isEnabled: true, tracer: t.provider.getTracer("app") },
    });
    expect(res.text).toBe(ANSWER);
    expect(res.steps).toHaveLength(2);
    await t.flush();
    const traceId = onlyTraceId(t.memory.getFinishedSpans());
    await t.shutdown();
    // ai.generateText, two ai.generateText.doGenerate, ai.toolCall.
    await storedTrace(gavel().url, traceId, 4);
    const cols = await spanColumns(gavel().store.client, traceId);
    expect(cols.filter((c) => c.SpanName === "ai.generateText.doGenerate").map((c) => [c.InputTokens, c.OutputTokens])).toEqual([
      [5, 3],
      [11, 4],
    ]);
    expect(cols.find((c) => c.SpanName === "ai.toolCall")?.SpanType).toBe("TOOL");
    // ai.generateText repeats the steps' sum, which counts as 0 there.
    const outer = await gavel().store.client.query({
      query: "SELECT SpanAttributes['ai.usage.inputTokens'] AS recorded, InputTokens AS counted FROM otel_traces WHERE TraceId = {id:String} AND SpanName = 'ai.generateText' SETTINGS output_format_json_quote_64bit_integers = 0",
      query_params: { id: traceId },
      format: "JSONEachRow",
    });
    expect(await outer.json()).toEqual([{ recorded: "16", counted: 0 }]);
    expect(await traceTokenSums(gavel().store.client, traceId)).toEqual({ input: 16, output: 7, total: 23 });
  });
});
