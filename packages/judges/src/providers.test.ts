import { describe, expect, test } from "vitest";
import { complete, embed } from "./complete.js";
import { GavelConfigError, LLMError, type LLMErrorCode } from "./errors.js";
import { makeJudge } from "./judge.js";
import { backoffDelay, retryAfterMs } from "./retry.js";
import { recordingRetry, useSimEnv } from "./testing/sim.js";

const simEnv = useSimEnv({ resetEachTest: true });

const ask = { messages: [{ role: "user" as const, content: "Say hi" }] };
const MODELS = [
  ["openai:/gpt-4o-mini", "openai"],
  ["anthropic:/claude-haiku-4-5", "anthropic"],
] as const;

async function rejection(p: Promise<unknown>): Promise<LLMError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LLMError) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

describe.each(MODELS)("%s: retries", (model, api) => {
  test("429 honours Retry-After (seconds)", async () => {
    simEnv().sim.inject({ kind: "rate_limit", times: 1, retryAfterSeconds: 2, api });
    const retry = recordingRetry();
    const res = await complete(model, ask, { retry });
    expect(retry.sleeps).toEqual([2000]);
    expect(res.attempts).toBe(2);
    expect(res.text).toMatch(/Simulated reply/);
    expect(simEnv().sim.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  test("429 honours retry-after-ms in real time", async () => {
    simEnv().sim.inject({ kind: "rate_limit", times: 1, retryAfterMs: 300, api });
    const t0 = performance.now();
    const res = await complete(model, ask, { retry: { baseDelayMs: 1, timeoutMs: 5000 } });
    const elapsed = performance.now() - t0;
    expect(res.attempts).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    const [first, second] = simEnv().sim.requests;
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(290);
  });

  test("500 is retried with exponential backoff and full jitter, then succeeds", async () => {
    simEnv().sim.inject({ kind: "server_error", times: 2, api });
    const retry = recordingRetry({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 });
    const res = await complete(model, ask, { retry });
    expect(res.attempts).toBe(3);
    expect(retry.sleeps).toEqual([50, 100]); // random * min(cap, base * 2^(n-1))
  });

  test("a timeout is retried", async () => {
    simEnv().sim.inject({ kind: "hang", times: 1, api });
    const codes: LLMErrorCode[] = [];
    const retry = recordingRetry({ timeoutMs: 300, onRetry: (i) => codes.push(i.error.code) });
    const res = await complete(model, ask, { retry });
    expect(res.attempts).toBe(2);
    expect(codes).toEqual(["TIMEOUT"]);
  });

  test("timeouts after all retries → TIMEOUT", async () => {
    simEnv().sim.inject({ kind: "hang", times: 5, api });
    const err = await rejection(complete(model, ask, { retry: recordingRetry({ timeoutMs: 150, maxRetries: 1 }) }));
    expect(err.code).toBe("TIMEOUT");
    expect(err.attempts).toBe(2);
  });

  test("400 fails fast with the provider's message", async () => {
    simEnv().sim.script([{ status: 400, errorMessage: "Invalid value for 'temperature': 7" }]);
    const retry = recordingRetry();
    const err = await rejection(complete(model, ask, { retry }));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.status).toBe(400);
    expect(err.message).toContain("Invalid value for 'temperature': 7");
    expect(err.message).toMatch(new RegExp(`^${api} 400`));
    expect(retry.sleeps).toEqual([]);
    expect(simEnv().sim.requests).toHaveLength(1);
  });

  test("an unreadable 200 body is retried", async () => {
    simEnv().sim.inject({ kind: "malformed_body", times: 1, api });
    const codes: string[] = [];
    const res = await complete(model, ask, { retry: recordingRetry({ onRetry: (i) => codes.push(i.error.code) }) });
    expect(res.attempts).toBe(2);
    expect(codes).toEqual(["PROVIDER_ERROR"]);
  });

  test("a Retry-After beyond the allowed wait fails at once as RATE_LIMITED", async () => {
    simEnv().sim.inject({ kind: "rate_limit", times: 1, retryAfterSeconds: 600, api });
    const retry = recordingRetry({ maxRetryAfterMs: 60_000 });
    const err = await rejection(complete(model, ask, { retry }));
    expect(err.code).toBe("RATE_LIMITED");
    expect(err.message).toMatch(/asked to wait 600000 ms/);
    expect(retry.sleeps).toEqual([]);
  });
});

describe("other provider behaviour", () => {
  test("Anthropic 529 overloaded is retried", async () => {
    simEnv().sim.inject({ kind: "server_error", status: 529, times: 1, api: "anthropic" });
    const res = await complete("anthropic:/claude-haiku-4-5", ask, { retry: recordingRetry() });
    expect(res.attempts).toBe(2);
  });

  test("connection refused is retried, then PROVIDER_ERROR", async () => {
    const err = await rejection(
      complete("openai:/gpt-4o-mini", ask, {
        retry: recordingRetry({ maxRetries: 1 }),
        providers: { openai: { apiKey: "k", baseURL: "http://127.0.0.1:9/v1" } },
      }),
    );
    expect(err.code).toBe("PROVIDER_ERROR");
    expect(err.attempts).toBe(2);
  });

  test("the caller's AbortSignal stops the call (thrown, not a Feedback)", async () => {
    simEnv().sim.inject({ kind: "hang", times: 1 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const judge = makeJudge({ name: "q", instructions: "{{ outputs }}", model: "openai:/gpt-4o-mini" }, { retry: recordingRetry({ timeoutMs: 5000 }) });
    const err = await rejection(judge({ outputs: "x" }, { signal: ac.signal }));
    expect(err.code).toBe("ABORTED");
  });

  test("the judge turns a timeout into a TIMEOUT feedback", async () => {
    simEnv().sim.inject({ kind: "timeout", times: 3 });
    const judge = makeJudge({ name: "q", instructions: "{{ outputs }}", model: "openai:/gpt-4o-mini" }, { retry: recordingRetry({ timeoutMs: 100, maxRetries: 2 }) });
    const fb = await judge({ outputs: "x" });
    expect(fb.error?.code).toBe("TIMEOUT");
    expect(fb.value).toBeNull();
    expect(fb.metadata["attempts"]).toBe(3);
  });

  test("env GAVEL_LLM_MAX_RETRIES bounds the retries", async () => {
    process.env["GAVEL_LLM_MAX_RETRIES"] = "1";
    try {
      simEnv().sim.inject({ kind: "server_error", times: 5 });
      const err = await rejection(complete("openai:/gpt-4o-mini", ask, { retry: { sleep: async () => {} } }));
      expect(err.code).toBe("PROVIDER_ERROR");
      expect(err.attempts).toBe(2);
    } finally {
      delete process.env["GAVEL_LLM_MAX_RETRIES"];
    }
  });
});

describe("embeddings", () => {
  const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

  test("deterministic, normalised vectors; similar texts are closer; dimensions honoured", async () => {
    const res = await embed("openai:/text-embedding-3-small", ["the cat sat on the mat", "the cat sat on a mat", "quantum field theory"]);
    expect(res.embeddings).toHaveLength(3);
    expect(res.embeddings[0]).toHaveLength(1536);
    expect(cos(res.embeddings[0]!, res.embeddings[0]!)).toBeCloseTo(1, 5);
    expect(cos(res.embeddings[0]!, res.embeddings[1]!)).toBeGreaterThan(cos(res.embeddings[0]!, res.embeddings[2]!));
    expect(res.usage.inputTokens).toBeGreaterThan(0);
    const again = await embed("openai:/text-embedding-3-small", "the cat sat on the mat", { dimensions: 64 });
    expect(again.embeddings[0]).toHaveLength(64);
    expect(simEnv().sim.lastRequest("openai.embeddings")!.body.dimensions).toBe(64);
  });

  test("Anthropic has no embeddings API", async () => {
    await expect(embed("anthropic:/claude-haiku-4-5", "x")).rejects.toThrow(GavelConfigError);
    await expect(embed("anthropic:/claude-haiku-4-5", "x")).rejects.toThrow(/text-embedding-3-small/);
  });
});

describe("retry helpers", () => {
  test("full jitter stays within the exponential ceiling", () => {
    const o = { baseDelayMs: 500, maxDelayMs: 20_000 };
    expect(backoffDelay(1, { ...o, random: () => 0.999 })).toBeLessThan(500);
    expect(backoffDelay(4, { ...o, random: () => 0.999 })).toBeLessThan(4000);
    expect(backoffDelay(20, { ...o, random: () => 0.999 })).toBeLessThan(20_000);
    expect(backoffDelay(3, { ...o, random: () => 0 })).toBe(0);
  });

  test("Retry-After: ms header, seconds, HTTP date", () => {
    expect(retryAfterMs(new Headers({ "retry-after-ms": "250", "retry-after": "9" }))).toBe(250);
    expect(retryAfterMs(new Headers({ "retry-after": "1.5" }))).toBe(1500);
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:03 GMT" }), now)).toBe(3000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});
