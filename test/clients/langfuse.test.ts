/**
 * Langfuse (`@langfuse/tracing` observe() and a generation around the real `openai` client,
 * answered by the provider simulator) → Gavel: issue 12's rows "Langfuse SDK
 * (LangfuseSpanProcessor, base URL = Gavel)" and "Langfuse observe() with a plain OTLP exporter".
 * The first goes to Langfuse's own OTLP path with Langfuse's Basic auth (public key : secret
 * key), the secret key being a Gavel API key with the ingest role.
 */
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { getActiveTraceId, observe, setLangfuseTracerProvider, startObservation } from "@langfuse/tracing";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { parseApiKeys } from "../../collector/src/auth/api-keys.js";
import { useGavel } from "../support/use-gavel.js";
import { useSimulator } from "../support/use-simulator.js";
import { clientTracing, judgePrompt, spanColumns, storedTrace } from "./support.js";

const INGEST_KEY = "lf-secret-key-is-a-gavel-ingest-key";
const READ_KEY = "gavel-read-key-for-the-test-0001";
const gavel = useGavel({ apiKeys: parseApiKeys(`${INGEST_KEY}:ingest,${READ_KEY}:read`) });
const sim = useSimulator();
const READ = { authorization: `Bearer ${READ_KEY}` };

const QUESTION = "Which planet is known as the red planet?";
const ANSWER = "Mars is known as the red planet.";

/** The app: observe() around a function whose LLM call is recorded as a Langfuse generation. */
async function runApp(): Promise<string> {
  const client = new OpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
  sim().script([ANSWER], { api: "openai" });
  let traceId = "";
  const answer = observe(
    async (question: string) => {
      traceId = getActiveTraceId()!;
      const messages = [{ role: "user" as const, content: question }];
      const gen = startObservation("openai-chat", { input: messages, model: "gpt-4o-mini" }, { asType: "generation" });
      const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages });
      const u = res.usage!;
      gen.update({ output: res.choices[0]!.message, usageDetails: { input: u.prompt_tokens, output: u.completion_tokens, total: u.total_tokens } }).end();
      return res.choices[0]!.message.content;
    },
    { name: "answer-question" },
  );
  expect(await answer(QUESTION)).toBe(ANSWER);
  return traceId;
}

async function expectStored(traceId: string): Promise<void> {
  const trace = await storedTrace(gavel().url, traceId, 2, READ);
  expect(trace.info.name).toBe("answer-question");
  expect(trace.info.spanType).toBe("CHAIN");
  expect(JSON.stringify(trace.info.inputs)).toContain(QUESTION);
  expect(JSON.stringify(trace.info.outputs)).toContain(ANSWER);

  const cols = await spanColumns(gavel().store.client, traceId);
  const llm = cols.find((c) => c.SpanName === "openai-chat")!;
  expect(llm.SpanType).toBe("LLM");
  expect(llm.GenAiModel).toBe("gpt-4o-mini");
  expect(llm.InputTokens).toBeGreaterThan(0);
  expect(llm.OutputTokens).toBeGreaterThan(0);
  expect(llm.TotalTokens).toBe(llm.InputTokens + llm.OutputTokens);

  const { prompt, error } = await judgePrompt(sim(), trace);
  expect(error).toBeUndefined();
  expect(prompt).toContain(QUESTION);
  expect(prompt).toContain(ANSWER);
}

describe("Langfuse", () => {
  it("LangfuseSpanProcessor with Gavel as the base URL: its path, its Basic auth, its attributes", async () => {
    const processor = new LangfuseSpanProcessor({ baseUrl: gavel().url, publicKey: "pk-lf-anything", secretKey: INGEST_KEY, exportMode: "immediate" });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    setLangfuseTracerProvider(provider);
    try {
      const traceId = await runApp();
      await provider.forceFlush();
      await expectStored(traceId);
    } finally {
      setLangfuseTracerProvider(null);
      await provider.shutdown();
    }
  });

  it("a wrong secret key is refused with 401, naming the role it needs", async () => {
    const res = await fetch(`${gavel().url}/api/public/otel/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from("pk-lf-x:not-a-gavel-key-000000").toString("base64")}` },
      body: "{}",
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('"ingest" role');
  });

  it("observe() with a plain OTLP exporter: langfuse.observation.* attributes", async () => {
    const t = clientTracing(gavel().url, "langfuse-app", undefined, { authorization: `Bearer ${INGEST_KEY}` });
    setLangfuseTracerProvider(t.provider);
    try {
      const traceId = await runApp();
      await t.flush();
      await expectStored(traceId);
    } finally {
      setLangfuseTracerProvider(null);
      await t.shutdown();
    }
  });
});

