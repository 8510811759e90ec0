import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { embedText, pickCategory, startProviderSimulator, type ProviderSimulator } from "./index.js";

let sim: ProviderSimulator;
let openai: OpenAI;
let anthropic: Anthropic;
beforeAll(async () => {
  sim = await startProviderSimulator();
  openai = new OpenAI({ apiKey: "k", baseURL: sim.openaiBaseUrl, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: "k", baseURL: sim.anthropicBaseUrl, maxRetries: 0, openTelemetry: false });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => sim.reset());

const judgeSchema = (cats: string[]) => ({
  type: "object",
  properties: { rationale: { type: "string" }, result: { type: "string", enum: cats } },
  required: ["rationale", "result"],
  additionalProperties: false,
});

async function judgeVia(system: string, user: string, cats: string[]): Promise<{ result: string; rationale: string }> {
  const r = await openai.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [
      { role: "system", content: system },
      { role: "user", content: user },
    ],
    response_format: { type: "json_schema", json_schema: { name: "j", schema: judgeSchema(cats), strict: true } },
  });
  return JSON.parse(r.choices[0]!.message.content!);
}

describe("default behaviour", () => {
  const cats = ["excellent", "good", "needs_improvement", "poor"];

  test("keyword rules in the instructions win", async () => {
    const system = 'Rate as one of: excellent, good, needs_improvement, poor\n- If the issue mentions "billing" or "refund", rate as poor.';
    const a = await judgeVia(system, "issue: Billing discrepancy", cats);
    expect(a.result).toBe("poor");
    expect(a.rationale).toMatch(/mentions "billing"/);
  });

  test("a category word in the data is used next", async () => {
    expect((await judgeVia("Rate it.", "The answer was excellent and fast", cats)).result).toBe("excellent");
    expect((await judgeVia("Rate it.", "This needs improvement", cats)).result).toBe("needs_improvement");
  });

  test("otherwise a hash of the prompt: deterministic, and it spreads over the categories", () => {
    const ctx = (u: string) => ({ systemText: "Rate it.", userText: u, model: "m", notes: [] as string[] });
    expect(pickCategory(cats, ctx("issue one"))).toBe(pickCategory(cats, ctx("issue one")));
    const seen = new Set(Array.from({ length: 40 }, (_, i) => pickCategory(cats, ctx(`issue ${i}`))));
    expect(seen.size).toBe(4);
  });

  test("embeddings: hashing-trick bag of words", () => {
    const a = embedText("refund my order", 256);
    const b = embedText("please refund my order", 256);
    const c = embedText("weather in paris", 256);
    const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(dot(a, a)).toBeCloseTo(1, 6);
    expect(dot(a, b)).toBeGreaterThan(0.7);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
  });

  test("free text is echoed deterministically", async () => {
    const r = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hello" }] });
    expect(r.choices[0]!.message.content).toMatch(/^Simulated reply from m \([0-9a-f]+\): hello$/);
  });
});

describe("wire validation mirrors the real APIs", () => {
  test("OpenAI rejects a strict schema without additionalProperties: false", async () => {
    await expect(
      openai.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        response_format: { type: "json_schema", json_schema: { name: "j", strict: true, schema: { type: "object", properties: { a: { type: "string" } }, required: ["a"] } } },
      }),
    ).rejects.toThrow(/additionalProperties/);
  });

  test("Anthropic requires max_tokens", async () => {
    await expect(
      anthropic.messages.create({ model: "m", messages: [{ role: "user", content: "x" }] } as unknown as Anthropic.MessageCreateParamsNonStreaming),
    ).rejects.toThrow(/max_tokens/);
  });
});

describe("scripting and faults", () => {
  test("scripts are consumed in order per API; a handler answers the rest", async () => {
    sim.script(["first", { content: "second", usage: { inputTokens: 7, outputTokens: 3 } }], { api: "openai.chat" });
    sim.script((req) => (req.api === "anthropic.messages" ? "from handler" : undefined));
    const r1 = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] });
    const a1 = await anthropic.messages.create({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }] });
    const r2 = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] });
    const r3 = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] });
    expect(r1.choices[0]!.message.content).toBe("first");
    expect(a1.content[0]).toMatchObject({ type: "text", text: "from handler" });
    expect(r2.choices[0]!.message.content).toBe("second");
    expect(r2.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3 });
    expect(r3.choices[0]!.message.content).toMatch(/Simulated reply/);
    expect(sim.requests.map((r) => r.api)).toEqual(["openai.chat", "anthropic.messages", "openai.chat", "openai.chat"]);
  });

  test("faults are scoped by API and counted", async () => {
    sim.inject({ kind: "server_error", times: 1, api: "anthropic" }, { kind: "latency", ms: 150, times: 1, api: "openai.chat" });
    const t0 = performance.now();
    await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    await expect(anthropic.messages.create({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({ status: 500 });
    await anthropic.messages.create({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }] });
    expect(sim.requests.map((r) => [r.api, r.status, r.fault])).toEqual([
      ["openai.chat", 200, undefined],
      ["anthropic.messages", 500, "server_error"],
      ["anthropic.messages", 200, undefined],
    ]);
  });

  test("429 carries Retry-After and the provider's error shape", async () => {
    sim.inject({ kind: "rate_limit", retryAfterSeconds: 3, api: "anthropic" });
    const err = await anthropic.messages.create({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const e = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.headers.get("retry-after")).toBe("3");
    expect((e.error as { error: { type: string } }).error.type).toBe("rate_limit_error");
  });

  test("the control API scripts a simulator in another process", async () => {
    await fetch(`${sim.url}/_sim/script`, { method: "POST", body: JSON.stringify({ replies: ["remote"], api: "openai" }) });
    await fetch(`${sim.url}/_sim/inject`, { method: "POST", body: JSON.stringify({ kind: "server_error", status: 503, api: "anthropic" }) });
    const r = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] });
    expect(r.choices[0]!.message.content).toBe("remote");
    await expect(anthropic.messages.create({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({ status: 503 });
    const { requests } = (await (await fetch(`${sim.url}/_sim/requests`)).json()) as { requests: unknown[] };
    expect(requests).toHaveLength(2);
    await fetch(`${sim.url}/_sim/reset`, { method: "POST" });
    expect(sim.requests).toHaveLength(0);
  });
});

const mainJs = fileURLToPath(new URL("../dist/main.js", import.meta.url));

describe.skipIf(!existsSync(mainJs))("standalone process", () => {
  test("prints its URL as the first stdout line and serves both wire formats", async () => {
    const child = spawn(process.execPath, [mainJs, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once("line", resolve);
        child.once("error", reject);
        child.once("exit", (code) => reject(new Error(`exited ${code}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const o = new OpenAI({ apiKey: "k", baseURL: `${url}/v1`, maxRetries: 0 });
      const r = await o.chat.completions.create({ model: "m", messages: [{ role: "user", content: "ping" }] });
      expect(r.choices[0]!.message.content).toContain("ping");
    } finally {
      child.kill("SIGTERM");
    }
  });
});
