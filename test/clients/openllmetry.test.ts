/**
 * OpenLLMetry (`@traceloop/instrumentation-openai` on the real `openai` client) → Gavel, answered
 * by the provider simulator: issue 12's row "under a plain OTel span". The SDK row
 * (`@traceloop/node-server-sdk` withWorkflow) is in traceloop-sdk.test.ts: the SDK registers
 * its own global provider, so it runs in its own process.
 */
import { OpenAIInstrumentation } from "@traceloop/instrumentation-openai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useGavel } from "../support/use-gavel.js";
import { useSimulator } from "../support/use-simulator.js";
import { clientTracing, judgePrompt, onlyTraceId, spanColumns, storedTrace, traceTokenSums, type ClientTracing } from "./support.js";

const gavel = useGavel();
const sim = useSimulator();

const QUESTION = "How many legs does a spider have?";
const ANSWER = "A spider has eight legs.";
/** The usage the simulator reports for the call. */
const USAGE = { inputTokens: 12, outputTokens: 5 };

let t: ClientTracing;
let instrumentation: OpenAIInstrumentation;
beforeAll(() => {
  t = clientTracing(gavel().url, "openllmetry-app");
  instrumentation = new OpenAIInstrumentation({ traceContent: true });
  instrumentation.setTracerProvider(t.provider);
  instrumentation.manuallyInstrument(OpenAI);
});
afterAll(async () => {
  instrumentation.disable();
  await t.shutdown();
});

describe("OpenLLMetry", () => {
  it("under a plain OTel span: the LLM span's gen_ai.prompt/completion messages are the trace's", async () => {
    await t.provider.getTracer("app").startActiveSpan("handle-request", async (span) => {
      const client = new OpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
      sim().script([{ content: ANSWER, usage: USAGE }], { api: "openai" });
      await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: QUESTION }] });
      span.end();
    });
    await t.flush();
    const traceId = onlyTraceId(t.memory.getFinishedSpans());
    const trace = await storedTrace(gavel().url, traceId, 2);
    expect(JSON.stringify(trace.info.inputs)).toContain(QUESTION);
    expect(JSON.stringify(trace.info.outputs)).toContain(ANSWER);
    expect(JSON.stringify(trace.info.outputs)).not.toContain(QUESTION);

    const cols = await spanColumns(gavel().store.client, traceId);
    const llm = cols.find((c) => c.SpanType === "LLM");
    expect(llm, JSON.stringify(cols)).toBeDefined();
    expect(llm!.GenAiModel).toMatch(/^gpt-4o-mini/);
    expect([llm!.InputTokens, llm!.OutputTokens, llm!.TotalTokens]).toEqual([12, 5, 17]);
    // The call's usage is on its LLM span only: the trace's sum counts it once.
    expect(await traceTokenSums(gavel().store.client, traceId)).toEqual({ input: 12, output: 5, total: 17 });

    const { prompt, error } = await judgePrompt(sim(), trace);
    expect(error).toBeUndefined();
    expect(prompt).toContain(QUESTION);
    expect(prompt).toContain(ANSWER);
  });
});
