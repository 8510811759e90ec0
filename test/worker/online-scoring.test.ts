import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { init, shutdown, flush, createExperiment, setExperiment, startRun, trace, makeJudge, getLastActiveTraceId, evaluate } from "@gavel/sdk";
import { judgeAssessmentId } from "../../collector/src/worker/assessment-id.js";
import { useGavel } from "../support/use-gavel.js";
import { useSimulator } from "../support/use-simulator.js";
import { assessedTraces, eventually, makeTraces, metricValue, postSpans, query, traceIdOf } from "./support.js";

// Long enough that a loaded CI machine never stalls a settle period between two posts 100 ms apart.
const SETTLE_MS = 1000;
Object.assign(process.env, { GAVEL_SETTLE_MS: String(SETTLE_MS), GAVEL_WORKER_POLL_MS: "100", GAVEL_WORKER: "auto" });

const simOf = useSimulator();
const gavelOf = useGavel();
beforeAll(() => {
  init({ url: gavelOf().url, serviceName: "live-app" });
});
afterAll(async () => {
  await shutdown();
});

const lookup = trace(function lookupOrder(id: string) {
  return { id, status: "shipped" };
}, { spanType: "TOOL" });

const supportApp = trace(async function supportApp(issue: string) {
  const order = lookup("A-1");
  await new Promise((r) => setTimeout(r, 5));
  return { response: `I'll help you with: ${issue}`, order: order.status };
}, { spanType: "CHAIN" });

// Every test stops the judges it started, even when it fails, so the next test's counts are its own.
const started: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((j) => j.stop()));
});

const judgeConfig = (name: string) => ({
  name,
  instructions: "Rate as one of: good, bad\nIs the answer in {{ outputs }} helpful for {{ inputs }}?",
  model: "openai:/gpt-4o-mini",
});

describe("online scoring in the collector", () => {
  it("scores every live trace exactly once, and never evaluation traces or the judges' own", async () => {
    const experimentId = await createExperiment("online-live");
    setExperiment({ experimentId });
    const registered = await makeJudge(judgeConfig("helpfulness")).register({ experimentId });
    started.push(registered);
    await registered.start({ sampleRate: 1 });

    const live: string[] = [];
    for (let i = 0; i < 24; i++) {
      await supportApp(`issue ${i}`);
      live.push(getLastActiveTraceId()!);
      if (i % 8 === 7) await flush();
    }
    await startRun({ experimentId, name: "nightly", kind: "evaluation" }, async () => {
      for (let i = 0; i < 4; i++) await supportApp(`eval row ${i}`);
    });
    const markedEvaluation = trace(async function evaluatePrediction(q: string) {
      return supportApp(q);
    }, { attributes: { "gavel.evaluation": "true" } });
    await markedEvaluation("marked by hand");
    // The same judge offline: evaluate() writes its own assessments on its traces, the worker none.
    const offline = await evaluate({ data: [{ inputs: { issue: "refund" } }, { inputs: { issue: "login" } }], predictFn: (i: { issue: string }) => supportApp(i.issue), scorers: [registered] });
    expect(offline.tables.evalResults).toHaveLength(2);
    await flush();

    const client = gavelOf().store.client;
    const online = async () => {
      const rows = await query<{ TraceId: string; n: string }>(
        client,
        "SELECT TraceId, count() AS n FROM gavel_assessments FINAL WHERE Name = 'helpfulness' AND JSONExtractString(Metadata, 'scoring') = 'online' GROUP BY TraceId",
      );
      return new Map(rows.map((r) => [r.TraceId, Number(r.n)]));
    };
    await eventually(async () => (await online()).size >= live.length, 20_000);
    // A few more polls: nothing else may be picked, nothing twice.
    await new Promise((r) => setTimeout(r, 800));
    const assessed = await online();
    expect([...assessed.keys()].sort()).toEqual([...live].sort());
    expect([...assessed.values()].every((n) => n === 1)).toBe(true);
    const raw = await query<{ n: string }>(client, "SELECT count() AS n FROM gavel_assessments WHERE Name = 'helpfulness' AND RunId = ''");
    expect(Number(raw[0]!.n)).toBe(live.length);
    const fromEvaluate = await query<{ n: string }>(client, "SELECT count() AS n FROM gavel_assessments FINAL WHERE Name = 'helpfulness' AND RunId = {r:String}", { r: offline.runId });
    expect(Number(fromEvaluate[0]!.n)).toBe(2);

    const [a] = await query<{ AssessmentId: string; SourceType: string; SourceId: string; JudgeVersion: number; Value: string; Rationale: string; Metadata: string; SpanId: string }>(
      client,
      "SELECT AssessmentId, SourceType, SourceId, JudgeVersion, Value, Rationale, Metadata, SpanId FROM gavel_assessments FINAL WHERE TraceId = {t:String} AND Name = 'helpfulness'",
      { t: live[0]! },
    );
    expect(a!.AssessmentId).toBe(judgeAssessmentId(live[0]!, "helpfulness", 1));
    expect(a).toMatchObject({ SourceType: "LLM_JUDGE", SourceId: "openai:/gpt-4o-mini", JudgeVersion: 1 });
    expect(["\"good\"", "\"bad\""]).toContain(a!.Value);
    expect(a!.Rationale).toMatch(/Simulated judgment/);
    expect(JSON.parse(a!.Metadata)).toMatchObject({ scoring: "online", model: "openai:/gpt-4o-mini" });
    // A judgement of the whole trace: no span id, as MLflow's trace-level assessments.
    expect(a!.SpanId).toBe("");

    // The judges' LLM calls were traced (the SDK exports them from this process), marked, and not judged.
    await flush();
    await eventually(async () => Number((await query<{ n: string }>(client, "SELECT count() AS n FROM gavel_traces WHERE IsJudge"))[0]!.n) > 0);
    const judged = await query<{ n: string }>(
      client,
      "SELECT count() AS n FROM gavel_assessments WHERE RunId = '' AND TraceId IN (SELECT TraceId FROM gavel_traces WHERE IsJudge OR IsEvaluation OR RunId != '')",
    );
    expect(Number(judged[0]!.n)).toBe(0);

    const metrics = await (await fetch(`${gavelOf().url}/metrics`)).text();
    expect(metricValue(metrics, "gavel_worker_traces_scored_total", { judge: "helpfulness", model: "openai:/gpt-4o-mini", mode: "online" })).toBe(live.length);
    expect(metricValue(metrics, "gavel_worker_lag_seconds_count", { judge: "helpfulness" })).toBe(live.length);
    expect(metricValue(metrics, "gavel_llm_latency_seconds_count", { model: "openai:/gpt-4o-mini" })).toBe(live.length);
    expect(metricValue(metrics, "gavel_llm_tokens_total", { judge: "helpfulness", direction: "input" })).toBeGreaterThan(0);
    expect(metricValue(metrics, "gavel_worker_traces_seen_total", { judge: "helpfulness" })).toBeGreaterThanOrEqual(live.length);
    expect(metricValue(metrics, "gavel_worker_traces_sampled_total", { judge: "helpfulness" })).toBeGreaterThanOrEqual(live.length);
    expect(metrics).toMatch(/# TYPE gavel_worker_lag_seconds histogram/);
    expect(metrics).toMatch(/gavel_ingest_rows_inserted_total \d+/);
  });

  it("waits until the trace is complete: its root has arrived and no span came for the settle period", async () => {
    const experimentId = await createExperiment("online-settle");
    const registered = await makeJudge(judgeConfig("settled")).register({ experimentId });
    started.push(registered);
    await registered.start({ sampleRate: 1 });
    const [t] = makeTraces(1, { "gavel.experiment_id": experimentId }, 4);
    const client = gavelOf().store.client;

    // Children first: without its root a trace is never complete, however quiet.
    await postSpans(gavelOf().url, t!.children.slice(0, 2));
    await new Promise((r) => setTimeout(r, SETTLE_MS + 400));
    expect((await assessedTraces(client, "settled")).size).toBe(0);
    // Root, then a span every 100 ms: each one restarts the settle period.
    await postSpans(gavelOf().url, [t!.root]);
    const posted = [Date.now()];
    for (const child of t!.children.slice(2)) {
      await new Promise((r) => setTimeout(r, 100));
      await postSpans(gavelOf().url, [child]);
      posted.push(Date.now());
    }
    const lastPost = posted[posted.length - 1]!;
    // (Were the machine to stall for a settle period between two spans, the trace would rightly be complete early.)
    expect(Math.max(...posted.slice(1).map((t, i) => t - posted[i]!))).toBeLessThan(SETTLE_MS);
    await eventually(async () => (await assessedTraces(client, "settled")).size === 1, 10_000);
    const [a] = await query<{ ms: string }>(
      client,
      "SELECT toString(toUnixTimestamp64Milli(CreatedAt)) AS ms FROM gavel_assessments FINAL WHERE Name = 'settled' AND TraceId = {t:String}",
      { t: traceIdOf(t!.root) },
    );
    // Not before the settle period after the last span's arrival, as the collector stamped it
    // (before it answered, so `lastPost` can be later by the answer's round trip).
    const [seen] = await query<{ ms: string }>(
      client,
      "SELECT toString(toUnixTimestamp64Milli(max(LastSeen))) AS ms FROM gavel_trace_activity WHERE TraceId = {t:String}",
      { t: traceIdOf(t!.root) },
    );
    expect(Number(seen!.ms)).toBeLessThanOrEqual(lastPost);
    expect(lastPost - Number(seen!.ms)).toBeLessThan(SETTLE_MS);
    expect(Number(a!.ms) - Number(seen!.ms)).toBeGreaterThanOrEqual(SETTLE_MS - 20);
  });

  it("applies update() and stop() without a restart", async () => {
    const experimentId = await createExperiment("online-lifecycle");
    setExperiment({ experimentId });
    const registered = await makeJudge(judgeConfig("lifecycle")).register({ experimentId });
    started.push(registered);
    const client = gavelOf().store.client;
    const vip = trace(async function vip(q: string) {
      return `vip: ${q}`;
    }, { name: "vip" });
    const other = trace(async function other(q: string) {
      return `other: ${q}`;
    }, { name: "other" });

    await registered.start({ sampleRate: 1, filter: "trace.name = 'vip'" });
    const vipIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      await vip(`a${i}`);
      vipIds.push(getLastActiveTraceId()!);
      await other(`a${i}`);
    }
    await flush();
    await eventually(async () => (await assessedTraces(client, "lifecycle")).size >= 3, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    expect([...(await assessedTraces(client, "lifecycle")).keys()].sort()).toEqual([...vipIds].sort());

    // update(): the filter changes on the next poll.
    await registered.update({ filter: "trace.name = 'other'" });
    await other("b");
    const otherId = getLastActiveTraceId()!;
    await flush();
    await eventually(async () => (await assessedTraces(client, "lifecycle")).has(otherId), 15_000);

    // stop(): nothing new is scored.
    await registered.stop();
    await new Promise((r) => setTimeout(r, 300));
    const before = (await assessedTraces(client, "lifecycle")).size;
    for (let i = 0; i < 3; i++) await other(`c${i}`);
    await flush();
    await new Promise((r) => setTimeout(r, SETTLE_MS + 1200));
    expect((await assessedTraces(client, "lifecycle")).size).toBe(before);
    const metrics = await (await fetch(`${gavelOf().url}/metrics`)).text();
    expect(metricValue(metrics, "gavel_worker_active_judges")).toBe(0);
  });
});
