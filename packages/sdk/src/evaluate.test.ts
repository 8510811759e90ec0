import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { makeJudge } from "@gavel/judges";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startSimEnv, type SimEnv } from "../../judges/src/testing/sim.js";
import { scorer } from "./code-scorer.js";
import { evalAssessmentId, evaluate } from "./evaluate.js";
import { flush, init, shutdown } from "./init.js";
import { state } from "./state.js";
import { trace } from "./trace.js";
import { Trace, type TraceJson } from "./trace-object.js";

// A stand-in for the collector's REST API (runs, assessments, trace by id) that records what
// evaluate() sends; spans go to an in-memory exporter.
interface Call {
  method: string;
  path: string;
  body: Record<string, unknown>;
}
const exporter = new InMemorySpanExporter();
let server: Server;
let calls: Call[] = [];
let failAssessments: ((body: Record<string, unknown>) => number | undefined) | undefined;
let simEnv: SimEnv;

const hr = (t: [number, number]) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

function traceJson(traceId: string): TraceJson | undefined {
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const root = spans.find((s) => s.parentSpanContext === undefined);
  if (!root) return undefined;
  const parse = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : undefined);
  const toSpan = (s: ReadableSpan) => ({
    traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? "",
    name: s.name,
    kind: "INTERNAL",
    startTimeUnixNano: hr(s.startTime),
    endTimeUnixNano: hr(s.endTime),
    durationMs: 0,
    status: { code: "OK" as const, message: "" },
    serviceName: "eval-test",
    spanType: String(s.attributes["gavel.span_type"] ?? "UNKNOWN"),
    inputs: parse(s.attributes["gavel.inputs"]),
    outputs: parse(s.attributes["gavel.outputs"]),
    attributes: Object.fromEntries(Object.entries(s.attributes).map(([k, v]) => [k, String(v)])),
    resourceAttributes: {},
    events: [],
  });
  const r = toSpan(root);
  return {
    info: { traceId, experimentId: "7", runId: null, name: r.name, timestampMs: 0, executionTimeMs: 0, status: "OK", serviceName: "eval-test", inputs: r.inputs, outputs: r.outputs, tags: {}, spanType: r.spanType },
    data: { spans: spans.map(toSpan) },
  };
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

beforeAll(async () => {
  simEnv = await startSimEnv();
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = req.url ?? "";
    calls.push({ method: req.method ?? "", path, body });
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    if (req.method === "POST" && path === "/api/v1/runs") return send(200, { runId: "ab".repeat(16), name: body.name });
    if (req.method === "POST" && /^\/api\/v1\/runs\/\w+\/end$/.test(path)) return send(200, { runId: "ab".repeat(16), status: body.status });
    if (req.method === "POST" && /^\/api\/v1\/runs\/\w+\/traces$/.test(path)) return send(200, { runId: "ab".repeat(16), traceIds: body.traceIds });
    const a = /^\/api\/v1\/traces\/(\w+)\/assessments$/.exec(path);
    if (req.method === "POST" && a) {
      const status = failAssessments?.(body);
      if (status) return send(status, { error: { code: "NOPE", message: "refused" } });
      return send(200, { ...body, traceId: a[1], valid: true, createTimeMs: Date.now() });
    }
    const t = /^\/api\/v1\/traces\/(\w+)$/.exec(path);
    if (req.method === "GET" && t) {
      const json = traceJson(t[1]!);
      return json ? send(200, json) : send(404, { error: { code: "NOT_FOUND", message: "no trace" } });
    }
    send(404, { error: { code: "NOT_FOUND", message: `no route ${req.method} ${path}` } });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  init({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exporter, serviceName: "eval-test" });
});
afterAll(async () => {
  await shutdown();
  await new Promise((r) => server.close(r));
  await simEnv.close();
});
beforeEach(async () => {
  await flush();
  exporter.reset();
  calls = [];
  failAssessments = undefined;
  simEnv.sim.reset();
  state.experimentId = undefined;
});

const RUN_ID = "ab".repeat(16);
const assessmentCalls = () => calls.filter((c) => c.method === "POST" && c.path.endsWith("/assessments"));
const endCall = () => calls.find((c) => c.path.endsWith("/end"));
const rootSpans = () => exporter.getFinishedSpans().filter((s) => s.parentSpanContext === undefined);

const judge = makeJudge({
  name: "support_quality",
  instructions: "Rate as one of: excellent, good, needs_improvement, poor\nFocus on {{ outputs }} responding to {{ inputs }}.",
  model: "anthropic:/claude-opus-4-1-20250805",
});
const hasNextSteps = scorer({ name: "has_next_steps", fn: ({ outputs }) => /\b(i'll|will|let me)\b/i.test(JSON.stringify(outputs)) });
const data = [
  { inputs: { issue: "Can't access my account" }, outputs: { response: "I'll help you regain access immediately." } },
  { inputs: { issue: "Slow website performance" }, outputs: { response: "Let me investigate the performance issues." } },
  { inputs: { issue: "Refund" }, outputs: { response: "No." }, expectations: { expected: "refund issued" } },
];

describe("evaluate()", () => {
  test("a row with nothing to judge is not sent to the model: its Feedback says what was missing, counted in error_count", async () => {
    const before = simEnv.sim.requests.length;
    const r = await evaluate({ data: [{ inputs: "", outputs: "" }, data[0]!], scorers: [judge], experimentId: "7", runName: "empty-row" });
    // Only the row with content reached the model.
    expect(simEnv.sim.requests.length - before).toBe(1);
    expect(String(r.tables.evalResults[0]!["support_quality/error"])).toMatch(/^MISSING_CONTENT: Not judged: \{\{ outputs \}\} and \{\{ inputs \}\} are empty/);
    expect(r.tables.evalResults[0]!["support_quality/value"]).toBeNull();
    expect(r.metrics["support_quality/error_count"]).toBe(1);
    expect(r.metrics["support_quality/count"]).toBe(1);
  });

  test("scores rows with a judge and a code scorer under an evaluation run", async () => {
    const r = await evaluate({ data, scorers: [judge, hasNextSteps], experimentId: "7", runName: "step-5" });

    const created = calls.find((c) => c.path === "/api/v1/runs")!;
    expect(created.body).toEqual({ experimentId: "7", name: "step-5", kind: "evaluation" });
    expect(r.runId).toBe(RUN_ID);
    expect(r.experimentId).toBe("7");

    // One root span per row, tagged as evaluation traffic, in the run, with the row's payloads.
    const roots = rootSpans().filter((s) => s.name === "eval_row");
    expect(roots).toHaveLength(3);
    for (const s of roots) {
      expect(s.attributes["gavel.evaluation"]).toBe("true");
      expect(s.attributes["gavel.run_id"]).toBe(RUN_ID);
      expect(s.attributes["gavel.experiment_id"]).toBe("7");
    }
    const ids = r.tables.evalResults.map((row) => row.traceId);
    expect(new Set(ids).size).toBe(3);
    const first = roots.find((s) => s.spanContext().traceId === ids[0])!;
    expect(JSON.parse(String(first.attributes["gavel.inputs"]))).toEqual(data[0]!.inputs);
    expect(JSON.parse(String(first.attributes["gavel.outputs"]))).toEqual(data[0]!.outputs);
    // The judge's own spans are separate traces of the run, never part of a row's trace.
    const judgeRoots = rootSpans().filter((s) => s.attributes["gavel.judge"] === "true");
    expect(judgeRoots).toHaveLength(3);
    expect(judgeRoots.every((s) => s.attributes["gavel.run_id"] === RUN_ID && !ids.includes(s.spanContext().traceId))).toBe(true);

    // Every assessment on its row's trace, under the run, with a deterministic id.
    const logged = assessmentCalls();
    expect(logged).toHaveLength(6);
    for (const c of logged) {
      const traceId = c.path.split("/")[4]!;
      expect(ids).toContain(traceId);
      expect(c.body.runId).toBe(RUN_ID);
      expect(c.body.assessmentId).toBe(evalAssessmentId(RUN_ID, traceId, String(c.body.name)));
      expect(c.body.spanId).toBe(roots.find((s) => s.spanContext().traceId === traceId)!.spanContext().spanId);
    }
    expect(logged.filter((c) => c.body.name === "support_quality").every((c) => (c.body.source as { sourceType: string }).sourceType === "LLM_JUDGE")).toBe(true);
    expect(logged.filter((c) => c.body.name === "has_next_steps").every((c) => (c.body.source as { sourceType: string }).sourceType === "CODE")).toBe(true);

    // The table: one row per data row, in order.
    expect(r.tables.evalResults).toHaveLength(3);
    expect(r.tables.evalResults[0]).toMatchObject({ inputs: data[0]!.inputs, outputs: data[0]!.outputs, "has_next_steps/value": true, "has_next_steps/rationale": null });
    expect(r.tables.evalResults[2]).toMatchObject({ expectations: { expected: "refund issued" }, "has_next_steps/value": false });
    for (const row of r.tables.evalResults) {
      expect(["excellent", "good", "needs_improvement", "poor"]).toContain(row["support_quality/value"]);
      expect(typeof row["support_quality/rationale"]).toBe("string");
    }

    // Metrics, also stored on the run when it ends.
    expect(r.metrics["has_next_steps/mean"]).toBeCloseTo(2 / 3);
    expect(r.metrics["has_next_steps/count"]).toBe(3);
    const shares = ["excellent", "good", "needs_improvement", "poor"].map((c) => r.metrics[`support_quality/${c}/share`]!);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(r.metrics["support_quality/error_count"]).toBe(0);
    expect(endCall()!.body).toEqual({ status: "FINISHED", metrics: r.metrics });
  });

  test("a scorer failing on one row is recorded on that row and the rest is scored", async () => {
    simEnv.sim.script((req) => (JSON.stringify(req.body).includes("Slow website") ? { status: 400, errorMessage: "context too long" } : undefined));
    const flaky = scorer({
      name: "flaky",
      fn: ({ inputs }) => {
        if ((inputs as { issue: string }).issue === "Refund") throw new Error("cannot score refunds");
        return 1;
      },
    });
    const r = await evaluate({ data, scorers: [judge, flaky], experimentId: "7" });
    const [a, b, c] = r.tables.evalResults;
    expect(a!["support_quality/error"]).toBeUndefined();
    expect(b!["support_quality/value"]).toBeNull();
    expect(b!["support_quality/error"]).toMatch(/context too long/);
    expect(c!["flaky/value"]).toBeNull();
    expect(c!["flaky/error"]).toBe("SCORER_ERROR: cannot score refunds");
    expect(r.metrics["flaky/mean"]).toBe(1);
    expect(r.metrics["flaky/error_count"]).toBe(1);
    expect(r.metrics["support_quality/count"]).toBe(2);
    expect(r.metrics["support_quality/error_count"]).toBe(1);
    const failed = assessmentCalls().find((x) => x.body.name === "flaky" && (x.body.error as { message?: string } | undefined)?.message === "cannot score refunds");
    expect(failed?.body).toMatchObject({ value: null, error: { code: "SCORER_ERROR" } });
    expect(endCall()!.body.status).toBe("FINISHED");
    expect(r.runName).toMatch(/^eval-\d{8}-\d{6}$/);
  });

  test("predictFn runs under a new trace per row; its failure is the row's error", async () => {
    const lookup = trace(function lookup(issue: string) {
      return `kb:${issue}`;
    }, { spanType: "RETRIEVER" });
    const app = async function supportApp(inputs: { issue: string }) {
      if (inputs.issue === "crash") throw new Error("model unavailable");
      return { response: `I'll help with ${lookup(inputs.issue)}` };
    };
    const spanNames = scorer({ name: "span_names", fn: ({ trace: t }) => t!.data.spans.map((s) => s.name).sort().join(",") });
    const r = await evaluate({
      data: [{ inputs: { issue: "billing" } }, { inputs: { issue: "crash" } }],
      predictFn: app,
      scorers: [spanNames, judge],
      experimentId: "7",
    });
    const [ok, crash] = r.tables.evalResults;
    expect(ok).toMatchObject({ outputs: { response: "I'll help with kb:billing" }, "span_names/value": "lookup,supportApp" });
    expect(crash!.error).toBe("model unavailable");
    expect(crash!["span_names/error"]).toMatch(/PREDICT_ERROR/);
    expect(crash!["support_quality/error"]).toMatch(/PREDICT_ERROR/);
    const root = rootSpans().find((s) => s.spanContext().traceId === ok!.traceId)!;
    expect(root.name).toBe("supportApp");
    expect(root.attributes["gavel.evaluation"]).toBe("true");
    expect(JSON.parse(String(root.attributes["gavel.inputs"]))).toEqual({ issue: "billing" });
    expect(rootSpans().find((s) => s.spanContext().traceId === crash!.traceId)!.status.code).toBe(2);
    expect(r.metrics["span_names/error_count"]).toBe(1);
  });

  test("traces (searchTraces results) are scored in place, expectations read from the trace", async () => {
    const mk = (traceId: string, expectation?: string): Trace =>
      new Trace({
        info: { traceId, experimentId: "9", runId: null, name: "app", timestampMs: 0, executionTimeMs: 1, status: "OK", serviceName: "s", inputs: { q: traceId.slice(0, 2) }, outputs: "answer", tags: {}, spanType: "CHAIN" },
        data: { spans: [] },
        assessments: expectation ? [{ assessmentId: "e1", name: "expected", kind: "expectation", value: expectation, source: { sourceType: "HUMAN", sourceId: "x" }, valid: true, createTimeMs: 1 }] : [],
      });
    const traces = [mk("1".repeat(32), "answer"), mk("2".repeat(32))];
    const matches = scorer({ name: "matches", fn: ({ outputs, expectations }) => (expectations ? outputs === expectations.expected : null) });
    const r = await evaluate({ data: traces, scorers: [matches] });
    expect(r.experimentId).toBe("9"); // the traces' experiment when none is set
    expect(rootSpans().filter((s) => s.name === "eval_row")).toHaveLength(0);
    expect(r.tables.evalResults.map((x) => [x.traceId, x["matches/value"]])).toEqual([
      ["1".repeat(32), true],
      ["2".repeat(32), null],
    ]);
    // The second trace has no expectation, so the scorer returned null: nothing is stored for it
    // (an assessment needs a value or an error, as in MLflow).
    expect(assessmentCalls().map((c) => c.path.split("/")[4])).toEqual(["1".repeat(32)]);
    expect(assessmentCalls().every((c) => c.body.spanId === undefined && c.body.runId === RUN_ID)).toBe(true);
    expect(r.metrics["matches/count"]).toBe(1);
    // Both scored traces are linked to the evaluation run, before it ends (MLflow links them too).
    const linkAt = calls.findIndex((c) => c.path === `/api/v1/runs/${RUN_ID}/traces`);
    expect(calls[linkAt]?.body).toEqual({ traceIds: ["1".repeat(32), "2".repeat(32)] });
    expect(linkAt).toBeLessThan(calls.findIndex((c) => c.path === `/api/v1/runs/${RUN_ID}/end`));

    await expect(evaluate({ data: traces, scorers: [matches], predictFn: () => 1 })).rejects.toThrow(/already has a trace.*drop predictFn/);
    await expect(evaluate({ data: [traces[0]!, traces[0]!], scorers: [matches] })).rejects.toThrow(/same trace/);
  });

  test("bounds concurrency and reports progress", async () => {
    let inFlight = 0;
    let peak = 0;
    const slow = scorer({
      name: "slow",
      fn: async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        return 1;
      },
    });
    const progress: string[] = [];
    const rows = Array.from({ length: 9 }, (_, i) => ({ inputs: { i }, outputs: i }));
    const r = await evaluate({ data: rows, scorers: [slow], concurrency: 3, onProgress: (p) => progress.push(`${p.done}/${p.total}`) });
    expect(peak).toBe(3);
    expect(progress).toEqual(Array.from({ length: 9 }, (_, i) => `${i + 1}/9`));
    expect(r.tables.evalResults.map((x) => x.inputs)).toEqual(rows.map((x) => x.inputs));
  });

  test("more rows than the span queue holds: every row's trace is exported", async () => {
    const rows = Array.from({ length: 2600 }, (_, i) => ({ inputs: { i }, outputs: i % 2 === 0 }));
    const passthrough = scorer({ name: "even", fn: ({ outputs }) => outputs as boolean });
    const r = await evaluate({ data: rows, scorers: [passthrough], concurrency: 32 });
    expect(rootSpans().filter((s) => s.name === "eval_row")).toHaveLength(2600);
    expect(r.metrics["even/mean"]).toBe(0.5);
  }, 60_000);

  test("a transient collector error is retried with the same assessment id", async () => {
    let refused = 0;
    failAssessments = () => (refused++ === 0 ? 503 : undefined);
    const r = await evaluate({ data: [data[0]!], scorers: [hasNextSteps] });
    const logged = assessmentCalls();
    expect(logged).toHaveLength(2);
    expect(logged[0]!.body.assessmentId).toBe(logged[1]!.body.assessmentId);
    expect(endCall()!.body.status).toBe("FINISHED");
    expect(r.metrics["has_next_steps/count"]).toBe(1);
  });

  test("when evaluate itself fails, the run ends FAILED and the error is thrown", async () => {
    failAssessments = () => 400;
    await expect(evaluate({ data, scorers: [hasNextSteps] })).rejects.toThrow(/refused/);
    expect(endCall()!.body).toEqual({ status: "FAILED" });
  });

  test("rejects bad input with what to do, before creating a run", async () => {
    const bad: [unknown, RegExp][] = [
      [{ data: [], scorers: [hasNextSteps] }, /got no data/],
      [{ scorers: [hasNextSteps] }, /needs data/],
      [{ data, scorers: [] }, /at least one scorer/],
      [{ data, scorers: [() => 1] }, /without a name: wrap it as scorer\(\{ name/],
      [{ data, scorers: [{ name: "x" }] }, /scorers\[0\] is not a scorer/],
      [{ data, scorers: [hasNextSteps, scorer({ name: "has_next_steps", fn: () => 1 })] }, /Two scorers are named "has_next_steps"/],
      [{ data, scorers: [judge, judge.clone()] }, /Two scorers are named "support_quality"/],
      [{ data: [{ outputs: "x" }], scorers: [hasNextSteps] }, /data\[0\] has no inputs/],
      [{ data: [{ inputs: 1, expectations: "x" }], scorers: [hasNextSteps] }, /expectations must be an object/],
      [{ data: ["row"], scorers: [hasNextSteps] }, /data\[0\] is not a row/],
      [{ data, scorers: [hasNextSteps], concurrency: 0 }, /concurrency must be a whole number/],
      [{ data, scorers: [hasNextSteps], predictFn: "f" }, /predictFn must be a function/],
    ];
    for (const [opts, msg] of bad) await expect(evaluate(opts as never)).rejects.toThrow(msg);
    expect(calls).toEqual([]);
  });

  test("named plain functions are code scorers", async () => {
    function shortAnswer({ outputs }: { outputs: unknown }) {
      return String(outputs).length < 10;
    }
    const r = await evaluate({ data: [{ inputs: "q", outputs: "short" }], scorers: [shortAnswer] });
    expect(r.tables.evalResults[0]!["shortAnswer/value"]).toBe(true);
  });
});
