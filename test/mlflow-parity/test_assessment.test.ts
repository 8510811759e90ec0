/**
 * MLflow parity: logging assessments from the SDK, from MLflow's tests/tracing/test_assessment.py,
 * restated against Gavel's SDK on a real collector. A trace-level assessment has no span id.
 */
import { describe, expect, it } from "vitest";
import {
  AssessmentSourceType,
  deleteAssessment,
  getAssessment,
  getTrace,
  GavelApiError,
  logAssessment,
  logExpectation,
  logFeedback,
  overrideFeedback,
  updateAssessment,
} from "@gavel/sdk";
import { newExperiment, parityGavel, sendTraces } from "./support.js";

const gavelOf = parityGavel();

const HUMAN = { sourceType: AssessmentSourceType.HUMAN, sourceId: "bob@example.com" };
const LLM = { sourceType: AssessmentSourceType.LLM_JUDGE, sourceId: "gpt-4o-mini" };

async function traceId(): Promise<string> {
  const [id] = await sendTraces(gavelOf().url, [{ name: "test_span", experimentId: await newExperiment("tracing-assessment") }]);
  return id!;
}

async function only(id: string) {
  const t = await getTrace(id);
  const all = t!.searchAssessments({ all: true });
  expect(all).toHaveLength(1);
  return all[0]!;
}

describe("MLflow tests/tracing/test_assessment.py", () => {
  it("test_log_expectation (both APIs): on the whole trace, span id empty", async () => {
    for (const legacy of [true, false]) {
      const id = await traceId();
      if (legacy) await logExpectation({ traceId: id, name: "expected_answer", value: "MLflow", source: HUMAN, metadata: { key: "value" } });
      else await logAssessment({ traceId: id, assessment: { kind: "expectation", name: "expected_answer", value: "MLflow", source: HUMAN, metadata: { key: "value" } } });
      const a = await only(id);
      expect(a).toMatchObject({ traceId: id, name: "expected_answer", value: "MLflow", kind: "expectation", source: HUMAN, metadata: { key: "value" } });
      expect(a.spanId).toBeUndefined();
      expect(a.rationale).toBeUndefined();
      expect(a.createTimeMs).toBeGreaterThan(0);
    }
  });

  it("test_log_expectation_invalid_parameters", async () => {
    const id = await traceId();
    expect(() => logExpectation({ traceId: id, name: "expected_answer", value: null, source: HUMAN })).toThrow(/needs a value/);
    // The REST API refuses it too.
    const res = await fetch(`${gavelOf().url}/api/v1/traces/${id}/assessments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "expected_answer", kind: "expectation", value: null, source: HUMAN }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/An expectation needs a value/);
  });

  it("test_update_expectation", async () => {
    const id = await traceId();
    const { assessmentId } = await logExpectation({ traceId: id, name: "expected_answer", value: "MLflow" });
    await updateAssessment({ traceId: id, assessmentId, assessment: { name: "expected_answer", value: "Spark", metadata: { reason: "human override" } } });
    const a = await only(id);
    expect(a).toMatchObject({ name: "expected_answer", value: "Spark", kind: "expectation", metadata: { reason: "human override" } });
    expect(a.rationale).toBeUndefined();
  });

  it("test_log_feedback (both APIs)", async () => {
    for (const legacy of [true, false]) {
      const id = await traceId();
      const fb = { name: "faithfulness", value: 1.0, source: LLM, rationale: "This answer is very faithful.", metadata: { model: "gpt-4o-mini" } };
      if (legacy) await logFeedback({ traceId: id, ...fb });
      else await logAssessment({ traceId: id, assessment: fb });
      const a = await only(id);
      expect(a).toMatchObject({ traceId: id, kind: "feedback", ...fb });
      expect(a.spanId).toBeUndefined();
      expect(a.error).toBeUndefined();
    }
  });

  it("test_log_feedback_with_error (both APIs)", async () => {
    const error = { code: "RATE_LIMIT_EXCEEDED", message: "Rate limit for the judge exceeded." };
    for (const legacy of [true, false]) {
      const id = await traceId();
      if (legacy) await logFeedback({ traceId: id, name: "faithfulness", value: undefined, source: LLM, error });
      else await logAssessment({ traceId: id, assessment: { name: "faithfulness", value: null, source: LLM, error, metadata: {} } });
      const a = await only(id);
      expect(a).toMatchObject({ name: "faithfulness", value: null, error, source: LLM });
      expect(a.spanId).toBeUndefined();
    }
  });

  it("test_log_feedback_with_value_and_error", async () => {
    const id = await traceId();
    const error = { code: "RATE_LIMIT_EXCEEDED", message: "Rate limit for the judge exceeded." };
    await logFeedback({ traceId: id, name: "faithfulness", value: 0.5, source: LLM, error });
    expect(await only(id)).toMatchObject({ value: 0.5, error });
  });

  it("test_log_feedback_invalid_parameters", async () => {
    const id = await traceId();
    expect(() => logFeedback({ traceId: id, name: "faithfulness", value: undefined, source: LLM })).toThrow(/needs a value or an error/);
    expect(() => logAssessment({ traceId: id, assessment: { name: "faithfulness", value: null, source: LLM, metadata: {} } })).toThrow(/needs a value or an error/);
    const res = await fetch(`${gavelOf().url}/api/v1/traces/${id}/assessments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "faithfulness", source: LLM }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/A feedback needs a value or an error/);
    expect((await getTrace(id))!.searchAssessments({ all: true })).toHaveLength(0);
  });

  it("test_update_feedback: value, rationale replaced, metadata merged, error cleared", async () => {
    const id = await traceId();
    const { assessmentId } = await logFeedback({ traceId: id, name: "faithfulness", value: 1.0, rationale: "This answer is very faithful.", metadata: { model: "gpt-4o-mini" } });
    await updateAssessment({
      traceId: id,
      assessmentId,
      assessment: { name: "faithfulness", value: 0, rationale: "This answer is not faithful.", metadata: { reason: "human override" } },
    });
    const a = await only(id);
    expect(a).toMatchObject({ name: "faithfulness", value: 0, rationale: "This answer is not faithful.", metadata: { model: "gpt-4o-mini", reason: "human override" } });
    expect(a.error).toBeUndefined();
  });

  it("test_override_feedback", async () => {
    const id = await traceId();
    const { assessmentId } = await logFeedback({ traceId: id, name: "faithfulness", value: 0.5, source: LLM, rationale: "Original feedback", metadata: { model: "gpt-3.5" } });
    const { assessmentId: newId } = await overrideFeedback({
      traceId: id,
      assessmentId,
      value: 1.0,
      source: LLM,
      rationale: "This answer is very faithful.",
      metadata: { model: "gpt-4o-mini" },
    });
    const a = await getAssessment({ traceId: id, assessmentId: newId });
    expect(a).toMatchObject({ traceId: id, name: "faithfulness", source: LLM, value: 1.0, rationale: "This answer is very faithful.", metadata: { model: "gpt-4o-mini" }, overrides: assessmentId, valid: true });
    expect(a.spanId).toBeUndefined();
    expect(a.error).toBeUndefined();
    expect(await getAssessment({ traceId: id, assessmentId })).toMatchObject({ valid: false, value: 0.5 });
  });

  it("test_delete_assessment", async () => {
    const id = await traceId();
    const { assessmentId } = await logFeedback({ traceId: id, name: "faithfulness", value: 1.0 });
    await deleteAssessment({ traceId: id, assessmentId });
    const err = await getAssessment({ traceId: id, assessmentId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GavelApiError);
    expect((await getTrace(id))!.searchAssessments({ all: true })).toHaveLength(0);
  });

  it("test_log_feedback_default_source and test_log_expectation_default_source", async () => {
    const id = await traceId();
    await logAssessment({ traceId: id, assessment: { name: "faithfulness", value: 1.0 } as never });
    const id2 = await traceId();
    await logAssessment({ traceId: id2, assessment: { kind: "expectation", name: "expected_answer", value: "MLflow" } as never });
    expect((await only(id)).source).toEqual({ sourceType: "CODE", sourceId: "default" });
    expect((await only(id2)).source).toEqual({ sourceType: "HUMAN", sourceId: "default" });
  });
});
