import { describe, expect, it } from "vitest";
import { loadTrainingSet } from "../../collector/src/alignment/training-set.js";
import { useGavel } from "../support/use-gavel.js";
import { makeSpans, protobufBody } from "../support/otlp-bodies.js";

const gavelOf = useGavel();

async function post(path: string, body: unknown) {
  const res = await fetch(`${gavelOf().url}/api/v1${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as { assessmentId: string };
}
const human = (id: string) => ({ sourceType: "HUMAN", sourceId: id });
const judge = { sourceType: "LLM_JUDGE", sourceId: "openai:/gpt-4o" };

describe("the alignment job's training set (one SQL join)", () => {
  it("takes each reviewer's newest label, then the majority, ignores overridden labels, and needs both sources", async () => {
    const spans = makeSpans(6, { "gavel.experiment_id": "align-exp", "gavel.inputs": '{"issue":"refund"}', "gavel.outputs": '"ok"' });
    await fetch(`${gavelOf().url}/v1/traces`, { method: "POST", body: protobufBody(spans), headers: { "content-type": "application/x-protobuf" } });
    const [t0, t1, t2, t3, t4, t5] = spans.map((s) => s.spanContext().traceId) as [string, string, string, string, string, string];
    const on = (t: string) => `/traces/${t}/assessments`;

    for (const t of [t0, t1, t2, t3, t4]) await post(on(t), { name: "support_quality", value: "good", source: judge });
    // t0: ann changed her mind; her newest label counts.
    await post(on(t0), { name: "support_quality", value: "poor", source: human("ann") });
    await post(on(t0), { name: "Support_Quality ", value: "Excellent", source: human("ann") });
    // t1: 2 reviewers say poor, 1 says good.
    await post(on(t1), { name: "support_quality", value: "poor", source: human("ann") });
    await post(on(t1), { name: "support_quality", value: "good", source: human("bob") });
    await post(on(t1), { name: "support_quality", value: "poor", source: human("cy") });
    // t2: a tie goes to the newest.
    await post(on(t2), { name: "support_quality", value: "poor", source: human("ann") });
    await post(on(t2), { name: "support_quality", value: "good", source: human("bob") });
    // t3: the human label was overridden by another human; the override wins, the old one is invalid.
    const old = await post(on(t3), { name: "support_quality", value: "poor", source: human("ann") });
    await post(`${on(t3)}/${old.assessmentId}/override`, { value: "needs_improvement", source: human("lead") });
    // t4: judge only, no human label. t5: human only, no judge.
    await post(on(t5), { name: "support_quality", value: "good", source: human("ann") });
    // Another judge's labels never leak in.
    await post(on(t4), { name: "other_judge", value: "good", source: human("ann") });

    const rows = await loadTrainingSet(gavelOf().store.client, "align-exp", "support_quality");
    const byTrace = Object.fromEntries(rows.map((r) => [r.traceId, r]));
    expect(Object.keys(byTrace).sort()).toEqual([t0, t1, t2, t3].sort());
    expect(byTrace[t0]).toMatchObject({ humanLabel: "excellent", judgeLabel: "good", reviewers: 1, inputs: { issue: "refund" }, outputs: "ok" });
    expect(byTrace[t1]).toMatchObject({ humanLabel: "poor", votes: 2, reviewers: 3 });
    expect(byTrace[t2]).toMatchObject({ humanLabel: "good", votes: 1, reviewers: 2 });
    expect(byTrace[t3]).toMatchObject({ humanLabel: "needs_improvement", reviewers: 1 });
    expect(await loadTrainingSet(gavelOf().store.client, "other-exp", "support_quality")).toEqual([]);
  });
});
