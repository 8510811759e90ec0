/**
 * Langfuse (`@langfuse/tracing` observe() and a generation around the real `openai` client,
 * answered by the provider simulator) → Gavel: issue 12's rows "Langfuse SDK
 * (LangfuseSpanProcessor, base URL = Gavel)" and "Langfuse observe() with a plain OTLP exporter".
 * The first goes to Langfuse's own OTLP path with Langfuse's Basic auth (public key : secret
 * key), the secret key being a Gavel API key with the ingest role, and sets the trace's name,
 * session, user, tags and metadata with propagateAttributes().
 */
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { getActiveTraceId, observe, propagateAttributes, setLangfuseTracerProvider, startObservation } from "@langfuse/tracing";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { parseApiKeys } from "../../collector/src/auth/api-keys.js";
import { useGavel } from "../support/use-gavel.js";
import { useSimulator } from "../support/use-simulator.js";
import { clientTracing, dailyTokenSums, judgePrompt, spanColumns, storedTrace, traceTokenSums } from "./support.js";

const INGEST_KEY = "lf-secret-key-is-a-gavel-ingest-key";
const READ_KEY = "gavel-read-key-for-the-test-0001";
const gavel = useGavel({ apiKeys: parseApiKeys(`${INGEST_KEY}:ingest,${READ_KEY}:read`) });
const sim = useSimulator();
const READ = { authorization: `Bearer ${READ_KEY}` };

const QUESTION = "Which planet is known as the red planet?";
const ANSWER = "Mars is known as the red planet.";

/** The usage the simulator reports for the call. */
const USAGE = { inputTokens: 13, outputTokens: 6 };
/** What the app sets with propagateAttributes(): Langfuse's trace name, session, user, tags and metadata. */
const TRACE_ATTRIBUTES = { traceName: "support-chat", sessionId: "lf-session-1", userId: "lf-user-7", tags: ["beta", "eu"], metadata: { plan: "pro" } };

/**
 * The app: observe() around a function whose LLM call is recorded as a Langfuse generation;
 * with `propagate`, the function sets the trace's attributes first, as Langfuse's docs show.
 */
async function runApp(propagate: boolean): Promise<string> {
  const client = new OpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
  sim().script([{ content: ANSWER, usage: USAGE }], { api: "openai" });
  let traceId = "";
  const call = async (question: string) => {
    traceId = getActiveTraceId()!;
    const messages = [{ role: "user" as const, content: question }];
    const gen = startObservation("openai-chat", { input: messages, model: "gpt-4o-mini" }, { asType: "generation" });
    const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages });
    const u = res.usage!;
    gen.update({ output: res.choices[0]!.message, usageDetails: { input: u.prompt_tokens, output: u.completion_tokens, total: u.total_tokens } }).end();
    return res.choices[0]!.message.content;
  };
  const answer = observe((question: string) => (propagate ? propagateAttributes(TRACE_ATTRIBUTES, () => call(question)) : call(question)), { name: "answer-question" });
  expect(await answer(QUESTION)).toBe(ANSWER);
  return traceId;
}

async function expectStored(traceId: string, daily: { input: number; output: number }): Promise<void> {
  const trace = await storedTrace(gavel().url, traceId, 2, READ);
  expect(trace.info.spanType).toBe("CHAIN");
  expect(JSON.stringify(trace.info.inputs)).toContain(QUESTION);
  expect(JSON.stringify(trace.info.outputs)).toContain(ANSWER);

  const cols = await spanColumns(gavel().store.client, traceId);
  const llm = cols.find((c) => c.SpanName === "openai-chat")!;
  expect(llm.SpanType).toBe("LLM");
  expect(llm.GenAiModel).toBe("gpt-4o-mini");
  // The generation's usage_details, as the simulator reported them; the observe() span has none.
  expect([llm.InputTokens, llm.OutputTokens, llm.TotalTokens]).toEqual([13, 6, 19]);
  expect(await traceTokenSums(gavel().store.client, traceId)).toEqual({ input: 13, output: 6, total: 19 });
  const after = await dailyTokenSums(gavel().store.client, "gpt-4o-mini");
  expect({ input: after.input - daily.input, output: after.output - daily.output }).toEqual({ input: 13, output: 6 });

  const { prompt, error } = await judgePrompt(sim(), trace);
  expect(error).toBeUndefined();
  expect(prompt).toContain(QUESTION);
  expect(prompt).toContain(ANSWER);
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${gavel().url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { ...READ, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

describe("Langfuse", () => {
  it("LangfuseSpanProcessor with Gavel as the base URL: its path, its Basic auth, its attributes; trace name, session, user, tags, metadata", async () => {
    const processor = new LangfuseSpanProcessor({ baseUrl: gavel().url, publicKey: "pk-lf-anything", secretKey: INGEST_KEY, exportMode: "immediate" });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    setLangfuseTracerProvider(provider);
    try {
      const daily = await dailyTokenSums(gavel().store.client, "gpt-4o-mini");
      const traceId = await runApp(true);
      await provider.forceFlush();
      await expectStored(traceId, daily);

      // langfuse.trace.name names the trace (the trace list, the trace page, search).
      const trace = await storedTrace(gavel().url, traceId, 2, READ);
      expect(trace.info.name).toBe("support-chat");
      // session.id and user.id become MLflow's session and user metadata; Langfuse's tags and metadata are kept.
      expect(trace.info.metadata).toEqual({ plan: "pro", "mlflow.trace.session": "lf-session-1", "mlflow.trace.user": "lf-user-7" });
      expect(trace.info.tags).toEqual({ beta: "", eu: "" });

      // The session: listed, and its traces fetched (the UI's Sessions tab, getSession, {{ conversation }} judges).
      const { sessions } = await api<{ sessions: { sessionId: string; traceCount: number }[] }>("/api/v1/experiments/0/sessions");
      expect(sessions.find((x) => x.sessionId === "lf-session-1")?.traceCount).toBe(1);
      const session = await api<{ traces: { info: { traceId: string } }[] }>("/api/v1/experiments/0/sessions/lf-session-1");
      expect(session.traces.map((t) => t.info.traceId)).toEqual([traceId]);

      // MLflow's filters find it by user, name and tag.
      for (const filter of ["metadata.`mlflow.trace.user` = 'lf-user-7'", "trace.name = 'support-chat'", "tag.beta IS NOT NULL AND metadata.plan = 'pro'"]) {
        const found = await api<{ traces: { info: { traceId: string } }[] }>("/api/v1/traces/search", { experimentIds: ["0"], filter });
        expect(found.traces.map((t) => t.info.traceId), filter).toEqual([traceId]);
      }
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

  it("observe() with a plain OTLP exporter: langfuse.observation.* attributes; no trace attributes, the root span names the trace", async () => {
    const t = clientTracing(gavel().url, "langfuse-app", undefined, { authorization: `Bearer ${INGEST_KEY}` });
    setLangfuseTracerProvider(t.provider);
    try {
      const daily = await dailyTokenSums(gavel().store.client, "gpt-4o-mini");
      const traceId = await runApp(false);
      await t.flush();
      await expectStored(traceId, daily);
      const trace = await storedTrace(gavel().url, traceId, 2, READ);
      expect(trace.info.name).toBe("answer-question");
      expect(trace.info.metadata).toEqual({});
      expect(trace.info.tags).toEqual({});
    } finally {
      setLangfuseTracerProvider(null);
      await t.shutdown();
    }
  });
});
