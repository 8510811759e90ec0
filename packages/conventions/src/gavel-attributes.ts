/**
 * Attribute and event names Gavel itself writes and reads: the contract between the SDK, the
 * judges and the collector (docs/conventions.md). One home, so a rename is one edit.
 */
export const ATTR_EXPERIMENT_ID = "gavel.experiment_id";
export const ATTR_RUN_ID = "gavel.run_id";
export const ATTR_SPAN_TYPE = "gavel.span_type";
export const ATTR_INPUTS = "gavel.inputs";
export const ATTR_OUTPUTS = "gavel.outputs";
export const ATTR_TRUNCATED = "gavel.truncated";
/** `true` on a judge's own LLM spans (never judged again). */
export const ATTR_JUDGE = "gavel.judge";
/** On the root span of traces made by evaluate() (never scored online). */
export const ATTR_EVALUATION = "gavel.evaluation";
/** On the spans that carry assessment events; never a trace root. */
export const ATTR_ASSESSMENT_SPAN = "gavel.assessment_span";
/** On an assessment span: its trace's start (unix ns) and status (OK, ERROR, UNSET), when the writer knew them. */
export const ATTR_TRACE_START = "gavel.trace.start_ns";
export const ATTR_TRACE_STATUS = "gavel.trace.status";
/** Prefixes of root-span attributes that become the trace's tags and metadata. */
export const ATTR_TAG_PREFIX = "gavel.tag.";
export const ATTR_METADATA_PREFIX = "gavel.metadata.";

export const EVALUATION_EVENT = "gen_ai.evaluation.result";
export const EV_NAME = "gen_ai.evaluation.name";
export const EV_SCORE_VALUE = "gen_ai.evaluation.score.value";
export const EV_SCORE_LABEL = "gen_ai.evaluation.score.label";
export const EV_EXPLANATION = "gen_ai.evaluation.explanation";
export const EV_ID = "gavel.assessment.id";
export const EV_KIND = "gavel.assessment.kind";
export const EV_SOURCE_TYPE = "gavel.assessment.source_type";
export const EV_SOURCE_ID = "gavel.assessment.source_id";
export const EV_VALUE = "gavel.assessment.value";
export const EV_VALID = "gavel.assessment.valid";
export const EV_DELETED = "gavel.assessment.deleted";
export const EV_OVERRIDES = "gavel.assessment.overrides";
export const EV_CREATED_MS = "gavel.assessment.created_ms";
export const EV_SPAN_ID = "gavel.assessment.span_id";
export const EV_ERROR = "gavel.assessment.error";
export const EV_METADATA = "gavel.assessment.metadata";
export const EV_RUN_ID = "gavel.assessment.run_id";
export const EV_JUDGE_VERSION = "gavel.assessment.judge_version";

/** Conventional values of `gavel.span_type` (free text; upper case by convention). */
export const SpanType = {
  CHAIN: "CHAIN",
  LLM: "LLM",
  CHAT_MODEL: "CHAT_MODEL",
  TOOL: "TOOL",
  RETRIEVER: "RETRIEVER",
  AGENT: "AGENT",
  EMBEDDING: "EMBEDDING",
  PARSER: "PARSER",
  RERANKER: "RERANKER",
  EVALUATOR: "EVALUATOR",
  UNKNOWN: "UNKNOWN",
} as const;
export type SpanType = (typeof SpanType)[keyof typeof SpanType];
