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

/** A judge's or a person's feedback on a trace (or one of its spans). */
export function logFeedback(o: LogFeedbackOptions): Promise<StoredAssessment> {
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
  const body: WriteBody = {
    name: a.name,
    kind: a.kind === "expectation" ? "expectation" : "feedback",
    value: a.value ?? null,
    source: normaliseSource(a.source),
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

export async function deleteAssessment(o: { traceId: string; assessmentId: string }): Promise<void> {
  await request("DELETE", path(o.traceId, `/${seg(o.assessmentId)}`));
}
