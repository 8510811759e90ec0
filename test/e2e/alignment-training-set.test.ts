import { describe, expect, it } from "vitest";
import { extractTrainingSet, makeJudge } from "@gavel/judges";
import { AlignmentJobs } from "../../collector/src/alignment/alignment-jobs.js";
import { registerScorer } from "../../collector/src/store/queries/scorers.js";
import { startSimEnv } from "../../packages/judges/src/testing/sim.js";
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

const judgeLike = { name: "support_quality", templateVariables: ["inputs", "outputs"] as const };

describe("the alignment job's training set (ClickHouse finds the labels, @gavel/judges votes)", () => {
  it("takes each reviewer's newest label, then the majority, ignores overridden labels, and keeps traces the judge never scored", async () => {
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
    // t4: judge only so far. t5: human only, no judge.
    await post(on(t5), { name: "support_quality", value: "good", source: human("ann") });
    // Another judge's labels never leak in.
    await post(on(t4), { name: "other_judge", value: "good", source: human("ann") });

    const data = await loadTrainingSet(gavelOf().store.client, "align-exp", "support_quality");
    // Every human-labelled trace, whether or not the judge scored it (t5); t4 has no human label of this name: counted.
    expect(data.traces.map((r) => r.traceId).sort()).toEqual([t0, t1, t2, t3, t5].sort());
    expect(data).toMatchObject({ total: 6, unlabelled: 1 });
    const set = extractTrainingSet(judgeLike, data.traces.map((r) => ({ traceId: r.traceId, inputs: r.inputs, outputs: r.outputs, assessments: r.labels })));
    const byTrace = Object.fromEntries(set.examples.map((e) => [e.traceId, e]));
    expect(byTrace[t0]).toMatchObject({ label: "excellent", reviewers: 1, fields: { inputs: { issue: "refund" }, outputs: "ok" } });
    expect(byTrace[t1]).toMatchObject({ label: "poor", votes: 2, reviewers: 3 });
    expect(byTrace[t2]).toMatchObject({ label: "good", votes: 1, reviewers: 2 });
    expect(byTrace[t3]).toMatchObject({ label: "needs_improvement", reviewers: 1 });
    expect(byTrace[t5]).toMatchObject({ label: "good", reviewers: 1 });
    expect(await loadTrainingSet(gavelOf().store.client, "other-exp", "support_quality")).toEqual({ traces: [], total: 0, unlabelled: 0 });
  });

  it("the server-side job keeps human-only traces and counts every excluded trace by reason", async () => {
    const client = gavelOf().store.client;
    const spans = makeSpans(5, { "gavel.experiment_id": "job-exp", "gavel.inputs": '{"issue":"billing"}', "gavel.outputs": '"ok"' });
    await fetch(`${gavelOf().url}/v1/traces`, { method: "POST", body: protobufBody(spans), headers: { "content-type": "application/x-protobuf" } });
    const ids = spans.map((s) => s.spanContext().traceId);
    // Three human-only traces (never scored by the judge), one scored by both, one by the judge only.
    for (const t of ids.slice(0, 4)) await post(`/traces/${t}/assessments`, { name: "support_quality", value: "poor", source: human("ann") });
    for (const t of ids.slice(3)) await post(`/traces/${t}/assessments`, { name: "support_quality", value: "good", source: judge });
    const sim = await startSimEnv();
    try {
      await registerScorer(client, {
        experimentId: "job-exp",
        name: "support_quality",
        judge: makeJudge({ name: "support_quality", instructions: "Rate as one of: good, poor\n{{ inputs }} {{ outputs }}", model: "openai:/gpt-4o-mini" }).toJSON() as unknown as Record<string, unknown>,
      });
      const jobs = new AlignmentJobs(gavelOf().store);
      const run = await jobs.start({ experimentId: "job-exp", judgeName: "support_quality", optimizer: "memalign", register: false });
      await jobs.idle();
      const done = (await jobs.get(run.alignmentId))!;
      expect(done.error).toBeNull();
      expect(done.report).toMatchObject({ examples: { total: 5, used: 4, skipped: { noLabel: 1, missingField: 0, duplicate: 0 } } });
      expect((done.report as { note: string }).note).toMatch(/Skipped 1 of 5 traces: 1 without a valid human "support_quality" label/);
    } finally {
      await sim.close();
    }
  });

  it("labels compare case-insensitively beyond ASCII: each reviewer's newest, then the majority", async () => {
    const spans = makeSpans(2, { "gavel.experiment_id": "unicode-exp", "gavel.inputs": '{"issue":"x"}', "gavel.outputs": '"y"' });
    await fetch(`${gavelOf().url}/v1/traces`, { method: "POST", body: protobufBody(spans), headers: { "content-type": "application/x-protobuf" } });
    const [a, b] = spans.map((s) => s.spanContext().traceId) as [string, string];
    const on = (t: string) => `/traces/${t}/assessments`;
    await post(on(a), { name: "Prüfung", value: "ÉCHEC", source: human("ann") });
    await post(on(a), { name: "PRÜFUNG", value: "échec", source: human("bob") });
    await post(on(a), { name: "prüfung", value: "Ünlösbar", source: human("cy") });
    await post(on(b), { name: "prüfung", value: "ok", source: human("ann") });
    const data = await loadTrainingSet(gavelOf().store.client, "unicode-exp", "PRÜFUNG");
    expect(data.traces).toHaveLength(2);
    const set = extractTrainingSet({ name: "PRÜFUNG", templateVariables: ["inputs", "outputs"] }, data.traces.map((r) => ({ traceId: r.traceId, inputs: r.inputs, outputs: r.outputs, assessments: r.labels })));
    expect(set.examples.find((e) => e.traceId === a)).toMatchObject({ label: "échec", votes: 2, reviewers: 3 });
    expect(set.skipped.noLabel).toBe(0);
  });
});
