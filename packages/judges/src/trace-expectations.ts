/**
 * Ground truth a judge reads from a trace: its valid expectation assessments logged by people.
 * MLflow passes only HUMAN-sourced expectations to `{{ expectations }}`
 * (test_trace_field_extraction_filters_non_human_expectations): an LLM's or a program's
 * "expectation" is a prediction, not a label.
 */
import type { JudgeTrace } from "./trace-format.js";

/** An assessment as a trace carries it (structural: @gavel/sdk's StoredAssessment fits). */
export interface TraceAssessmentLike {
  name: string;
  kind?: string;
  value: unknown;
  valid?: boolean;
  source?: { sourceType?: string };
}

export type TraceWithAssessments = JudgeTrace & { readonly assessments?: readonly TraceAssessmentLike[] };

/** `{ name: value }` of the trace's valid HUMAN expectations; undefined when it has none. */
export function humanExpectations(trace: TraceWithAssessments | undefined): Record<string, unknown> | undefined {
  const list = trace?.assessments;
  if (!Array.isArray(list)) return undefined;
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const a of list as readonly TraceAssessmentLike[]) {
    if (a.kind !== "expectation" || a.valid === false) continue;
    if (String(a.source?.sourceType ?? "").toUpperCase() !== "HUMAN") continue;
    out[a.name] = a.value;
    n++;
  }
  return n > 0 ? out : undefined;
}

/** Whether `x` can be a trace: an object with `info`, `data.spans`, `spans` or a `traceId`. */
export function looksLikeJudgeTrace(x: unknown): boolean {
  if (!x || typeof x !== "object" || Array.isArray(x)) return false;
  const t = x as { info?: unknown; data?: { spans?: unknown }; spans?: unknown; traceId?: unknown };
  return (
    (t.info !== undefined && typeof t.info === "object" && t.info !== null) ||
    Array.isArray(t.data?.spans) ||
    Array.isArray(t.spans) ||
    typeof t.traceId === "string"
  );
}
