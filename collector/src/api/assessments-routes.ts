import { z } from "zod";
import { AssessmentStore } from "../assessments/assessment-store.js";
import { ApiError, parseInput } from "./errors.js";
import { route, strictRouter } from "../server/routes.js";

const SourceType = z
  .string()
  .transform((s) => s.trim().toUpperCase())
  .pipe(z.enum(["HUMAN", "LLM_JUDGE", "CODE"], { message: "sourceType must be HUMAN, LLM_JUDGE or CODE (any case)" }));
const Source = z.object({ sourceType: SourceType, sourceId: z.string().max(256).default("") }).strict();
const SpanId = z.string().regex(/^[0-9a-f]{16}$/, "spanId must be 16 lower-case hex characters");
const AssessmentId = z.string().regex(/^[\w.:-]{1,128}$/, "assessmentId must be 1–128 letters, digits, _ . : -");
const Value = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);

const LogAssessment = z
  .object({
    assessmentId: AssessmentId.optional(),
    name: z.string().trim().min(1, "name must not be empty").max(256),
    kind: z.enum(["feedback", "expectation"]).default("feedback"),
    value: Value,
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
    res.json(await assessments.log({ ...body, traceId }));
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
    const a = await assessments.override(traceIdParam(req.params.traceId), req.params.assessmentId, body);
    if (!a) throw new ApiError(404, "NOT_FOUND", `No assessment ${req.params.assessmentId} on trace ${req.params.traceId} to override.`);
    res.json(a);
  });
  route(r, "DELETE", "/traces/:traceId/assessments/:assessmentId", "admin", async (req, res) => {
    const ok = await assessments.delete(traceIdParam(req.params.traceId), req.params.assessmentId);
    if (!ok) throw new ApiError(404, "NOT_FOUND", `No assessment ${req.params.assessmentId} on trace ${req.params.traceId}.`);
    res.json({ deleted: true, assessmentId: req.params.assessmentId });
  });
  return r;
}
