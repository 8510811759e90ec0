import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useGavel } from "../support/use-gavel.js";
import { init, shutdown, createExperiment, makeJudge, getScorer, listScorers, listScorerVersions, deleteScorer, GavelApiError } from "@gavel/sdk";

const gavelOf = useGavel();
beforeAll(async () => {
  init({ url: gavelOf().url, serviceName: "registry-test" });
});
afterAll(async () => {
  await shutdown();
});

describe("judge registry", () => {
  it("registers versions, gets the latest or a given one, lists, samples and deletes", async () => {
    const experimentId = await createExperiment("registry");
    const judge = makeJudge({
      name: "support_quality",
      instructions: "Rate as one of: excellent, good, needs_improvement, poor\nFocus on {{ outputs }} responding to {{ inputs }}.",
      model: "anthropic:/claude-opus-4-1-20250805",
    });
    const v1 = await judge.register({ experimentId });
    expect(v1.registeredVersion).toBe(1);
    const v2 = await judge.clone({ instructions: judge.instructions + "\nBe strict about next steps." }).register({ experimentId, report: { agreementAfter: 0.9 } });
    expect(v2.registeredVersion).toBe(2);

    const latest = await getScorer({ name: "support_quality", experimentId });
    expect(latest.registeredVersion).toBe(2);
    expect(latest.instructions).toContain("Be strict");
    expect(latest.feedbackValueType).toEqual(["excellent", "good", "needs_improvement", "poor"]);
    expect(latest.alignmentReport).toEqual({ agreementAfter: 0.9 });
    expect((await getScorer({ name: "support_quality", experimentId, version: 1 })).instructions).toBe(judge.instructions);
    expect((await listScorers({ experimentId })).map((j) => [j.name, j.registeredVersion])).toEqual([["support_quality", 2]]);
    expect((await listScorerVersions({ name: "support_quality", experimentId })).map((j) => j.registeredVersion)).toEqual([1, 2]);

    await latest.start({ sampleRate: 0.5, filter: "trace.status = 'OK'" });
    expect((await getScorer({ name: "support_quality", experimentId })).sampling).toEqual({ sampleRate: 0.5, filter: "trace.status = 'OK'" });
    await latest.update({ sampleRate: 1 });
    expect((await getScorer({ name: "support_quality", experimentId })).sampling).toEqual({ sampleRate: 1, filter: "trace.status = 'OK'" });
    // Starting version 1 stops version 2: one judge name scores a trace once.
    await (await getScorer({ name: "support_quality", experimentId, version: 1 })).start({ sampleRate: 0.2 });
    expect((await getScorer({ name: "support_quality", experimentId, version: 2 })).sampling?.sampleRate).toBe(0);
    await (await getScorer({ name: "support_quality", experimentId, version: 1 })).stop();
    expect((await getScorer({ name: "support_quality", experimentId, version: 1 })).sampling?.sampleRate).toBe(0);

    await expect(judge.start({ sampleRate: 1 })).rejects.toThrow(/not registered/);
    await expect(latest.start({ sampleRate: 1, filter: "trace.nope = 1" })).rejects.toThrow(/INVALID_FILTER|nope/);
    await expect(latest.start({ sampleRate: 2 })).rejects.toThrow(/between 0 and 1/);

    expect(await deleteScorer({ name: "support_quality", experimentId, version: 2 })).toBe(1);
    expect((await getScorer({ name: "support_quality", experimentId })).registeredVersion).toBe(1);
    const missing = await getScorer({ name: "nope", experimentId }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(GavelApiError);
    expect((missing as GavelApiError).status).toBe(404);
    expect((missing as Error).message).toMatch(/judge\.register/);
  });
});
