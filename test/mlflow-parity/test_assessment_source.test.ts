/**
 * MLflow parity: assessment sources, from MLflow's tests/entities/test_assessment_source.py.
 * Gavel keeps a source as { sourceType, sourceId }; the type is normalised where it enters
 * (SDK and REST API).
 */
import { describe, expect, it } from "vitest";
import { AssessmentSourceType, logFeedback, parseSourceType } from "@gavel/sdk";
import { newExperiment, parityGavel, sendTraces } from "./support.js";

const gavelOf = parityGavel();

describe("MLflow tests/entities/test_assessment_source.py", () => {
  it("test_assessment_source_type_validation", () => {
    expect(parseSourceType("HUMAN")).toBe("HUMAN");
    expect(parseSourceType("AI_JUDGE")).toBe("LLM_JUDGE");
    expect(() => parseSourceType("ROBOT")).toThrow(/Unknown assessment source type "ROBOT"/);
  });

  it("test_assessment_source_case_insensitivity", () => {
    for (const t of ["human", "Human", "HUMAN"]) expect(parseSourceType(t)).toBe("HUMAN");
    // Deliberate difference: MLflow keeps AI_JUDGE as written; it is the deprecated name of
    // LLM_JUDGE, and Gavel stores LLM_JUDGE so that one judge's feedback is one source type.
    for (const t of ["ai_judge", "Ai_Judge", "AI_JUDGE"]) expect(parseSourceType(t)).toBe("LLM_JUDGE");
    expect(AssessmentSourceType.AI_JUDGE).toBe("LLM_JUDGE");
  });

  it("the AI_JUDGE alias through the SDK and the REST API", async () => {
    const [traceId] = await sendTraces(gavelOf().url, [{ name: "t", experimentId: await newExperiment("source") }]);
    const a = await logFeedback({ traceId: traceId!, name: "q", value: 1, source: { sourceType: "ai_judge" as never, sourceId: "judge" } });
    expect(a.source).toEqual({ sourceType: "LLM_JUDGE", sourceId: "judge" });
    const res = await fetch(`${gavelOf().url}/api/v1/traces/${traceId}/assessments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "q", value: 2, source: { sourceType: "AI_JUDGE", sourceId: "judge" } }),
    });
    expect(((await res.json()) as { source: unknown }).source).toEqual({ sourceType: "LLM_JUDGE", sourceId: "judge" });
    const bad = await fetch(`${gavelOf().url}/api/v1/traces/${traceId}/assessments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "q", value: 2, source: { sourceType: "ROBOT", sourceId: "r" } }),
    });
    expect(bad.status).toBe(400);
  });
});
