/**
 * MLflow parity: the assessment store, from MLflow's
 * tests/store/tracking/sqlalchemy_store/test_sqlalchemy_store_assessments.py, restated
 * against Gavel's SDK (logFeedback, logExpectation, getAssessment, updateAssessment,
 * overrideFeedback, deleteAssessment) and a real collector on chDB.
 *
 * Deliberate differences, each said where it applies:
 * - span ids are OpenTelemetry's (16 hex characters), not free text such as "span-123";
 * - an assessment may be logged before its trace arrives, so an unknown trace is not an
 *   error of its own: a lookup on it answers "no such assessment" (404);
 * - MLflow's `create_assessment(Feedback(overrides=id))` is `overrideFeedback({ assessmentId })`.
 */
import { describe, expect, it } from "vitest";
import {
  deleteAssessment,
  getAssessment,
  GavelApiError,
  logAssessment,
  logExpectation,
  logFeedback,
  overrideFeedback,
  startRun,
  updateAssessment,
} from "@gavel/sdk";
import { newExperiment, parityGavel, sendTraces } from "./support.js";

const gavelOf = parityGavel();

async function newTrace(): Promise<{ traceId: string; spanIds: string[] }> {
  const exp = await newExperiment("assessments");
  const [traceId] = await sendTraces(gavelOf().url, [{ name: "root", experimentId: exp, children: [{ name: "a" }, { name: "b" }] }]);
  const spans = (await (await fetch(`${gavelOf().url}/api/v1/traces/${traceId}`)).json()) as { data: { spans: { spanId: string; name: string }[] } };
  const byName = new Map(spans.data.spans.map((s) => [s.name, s.spanId]));
  return { traceId: traceId!, spanIds: [byName.get("a")!, byName.get("b")!] };
}

async function apiError(p: Promise<unknown>): Promise<GavelApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GavelApiError);
  return err as GavelApiError;
}

const HUMAN = (id: string) => ({ sourceType: "HUMAN" as const, sourceId: id });
const CODE = { sourceType: "CODE" as const, sourceId: "" };

describe("MLflow tests/store/tracking/sqlalchemy_store/test_sqlalchemy_store_assessments.py", () => {
  it("test_create_and_get_assessment", async () => {
    const { traceId, spanIds } = await newTrace();
    const fb = await logFeedback({
      traceId,
      name: "correctness",
      value: true,
      rationale: "The response is correct and well-formatted",
      source: HUMAN("evaluator@company.com"),
      metadata: { project: "test-project", version: "1.0" },
      spanId: spanIds[0]!,
    });
    expect(fb.assessmentId.startsWith("a-")).toBe(true);
    expect(fb).toMatchObject({
      traceId,
      name: "correctness",
      value: true,
      rationale: "The response is correct and well-formatted",
      metadata: { project: "test-project", version: "1.0" },
      spanId: spanIds[0],
      valid: true,
    });
    expect(fb.createTimeMs).toBeGreaterThan(0);
    const ex = await logExpectation({
      traceId,
      name: "expected_response",
      value: "The capital of France is Paris.",
      source: HUMAN("annotator@company.com"),
      metadata: { context: "geography-qa", difficulty: "easy" },
      spanId: spanIds[1]!,
    });
    expect(ex.assessmentId).not.toBe(fb.assessmentId);
    expect(ex).toMatchObject({ traceId, value: "The capital of France is Paris.", spanId: spanIds[1], valid: true });
    expect(await getAssessment({ traceId, assessmentId: fb.assessmentId })).toMatchObject({
      name: "correctness",
      value: true,
      rationale: "The response is correct and well-formatted",
      metadata: { project: "test-project", version: "1.0" },
      spanId: spanIds[0],
      traceId,
      valid: true,
    });
    expect(await getAssessment({ traceId, assessmentId: ex.assessmentId })).toMatchObject({
      value: "The capital of France is Paris.",
      metadata: { context: "geography-qa", difficulty: "easy" },
      spanId: spanIds[1],
      valid: true,
    });
  });

  it("test_get_assessment_errors", async () => {
    const { traceId } = await newTrace();
    const e = await apiError(getAssessment({ traceId, assessmentId: "fake_assessment" }));
    expect(e.status).toBe(404);
    expect(e.message).toContain("No assessment fake_assessment on trace");
    // Difference: a trace that is not (yet) stored is no error of its own.
    expect((await apiError(getAssessment({ traceId: "0".repeat(32), assessmentId: "fake_assessment" }))).status).toBe(404);
  });

  it("test_update_assessment_feedback", async () => {
    const { traceId, spanIds } = await newTrace();
    const created = await logFeedback({
      traceId,
      name: "correctness",
      value: true,
      rationale: "Original rationale",
      source: HUMAN("evaluator@company.com"),
      metadata: { project: "test-project", version: "1.0" },
      spanId: spanIds[0]!,
    });
    const updated = await updateAssessment({
      traceId,
      assessmentId: created.assessmentId,
      name: "correctness_updated",
      value: false,
      rationale: "Updated rationale",
      metadata: { project: "test-project", version: "2.0", new_field: "added" },
    });
    expect(updated).toMatchObject({
      assessmentId: created.assessmentId,
      name: "correctness_updated",
      value: false,
      rationale: "Updated rationale",
      metadata: { project: "test-project", version: "2.0", new_field: "added" },
      spanId: spanIds[0],
      source: { sourceId: "evaluator@company.com" },
      valid: true,
    });
    const got = await getAssessment({ traceId, assessmentId: created.assessmentId });
    expect(got).toMatchObject({ value: false, name: "correctness_updated", rationale: "Updated rationale" });
    // The old name is gone: one assessment, under its new name.
    const all = (await (await fetch(`${gavelOf().url}/api/v1/traces/${traceId}/assessments`)).json()) as { assessments: { name: string }[] };
    expect(all.assessments.map((a) => a.name)).toEqual(["correctness_updated"]);
  });

  it("test_update_assessment_expectation", async () => {
    const { traceId, spanIds } = await newTrace();
    const created = await logExpectation({
      traceId,
      name: "expected_response",
      value: "The capital of France is Paris.",
      source: HUMAN("annotator@company.com"),
      metadata: { context: "geography-qa" },
      spanId: spanIds[1]!,
    });
    const updated = await updateAssessment({
      traceId,
      assessmentId: created.assessmentId,
      assessment: { kind: "expectation", value: "The capital and largest city of France is Paris." },
      metadata: { context: "geography-qa", updated: "true" },
    });
    expect(updated).toMatchObject({
      assessmentId: created.assessmentId,
      name: "expected_response",
      value: "The capital and largest city of France is Paris.",
      metadata: { context: "geography-qa", updated: "true" },
      spanId: spanIds[1],
      source: { sourceId: "annotator@company.com" },
    });
  });

  it("test_update_assessment_partial_fields", async () => {
    const { traceId } = await newTrace();
    const created = await logFeedback({ traceId, name: "quality", value: 5, rationale: "Original rationale", source: CODE, metadata: { scorer: "automated" } });
    const updated = await updateAssessment({ traceId, assessmentId: created.assessmentId, rationale: "Updated rationale only" });
    expect(updated).toMatchObject({ assessmentId: created.assessmentId, name: "quality", value: 5, rationale: "Updated rationale only", metadata: { scorer: "automated" } });
  });

  it("test_update_assessment_type_validation", async () => {
    const { traceId } = await newTrace();
    const fb = await logFeedback({ traceId, name: "test_feedback", value: "original", source: CODE });
    const e1 = await apiError(updateAssessment({ traceId, assessmentId: fb.assessmentId, assessment: { kind: "expectation", value: "This should fail" } }));
    expect([e1.status, e1.message]).toEqual([400, expect.stringContaining("Cannot update an expectation value on a feedback assessment")]);
    const ex = await logExpectation({ traceId, name: "test_expectation", value: "original_expected", source: HUMAN("") });
    const e2 = await apiError(updateAssessment({ traceId, assessmentId: ex.assessmentId, assessment: { kind: "feedback", value: "This should fail" } }));
    expect([e2.status, e2.message]).toEqual([400, expect.stringContaining("Cannot update a feedback value on an expectation assessment")]);
    expect((await getAssessment({ traceId, assessmentId: ex.assessmentId })).value).toBe("original_expected");
  });

  it("test_update_assessment_errors", async () => {
    const { traceId } = await newTrace();
    const e = await apiError(updateAssessment({ traceId, assessmentId: "fake_assessment", rationale: "This should fail" }));
    expect(e.status).toBe(404);
    expect(e.message).toContain("No assessment fake_assessment on trace");
  });

  it("test_update_assessment_metadata_merging", async () => {
    const { traceId } = await newTrace();
    const created = await logFeedback({ traceId, name: "test", value: "original", source: CODE, metadata: { keep: "this", override: "old_value", remove_me: "will_stay" } });
    const updated = await updateAssessment({ traceId, assessmentId: created.assessmentId, metadata: { override: "new_value", new_key: "new_value" } });
    expect(updated.metadata).toEqual({ keep: "this", override: "new_value", remove_me: "will_stay", new_key: "new_value" });
  });

  it("test_update_assessment_timestamps", async () => {
    const { traceId } = await newTrace();
    const created = await logFeedback({ traceId, name: "test", value: "original", source: CODE });
    const before = await getAssessment({ traceId, assessmentId: created.assessmentId });
    await new Promise((r) => setTimeout(r, 5));
    const updated = await updateAssessment({ traceId, assessmentId: created.assessmentId, name: "updated_name" });
    expect(updated.createTimeMs).toBe(before.createTimeMs);
    expect(updated.lastUpdateTimeMs!).toBeGreaterThan(before.lastUpdateTimeMs!);
  });

  it("test_create_assessment_with_overrides", async () => {
    const { traceId } = await newTrace();
    const original = await logFeedback({ traceId, name: "quality", value: "poor", source: { sourceType: "LLM_JUDGE", sourceId: "judge" } });
    const override = await overrideFeedback({ traceId, assessmentId: original.assessmentId, value: "excellent", source: HUMAN("") });
    expect(override).toMatchObject({ overrides: original.assessmentId, value: "excellent", valid: true });
    expect(await getAssessment({ traceId, assessmentId: original.assessmentId })).toMatchObject({ valid: false, value: "poor" });
  });

  it("test_create_assessment_override_nonexistent", async () => {
    const { traceId } = await newTrace();
    const e = await apiError(overrideFeedback({ traceId, assessmentId: "nonexistent-assessment-id", value: "excellent", source: HUMAN("") }));
    expect(e.status).toBe(404);
    expect(e.message).toContain("nonexistent-assessment-id");
  });

  it("test_delete_assessment_idempotent", async () => {
    const { traceId } = await newTrace();
    const created = await logFeedback({ traceId, name: "test", value: "test_value", source: CODE });
    expect((await getAssessment({ traceId, assessmentId: created.assessmentId })).assessmentId).toBe(created.assessmentId);
    await deleteAssessment({ traceId, assessmentId: created.assessmentId });
    expect((await apiError(getAssessment({ traceId, assessmentId: created.assessmentId }))).status).toBe(404);
    await deleteAssessment({ traceId, assessmentId: created.assessmentId });
    await deleteAssessment({ traceId, assessmentId: "fake_assessment_id" });
  });

  it("test_delete_assessment_override_behavior", async () => {
    const { traceId } = await newTrace();
    const original = await logFeedback({ traceId, name: "original", value: "original_value", source: CODE });
    const override = await overrideFeedback({ traceId, assessmentId: original.assessmentId, value: "override_value", source: HUMAN("") });
    expect((await getAssessment({ traceId, assessmentId: original.assessmentId })).valid).toBe(false);
    expect((await getAssessment({ traceId, assessmentId: override.assessmentId })).valid).toBe(true);
    await deleteAssessment({ traceId, assessmentId: override.assessmentId });
    expect((await apiError(getAssessment({ traceId, assessmentId: override.assessmentId }))).status).toBe(404);
    expect((await getAssessment({ traceId, assessmentId: original.assessmentId })).valid).toBe(true);
  });

  it("test_assessment_with_run_id", async () => {
    const { traceId } = await newTrace();
    const exp = await newExperiment("assessment-run");
    const runId = await startRun({ experimentId: exp, name: "test_run" }, (run) => run.runId);
    // MLflow sets feedback.run_id; inside startRun (with init()) the SDK fills it from the active run.
    const created = await logAssessment({
      traceId,
      assessment: { name: "run_feedback", value: "excellent", source: CODE, metadata: {} },
      runId,
    });
    expect(created.runId).toBe(runId);
    expect((await getAssessment({ traceId, assessmentId: created.assessmentId })).runId).toBe(runId);
  });

  it("test_assessment_with_error", async () => {
    const { traceId } = await newTrace();
    const created = await logFeedback({ traceId, name: "error_feedback", value: null, error: { code: "ValueError", message: "Test error message" }, source: CODE });
    expect(created.error).toEqual({ code: "ValueError", message: "Test error message" });
    const got = await getAssessment({ traceId, assessmentId: created.assessmentId });
    expect(got.error).toEqual({ code: "ValueError", message: "Test error message" });
    expect(got.value).toBeNull();
  });
});
