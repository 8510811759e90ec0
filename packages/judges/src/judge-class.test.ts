// Judge as one class: its methods exist whatever was imported, the registry methods go through the
// installed client (and say what to do without one), and the Feedback's usage is typed.
// This file imports judge.js only (plus the package entry where it says so): vitest gives each
// test file its own module graph, so nothing else has loaded alignment or the SDK.
import { describe, expect, test } from "vitest";
import { GavelConfigError } from "./errors.js";
import { Judge, makeJudge } from "./judge.js";
import { setJudgeRegistryClient } from "./registry-client.js";
import { supportDataset, SUPPORT } from "./testing/alignment.js";
import { useSimEnv } from "./testing/sim.js";

const simEnv = useSimEnv({ resetEachTest: true });
const judge = () => makeJudge({ name: "support_quality", instructions: SUPPORT, model: "openai:/gpt-4o-mini" });

describe("Judge as one class", () => {
  test("align, alignmentReport and the registry methods are the class's own, with nothing else imported", async () => {
    for (const m of ["align", "register", "start", "update", "stop", "seenTraceIds"]) {
      expect(Object.getOwnPropertyNames(Judge.prototype)).toContain(m);
    }
    for (const g of ["alignmentReport", "registeredVersion", "registeredExperimentId", "sampling"]) {
      expect(typeof Object.getOwnPropertyDescriptor(Judge.prototype, g)?.get).toBe("function");
    }
    const j = judge();
    expect(j.alignmentReport).toBeUndefined();
    expect(j.registeredVersion).toBeUndefined();
    // align() loads the alignment module on first use.
    const optimizer = { name: "Same", align: async (x: Judge) => ({ judge: x.clone() }) };
    const aligned = await j.align(supportDataset(6), optimizer);
    expect(aligned.alignmentReport?.optimizer).toBe("Same");
    expect(aligned.alignmentReport?.examples.used).toBe(6);
    // The report rides on the returned judge only; a clone does not inherit it.
    expect(aligned.clone().alignmentReport).toBeUndefined();
    expect(simEnv().sim.requests.length).toBe(aligned.alignmentReport!.llm.calls);
  });

  test("the registry methods without an installed client say to call init() first", async () => {
    const previous = setJudgeRegistryClient(undefined);
    try {
      const err = await judge().register({ experimentId: "e" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GavelConfigError);
      expect((err as Error).message).toMatch(/judge\.register\(\) of "support_quality" needs a judge registry: import \{ init \} from "@gavel\/sdk" and call init\(\{ url \}\) first/);
      // A judge that is not registered cannot be started, client or not.
      await expect(judge().start({ sampleRate: 1 })).rejects.toThrow(/Judge "support_quality" is not registered/);
    } finally {
      setJudgeRegistryClient(previous);
    }
  });

  test("Feedback carries its usage typed; the stored metadata keeps the same figures", async () => {
    const fb = await judge()({ inputs: { issue: "billing" }, outputs: { response: "ok" } });
    expect(fb.usage).toMatchObject({ llmCalls: 1, attempts: 1 });
    expect(fb.usage!.inputTokens).toBeGreaterThan(0);
    expect(fb.usage!.outputTokens).toBeGreaterThan(0);
    expect(fb.metadata).toMatchObject({ llmCalls: fb.usage!.llmCalls, inputTokens: fb.usage!.inputTokens, outputTokens: fb.usage!.outputTokens });
  });

  test("Judge.fromJSON rebuilds a MemAlign judge through the codec the package entry registers", async () => {
    const { MemAlignJudge } = await import("./index.js");
    const json = { ...judge().toJSON(), memalign: { schemaVersion: 1, guidelines: [{ text: "Be strict.", sourceTraceIds: ["t1"] }], examples: [], embeddingModel: null, embeddingDimensions: null, retrievalK: 3 } };
    const restored = Judge.fromJSON(json);
    expect(restored).toBeInstanceOf(MemAlignJudge);
    expect(restored.seenTraceIds()).toEqual(new Set(["t1"]));
    expect(Judge.fromJSON(judge().toJSON())).not.toBeInstanceOf(MemAlignJudge);
  });
});
