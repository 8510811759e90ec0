import { beforeEach, describe, expect, test } from "vitest";
import { GavelConfigError } from "../errors.js";
import { Judge, makeJudge } from "../judge.js";
import { JUDGE_NAME, SUPPORT, supportDataset } from "../testing/alignment.js";
import { useSimEnv } from "../testing/sim.js";
import "./index.js";
import { alignmentReportOf } from "./align.js";
import { formatReport } from "./report.js";
import { SIMBAAlignmentOptimizer, SIMBA_DEFAULTS } from "./simba.js";
import type { AlignmentOptimizer, AlignmentProgress, PlainLabelledTrace } from "./types.js";

const simEnv = useSimEnv({ resetEachTest: true });

const RULE = 'If the issue mentions "billing" or "refund", rate as poor.';
const judge = () => makeJudge({ name: JUDGE_NAME, instructions: SUPPORT, model: "openai:/gpt-4o-mini" });
/** Responses the simulator reads as "good": the original judge misses the human's billing/refund rule. */
const dataset = (n: number): PlainLabelledTrace[] =>
  supportDataset(n).map((t) => ({ ...t, outputs: { response: `A good reply to case ${t.traceId}.` } }));

/** A user-written optimizer: appends the rule, no LLM calls; remembers the trace ids of every trainset it was given. */
const trainsets: string[][] = [];
const ruleOptimizer: AlignmentOptimizer = {
  name: "AppendRule",
  async align(j, trainset, ctx) {
    trainsets.push(trainset.map((e) => e.traceId));
    ctx.progress({ message: `saw ${trainset.length}`, step: 1, totalSteps: 1 });
    const instructions = j.instructions.includes(RULE) ? j.instructions : `${j.instructions}\n${RULE}`;
    return { judge: j.clone({ instructions }), details: { trained: trainset.length } };
  },
};

describe("judge.align and its report", () => {
  beforeEach(() => {
    trainsets.length = 0;
  });

  test("report: sizes, stratified split, before/after agreement, kappa and confusion on the held-out split, usage, diff", async () => {
    const traces: PlainLabelledTrace[] = [...dataset(30), { traceId: "x", inputs: {}, outputs: {}, assessments: [] }];
    const progress: AlignmentProgress[] = [];
    const j = judge();
    const aligned = await j.align(traces, ruleOptimizer, { onProgress: (p) => progress.push(p), seed: 3 });
    const report = alignmentReportOf(aligned)!;
    expect(report).toMatchObject({
      optimizer: "AppendRule",
      judge: { name: JUDGE_NAME, model: "openai:/gpt-4o-mini" },
      seed: 3,
      examples: { total: 31, used: 30, skipped: { missingField: 0, noLabel: 1, duplicate: 0 } },
      split: { train: 24, heldOut: 6, stratified: true, heldOutFraction: 0.2 },
      details: { trained: 24 },
      // The returned judge learned from all 30 labels after the measurement.
      returned: "retrained",
      retrained: { examples: 30, details: { trained: 30 } },
    });
    expect(aligned.alignmentReport).toBe(report);
    // 10 of the 30 are billing/refund (poor): 2 of the 6 held out.
    expect(report.before).toEqual({
      n: 6,
      agreement: 4 / 6,
      kappa: 0,
      errors: 0,
      confusion: { labels: ["good", "poor"], matrix: [[4, 0], [2, 0]] },
    });
    expect(report.after).toEqual({ n: 6, agreement: 1, kappa: 1, errors: 0, confusion: { labels: ["good", "poor"], matrix: [[4, 0], [0, 2]] } });
    // Every LLM call is counted: here only the 2 × 6 held-out judge calls.
    expect(report.llm).toMatchObject({ calls: 12, optimizer: { calls: 0 }, evaluation: { calls: 12 } });
    expect(report.llm.calls).toBe(simEnv().sim.requests.length);
    expect(report.llm.inputTokens).toBeGreaterThan(0);
    expect(report.llm.outputTokens).toBeGreaterThan(0);
    expect(report.wallTimeMs).toBeGreaterThanOrEqual(0);
    expect(report.instructionDiff).toBe(
      ["--- a/instructions", "+++ b/instructions", "@@ -1,3 +1,4 @@", " Evaluate the quality of this customer support response.", " Rate as one of: good, poor",
        " Focus on {{ outputs }} responding to {{ inputs }}.", `+${RULE}`, ""].join("\n"),
    );
    expect(report.note).toMatch(/Skipped 1 of 31 traces: 1 without a valid human "support_quality" label/);
    expect(report.note).toMatch(/retrained on all 30 labelled examples after the measurement; "after" describes the judge trained on the 24 training examples only/);
    // Plain JSON; on the judge, but not enumerable and not in its toJSON().
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(Object.keys(aligned)).not.toContain("alignmentReport");
    expect(aligned.toJSON()).not.toHaveProperty("alignmentReport");
    expect(j.alignmentReport).toBeUndefined();
    expect(formatReport(report)).toMatch(/held-out agreement: 66\.7% → 100\.0%; kappa: 0\.000 → 1\.000/);
    expect(formatReport(report)).toMatch(/returned: the judge retrained on all 30 labelled examples/);
    // Progress went through every phase, in order, with the optimizer's own steps.
    const phases = [...new Set(progress.map((p) => p.phase))];
    expect(phases).toEqual(["prepare", "baseline", "optimize", "evaluate", "retrain", "done"]);
    expect(progress.find((p) => p.message === "saw 24")).toMatchObject({ phase: "optimize", step: 1, totalSteps: 1 });
    expect(progress[progress.length - 1]!.llmCalls).toBe(12);
  });

  test("every label is used: the returned judge is retrained on train + held out; retrainOnAll: false keeps the measured one", async () => {
    const traces = dataset(30);
    const aligned = await judge().align(traces, ruleOptimizer);
    expect(trainsets.map((t) => t.length)).toEqual([24, 30]);
    expect(new Set(trainsets[1])).toEqual(new Set(traces.map((t) => t.traceId)));
    expect(alignmentReportOf(aligned)!.returned).toBe("retrained");
    // Its lineage: every trace it learned from, which a later alignment will never hold out.
    expect(aligned.alignedOn).toHaveLength(30);
    expect(JSON.parse(JSON.stringify(aligned)).alignedOn).toEqual([...aligned.alignedOn!]);

    trainsets.length = 0;
    const measured = await judge().align(traces, ruleOptimizer, { retrainOnAll: false });
    expect(trainsets.map((t) => t.length)).toEqual([24]);
    const r = alignmentReportOf(measured)!;
    expect(r.returned).toBe("measured");
    expect(r.retrained).toBeUndefined();
    expect(measured.alignedOn).toEqual([...trainsets[0]!].sort());
    expect(r.llm.retrain.calls).toBe(0);
  });

  test("re-aligning holds out only traces the judge has never seen (its alignedOn, through JSON too)", async () => {
    const first = await judge().align(dataset(30), ruleOptimizer);
    const seen = new Set(first.alignedOn);
    expect(seen.size).toBe(30);
    // Registered and loaded again: the lineage travels with the judge.
    const reloaded = Judge.fromJSON(JSON.parse(JSON.stringify(first)));
    expect(reloaded.seenTraceIds()).toEqual(seen);
    trainsets.length = 0;
    const more = [...dataset(30), ...supportDataset(20, "n").map((t) => ({ ...t, outputs: { response: `A good reply to case ${t.traceId}.` } }))];
    const again = await reloaded.align(more, ruleOptimizer, { retrainOnAll: false });
    const trained = new Set(trainsets[0]);
    const heldOut = more.map((t) => t.traceId).filter((id) => !trained.has(id));
    // 20% of 50 = 10 held out, all of them from the 20 new traces.
    expect(heldOut).toHaveLength(10);
    for (const id of heldOut) expect(seen.has(id)).toBe(false);
    expect(alignmentReportOf(again)!.split).toMatchObject({ train: 40, heldOut: 10, stratified: true });
    // Nothing new to hold out: no split, and the report says why.
    trainsets.length = 0;
    const none = await reloaded.align(dataset(30), ruleOptimizer);
    expect(alignmentReportOf(none)!.split).toMatchObject({ stratified: false, train: 30, heldOut: 30 });
    expect(alignmentReportOf(none)!.note).toMatch(/Too few examples the judge has not seen to hold out \(0 of 30; 30 are in its alignment already/);
  });

  test("SIMBA is the default optimizer, at the reference defaults", async () => {
    // The default optimizer's minimum shows which one it is, without running 1000+ calls.
    await expect(judge().align(dataset(9))).rejects.toThrow(/Need at least 10 traces \(have 9\) with a valid human "support_quality" label to align with SIMBA/);
    expect(new SIMBAAlignmentOptimizer().describe()).toEqual({
      batchSize: 10, numCandidates: 6, maxSteps: 8, maxDemos: 4, temperatureForSampling: 0.2, temperatureForCandidates: 0.2, rolloutTemperature: 1,
    });
    expect(SIMBA_DEFAULTS.seed).toBe(42);
  });

  test("every LLM call of a SIMBA alignment (judge runs and OfferFeedback) is in the report", async () => {
    simEnv().sim.script((req) => (req.body?.temperature === 1 ? { content: { rationale: "r", result: req.seq % 3 ? "good" : "poor" } } : undefined), { api: "openai.chat" });
    const aligned = await judge().align(dataset(30), new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 2, batchSize: 6, maxDemos: 0 }));
    const report = alignmentReportOf(aligned)!;
    expect(report.seed).toBe(42);
    expect(report.llm.calls).toBe(simEnv().sim.requests.length);
    expect(report.llm.evaluation.calls).toBe(12);
    expect(simEnv().sim.requests.some((r) => r.body?.response_format?.json_schema?.name === "offer_feedback")).toBe(true);
    expect(aligned.templateVariables).toEqual(["outputs", "inputs"]);
  });

  test("an optimizer that changes the template variables is refused", async () => {
    const bad: AlignmentOptimizer = { name: "Bad", align: async (j) => ({ judge: j.clone({ instructions: "Just {{ outputs }}. Rate as one of: good, poor" }) }) };
    await expect(judge().align(dataset(10), bad)).rejects.toThrow(/Bad changed the judge's template variables \(outputs, inputs → outputs\)/);
  });

  test("arguments are checked", async () => {
    await expect(judge().align("nope" as never)).rejects.toThrow(GavelConfigError);
    await expect(judge().align(dataset(10), ruleOptimizer, { heldOutFraction: 1 })).rejects.toThrow(/heldOutFraction/);
  });

  test("an abort stops the alignment", async () => {
    const ac = new AbortController();
    const p = judge().align(dataset(20), new SIMBAAlignmentOptimizer({ numCandidates: 2, maxSteps: 50 }), {
      signal: ac.signal,
      onProgress: (e) => e.phase === "optimize" && e.step === 2 && ac.abort(new Error("stop")),
    });
    await expect(p).rejects.toThrow();
  });
});
