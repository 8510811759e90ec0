import { describe, expect, test } from "vitest";
import { Trace, type TraceJson, type TraceSpan } from "./trace-object.js";

const T = "0af7651916cd43dd8448eb211c80319c";

function span(spanId: string, parentSpanId: string, events: TraceSpan["events"] = []): TraceSpan {
  return {
    traceId: T, spanId, parentSpanId, name: spanId, kind: "INTERNAL",
    startTimeUnixNano: "1700000000000000000", endTimeUnixNano: "1700000000100000000", durationMs: 100,
    status: { code: "OK", message: "" }, serviceName: "svc", spanType: "", inputs: null, outputs: null,
    attributes: {}, resourceAttributes: {}, events,
  };
}
function ev(ns: string, attributes: Record<string, string>): TraceSpan["events"][number] {
  return { name: "gen_ai.evaluation.result", timeUnixNano: ns, attributes };
}
function traceOf(spans: TraceSpan[], extra: Partial<TraceJson> = {}): Trace {
  return new Trace({
    info: {
      traceId: T, experimentId: "1", runId: null, name: "root", timestampMs: 1, executionTimeMs: 100,
      status: "OK", serviceName: "svc", inputs: { issue: "x" }, outputs: { response: "y" }, tags: {}, spanType: "CHAIN",
    },
    data: { spans },
    ...extra,
  });
}

const judge = {
  "gen_ai.evaluation.name": "support_quality",
  "gen_ai.evaluation.score.label": "good",
  "gen_ai.evaluation.explanation": "Addresses the issue.",
  "gavel.assessment.id": "a-judge",
  "gavel.assessment.kind": "feedback",
  "gavel.assessment.source_type": "LLM_JUDGE",
  "gavel.assessment.source_id": "anthropic:/claude",
  "gavel.assessment.value": '"good"',
  "gavel.assessment.valid": "true",
  "gavel.assessment.created_ms": "1700000001000",
  "gavel.assessment.metadata": '{"judge_version":1}',
};
const human = {
  "gen_ai.evaluation.name": "support_quality",
  "gavel.assessment.id": "a-human",
  "gavel.assessment.source_type": "human",
  "gavel.assessment.source_id": "ground_truth",
  "gavel.assessment.value": '"poor"',
  "gavel.assessment.created_ms": "1700000002000",
};

describe("Trace.searchAssessments from span events", () => {
  test("reads feedback and expectations from evaluation spans; spanId is the judged span", () => {
    const t = traceOf([
      span("root", ""),
      span("eval1", "root", [ev("1700000001000000000", judge), { name: "other", timeUnixNano: "1", attributes: {} }]),
      span("eval2", "root", [
        ev("1700000002000000000", human),
        ev("1700000003000000000", {
          "gen_ai.evaluation.name": "expected_response",
          "gavel.assessment.id": "a-exp",
          "gavel.assessment.kind": "expectation",
          "gavel.assessment.source_type": "HUMAN",
          "gavel.assessment.value": '{"response":"reset link"}',
        }),
      ]),
    ]);
    const all = t.searchAssessments();
    expect(all.map((a) => a.assessmentId)).toEqual(["a-judge", "a-human", "a-exp"]);
    const [j, h] = t.searchAssessments({ name: "support_quality" });
    expect(j).toMatchObject({
      name: "support_quality", kind: "feedback", value: "good", rationale: "Addresses the issue.",
      source: { sourceType: "LLM_JUDGE", sourceId: "anthropic:/claude" }, valid: true, spanId: "root",
      traceId: T, createTimeMs: 1700000001000, metadata: { judge_version: 1 },
    });
    expect(h!.source).toEqual({ sourceType: "HUMAN", sourceId: "ground_truth" });
    expect(h!.value).toBe("poor");
    expect(t.searchAssessments({ type: "expectation" }).map((a) => a.value)).toEqual([{ response: "reset link" }]);
    expect(t.searchAssessments({ spanId: "nope" })).toEqual([]);
  });

  test("latest version of an id wins, deletes vanish, overridden ones are invalid unless all", () => {
    const t = traceOf([
      span("root", ""),
      span("e", "root", [
        ev("100", { ...judge, "gavel.assessment.value": '"poor"' }),
        ev("200", judge), // newer version of a-judge
        ev("300", { ...human, "gavel.assessment.id": "a-new", "gavel.assessment.overrides": "a-judge" }),
        ev("400", { ...human, "gavel.assessment.id": "gone" }),
        ev("500", { ...human, "gavel.assessment.id": "gone", "gavel.assessment.deleted": "true" }),
      ]),
    ]);
    expect(t.searchAssessments().map((a) => a.assessmentId)).toEqual(["a-new"]);
    const all = t.searchAssessments({ all: true });
    expect(all.map((a) => [a.assessmentId, a.valid])).toEqual([["a-judge", false], ["a-new", true]]);
    expect(all[0]!.value).toBe("good");
  });

  test("GenAI-semconv events without Gavel attributes still read", () => {
    const t = traceOf([
      span("root", ""),
      span("e", "root", [ev("1700000005000000000", { "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": "0.8" })]),
    ]);
    const [a] = t.searchAssessments();
    expect(a).toMatchObject({ name: "relevance", value: 0.8, kind: "feedback", source: { sourceType: "CODE", sourceId: "" }, createTimeMs: 1700000005000 });
    expect(a!.assessmentId).not.toBe("");
  });

  test("the server's assessments array is preferred when present", () => {
    const t = traceOf([span("root", "", [])], {
      assessments: [
        { assessmentId: "s1", name: "support_quality", kind: "feedback", value: "excellent", valid: true,
          source: { sourceType: "HUMAN", sourceId: "rev" }, createTimeMs: 5, spanId: "root" },
      ],
    });
    expect(t.searchAssessments({ name: "support_quality" })).toMatchObject([
      { assessmentId: "s1", value: "excellent", source: { sourceType: "HUMAN", sourceId: "rev" }, traceId: T },
    ]);
    expect(t.rootSpan?.spanId).toBe("root");
    expect(JSON.parse(JSON.stringify(t)).info.traceId).toBe(T);
  });
});
