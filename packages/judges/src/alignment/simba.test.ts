import { describe, expect, test } from "vitest";
import { promptParts, type RecordedRequest } from "../../../../test/simulator/src/index.js";
import { GavelConfigError, LLMError } from "../errors.js";
import { makeJudge } from "../judge.js";
import { answer, caseId, isJudgeCall, JUDGE_NAME, labelled, schemaName, SUPPORT, supportDataset, systemText } from "../testing/alignment.js";
import { useSimEnv } from "../testing/sim.js";
import "./align.js";
import { alignmentReportOf } from "./align.js";
import { DEMOS_HEADER } from "./program.js";
import { SeededRandom } from "./rng.js";
import { finalSelectionIndices, SIMBAAlignmentOptimizer, softmaxSample, sortBuckets, topKPlusBaseline, type SIMBADetails } from "./simba.js";
import type { PlainLabelledTrace } from "./types.js";

const simEnv = useSimEnv({ resetEachTest: true });

const judge = () => makeJudge({ name: JUDGE_NAME, instructions: SUPPORT, model: "openai:/gpt-4o-mini" });
const details = (j: { alignmentReport: unknown }) => (j.alignmentReport as { details: SIMBADetails }).details;
const isRollout = (req: RecordedRequest) => req.body?.temperature === 1;

/**
 * Judge answers by example and model setting, never by instructions:
 * - "mixed" cases: the base setting agrees with the human, the temperature-1 rollouts do not;
 * - "flipped" cases: the other way round;
 * - "right" cases always agree, "wrong" cases never do.
 */
function scriptByGroup(groups: Record<string, "mixed" | "flipped" | "right" | "wrong">, labels: Record<string, string>) {
  const other = (l: string) => (l === "good" ? "poor" : "good");
  simEnv().sim.script((req) => {
    if (!isJudgeCall(req)) return undefined;
    const id = caseId(req)!;
    const label = labels[id]!;
    const g = groups[id] ?? "right";
    const correct = g === "right" || (g === "mixed" && !isRollout(req)) || (g === "flipped" && isRollout(req));
    return answer(correct ? label : other(label));
  }, { api: "openai.chat" });
}

/** OfferFeedback answers that name the case and count the rules the module already has. */
function scriptRules() {
  simEnv().sim.script((req) => {
    if (schemaName(req) !== "offer_feedback") return undefined;
    const text = promptParts(req).firstUserText;
    const id = /<program_inputs>[\s\S]*?case (\w+)/.exec(text)?.[1] ?? "?";
    const modules = /<modules_defn>([\s\S]*?)<\/modules_defn>/.exec(text)?.[1] ?? "";
    const n = (modules.match(/RULE#/g) ?? []).length + 1;
    return { content: { discussion: "the worse run missed it", module_advice: { judge: `RULE#${n} If the module receives case ${id}, then it should look closer.` } } };
  }, { api: "openai.chat" });
}

function data(n: number): { traces: PlainLabelledTrace[]; labels: Record<string, string> } {
  const traces = supportDataset(n);
  return { traces, labels: Object.fromEntries(traces.map((t) => [t.traceId, String(t.assessments[0]!.value)])) };
}

describe("SIMBA helpers", () => {
  test("buckets sort by (max − min, max, max − avg) descending, stable", () => {
    // Two settings × four examples, setting-major like the trajectories.
    const runs = [1, 1, 0, 0, /* setting 2 */ 0, 1, 0, 1].map((score) => ({ score }));
    const b = sortBuckets(runs, 4);
    expect(b.map((x) => x.example)).toEqual([0, 3, 1, 2]);
    expect(b[0]!.stats).toEqual({ maxToMin: 1, max: 1, maxToAvg: 0.5 });
    expect(b[0]!.runs.map((r) => r.score)).toEqual([1, 0]);
  });

  test("topKPlusBaseline puts the baseline in the last slot when it is not in the top k", () => {
    const pool = [
      { idx: 0, scores: [] },
      { idx: 1, scores: [1] },
      { idx: 2, scores: [0.5] },
      { idx: 3, scores: [0.8] },
    ];
    expect(topKPlusBaseline(pool, 2)).toEqual([1, 0]);
    expect(topKPlusBaseline(pool, 5)).toEqual([1, 3, 2, 0]);
  });

  test("softmax sampling favours high averages at T=0.2 and is seeded", () => {
    const avg = (i: number) => [0, 1][i]!;
    const draw = (seed: number) => Array.from({ length: 200 }, ((r) => () => softmaxSample(r, [0, 1], avg, 0.2))(new SeededRandom(seed)));
    const picks = draw(1);
    expect(picks.filter((p) => p === 1).length).toBeGreaterThan(180); // e^5 : 1
    expect(draw(1)).toEqual(picks);
  });

  test("final selection uses Python rounding (half to even) without duplicates", () => {
    // M = 3, N = 7: i·3/6 = 0, .5, 1, 1.5, 2, 2.5, 3 → 0, 0, 1, 2, 2, 2, 3
    expect(finalSelectionIndices(4, 6)).toEqual([0, 1, 2, 3]);
    // M = 5, N = 3: 0, 2.5, 5 → 0, 2, 5 (Math.round would give 3)
    expect(finalSelectionIndices(6, 2)).toEqual([0, 2, 5]);
    expect(finalSelectionIndices(1, 6)).toEqual([0]);
  });
});

describe("SIMBAAlignmentOptimizer against the simulator", () => {
  test("buckets are processed widest spread first: (max − min, max, max − avg)", async () => {
    const { traces, labels } = data(10);
    const groups = { t0: "mixed", t1: "mixed", t2: "flipped", t7: "wrong", t8: "wrong", t9: "wrong" } as const;
    scriptByGroup(groups, labels);
    const opt = new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 1, batchSize: 10 });
    const aligned = await judge().align(traces, opt);
    const step = details(aligned).steps[0]!;
    const rank = (id: string) => {
      const g = (groups as Record<string, string>)[id] ?? "right";
      return { mixed: 0, flipped: 1, right: 2, wrong: 3 }[g]!;
    };
    // Stable within a rank: batch order.
    const expected = [...step.batch].sort((a, b) => rank(a) - rank(b));
    expect(step.bucketOrder).toEqual(expected);
    // Three settings: the first is the base model, the others run at temperature 1.0.
    const judgeCalls = simEnv().sim.requests.filter(isJudgeCall);
    expect(judgeCalls.filter(isRollout).length).toBeGreaterThan(0);
    expect(judgeCalls.some((r) => r.body.temperature === undefined)).toBe(true);
  });

  test("a strategy that skips still yields its (demo-dropped) copy as a candidate", async () => {
    const { traces, labels } = data(10);
    scriptByGroup({}, labels); // every run agrees: p10 = p90 = 1, so both strategies skip
    const opt = new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 1, batchSize: 10 });
    const aligned = await judge().align(traces, opt, { heldOutFraction: 0 });
    const d = details(aligned);
    const step = d.steps[0]!;
    expect(step.candidates).toHaveLength(4); // numCandidates + 1
    expect(step.candidates.every((c) => c.outcome === "skipped" && /p10/.test(c.reason ?? ""))).toBe(true);
    expect(step.candidates.every((c) => c.program !== undefined && c.score === 1)).toBe(true);
    expect(step.winner).toBe(1);
    expect(simEnv().sim.requests.filter((r) => schemaName(r) === "offer_feedback")).toHaveLength(0);
    // Each kept copy was scored on the same mini-batch: 3 settings × 10 + 4 candidates × 10, then the finalists.
    expect(d.programs).toHaveLength(5);
  });

  test("an exception in a strategy discards the candidate and the walk goes on to the next bucket", async () => {
    const { traces, labels } = data(10);
    scriptByGroup({ t0: "mixed", t1: "mixed", t2: "mixed", t3: "mixed", t4: "mixed", t5: "mixed" }, labels);
    // OfferFeedback fails for good (400 is not retried).
    simEnv().sim.script((req) => (schemaName(req) === "offer_feedback" ? { status: 400, errorMessage: "no" } : undefined), { api: "openai.chat" });
    const opt = new SIMBAAlignmentOptimizer({ numCandidates: 2, maxSteps: 1, batchSize: 10, maxDemos: 0 });
    const aligned = await judge().align(traces, opt, { heldOutFraction: 0 });
    const step = details(aligned).steps[0]!;
    const errors = step.candidates.filter((c) => c.outcome === "error");
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((c) => c.program === undefined)).toBe(true);
    // The rule calls that failed were on buckets with a spread; the later (uniform) buckets skip and are kept.
    const kept = step.candidates.filter((c) => c.program !== undefined);
    expect(kept).toHaveLength(3);
    expect(step.candidates.length).toBe(errors.length + 3);
  });

  test("rules accumulate over steps, each appended after a blank line", async () => {
    const { traces, labels } = data(10);
    scriptByGroup({ t0: "mixed", t1: "mixed", t2: "mixed", t3: "mixed", t4: "mixed" }, labels);
    scriptRules();
    const opt = new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 3, batchSize: 10, maxDemos: 0 });
    const aligned = await judge().align(traces, opt, { heldOutFraction: 0 });
    const d = details(aligned);
    expect(d.steps[0]!.candidates.some((c) => c.outcome === "rule")).toBe(true);
    expect(Math.max(...d.programs.map((p) => p.rules))).toBeGreaterThanOrEqual(2);
    // A later OfferFeedback call saw the rule an earlier one wrote in the module's instructions.
    const feedback = simEnv().sim.requests.filter((r) => schemaName(r) === "offer_feedback").map((r) => promptParts(r).firstUserText);
    expect(feedback.some((t) => /<modules_defn>[\s\S]*RULE#1[\s\S]*<\/modules_defn>/.test(t))).toBe(true);
    // A two-rule program was copied from a one-rule one, and its judge prompt has both, in order, after blank lines.
    const twoRules = d.programs.find((p) => p.rules >= 2)!;
    expect(d.programs[twoRules.source]!.rules).toBe(twoRules.rules - 1);
    const prompts = simEnv().sim.requests.filter(isJudgeCall).map((r) => promptParts(r).systemText);
    expect(prompts.some((t) => /\.\n\nRULE#1 If the module receives case \w+, then it should look closer\.\n\nRULE#2 /.test(t))).toBe(true);
  });

  test("the final choice favours the baseline on ties", async () => {
    const { traces, labels } = data(10);
    // Answers ignore the instructions: every program scores the same on the trainset.
    scriptByGroup({ t0: "mixed", t1: "mixed", t2: "mixed", t3: "mixed", t4: "mixed" }, labels);
    scriptRules();
    const j = judge();
    const aligned = await j.align(traces, new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 2, batchSize: 10, maxDemos: 0 }), { heldOutFraction: 0 });
    const d = details(aligned);
    expect(d.winning.length).toBe(3);
    expect(new Set(d.finalists.map((f) => f.score)).size).toBe(1);
    expect(d.finalists[0]!.program).toBe(0);
    expect(d.chosen.program).toBe(0);
    expect(aligned.instructions).toBe(j.instructions);
    expect(aligned).not.toBe(j);
    expect(alignmentReportOf(aligned)!.note).toMatch(/kept the original instructions/);
  });

  test("a rule that fixes the judge wins the final choice (simulator follows keyword rules)", async () => {
    // Every response "reads as good" to the simulator, so the original judge says good everywhere
    // and misses the human rule (billing and refund issues are poor).
    const traces = supportDataset(24).map((t) => ({ ...t, outputs: { response: `A good reply to case ${t.traceId}.` } }));
    // Base setting: the simulator's own answer (it follows "If … mentions "x" …, rate as y" lines in
    // the instructions). Rollouts answer at random, which gives buckets a spread to learn from.
    simEnv().sim.script((req) => {
      if (isJudgeCall(req) && isRollout(req)) return answer(req.seq % 2 === 0 ? "good" : "poor");
      if (schemaName(req) === "offer_feedback") {
        return { content: { discussion: "billing", module_advice: { judge: 'If the issue mentions "billing" or "refund", rate as poor.' } } };
      }
      return undefined;
    }, { api: "openai.chat" });
    const j = judge();
    const aligned = await j.align(traces, new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 2, batchSize: 8, maxDemos: 0 }), { heldOutFraction: 0.25 });
    const report = alignmentReportOf(aligned)!;
    expect(aligned.instructions).toContain('If the issue mentions "billing" or "refund", rate as poor.');
    expect(aligned.instructions.startsWith(j.instructions + "\n\n")).toBe(true);
    expect(report.after.agreement).toBe(1);
    expect(report.before.agreement).toBeLessThan(1);
    expect(report.instructionDiff).toMatch(/^\+If the issue mentions "billing" or "refund", rate as poor\.$/m);
    expect(aligned.templateVariables).toEqual(j.templateVariables);
  });

  test("same seed and same answers give the same result; another seed another batch order", async () => {
    const { traces, labels } = data(14);
    const run = async (seed: number) => {
      simEnv().sim.reset();
      scriptByGroup({ t0: "mixed", t3: "mixed", t5: "flipped", t8: "mixed", t9: "wrong" }, labels);
      scriptRules();
      const aligned = await judge().align(traces, new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 3, batchSize: 5 }), { seed, heldOutFraction: 0 });
      const { wallTimeMs: _w, ...report } = alignmentReportOf(aligned)!;
      return { instructions: aligned.instructions, program: (report.details as unknown as SIMBADetails).chosenProgram, report };
    };
    const a = await run(7);
    const b = await run(7);
    expect(b).toEqual(a);
    const c = await run(8);
    expect((c.report.details as unknown as SIMBADetails).steps[0]!.batch).not.toEqual((a.report.details as unknown as SIMBADetails).steps[0]!.batch);
  });

  test("fewer than 10 usable traces: 'Need at least 10 traces (have N)', naming the skips", async () => {
    const traces = [
      ...supportDataset(9),
      { traceId: "nolabel", inputs: { q: 1 }, outputs: { a: 1 }, assessments: [] },
      { ...labelled("nooutputs", "good"), outputs: undefined },
    ];
    const err = await judge().align(traces).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelConfigError);
    expect((err as Error).message).toMatch(/Need at least 10 traces \(have 9\)/);
    expect((err as Error).message).toMatch(/1 without a valid human "support_quality" label/);
    expect((err as Error).message).toMatch(/1 missing a field the judge needs \(1 missing \{\{ outputs \}\}\)/);
    expect(simEnv().sim.requests).toHaveLength(0);
  });

  test("the optimizer model can differ from the judge model", async () => {
    const { traces, labels } = data(10);
    scriptByGroup({ t0: "mixed", t1: "mixed", t2: "mixed" }, labels);
    const aligned = await judge().align(traces, new SIMBAAlignmentOptimizer({ model: "anthropic:/claude-sonnet-4-5", numCandidates: 2, maxSteps: 1, maxDemos: 0 }), { heldOutFraction: 0 });
    const anthropic = simEnv().sim.requestsFor("anthropic.messages");
    expect(anthropic.length).toBeGreaterThan(0);
    expect(anthropic.every((r) => r.model === "claude-sonnet-4-5" && r.body.tool_choice?.name === "offer_feedback")).toBe(true);
    expect(simEnv().sim.requestsFor("openai.chat").every(isJudgeCall)).toBe(true);
    expect(aligned.model).toBe("openai:/gpt-4o-mini");
    expect(alignmentReportOf(aligned)!.optimizerSettings).toMatchObject({ model: "anthropic:/claude-sonnet-4-5" });
  });

  test("demos are rendered before the instructions and keep the template variables", async () => {
    const { traces, labels } = data(10);
    scriptByGroup({ t0: "mixed", t1: "mixed", t2: "mixed", t3: "mixed", t4: "mixed" }, labels);
    // One answer with template markers in it: they must not become variables.
    const aligned = await makeJudge({ name: JUDGE_NAME, instructions: SUPPORT, model: "openai:/gpt-4o-mini" }).align(
      traces.map((t) => ({ ...t, outputs: { response: `${(t.outputs as { response: string }).response} {{ trace }}` } })),
      new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 2, batchSize: 10 }),
      { heldOutFraction: 0 },
    );
    const d = details(aligned);
    const withDemo = d.steps.flatMap((s) => s.candidates).filter((c) => c.outcome === "demo");
    expect(withDemo.length).toBeGreaterThan(0);
    // Any program with a demo renders it first; check through a judge request that carried one.
    const demoPrompt = simEnv().sim.requests.filter(isJudgeCall).map((r) => promptParts(r).systemText).find((s) => s.includes("Here are some examples of good assessments:"));
    expect(demoPrompt).toBeDefined();
    expect(demoPrompt!.indexOf("Here are some examples of good assessments:")).toBeLessThan(demoPrompt!.indexOf("Evaluate the quality"));
    expect(demoPrompt).not.toMatch(/\{\{ trace \}\}/);
    expect(aligned.templateVariables).toEqual(["outputs", "inputs"]);
  });

  test("append-a-demo: a demo is its bucket's own example with the best run's answer; copies keep their source's demos, less the dropped ones; the chosen demos reach the aligned judge", async () => {
    const { traces, labels } = data(12);
    const other = (l: string) => (l === "good" ? "poor" : "good");
    // Cases t0–t5: the base setting disagrees with the human and the temperature-1 rollouts agree,
    // so a bucket's best run is a rollout (never the base run, never the worst). A demo of the
    // case itself in the prompt makes the base setting agree too, so programs with more demos
    // score higher and there is a spread to learn from at every step.
    const flipped = new Set(["t0", "t1", "t2", "t3", "t4", "t5"]);
    simEnv().sim.script((req) => {
      if (!isJudgeCall(req)) return undefined;
      const id = caseId(req)!;
      const correct = !flipped.has(id) || isRollout(req) || systemText(req).includes(`case ${id}:`);
      return answer(correct ? labels[id]! : other(labels[id]!));
    }, { api: "openai.chat" });
    scriptRules();
    const aligned = await judge().align(traces, new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 4, batchSize: 6, maxDemos: 2 }), { heldOutFraction: 0 });
    const d = details(aligned);
    // Every candidate has its source's demos less the dropped ones, plus one when it got a demo.
    const kept = d.steps.flatMap((s) => s.candidates).filter((c) => c.program !== undefined);
    for (const c of kept) {
      expect(d.programs[c.program!]!.demos).toBe(d.programs[c.source]!.demos - c.droppedDemos + (c.outcome === "demo" ? 1 : 0));
    }
    expect(kept.some((c) => c.outcome === "demo" && d.programs[c.source]!.demos - c.droppedDemos > 0)).toBe(true);
    // Every demo a judge was shown carries the human's label of its own example.
    const demos = simEnv()
      .sim.requests.filter(isJudgeCall)
      .flatMap((r) => systemText(r).split(/^Example \d+:$/m).slice(1))
      .map((block) => ({ id: /case (\w+)/.exec(block)?.[1], result: /^result: (\S+)$/m.exec(block)?.[1] }));
    expect(demos.length).toBeGreaterThan(0);
    expect(demos.some((x) => flipped.has(x.id!))).toBe(true);
    for (const x of demos) expect(x.result).toBe(labels[x.id!]);
    // The chosen program has demos, and the aligned judge's instructions carry them.
    expect(d.chosen.demos).toBeGreaterThan(0);
    expect(d.chosenProgram.demoSources).toHaveLength(d.chosen.demos);
    expect(aligned.instructions.startsWith(DEMOS_HEADER)).toBe(true);
    for (const id of d.chosenProgram.demoSources) expect(aligned.instructions).toMatch(new RegExp(`case ${id}: [\\s\\S]*?\\nresult: ${labels[id]}\\n`));
  });

  test("no hidden failures: an optimizer model of an unknown provider stops the alignment before any call", async () => {
    const { traces, labels } = data(12);
    scriptByGroup({ t0: "mixed", t1: "mixed" }, labels);
    const err = await judge().align(traces, new SIMBAAlignmentOptimizer({ model: "nosuchprovider:/x", numCandidates: 2, maxSteps: 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelConfigError);
    expect((err as Error).message).toMatch(/unknown model provider "nosuchprovider" in the optimizer model "nosuchprovider:\/x"/);
  });

  test("no hidden failures: an authentication error of the optimizer model (401) stops the alignment", async () => {
    const { traces, labels } = data(12);
    scriptByGroup(Object.fromEntries(traces.map((t) => [t.traceId, "mixed" as const])), labels);
    simEnv().sim.script((req) => (schemaName(req) === "offer_feedback" ? { status: 401, errorMessage: "Incorrect API key provided" } : undefined), { api: "openai.chat" });
    const err = await judge().align(traces, new SIMBAAlignmentOptimizer({ numCandidates: 2, maxSteps: 2, batchSize: 5, maxDemos: 0 }), { heldOutFraction: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LLMError);
    expect((err as LLMError).code).toBe("AUTH");
    expect((err as Error).message).toMatch(/Incorrect API key provided/);
  });

  test("no hidden failures: a 401 on the judge's own calls stops the alignment", async () => {
    const { traces } = data(12);
    simEnv().sim.script([{ status: 401, errorMessage: "Incorrect API key provided" }], { api: "openai.chat" });
    const err = await judge().align(traces, new SIMBAAlignmentOptimizer({ numCandidates: 2, maxSteps: 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LLMError);
    expect((err as Error).message).toMatch(/Judge "support_quality" \(openai:\/gpt-4o-mini\): openai 401/);
  });

  test("no hidden failures: failed judge calls are counted per step", async () => {
    const { traces, labels } = data(12);
    scriptByGroup(Object.fromEntries(traces.map((t) => [t.traceId, "mixed" as const])), labels);
    // Case t4's judge calls fail (400: not retried); the handler registered last answers first.
    simEnv().sim.script((req) => (isJudgeCall(req) && caseId(req) === "t4" ? { status: 400, errorMessage: "bad input" } : undefined), { api: "openai.chat" });
    const aligned = await judge().align(traces, new SIMBAAlignmentOptimizer({ numCandidates: 2, maxSteps: 2, batchSize: 12, maxDemos: 0 }), { heldOutFraction: 0 });
    const d = details(aligned);
    // t4 is in every batch, once per model setting, and once per candidate scored.
    const perStep = d.steps.map((s) => s.judgeErrors);
    expect(perStep.map((e) => e.trajectories)).toEqual([2, 2]);
    expect(perStep.map((e) => e.candidates)).toEqual(d.steps.map((s) => s.candidates.filter((c) => c.outcome !== "error").length));
    expect(d.finalJudgeErrors).toBe(d.finalists.length);
    expect(alignmentReportOf(aligned)!.before.errors).toBe(1);
  });

  test("no hidden failures: when every strategy fails, the report says so instead of 'no candidate beat them'", async () => {
    const { traces, labels } = data(12);
    scriptByGroup(Object.fromEntries(traces.map((t) => [t.traceId, "mixed" as const])), labels);
    simEnv().sim.script((req) => (schemaName(req) === "offer_feedback" ? { status: 400, errorMessage: "context length exceeded" } : undefined), { api: "openai.chat" });
    const aligned = await judge().align(traces, new SIMBAAlignmentOptimizer({ numCandidates: 2, maxSteps: 2, batchSize: 6, maxDemos: 0 }), { heldOutFraction: 0 });
    const d = details(aligned);
    expect(d.strategyOutcomes).toMatchObject({ rule: 0, demo: 0, duplicate: 0, skipped: 0 });
    expect(d.strategyOutcomes.error).toBe(d.steps.flatMap((s) => s.candidates).length);
    const note = alignmentReportOf(aligned)!.note!;
    expect(note).toMatch(/every one of its \d+ strategy attempts failed \(first: openai 400: context length exceeded\)/);
    expect(note).not.toMatch(/no candidate beat them/);
  });

  test("the same rule is never appended twice; rollout temperatures per setting are in the report", async () => {
    const traces = supportDataset(20).map((t) => ({ ...t, outputs: { response: `A good reply to case ${t.traceId}.` } }));
    simEnv().sim.script((req) => {
      if (isJudgeCall(req) && isRollout(req)) return answer(req.seq % 3 ? "good" : "poor");
      if (schemaName(req) === "offer_feedback") return { content: { discussion: "billing", module_advice: { judge: 'If the issue mentions "billing" or "refund", rate as poor.' } } };
      return undefined;
    }, { api: "openai.chat" });
    const aligned = await judge().align(traces, new SIMBAAlignmentOptimizer({ numCandidates: 3, maxSteps: 4, batchSize: 10, maxDemos: 0 }), { heldOutFraction: 0 });
    const d = details(aligned);
    expect(d.strategyOutcomes.duplicate).toBeGreaterThan(0);
    expect(Math.max(...d.programs.map((p) => p.rules))).toBe(1);
    expect(aligned.instructions.split('If the issue mentions "billing" or "refund", rate as poor.')).toHaveLength(2);
    expect(d.chosenProgram.ruleSources).toHaveLength(1);
    // Setting 1 is the judge as configured; settings 2..n run at the rollout temperature.
    expect(d.rolloutTemperatures).toEqual([null, 1, 1]);
    const temps = new Set(simEnv().sim.requests.filter(isJudgeCall).map((r) => r.body?.temperature));
    expect(temps).toEqual(new Set([undefined, 1]));
  });
});
