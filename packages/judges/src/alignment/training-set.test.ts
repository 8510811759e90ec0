import { describe, expect, test } from "vitest";
import { Trace } from "../../../sdk/src/trace-object.js";
import { makeJudge } from "../judge.js";
import { human, JUDGE_NAME, labelled, SUPPORT } from "../testing/alignment.js";
import { extractTrainingSet, humanLabelOf } from "./training-set.js";

const judge = makeJudge({ name: JUDGE_NAME, instructions: SUPPORT, model: "openai:/gpt-4o-mini" });

describe("the human label", () => {
  test("names compare lower-cased and trimmed; values normalise; invalid, LLM and expectation assessments do not count", () => {
    const l = humanLabelOf(
      [
        human(" Good ", { name: "  Support_Quality ", at: 1 }),
        human("poor", { sourceId: "bob", at: 9, valid: false }),
        { name: JUDGE_NAME, value: "poor", source: { sourceType: "LLM_JUDGE", sourceId: "openai:/x" }, createTimeMs: 10 },
        { name: JUDGE_NAME, value: "poor", source: { sourceType: "HUMAN", sourceId: "carol" }, kind: "expectation", createTimeMs: 11 },
        { name: JUDGE_NAME, value: "poor", source: { sourceType: "human", sourceId: "dan" }, error: { code: "X", message: "x" }, createTimeMs: 12 },
      ],
      JUDGE_NAME,
    );
    expect(l).toEqual({ label: "good", votes: 1, reviewers: 1 });
  });

  test("each reviewer's newest label counts once; the majority wins; a tie goes to the newest", () => {
    const majority = humanLabelOf(
      [
        human("good", { sourceId: "alice", at: 1 }),
        human("poor", { sourceId: "alice", at: 5, rationale: "changed my mind" }),
        human("good", { sourceId: "bob", at: 3, rationale: "bob says good" }),
        human("good", { sourceId: "carol", at: 2 }),
      ],
      JUDGE_NAME,
    );
    expect(majority).toEqual({ label: "good", rationale: "bob says good", votes: 2, reviewers: 3 });
    const tie = humanLabelOf([human("good", { sourceId: "bob", at: 3 }), human("poor", { sourceId: "alice", at: 5, rationale: "newest" })], JUDGE_NAME);
    expect(tie).toEqual({ label: "poor", rationale: "newest", votes: 1, reviewers: 2 });
    expect(humanLabelOf([human(null)], JUDGE_NAME)).toBeUndefined();
  });
});

describe("extractTrainingSet", () => {
  test("plain traces: fields from the object or its trace; skips are counted by reason", () => {
    const set = extractTrainingSet(judge, [
      labelled("a", "good"),
      { traceId: "b", trace: { info: { traceId: "b", inputs: { q: "from trace" }, outputs: { a: "yes" } } }, assessments: [human("POOR")] },
      labelled("a", "poor"), // duplicate id
      { ...labelled("c", "good"), outputs: undefined },
      { traceId: "d", inputs: {}, outputs: {}, assessments: [] },
    ]);
    expect(set.examples.map((e) => [e.traceId, e.label, e.fields.inputs])).toEqual([
      ["a", "good", { issue: "case a: a question" }],
      ["b", "poor", { q: "from trace" }],
    ]);
    expect(set.total).toBe(5);
    expect(set.skipped).toEqual({ missingField: 1, noLabel: 1, duplicate: 1 });
    expect(set.missingByField).toEqual({ outputs: 1 });
  });

  test("expectations come from the field or from expectation assessments", () => {
    const j = makeJudge({ name: JUDGE_NAME, instructions: "Is {{ outputs }} what {{ expectations }} asks for? Answer with one of: yes, no", model: "openai:/gpt-4o-mini" });
    const set = extractTrainingSet(j, [
      { traceId: "a", outputs: "x", assessments: [human("yes"), { name: "expected", value: "x", kind: "expectation", source: { sourceType: "HUMAN" } }] },
      { traceId: "b", outputs: "y", expectations: { expected: "y" }, assessments: [human("no")] },
      { traceId: "c", outputs: "z", assessments: [human("no")] },
    ]);
    expect(set.examples.map((e) => e.fields)).toEqual([
      { outputs: "x", expectations: { expected: "x" } },
      { outputs: "y", expectations: { expected: "y" } },
    ]);
    expect(set.missingByField).toEqual({ expectations: 1 });
  });

  test("the SDK's Trace objects work as they come from searchTraces()", () => {
    const t = Trace.fromJSON({
      info: {
        traceId: "tr1", experimentId: "e", runId: null, name: "app", timestampMs: 1, executionTimeMs: 2, status: "OK",
        serviceName: "s", inputs: { issue: "refund" }, outputs: { response: "done" }, tags: {}, spanType: "CHAIN",
      },
      data: { spans: [] },
      assessments: [
        { assessmentId: "a1", name: JUDGE_NAME, value: "good", source: { sourceType: "HUMAN", sourceId: "alice" }, createTimeMs: 1 },
        { assessmentId: "a2", name: JUDGE_NAME, value: "poor", source: { sourceType: "HUMAN", sourceId: "alice" }, createTimeMs: 2, overrides: "a1" },
        { assessmentId: "a3", name: JUDGE_NAME, value: "good", source: { sourceType: "LLM_JUDGE", sourceId: "m" }, createTimeMs: 3 },
      ],
    });
    const traceJudge = makeJudge({ name: JUDGE_NAME, instructions: "Judge {{ trace }} and {{ inputs }}. Rate as one of: good, poor", model: "openai:/gpt-4o-mini" });
    const set = extractTrainingSet(traceJudge, [t]);
    expect(set.examples).toHaveLength(1);
    expect(set.examples[0]).toMatchObject({ traceId: "tr1", label: "poor", fields: { inputs: { issue: "refund" } } });
    expect(set.examples[0]!.fields.trace).toBe(t);
  });
});
