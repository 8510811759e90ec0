import { describe, expect, test } from "vitest";
import { promptParts, type RecordedRequest } from "../../../../test/simulator/src/index.js";
import { GavelConfigError } from "../errors.js";
import { Judge, judgeFromJSON, makeJudge } from "../judge.js";
import { caseId, isJudgeCall, JUDGE_NAME, labelled, schemaName, SUPPORT, supportDataset, systemText } from "../testing/alignment.js";
import { recordingRetry, useSimEnv } from "../testing/sim.js";
import "./align.js";
import { alignmentReportOf } from "./align.js";
import { distillBatches, guidelineKey, parseProposals } from "./distill.js";
import { MemAlignOptimizer } from "./memalign.js";
import { MemAlignJudge } from "./memalign-judge.js";
import type { MemoryExample } from "./memory.js";

const simEnv = useSimEnv({ resetEachTest: true });

const judge = () => makeJudge({ name: JUDGE_NAME, instructions: SUPPORT, model: "openai:/gpt-4o-mini" });
const embeddings = () => simEnv().sim.requestsFor("openai.embeddings");
const distillations = () => simEnv().sim.requests.filter((r) => schemaName(r) === "memalign_guidelines");

const BILLING = 'If the issue mentions "billing" or "refund", rate as poor.';

/** The examples of a distillation prompt: their number and the case id in their inputs. */
function promptExamples(req: RecordedRequest): { example: number; caseId: string }[] {
  const json = /<examples>\n([\s\S]*?)\n<\/examples>/.exec(promptParts(req).firstUserText)![1]!;
  return (JSON.parse(json) as { example: number; inputs?: string }[]).map((e) => ({ example: e.example, caseId: /case (\w+)/.exec(e.inputs ?? "")?.[1] ?? "" }));
}

/**
 * Distillation answers citing examples by number: a fixed set with an empty, an unsourced, a
 * miscopied number (99) and a near-duplicate.
 */
function scriptDistillation(extra: { guideline_text: string; cases: string[] }[] = []) {
  simEnv().sim.script((req) => {
    if (schemaName(req) !== "memalign_guidelines") return undefined;
    const examples = promptExamples(req);
    const num = new Map(examples.map((e) => [e.caseId, e.example]));
    const has = (id: string) => num.has(id);
    const cite = (...ids: string[]) => ids.flatMap((id) => (num.has(id) ? [num.get(id)!] : []));
    return {
      content: {
        guidelines: [
          ...(has("t0") ? [{ guideline_text: BILLING, source_examples: cite("t0") }] : []),
          ...(has("t2") ? [{ guideline_text: 'if the issue mentions "billing" or "refund" -- rate as POOR', source_examples: cite("t2") }] : []),
          { guideline_text: "   ", source_examples: [examples[0]!.example] },
          { guideline_text: "Be kind to customers.", source_examples: [] },
          { guideline_text: "Made-up evidence.", source_examples: [99] },
          ...(has("t1") ? [{ guideline_text: "A password reset answer must give the next step.", source_examples: cite("t1", "t7") }] : []),
          ...extra.map((g) => ({ guideline_text: g.guideline_text, source_examples: cite(...g.cases) })),
        ],
      },
    };
  }, { api: "openai.chat" });
}

describe("MemAlignOptimizer", () => {
  test("distils guidelines: empty, unsourced and duplicate ones are dropped, a duplicate's sources merged", async () => {
    scriptDistillation();
    const traces = supportDataset(12);
    const opt = new MemAlignOptimizer({ guidelines: ["Never reward rudeness."] });
    const aligned = (await judge().align(traces, opt, { heldOutFraction: 0 })) as MemAlignJudge;
    expect(aligned).toBeInstanceOf(MemAlignJudge);
    expect(aligned.memory.guidelines).toEqual([
      { text: "Never reward rudeness.", sourceTraceIds: [], userWritten: true },
      { text: BILLING, sourceTraceIds: ["t0", "t2"] },
      { text: "A password reset answer must give the next step.", sourceTraceIds: ["t1", "t7"] },
    ]);
    const report = alignmentReportOf(aligned)!;
    expect(report.details).toMatchObject({
      retrieval: "embedding",
      guidelines: 3,
      newGuidelines: 2,
      droppedGuidelines: { empty: 1, unsourced: 2, duplicate: 1 },
      examples: 12,
      distillationCalls: 1,
    });
    // One distillation call with every example, its label and the judge's instructions.
    expect(distillations()).toHaveLength(1);
    const prompt = promptParts(distillations()[0]!).firstUserText;
    expect(prompt).toContain("Rate as one of: good, poor");
    // Examples are cited by small numbers, never by trace id; the answer's numbers map back to traces.
    expect(prompt).toContain('"example": 12');
    expect(prompt).not.toMatch(/trace_id|"t11"/);
    expect(promptExamples(distillations()[0]!).map((e) => e.caseId)).toEqual(traces.map((t) => t.traceId));
    expect(prompt).toContain('"human_label": "poor"');
    expect(prompt).toContain("Never reward rudeness.");
    // The template variables are the original's; the instruction diff shows the guidelines.
    expect(aligned.templateVariables).toEqual(["outputs", "inputs"]);
    expect(aligned.instructions).toBe(SUPPORT);
    expect(report.instructionDiff).toContain(`+- ${BILLING}`);
  });

  test("aligning again distils only the new examples; known guidelines are not repeated", async () => {
    scriptDistillation();
    const first = await judge().align(supportDataset(12), new MemAlignOptimizer(), { heldOutFraction: 0 });
    simEnv().sim.reset();
    scriptDistillation([{ guideline_text: "Feature ideas deserve a thank-you.", cases: ["n4"] }]);
    const more = [...supportDataset(12), ...supportDataset(6, "n")];
    const second = (await first.align(more, new MemAlignOptimizer(), { heldOutFraction: 0 })) as MemAlignJudge;
    expect(distillations()).toHaveLength(1);
    const prompt = promptParts(distillations()[0]!).firstUserText;
    expect(promptExamples(distillations()[0]!)).toEqual(["n0", "n1", "n2", "n3", "n4", "n5"].map((caseId, i) => ({ example: i + 1, caseId })));
    expect(prompt).toContain(`<known_guidelines>\n- ${BILLING}`);
    expect(second.memory.examples).toHaveLength(18);
    expect(second.memory.guidelines.map((g) => g.text)).toEqual([BILLING, "A password reset answer must give the next step.", "Feature ideas deserve a thank-you."]);
    // Only the new examples were embedded: the old vectors are reused.
    const emb = embeddings().find((r) => Array.isArray(r.body.input) && r.body.input.length > 1)!;
    expect(emb.body.input).toHaveLength(6);
  });

  test("retrieves the top-k most similar examples and puts them, with the guidelines, ahead of the data", async () => {
    scriptDistillation();
    const traces = supportDataset(12);
    const aligned = await judge().align(traces, new MemAlignOptimizer({ retrievalK: 2 }), { heldOutFraction: 0 });
    expect(embeddings()).toHaveLength(13); // the examples once, then one query per held-out call
    simEnv().sim.reset();
    const fb = await aligned({ inputs: { issue: "billing error" }, outputs: { response: "We will check." } });
    const meta = fb.metadata["memalign"] as { retrievedTraceIds: string[]; retrieval: string };
    expect(meta.retrieval).toBe("embedding");
    // t0 and t6 are the two "billing error" cases.
    expect(new Set(meta.retrievedTraceIds)).toEqual(new Set(["t0", "t6"]));
    expect(fb.usage?.embeddingCalls).toBe(1);
    expect(embeddings()).toHaveLength(1);
    expect(embeddings()[0]!.body.dimensions).toBe(512);
    expect(embeddings()[0]!.model).toBe("text-embedding-3-small");
    const req = simEnv().sim.requests.find(isJudgeCall)!;
    const system = promptParts(req).systemText;
    expect(system).toContain(`<guidelines>`);
    expect(system).toContain(`- ${BILLING}`);
    expect(system).toMatch(/<examples>[\s\S]*Never mention these examples[\s\S]*case t[06]: billing error[\s\S]*expert's result: poor[\s\S]*<\/examples>/);
    expect(system.indexOf("<examples>")).toBeGreaterThan(system.indexOf("<instructions>"));
    // The data itself is unchanged and comes after.
    expect(promptParts(req).firstUserText).toBe('<inputs>\n{\n  "issue": "billing error"\n}\n</inputs>\n\n<outputs>\n{\n  "response": "We will check."\n}\n</outputs>');
    // The simulator follows the distilled keyword guideline.
    expect(fb.value).toBe("poor");
  });

  test("unalign removes the traces' examples and the guidelines left without sources; user-written ones stay", async () => {
    scriptDistillation();
    const traces = supportDataset(12);
    const opt = new MemAlignOptimizer({ guidelines: ["Never reward rudeness."] });
    const aligned = (await judge().align(traces, opt, { heldOutFraction: 0 })) as MemAlignJudge;
    // Objects and ids both work; t0 and t2 carry the billing guideline, t1 half of the password one.
    const out = await opt.unalign([traces[0]!, "t2", traces[1]!]);
    expect(out).toBeInstanceOf(MemAlignJudge);
    expect(out.memory.examples.map((e) => e.traceId)).toEqual(["t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11"]);
    expect(out.memory.guidelines).toEqual([
      { text: "Never reward rudeness.", sourceTraceIds: [], userWritten: true },
      { text: "A password reset answer must give the next step.", sourceTraceIds: ["t7"] },
    ]);
    // The aligned judge itself is untouched; the unaligned one no longer retrieves the removed traces.
    expect(aligned.memory.examples).toHaveLength(12);
    const fb = await out({ inputs: { issue: "case t0: billing error" }, outputs: { response: "ok" } });
    expect(fb.metadata["memalign"]).toMatchObject({ retrieval: "embedding" });
    expect((fb.metadata["memalign"] as { retrievedTraceIds: string[] }).retrievedTraceIds).not.toContain("t0");
    // The judge method does the same; a plain judge cannot be unaligned.
    expect((await aligned.unalign(["t7"])).memory.guidelines.map((g) => g.sourceTraceIds)).toEqual([[], ["t0", "t2"], ["t1"]]);
    await expect(opt.unalign(["t1"], judge())).rejects.toThrow(GavelConfigError);
  });

  test("an embedding model that fails while aligning is kept: the first judge call builds the index, and the report says how retrieval went", async () => {
    scriptDistillation();
    simEnv().sim.script([{ status: 404, errorMessage: "The model `text-embedding-3-small` does not exist" }], { api: "openai.embeddings" });
    const aligned = (await judge().align(supportDataset(12), new MemAlignOptimizer({ retrievalK: 2 }), { heldOutFraction: 0 })) as MemAlignJudge;
    const report = alignmentReportOf(aligned)!;
    expect(report.note).toMatch(/embedding model openai:\/text-embedding-3-small is unavailable \(BAD_REQUEST: openai 404.*\) while aligning; the judge keeps openai:\/text-embedding-3-small/);
    expect(report.details).toMatchObject({ retrieval: "embedding", embeddingModel: "openai:/text-embedding-3-small", embeddingIndexBuilt: false });
    // Not lexical-only for good: the model is in the judge, and its own calls built the index.
    expect(aligned.memory.embeddingModel).toBe("openai:/text-embedding-3-small");
    expect(aligned.toJSON().memalign.embeddingModel).toBe("openai:/text-embedding-3-small");
    expect(report.retrieval).toEqual({ before: {}, after: { embedding: 12 } });
    const fb = await aligned({ inputs: { issue: "billing error" }, outputs: { response: "x" } });
    expect(fb.usage).toMatchObject({ retrieval: "embedding", embeddingCalls: 1 });
    expect(fb.metadata["memalign"]).toMatchObject({ retrieval: "embedding", retrievedTraceIds: ["t0", "t6"] });
  });

  test("an embedding endpoint that stays down: calls retrieve lexically, say so, and the model is tried again after a backoff", async () => {
    scriptDistillation();
    let down = true;
    simEnv().sim.script(() => (down ? { status: 404, errorMessage: "The model `text-embedding-3-small` does not exist" } : undefined), { api: "openai.embeddings" });
    // random 0: no wait between attempts, so every call tries the model again.
    const j = makeJudge({ name: JUDGE_NAME, instructions: SUPPORT, model: "openai:/gpt-4o-mini" }, { retry: recordingRetry({ random: () => 0 }) });
    const aligned = (await j.align(supportDataset(12), new MemAlignOptimizer({ retrievalK: 2 }), { heldOutFraction: 0 })) as MemAlignJudge;
    expect(alignmentReportOf(aligned)!.retrieval).toEqual({ before: {}, after: { lexical: 12 } });
    const lexical = await aligned({ inputs: { issue: "billing error" }, outputs: { response: "x" } });
    expect(lexical.usage?.retrieval).toBe("lexical");
    expect(lexical.metadata["memalign"]).toMatchObject({ retrieval: "lexical", retrievedTraceIds: ["t0", "t6"] });
    expect((lexical.metadata["memalign"] as { note: string }).note).toMatch(/unavailable \(BAD_REQUEST: openai 404.*lexical retrieval for this call \(\d+ failures in a row/);
    expect(aligned.embeddingOutage?.failures).toBeGreaterThan(1);
    down = false;
    const back = await aligned({ inputs: { issue: "billing error" }, outputs: { response: "x" } });
    expect(back.usage).toMatchObject({ retrieval: "embedding", embeddingCalls: 2 }); // the index, then the query
    expect(aligned.embeddingOutage).toBeUndefined();
  });

  test("one failed embedding call at judging time does not switch the judge to lexical search", async () => {
    scriptDistillation();
    const mk = (random: number) => makeJudge({ name: JUDGE_NAME, instructions: SUPPORT, model: "openai:/gpt-4o-mini" }, { retry: recordingRetry({ random: () => random, baseDelayMs: 100_000 }) });
    const aligned = (await mk(0).align(supportDataset(12), new MemAlignOptimizer({ retrievalK: 2 }), { heldOutFraction: 0 })) as MemAlignJudge;
    const call = () => aligned({ inputs: { issue: "billing error" }, outputs: { response: "x" } });
    // One 500 is retried with backoff by the client and never shows.
    simEnv().sim.script([{ status: 500, errorMessage: "overloaded" }], { api: "openai.embeddings" });
    expect((await call()).usage?.retrieval).toBe("embedding");
    // Five in a row (the first attempt and 4 retries) fail the call's embedding: lexical for that call only.
    simEnv().sim.script(Array.from({ length: 5 }, () => ({ status: 500, errorMessage: "overloaded" })), { api: "openai.embeddings" });
    const failed = await call();
    expect(failed.usage?.retrieval).toBe("lexical");
    expect(failed.metadata["memalign"]).toMatchObject({ retrieval: "lexical", retrievedTraceIds: ["t0", "t6"] });
    // The next call embeds again (random 0: no backoff wait).
    const next = await call();
    expect(next.usage).toMatchObject({ retrieval: "embedding", embeddingCalls: 1 });
    expect(aligned.retrievalMode).toBe("embedding");

    // With a backoff to wait out, calls in between retrieve lexically without asking the endpoint.
    const slow = (await mk(0.5).align(supportDataset(12), new MemAlignOptimizer({ retrievalK: 2 }), { heldOutFraction: 0 })) as MemAlignJudge;
    simEnv().sim.script([{ status: 404, errorMessage: "nope" }], { api: "openai.embeddings" });
    await slow({ inputs: { issue: "billing error" }, outputs: { response: "x" } });
    const outage = slow.embeddingOutage!;
    expect(outage.failures).toBe(1);
    expect(outage.retryAt).toBeGreaterThan(Date.now() + 20_000); // half of the 60 s cap (full jitter, random 0.5)
    const before = embeddings().length;
    const waiting = await slow({ inputs: { issue: "refund" }, outputs: { response: "x" } });
    expect(waiting.usage?.retrieval).toBe("lexical");
    expect(embeddings()).toHaveLength(before);
  });

  test("without a held-out split, no example retrieves itself while it is measured", async () => {
    scriptDistillation();
    const traces = [labelled("t0", "poor", "billing error"), labelled("t1", "good", "billing question"), labelled("t2", "good", "password")];
    const marks: Record<string, number> = {};
    const aligned = await judge().align(traces, new MemAlignOptimizer({ retrievalK: 5 }), { onProgress: (p) => (marks[p.phase] ??= simEnv().sim.requests.length) });
    expect(alignmentReportOf(aligned)!.split).toMatchObject({ stratified: false });
    const afterCalls = simEnv().sim.requests.slice(marks["evaluate"]).filter(isJudgeCall);
    expect(afterCalls).toHaveLength(3);
    for (const req of afterCalls) {
      const id = caseId(req)!;
      const examples = /<examples>[\s\S]*<\/examples>/.exec(systemText(req))![0];
      expect(examples).not.toContain(`case ${id}:`);
      // The other two are there.
      expect([...examples.matchAll(/case (t\d):/g)].map((m) => m[1]).sort()).toEqual(["t0", "t1", "t2"].filter((t) => t !== id));
    }
    // Outside an alignment the judge retrieves from all of its memory.
    const fb = await aligned({ inputs: { issue: "case t0: billing error" }, outputs: { response: "We looked into case t0." } });
    expect(fb.metadata["memalign"]).toMatchObject({ retrievedTraceIds: expect.arrayContaining(["t0"]) });
  });

  test("re-aligning a MemAlign judge holds out only traces outside its memory", async () => {
    scriptDistillation();
    const first = (await judge().align(supportDataset(12), new MemAlignOptimizer(), { heldOutFraction: 0 })) as MemAlignJudge;
    // A stored judge from before lineage was recorded: its memory alone says what it has seen.
    const { alignedOn: _ids, ...json } = first.toJSON();
    const old = Judge.fromJSON(json) as MemAlignJudge;
    expect(old.alignedOn).toBeUndefined();
    expect(old.seenTraceIds()).toEqual(new Set(supportDataset(12).map((t) => t.traceId)));
    const marks: Record<string, number> = {};
    const more = [...supportDataset(12), ...supportDataset(28, "n")];
    await old.align(more, new MemAlignOptimizer(), { onProgress: (p) => (marks[p.phase] ??= simEnv().sim.requests.length) });
    const heldOut = simEnv().sim.requests.slice(marks["baseline"], marks["optimize"]).filter(isJudgeCall).map(caseId);
    expect(heldOut).toHaveLength(8);
    for (const id of heldOut) expect(id).toMatch(/^n\d+$/);
  });

  test("no embedding model configured: lexical retrieval, said in the report", async () => {
    scriptDistillation();
    const aligned = await judge().align(supportDataset(3), new MemAlignOptimizer({ embeddingModel: null }));
    expect(alignmentReportOf(aligned)!.note).toMatch(/no embedding model configured: lexical \(BM25\) retrieval/);
    expect(embeddings()).toHaveLength(0);
    await expect(judge().align([], new MemAlignOptimizer())).rejects.toThrow(/Need at least 1 trace \(have 0\)/);
  });

  test("toJSON stores guidelines and example ids/texts/labels; fromJSON rebuilds the index lazily on the first call", async () => {
    scriptDistillation();
    const aligned = await judge().align(supportDataset(12), new MemAlignOptimizer({ retrievalK: 3 }), { heldOutFraction: 0 });
    const json = JSON.parse(JSON.stringify(aligned));
    expect(json.type).toBe("gavel.judge");
    expect(json.memalign.examples).toHaveLength(12);
    expect(json.memalign.examples[0]).toEqual({
      traceId: "t0",
      label: "poor",
      rationale: "poor because of billing error",
      fields: { inputs: '{\n  "issue": "case t0: billing error"\n}', outputs: '{\n  "response": "We looked into case t0."\n}' },
      text: '{\n  "issue": "case t0: billing error"\n}',
    });
    expect(json.memalign).toMatchObject({ embeddingModel: "openai:/text-embedding-3-small", embeddingDimensions: 512, retrievalK: 3 });
    expect(JSON.stringify(json)).not.toMatch(/embedding":\s*\[/);

    for (const restored of [judgeFromJSON(json), Judge.fromJSON(JSON.stringify(json)), MemAlignJudge.fromJSON(json)]) {
      simEnv().sim.reset();
      expect(restored).toBeInstanceOf(MemAlignJudge);
      expect((restored as MemAlignJudge).memory).toEqual((aligned as MemAlignJudge).memory);
      expect(restored.toJSON()).toEqual(json);
      // Concurrent first calls share one index build.
      const [a, b] = await Promise.all([
        restored({ inputs: { issue: "billing error" }, outputs: { response: "x" } }),
        restored({ inputs: { issue: "password reset" }, outputs: { response: "y" } }),
      ]);
      const index = embeddings().filter((r) => r.body.input.length === 12);
      expect(index).toHaveLength(1);
      expect(a.usage!.embeddingCalls! + b.usage!.embeddingCalls!).toBe(3);
      expect((a.metadata["memalign"] as { retrievedTraceIds: string[] }).retrievedTraceIds.slice(0, 2).sort()).toEqual(["t0", "t6"]);
      const c = await restored({ inputs: { issue: "refund" }, outputs: { response: "z" } });
      expect(c.usage?.embeddingCalls).toBe(1);
    }
    // A plain judge's JSON still gives a plain Judge; a clone keeps the memory.
    expect(judgeFromJSON(judge().toJSON())).not.toBeInstanceOf(MemAlignJudge);
    const clone = aligned.clone({ model: "openai:/gpt-4.1-mini" }) as MemAlignJudge;
    expect(clone.memory.examples).toHaveLength(12);
  });

  test("MemAlign has no minimum: three examples align (reported on all data)", async () => {
    scriptDistillation();
    const aligned = await judge().align([labelled("t0", "poor", "billing error"), labelled("t1", "good"), labelled("t2", "good")], new MemAlignOptimizer());
    expect((aligned as MemAlignJudge).memory.examples).toHaveLength(3);
    expect(alignmentReportOf(aligned)!.examples).toEqual({ total: 3, used: 3, skipped: { missingField: 0, noLabel: 0, duplicate: 0 } });
  });
});

describe("MemAlign helpers", () => {
  const ex = (id: string, size: number): MemoryExample => ({ traceId: id, label: "good", fields: { inputs: "x".repeat(size) }, text: "x" });

  test("distillation batches hold at most 50 examples and stay within the character budget", () => {
    const many = Array.from({ length: 120 }, (_, i) => ex(`e${i}`, 10));
    expect(distillBatches(many).map((b) => b.length)).toEqual([50, 50, 20]);
    const big = [ex("a", 60_000), ex("b", 60_000), ex("c", 10)];
    expect(distillBatches(big).map((b) => b.map((e) => e.traceId))).toEqual([["a"], ["b", "c"]]);
  });

  test("example numbers map back to the batch's trace ids; numbers outside the batch cite nothing", () => {
    const batch = [ex("0123456789abcdef0123456789abcdef", 1), ex("fedcba9876543210fedcba9876543210", 1), ex("00000000000000000000000000000003", 1)];
    expect(parseProposals({ guidelines: [{ guideline_text: "a", source_examples: [2, "3", 7, 0] }, { guideline_text: "b", source_examples: [4] }] }, batch)).toEqual([
      { text: "a", sourceTraceIds: ["fedcba9876543210fedcba9876543210", "00000000000000000000000000000003"] },
      { text: "b", sourceTraceIds: [] },
    ]);
  });

  test("duplicate detection ignores case, punctuation and spacing", () => {
    expect(guidelineKey('If the issue mentions "billing", rate as poor.')).toBe(guidelineKey("if the issue  mentions billing -- rate as POOR"));
  });
});
