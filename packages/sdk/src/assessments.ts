import { parseSourceType, type AssessmentSource, type Feedback, type Expectation } from "@gavel/judges";
import { request, seg } from "./client.js";
import { activeRun } from "./context.js";
import type { AssessmentKind, StoredAssessment } from "./trace-object.js";

/** MLflow's default when no source is given. */
const DEFAULT_SOURCE: AssessmentSource = { sourceType: "CODE", sourceId: "default" };

function normaliseSource(source: AssessmentSource | undefined, fallback = DEFAULT_SOURCE) {
  const s = source ?? fallback;
  return { sourceType: parseSourceType(String(s.sourceType)), sourceId: s.sourceId ?? "" };
}

function path(traceId: string, rest = ""): string {
  if (!/^[0-9a-fA-F]{32}$/.test(traceId)) {
    throw new Error(`"${traceId}" is not a trace id (32 hex characters). Use getLastActiveTraceId() or a Trace's info.traceId.`);
  }
  return `/api/v1/traces/${seg(traceId.toLowerCase())}/assessments${rest}`;
}

interface WriteBody {
  name: string;
  kind: AssessmentKind;
  value: unknown;
  source: { sourceType: string; sourceId: string };
  rationale?: string;
  spanId?: string;
  metadata?: Record<string, unknown>;
  error?: { code: string; message: string };
  runId?: string;
  assessmentId?: string;
  judgeVersion?: number;
}

function post(traceId: string, body: WriteBody): Promise<StoredAssessment> {
  const run = activeRun();
  if (run && body.runId === undefined) body.runId = run.runId;
  return request<StoredAssessment>("POST", path(traceId), body);
}

export interface LogFeedbackOptions {
  traceId: string;
  name: string;
  value: unknown;
  source?: AssessmentSource;
  rationale?: string;
  spanId?: string;
  metadata?: Record<string, unknown>;
  error?: { code: string; message: string };
  /** Choose the id to make the write idempotent (a retry replaces instead of duplicating). */
  assessmentId?: string;
}

/** Checks before any request, as MLflow's Feedback and Expectation constructors do. */
function checkValue(kind: AssessmentKind, name: string, value: unknown, error: unknown): void {
  const missing = value === undefined || value === null;
  if (kind === "feedback" && missing && !error) {
    throw new Error(`Feedback "${name}" needs a value or an error: pass \`value\` (e.g. "good", 4, true) or \`error\` { code, message }.`);
  }
  if (kind === "expectation" && missing) throw new Error(`Expectation "${name}" needs a value: pass \`value\` (it cannot be null).`);
}

/** A judge's or a person's feedback on a trace (or one of its spans); without spanId it is on the whole trace. */
export function logFeedback(o: LogFeedbackOptions): Promise<StoredAssessment> {
  checkValue("feedback", o.name, o.value, o.error);
  const body: WriteBody = { name: o.name, kind: "feedback", value: o.value ?? null, source: normaliseSource(o.source) };
  if (o.rationale) body.rationale = o.rationale;
  if (o.spanId) body.spanId = o.spanId;
  if (o.metadata) body.metadata = o.metadata;
  if (o.error) body.error = o.error;
  if (o.assessmentId) body.assessmentId = o.assessmentId;
  return post(o.traceId, body);
}

export interface LogExpectationOptions {
  traceId: string;
  name: string;
  value: unknown;
  source?: AssessmentSource;
  spanId?: string;
  metadata?: Record<string, unknown>;
}

/** Ground truth for a trace (e.g. the expected answer), read by judges as {{ expectations }}. */
export function logExpectation(o: LogExpectationOptions): Promise<StoredAssessment> {
  checkValue("expectation", o.name, o.value, undefined);
  const body: WriteBody = {
    name: o.name,
    kind: "expectation",
    value: o.value ?? null,
    source: normaliseSource(o.source, { sourceType: "HUMAN", sourceId: "default" }),
  };
  if (o.spanId) body.spanId = o.spanId;
  if (o.metadata) body.metadata = o.metadata;
  return post(o.traceId, body);
}

/** Store a Feedback a judge returned (or an Expectation) on a trace, as MLflow's log_assessment. */
export function logAssessment(o: {
  traceId: string;
  assessment: (Feedback | Expectation) & { kind?: AssessmentKind };
  spanId?: string;
  assessmentId?: string;
  /** Default: the active run (inside startRun or evaluate). */
  runId?: string;
  /** The registered version of the judge that produced the feedback. */
  judgeVersion?: number;
}): Promise<StoredAssessment> {
  const a = o.assessment;
  if (!a || typeof a.name !== "string" || a.name === "") {
    throw new Error("logAssessment needs { traceId, assessment } where assessment is a Feedback (from a judge) or an Expectation with a name.");
  }
  const fb = a as Feedback;
  checkValue(a.kind === "expectation" ? "expectation" : "feedback", a.name, a.value, fb.error);
  const kind: AssessmentKind = a.kind === "expectation" ? "expectation" : "feedback";
  const body: WriteBody = {
    name: a.name,
    kind,
    value: a.value ?? null,
    // MLflow's defaults: CODE for a feedback, HUMAN for an expectation.
    source: normaliseSource(a.source, kind === "expectation" ? { sourceType: "HUMAN", sourceId: "default" } : DEFAULT_SOURCE),
  };
  if (fb.rationale) body.rationale = fb.rationale;
  if (fb.error) body.error = fb.error;
  if (a.metadata && Object.keys(a.metadata).length > 0) body.metadata = a.metadata;
  const spanId = o.spanId;
  if (spanId) body.spanId = spanId;
  if (o.assessmentId) body.assessmentId = o.assessmentId;
  if (o.runId) body.runId = o.runId;
  if (o.judgeVersion !== undefined) body.judgeVersion = o.judgeVersion;
  return post(o.traceId, body);
}

/**
 * Replace a (typically judge's) feedback with a corrected one. The old assessment stays,
 * marked invalid, and the new one names it in `overrides`.
 */
export function overrideFeedback(o: {
  traceId: string;
  assessmentId: string;
  value: unknown;
  source?: AssessmentSource;
  rationale?: string;
  metadata?: Record<string, unknown>;
}): Promise<StoredAssessment> {
  const body: Record<string, unknown> = {
    value: o.value ?? null,
    source: normaliseSource(o.source, { sourceType: "HUMAN", sourceId: "default" }),
  };
  if (o.rationale) body.rationale = o.rationale;
  if (o.metadata) body.metadata = o.metadata;
  const run = activeRun();
  if (run) body.runId = run.runId;
  return request<StoredAssessment>("POST", path(o.traceId, `/${seg(o.assessmentId)}/override`), body);
}

export function getAssessment(o: { traceId: string; assessmentId: string }): Promise<StoredAssessment> {
  return request<StoredAssessment>("GET", path(o.traceId, `/${seg(o.assessmentId)}`));
}

/**
 * Delete an assessment. Idempotent, as MLflow's: an unknown or already deleted id is not an
 * error. Deleting an override makes the assessment it replaced valid again.
 */
export async function deleteAssessment(o: { traceId: string; assessmentId: string }): Promise<void> {
  await request("DELETE", path(o.traceId, `/${seg(o.assessmentId)}`));
}

/**
 * Change an assessment in place, as MLflow's update_assessment: the id and creation time stay,
 * `lastUpdateTimeMs` moves. Give a Feedback or Expectation (its name, value, rationale and
 * metadata replace the old ones; metadata merges key by key), or the fields alone. Updating
 * an expectation's value with a Feedback (or the reverse) is refused.
 */
export function updateAssessment(o: {
  traceId: string;
  assessmentId: string;
  assessment?: (Partial<Feedback> | Partial<Expectation>) & { kind?: AssessmentKind };
  name?: string;
  value?: unknown;
  rationale?: string;
  metadata?: Record<string, unknown>;
}): Promise<StoredAssessment> {
  const a = (o.assessment ?? {}) as Partial<Feedback> & { kind?: AssessmentKind };
  const body: Record<string, unknown> = {};
  const name = o.name ?? a.name;
  const value = o.value !== undefined ? o.value : a.value;
  const rationale = o.rationale ?? a.rationale;
  const metadata = o.metadata ?? (a.metadata && Object.keys(a.metadata).length > 0 ? a.metadata : undefined);
  if (name !== undefined) body.name = name;
  if (value !== undefined) body.value = value;
  if (rationale !== undefined) body.rationale = rationale;
  if (metadata !== undefined) body.metadata = metadata;
  if (a.error) body.error = a.error;
  // With `kind`, the collector refuses to change an assessment of the other kind.
  if (a.kind) body.kind = a.kind;
  return request<StoredAssessment>("POST", path(o.traceId, `/${seg(o.assessmentId)}/update`), body);
}
