/**
 * Vercel AI SDK (`ai` + `@ai-sdk/openai`, experimental_telemetry) → Gavel, the model answered by
 * the provider simulator: issue 12's rows "inside the app's own span" and "no wrapper span".
 */
import { createOpenAI } from "@ai-sdk/openai";
import { generateText } from "ai";
import { describe, expect, it } from "vitest";
import { useGavel } from "../support/use-gavel.js";
import { useSimulator } from "../support/use-simulator.js";
import { clientTracing, judgePrompt, onlyTraceId, spanColumns, storedTrace } from "./support.js";

const gavel = useGavel();
const sim = useSimulator();

const QUESTION = "Why is the sky blue?";
const ANSWER = "Because of Rayleigh scattering of sunlight.";

async function ask(wrap: boolean): Promise<string> {
  const t = clientTracing(gavel().url, "vercel-app");
  const tracer = t.provider.getTracer("app");
  const openai = createOpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
  sim().script([ANSWER], { api: "openai" });
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
    // The simulator counts characters / 4 and reports it as usage.
    expect(inner.InputTokens).toBeGreaterThan(0);
    expect(inner.OutputTokens).toBeGreaterThan(0);
    expect(inner.TotalTokens).toBe(inner.InputTokens + inner.OutputTokens);
    expect(outer.TotalTokens).toBe(inner.TotalTokens);

    const { prompt, error } = await judgePrompt(sim(), trace);
    expect(error).toBeUndefined();
    expect(prompt).toContain(QUESTION);
    expect(prompt).toContain(ANSWER);
  });
});
