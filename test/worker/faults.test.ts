import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { init, shutdown, createExperiment, makeJudge, logExpectation, AssessmentSourceType } from "@gavel/sdk";
import type { RetryOptions } from "@gavel/judges";
import { startGavel, type RunningGavel } from "../../collector/src/server/gavel-server.js";
import { WorkerRuntime } from "../../collector/src/worker/runtime.js";
import { DEFAULT_WORKER_SETTINGS, type WorkerSettings } from "../../collector/src/worker/settings.js";
import { startProviderSimulator, type ProviderSimulator } from "../simulator/src/index.js";
import { tempConfig } from "../support/temp-store.js";
import { eventually, makeTraces, metricValue, postSpans, query, traceIdOf } from "./support.js";

process.env.GAVEL_WORKER = "off";
const cfg = tempConfig();
let gavel: RunningGavel;
let sim: ProviderSimulator;
const runtimes: WorkerRuntime[] = [];
let logs: string[] = [];
const started: { stop(): Promise<unknown> }[] = [];

beforeAll(async () => {
  sim = await startProviderSimulator();
  Object.assign(process.env, sim.env());
  gavel = await startGavel(cfg);
  init({ url: gavel.url, serviceName: "faults-test" });
});
afterEach(async () => {
  // Each test's judges stop, so the next test's worker polls only its own.
  await Promise.all(started.splice(0).map((j) => j.stop()));
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  sim.reset();
  logs = [];
});
afterAll(async () => {
  await shutdown();
  await gavel?.close();
  await sim?.close();
  cfg.cleanup();
});

function worker(retry: RetryOptions, extra: Partial<WorkerSettings> = {}): WorkerRuntime {
  const settings: WorkerSettings = { ...DEFAULT_WORKER_SETTINGS, settleMs: 150, pollMs: 100, writeWindowMs: 50, ...extra };
  const r = new WorkerRuntime(gavel.store, settings, { retry, log: (m) => logs.push(m) });
  runtimes.push(r);
  r.startOnline();
  return r;
}

/** n complete traces in a new experiment with a started judge; their ids, in order of "question i". */
async function setup(name: string, n: number, opts: { model?: string; instructions?: string } = {}) {
  const experimentId = await createExperiment(`faults-${name}`);
  const j = makeJudge({
    name,
    instructions: opts.instructions ?? "Rate as one of: good, bad\nIs {{ outputs }} a good answer to {{ inputs }}?",
    model: opts.model ?? "openai:/gpt-4o-mini",
  });
  const registered = await j.register({ experimentId });
  await registered.start({ sampleRate: 1 });
  started.push(registered);
  const traces = makeTraces(n, { "gavel.experiment_id": experimentId });
  await postSpans(gavel.url, traces.map((t) => t.root));
  return { experimentId, ids: traces.map((t) => traceIdOf(t.root)) };
}

interface Row {
  TraceId: string;
  Value: string;
  Error: string;
  n: string;
}
async function results(name: string): Promise<Row[]> {
  return query<Row>(
    gavel.store.client,
    "SELECT TraceId, any(Value) AS Value, any(Error) AS Error, toString(count()) AS n FROM gavel_assessments FINAL WHERE Name = {n:String} GROUP BY TraceId",
    { n: name },
  );
}
const settle = async (name: string, n: number, ms = 30_000) => {
  await eventually(async () => (await results(name)).length >= n, ms);
  return results(name);
};
const questionOf = (body: { messages: { content: string }[] }) => /question (\d+)/.exec(body.messages.map((m) => m.content).join("\n"))?.[1];

describe("the worker under provider faults", () => {
  it("rides out a 429 storm, honouring Retry-After; a trace whose retries all hit it stores RATE_LIMITED", async () => {
    sim.inject({ kind: "rate_limit", times: 24, retryAfterMs: 150 });
    const { ids } = await setup("storm", 10);
    const rt = worker({ maxRetries: 3, baseDelayMs: 10, maxDelayMs: 50 }, { concurrency: { default: 2, byModel: new Map() } });
    const rows = await settle("storm", ids.length);
    expect(rows.map((r) => r.TraceId).sort()).toEqual([...ids].sort());
    expect(rows.every((r) => r.n === "1")).toBe(true);

    const failed = rows.filter((r) => r.Error !== "");
    const ok = rows.filter((r) => r.Error === "");
    expect(ok.length).toBeGreaterThan(0);
    for (const r of failed) {
      expect(JSON.parse(r.Error)).toMatchObject({ code: "RATE_LIMITED" });
      expect(r.Value).toBe("null");
    }
    for (const r of ok) expect(["\"good\"", "\"bad\""]).toContain(r.Value);

    // Each trace's attempts are at least Retry-After apart.
    const byQuestion = new Map<string, number[]>();
    for (const req of sim.requests) {
      const q = questionOf(req.body);
      if (q !== undefined) byQuestion.set(q, [...(byQuestion.get(q) ?? []), req.receivedAt]);
    }
    let retried = 0;
    for (const times of byQuestion.values()) {
      for (let i = 1; i < times.length; i++, retried++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(140);
    }
    expect(retried).toBeGreaterThan(0);
    // 4 attempts per trace at most (1 + maxRetries).
    expect(Math.max(...[...byQuestion.values()].map((t) => t.length))).toBeLessThanOrEqual(4);
    expect(sim.requests.filter((r) => r.fault === "rate_limit")).toHaveLength(24);

    const m = rt.metrics.registry.render();
    expect(metricValue(m, "gavel_llm_retries_total", { code: "RATE_LIMITED" })).toBe(retried);
    expect(metricValue(m, "gavel_worker_traces_failed_total", { judge: "storm", code: "RATE_LIMITED" })).toBe(failed.length);
    expect(metricValue(m, "gavel_worker_traces_scored_total", { judge: "storm" })).toBe(ok.length);
  });

  it("retries timeouts and 5xx, and stores the last failure as a Feedback with error", async () => {
    sim.inject({ kind: "hang", times: 2 }, { kind: "server_error", times: 2, status: 503 });
    const { ids } = await setup("flaky", 6);
    worker({ maxRetries: 3, timeoutMs: 400, baseDelayMs: 10, maxDelayMs: 50 }, { concurrency: { default: 3, byModel: new Map() } });
    const rows = await settle("flaky", ids.length);
    expect(rows.every((r) => r.Error === "" && r.n === "1")).toBe(true);
    expect(sim.requests.filter((r) => r.fault === "hang")).toHaveLength(2);
    expect(sim.requests.filter((r) => r.fault === "server_error")).toHaveLength(2);
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));

    sim.inject({ kind: "hang", times: 100 });
    const down = await setup("timeouts", 3);
    const rt = worker({ maxRetries: 1, timeoutMs: 300, baseDelayMs: 10, maxDelayMs: 20 });
    const failed = await settle("timeouts", down.ids.length);
    for (const r of failed) expect(JSON.parse(r.Error)).toMatchObject({ code: "TIMEOUT" });
    expect(metricValue(rt.metrics.registry.render(), "gavel_worker_traces_failed_total", { judge: "timeouts", code: "TIMEOUT" })).toBe(3);
  });

  it("keeps calls per model within the concurrency limit and the rate limit", async () => {
    let inflight = 0;
    let peak = 0;
    sim.script(async () => {
      inflight++;
      peak = Math.max(peak, inflight);
      await new Promise((r) => setTimeout(r, 80));
      inflight--;
      return undefined;
    });
    const { ids } = await setup("bounded", 12);
    worker({}, { concurrency: { default: 3, byModel: new Map() } });
    await settle("bounded", ids.length);
    expect(peak).toBe(3);
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
    sim.reset();

    // 300 per minute: a burst of 5, then one every 200 ms.
    const paced = await setup("paced", 12);
    worker({}, { rpm: { default: 0, byModel: new Map([["openai:/gpt-4o-mini", 300]]) } });
    await settle("paced", paced.ids.length);
    const times = sim.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
    expect(times).toHaveLength(12);
    expect(times[11]! - times[0]!).toBeGreaterThanOrEqual(1300);
  });

  it("pauses while ClickHouse is unavailable and resumes without losing a trace", async () => {
    const { ids } = await setup("outage", 8);
    const client = gavel.store.client;
    const query0 = client.query.bind(client);
    let down = true;
    client.query = ((...args: Parameters<typeof client.query>) =>
      down ? Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:8123")) : query0(...args)) as typeof client.query;
    const batcher = gavel.store.batcher;
    const submit0 = batcher.submit.bind(batcher);
    let refusedWrites = 0;
    batcher.submit = (body, rows) => (refusedWrites++ < 2 ? Promise.reject(new Error("store unavailable")) : submit0(body, rows));
    try {
      const rt = worker({});
      await eventually(async () => rt.metrics.pollErrors.get() >= 2);
      expect(logs.some((l) => /poll failed \(connect ECONNREFUSED/.test(l))).toBe(true);
      down = false;
      const rows = await settle("outage", ids.length, 20_000);
      expect(rows.every((r) => r.Error === "" && r.n === "1")).toBe(true);
      expect(refusedWrites).toBeGreaterThan(2);
      expect(logs.some((l) => /store reachable again/.test(l))).toBe(true);
      expect(metricValue(rt.metrics.registry.render(), "gavel_worker_traces_failed_total")).toBe(0);
    } finally {
      down = false;
      client.query = query0;
      batcher.submit = submit0;
    }
  });

  it("does not judge a trace whose inputs and outputs are empty: MISSING_CONTENT stored with where Gavel looked, counted as skipped, no model call", async () => {
    const experimentId = await createExperiment("faults-empty");
    const registered = await makeJudge({ name: "empty_content", instructions: "Rate as one of: good, bad\nIs {{ outputs }} a good answer to {{ inputs }}?", model: "openai:/gpt-4o-mini" }).register({ experimentId });
    await registered.start({ sampleRate: 1 });
    started.push(registered);
    const traces = makeTraces(2, { "gavel.experiment_id": experimentId, "http.route": "/ask" }, 1, false);
    await postSpans(gavel.url, traces.flatMap((t) => [t.root, ...t.children]));
    const rt = worker({});
    const rows = await settle("empty_content", 2);
    for (const r of rows) {
      const err = JSON.parse(r.Error) as { code: string; message: string };
      expect(err.code).toBe("MISSING_CONTENT");
      expect(err.message).toMatch(/\{\{ outputs \}\} and \{\{ inputs \}\} are empty|\{\{ inputs \}\} and \{\{ outputs \}\} are empty/);
      expect(err.message).toContain("gavel.inputs");
      expect(err.message).toContain("langfuse.observation.output");
    }
    expect(sim.requests).toHaveLength(0);
    const text = rt.metrics.registry.render();
    expect(metricValue(text, "gavel_worker_traces_skipped_total", { judge: "empty_content", reason: "MISSING_CONTENT", mode: "online" })).toBe(2);
    expect(metricValue(text, "gavel_worker_traces_failed_total", { judge: "empty_content" })).toBe(0);
  });

  it("stores MISSING_INPUT for a trace without the expectations the judge uses, and pauses a judge that cannot run", async () => {
    const { ids } = await setup("needs_truth", 2, { instructions: "Rate as one of: good, bad\nDoes {{ outputs }} match {{ expectations }}?" });
    await logExpectation({ traceId: ids[0]!, name: "expected_answer", value: "answer 0", source: { sourceType: AssessmentSourceType.HUMAN, sourceId: "qa" } });
    worker({});
    const rows = await settle("needs_truth", 2);
    const byId = new Map(rows.map((r) => [r.TraceId, r]));
    expect(byId.get(ids[0]!)!.Error).toBe("");
    expect(JSON.parse(byId.get(ids[1]!)!.Error)).toMatchObject({ code: "MISSING_INPUT" });
    const prompt = sim.requests.map((r) => JSON.stringify(r.body)).find((b) => b.includes("expected_answer"));
    expect(prompt).toContain("answer 0");

    const key = process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    try {
      await setup("no_key", 3, { model: "anthropic:/claude-sonnet-4-5" });
      const rt = runtimes[0]!;
      await eventually(async () => logs.some((l) => /"no_key" v1 paused/.test(l) && /ANTHROPIC_API_KEY/.test(l)));
      const failures = () => metricValue(rt.metrics.registry.render(), "gavel_worker_traces_failed_total", { judge: "no_key", code: "CONFIG" });
      const before = failures();
      expect(before).toBeGreaterThan(0);
      // Polls go on (every 100 ms) but the judge waits instead of failing its traces again and again.
      const polls = rt.metrics.polls.get();
      await new Promise((r) => setTimeout(r, 600));
      expect(rt.metrics.polls.get(), logs.join("\n")).toBeGreaterThan(polls + 2);
      expect(failures()).toBe(before);
      expect(await results("no_key")).toHaveLength(0);
    } finally {
      process.env.ANTHROPIC_API_KEY = key;
    }
  });
});
