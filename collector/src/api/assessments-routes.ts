import { z } from "zod";
import { AssessmentStore, InvalidAssessmentError } from "../assessments/assessment-store.js";
import { ApiError, parseInput } from "./errors.js";
import { route, strictRouter } from "../server/routes.js";

// MLflow's AI_JUDGE is its older name of LLM_JUDGE.
const SourceType = z
  .string()
  .transform((s) => s.trim().toUpperCase())
  .transform((s) => (s === "AI_JUDGE" ? "LLM_JUDGE" : s))
  .pipe(z.enum(["HUMAN", "LLM_JUDGE", "CODE"], { message: "sourceType must be HUMAN, LLM_JUDGE (or AI_JUDGE) or CODE (any case)" }));
const Source = z.object({ sourceType: SourceType, sourceId: z.string().max(256).default("") }).strict();
const SpanId = z.string().regex(/^[0-9a-f]{16}$/, "spanId must be 16 lower-case hex characters");
const AssessmentId = z.string().regex(/^[\w.:-]{1,128}$/, "assessmentId must be 1–128 letters, digits, _ . : -");
const Value = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);

const LogAssessment = z
  .object({
    assessmentId: AssessmentId.optional(),
    name: z.string().trim().min(1, "name must not be empty").max(256),
    kind: z.enum(["feedback", "expectation"]).default("feedback"),
    // Optional: a feedback may carry an error instead (checked with the kind in the store).
    value: Value.optional(),
    rationale: z.string().max(65_536).optional(),
    source: Source,
    spanId: SpanId.optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    error: z.object({ code: z.string().max(64), message: z.string().max(65_536) }).strict().optional(),
    runId: z.string().max(128).optional(),
    judgeVersion: z.number().int().min(0).optional(),
  })
  .strict();

const Override = z
  .object({
    assessmentId: AssessmentId.optional(),
    value: Value,
    rationale: z.string().max(65_536).optional(),
    source: Source,
    metadata: z.record(z.string(), z.unknown()).optional(),
    runId: z.string().max(128).optional(),
  })
  .strict();

const ErrorBody = z.object({ code: z.string().max(64), message: z.string().max(65_536) }).strict();

const Update = z
  .object({
    name: z.string().trim().min(1, "name must not be empty").max(256).optional(),
    /** Refuses the update unless the assessment is of this kind (MLflow's type check). */
    kind: z.enum(["feedback", "expectation"]).optional(),
    value: Value.optional(),
    rationale: z.string().max(65_536).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    error: ErrorBody.optional(),
  })
  .strict();

/** Store-level refusals (a feedback without value or error, …) are the caller's to fix. */
async function checked<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof InvalidAssessmentError) throw new ApiError(400, "INVALID_ASSESSMENT", err.message, "value");
    throw err;
  }
}

function traceIdParam(raw: string): string {
  const id = raw.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) throw new ApiError(400, "INVALID_TRACE_ID", `"${raw}" is not a trace id: expected 32 hex characters.`, "traceId");
  return id;
}

export function assessmentsRouter(assessments: AssessmentStore) {
  const r = strictRouter();
  route(r, "POST", "/traces/:traceId/assessments", "write", async (req, res) => {
    const traceId = traceIdParam(req.params.traceId);
    const body = parseInput(LogAssessment, req.body);
    res.json(await checked(() => assessments.log({ ...body, value: body.value ?? null, traceId })));
  });
  route(r, "GET", "/traces/:traceId/assessments", "read", async (req, res) => {
    const traceId = traceIdParam(req.params.traceId);
    res.json({ assessments: (await assessments.forTraces([traceId])).get(traceId) ?? [] });
  });
  route(r, "GET", "/traces/:traceId/assessments/:assessmentId", "read", async (req, res) => {
    const a = await assessments.get(traceIdParam(req.params.traceId), req.params.assessmentId);
    if (!a) throw new ApiError(404, "NOT_FOUND", `No assessment ${req.params.assessmentId} on trace ${req.params.traceId}.`);
    res.json(a);
  });
  route(r, "POST", "/traces/:traceId/assessments/:assessmentId/override", "write", async (req, res) => {
    const body = parseInput(Override, req.body);
    const a = await checked(() => assessments.override(traceIdParam(req.params.traceId), req.params.assessmentId, body));
    if (!a) throw new ApiError(404, "NOT_FOUND", `No assessment ${req.params.assessmentId} on trace ${req.params.traceId} to override.`);
    res.json(a);
  });
  // MLflow's update_assessment: same id, newer version; a write like override.
  route(r, "POST", "/traces/:traceId/assessments/:assessmentId/update", "write", async (req, res) => {
    const body = parseInput(Update, req.body);
    const a = await checked(() => assessments.update(traceIdParam(req.params.traceId), req.params.assessmentId, body));
    if (!a) throw new ApiError(404, "NOT_FOUND", `No assessment ${req.params.assessmentId} on trace ${req.params.traceId} to update.`);
    res.json(a);
  });
  // Idempotent, as MLflow's: deleting an unknown or already deleted assessment succeeds;
  // `existed` says whether this call deleted something.
  route(r, "DELETE", "/traces/:traceId/assessments/:assessmentId", "admin", async (req, res) => {
    const existed = await assessments.delete(traceIdParam(req.params.traceId), req.params.assessmentId);
    res.json({ deleted: true, existed, assessmentId: req.params.assessmentId });
  });
  return r;
}
