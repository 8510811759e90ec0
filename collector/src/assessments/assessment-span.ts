import { randomBytes } from "node:crypto";
import type { AttrPairs, SpanRow } from "../store/span-row.js";
import type { AssessmentJson } from "./assessment-types.js";
import { ATTR_TRACE_START, ATTR_TRACE_STATUS } from "@gavel/conventions";

export const EVALUATION_EVENT = "gen_ai.evaluation.result";

/** Versions of one assessment written in the same ms still order (the store's clock). */
export { monotonicNowNs } from "../store/monotonic-clock.js";

/** GenAI semconv attributes plus Gavel's, in the form the assessments view reads. */
export function assessmentEventAttributes(a: AssessmentJson, deleted = false): AttrPairs {
  const attrs: AttrPairs = [
    ["gen_ai.evaluation.name", a.name],
    ["gavel.assessment.id", a.assessmentId],
    ["gavel.assessment.kind", a.kind],
    ["gavel.assessment.source_type", a.source.sourceType],
    ["gavel.assessment.source_id", a.source.sourceId],
    ["gavel.assessment.value", JSON.stringify(a.value ?? null)],
    ["gavel.assessment.valid", a.valid ? "true" : "false"],
    ["gavel.assessment.created_ms", String(a.createTimeMs)],
    ["gavel.assessment.metadata", JSON.stringify(a.metadata ?? {})],
  ];
  if (typeof a.value === "number") attrs.push(["gen_ai.evaluation.score.value", String(a.value)]);
  else if (typeof a.value === "boolean") attrs.push(["gen_ai.evaluation.score.value", a.value ? "1" : "0"]);
  if (typeof a.value === "string") attrs.push(["gen_ai.evaluation.score.label", a.value]);
  if (a.rationale) attrs.push(["gen_ai.evaluation.explanation", a.rationale]);
  if (a.spanId) attrs.push(["gavel.assessment.span_id", a.spanId]);
  if (a.error) attrs.push(["gavel.assessment.error", JSON.stringify(a.error)]);
  if (a.overrides) attrs.push(["gavel.assessment.overrides", a.overrides]);
  if (a.runId) attrs.push(["gavel.assessment.run_id", a.runId]);
  if (a.judgeVersion !== undefined) attrs.push(["gavel.assessment.judge_version", String(a.judgeVersion)]);
  if (deleted) attrs.push(["gavel.assessment.deleted", "true"]);
  return attrs;
}

/**
 * An evaluation span carrying assessment events, child of the judged span in the same
 * trace (docs/architecture.md: assessments are span events). When the judged span is not known
 * yet (the assessment arrived before its trace) the span has no parent; it is marked
 * `gavel.assessment_span` so it never counts as the trace's root.
 */
export function assessmentSpan(
  traceId: string,
  parentSpanId: string,
  events: { attrs: AttrPairs; timeNs: bigint }[],
  experimentId?: string,
  trace?: { startNs: string; status: string },
): SpanRow {
  const start = events[0]!.timeNs;
  const spanAttributes: AttrPairs = [["gavel.assessment_span", "true"]];
  if (experimentId) spanAttributes.push(["gavel.experiment_id", experimentId]);
  // The trace's start and status travel with its assessments, so the review queue orders and
  // tiers them without reading the trace list (review/review-queue.ts).
  if (trace) spanAttributes.push([ATTR_TRACE_START, trace.startNs], [ATTR_TRACE_STATUS, trace.status]);
  return {
    timestamp: start,
    traceId,
    spanId: randomBytes(8).toString("hex"),
    parentSpanId,
    traceState: "",
    spanName: "gavel.assessment",
    spanKind: "Internal",
    serviceName: "gavel",
    resourceAttributes: [["service.name", "gavel"]],
    scopeName: "gavel.collector",
    scopeVersion: "",
    spanAttributes,
    duration: 0n,
    statusCode: "Unset",
    statusMessage: "",
    events: events.map((e) => ({ timeUnixNano: e.timeNs, name: EVALUATION_EVENT, attributes: e.attrs })),
    links: [],
  };
}
