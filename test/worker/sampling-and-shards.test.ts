import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { init, shutdown, createExperiment, makeJudge } from "@gavel/sdk";
import { startGavel, type RunningGavel } from "../../collector/src/server/gavel-server.js";
import { WorkerRuntime } from "../../collector/src/worker/runtime.js";
import { DEFAULT_WORKER_SETTINGS, type WorkerSettings } from "../../collector/src/worker/settings.js";
import type { Shard } from "../../collector/src/worker/shard.js";
import { startProviderSimulator, type ProviderSimulator } from "../simulator/src/index.js";
import { tempConfig } from "../support/temp-store.js";
import { assessedTraces, eventually, makeTraces, metricValue, postSpans, query, traceIdOf } from "./support.js";

// The workers under test are built here, one per shard, as separate processes would run them.
process.env.GAVEL_WORKER = "off";
const cfg = tempConfig();
let gavel: RunningGavel;
let sim: ProviderSimulator;
const runtimes: WorkerRuntime[] = [];

beforeAll(async () => {
  sim = await startProviderSimulator();
  Object.assign(process.env, sim.env());
  gavel = await startGavel(cfg);
  init({ url: gavel.url, serviceName: "sampling-test" });
});
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});
afterAll(async () => {
  await shutdown();
  await gavel?.close();
  await sim?.close();
  cfg.cleanup();
});

function worker(shard: Shard, extra: Partial<WorkerSettings> = {}): WorkerRuntime {
  const settings: WorkerSettings = { ...DEFAULT_WORKER_SETTINGS, settleMs: 200, pollMs: 100, shard, ...extra };
  const r = new WorkerRuntime(gavel.store, settings, { log: () => undefined });
  runtimes.push(r);
  r.startOnline();
  return r;
}

const judge = (name: string) =>
  makeJudge({ name, instructions: "Rate as one of: good, bad\nIs {{ outputs }} a good answer to {{ inputs }}?", model: "openai:/gpt-4o-mini" });

async function ingest(experimentId: string, n: number): Promise<string[]> {
  const traces = makeTraces(n, { "gavel.experiment_id": experimentId });
  await postSpans(gavel.url, traces.map((t) => t.root));
  return traces.map((t) => traceIdOf(t.root));
}

async function settledSize(judgeName: string, expected: number, timeoutMs = 30_000): Promise<Map<string, number>> {
  await eventually(async () => (await assessedTraces(gavel.store.client, judgeName)).size >= expected, timeoutMs);
  await new Promise((r) => setTimeout(r, 500));
  return assessedTraces(gavel.store.client, judgeName);
}

describe("sampling and sharding", () => {
  it("samples 30% of 1000 traces, deterministically by trace id and judge name", async () => {
    const experimentId = await createExperiment("sampling");
    const v1 = await judge("sampled").register({ experimentId });
    await v1.start({ sampleRate: 0.3 });
    const rt = worker({ index: 0, count: 1 });
    // Wait for the worker's first poll, so the traces count as seen.
    await eventually(async () => rt.metrics.polls.get() >= 2);
    const ids = await ingest(experimentId, 1000);
    const expected = await query<{ TraceId: string }>(
      gavel.store.client,
      "SELECT TraceId FROM gavel_traces WHERE ExperimentId = {e:String} AND cityHash64(TraceId, 'sampled') % 1000000 < 300000",
      { e: experimentId },
    );
    expect(expected.length).toBeGreaterThanOrEqual(250);
    expect(expected.length).toBeLessThanOrEqual(350);

    const scored = await settledSize("sampled", expected.length);
    expect([...scored.keys()].sort()).toEqual(expected.map((r) => r.TraceId).sort());
    expect([...scored.values()].every((n) => n === 1)).toBe(true);
    expect(ids).toEqual(expect.arrayContaining([...scored.keys()]));

    const m = rt.metrics.registry.render();
    expect(metricValue(m, "gavel_worker_traces_seen_total", { judge: "sampled" })).toBe(1000);
    expect(metricValue(m, "gavel_worker_traces_sampled_total", { judge: "sampled" })).toBe(expected.length);
    expect(metricValue(m, "gavel_worker_traces_scored_total", { judge: "sampled" })).toBe(expected.length);

    // A new version samples the very same traces (the hash is of trace id and judge NAME).
    const v2 = await judge("sampled").clone({ instructions: "Rate as one of: good, bad\nBe strict. Is {{ outputs }} a good answer to {{ inputs }}?" }).register({ experimentId });
    await v2.start({ sampleRate: 0.3 });
    await eventually(async () => {
      const [r] = await query<{ n: string }>(gavel.store.client, "SELECT count() AS n FROM gavel_assessments FINAL WHERE Name = 'sampled' AND JudgeVersion = 2");
      return Number(r!.n) >= expected.length;
    }, 30_000);
    const byVersion = await query<{ v: number; ids: string[] }>(
      gavel.store.client,
      "SELECT JudgeVersion AS v, arraySort(groupArray(TraceId)) AS ids FROM gavel_assessments FINAL WHERE Name = 'sampled' GROUP BY v ORDER BY v",
    );
    expect(byVersion.map((r) => r.v)).toEqual([1, 2]);
    expect(byVersion[1]!.ids).toEqual(byVersion[0]!.ids);
    await v2.stop();
  });

  it("splits the traces between shards 0/2 and 1/2: disjoint, and together complete", async () => {
    const experimentId = await createExperiment("shards");
    await (await judge("sharded").register({ experimentId })).start({ sampleRate: 1 });
    const a = worker({ index: 0, count: 2 });
    const b = worker({ index: 1, count: 2 });
    const ids = await ingest(experimentId, 300);
    const scored = await settledSize("sharded", ids.length);
    expect([...scored.keys()].sort()).toEqual([...ids].sort());
    expect([...scored.values()].every((n) => n === 1)).toBe(true);

    const byShard = await query<{ s: string; n: string }>(
      gavel.store.client,
      "SELECT toString(cityHash64(TraceId) % 2) AS s, count() AS n FROM gavel_traces WHERE ExperimentId = {e:String} GROUP BY s ORDER BY s",
      { e: experimentId },
    );
    const scoredBy = (r: WorkerRuntime) => r.metrics.scored.get({ judge: "sharded", model: "openai:/gpt-4o-mini", mode: "online" });
    expect(scoredBy(a)).toBe(Number(byShard[0]!.n));
    expect(scoredBy(b)).toBe(Number(byShard[1]!.n));
    expect(scoredBy(a) + scoredBy(b)).toBe(ids.length);
    expect(scoredBy(a)).toBeGreaterThan(100);
    expect(scoredBy(b)).toBeGreaterThan(100);
  });

  it("two workers racing over the same traces never store a duplicate", async () => {
    // Slow enough that each worker picks the traces before the other has stored any.
    sim.inject({ kind: "latency", ms: 300 });
    const experimentId = await createExperiment("race");
    await (await judge("raced").register({ experimentId })).start({ sampleRate: 1 });
    const ids = await ingest(experimentId, 150);
    // Both see the same complete traces at the same moment.
    await new Promise((r) => setTimeout(r, 300));
    const a = worker({ index: 0, count: 1 });
    const b = worker({ index: 0, count: 1 });
    const scored = await settledSize("raced", ids.length);
    // Both judged and stored the same traces: otel_traces keeps every write; reads see one of each.
    const stored = (r: WorkerRuntime) => r.metrics.scored.get({ judge: "raced", model: "openai:/gpt-4o-mini", mode: "online" });
    await eventually(async () => stored(a) + stored(b) > ids.length);
    const [events] = await query<{ n: string }>(
      gavel.store.client,
      "SELECT count() AS n FROM otel_traces ARRAY JOIN Events.Attributes AS ev WHERE ServiceName = 'gavel' AND ev['gen_ai.evaluation.name'] = 'raced'",
    );
    expect(Number(events!.n)).toBeGreaterThan(ids.length);
    expect(scored.size).toBe(ids.length);
    expect([...scored.values()].every((n) => n === 1)).toBe(true);
    const res = await fetch(`${gavel.url}/api/v1/traces/${ids[0]}/assessments`);
    const body = (await res.json()) as { assessments: { name: string }[] };
    expect(body.assessments.filter((x) => x.name === "raced")).toHaveLength(1);
    sim.reset();
  });
});
