export * from "@gavel/judges";

export { init, flush, shutdown, type InitOptions, type InitResult, type InitMode } from "./init.js";
export { gavelSpanProcessor, type GavelSpanProcessorOptions } from "./processor.js";
export { trace, type TraceOptions, type TraceDecorator } from "./trace.js";
export { getLastActiveTraceId, activeRun, activeExperimentId, type ActiveRun } from "./context.js";
export {
  createExperiment,
  setExperiment,
  getExperiment,
  getExperimentByName,
  getCurrentExperimentId,
  listExperiments,
  startRun,
  endRun,
  listRuns,
  DEFAULT_EXPERIMENT_ID,
  type Experiment,
  type Run,
  type RunStatus,
  type RunHandle,
  type StartRunOptions,
} from "./experiments.js";
export { searchTraces, getTrace, type SearchTracesOptions, type TraceList } from "./search.js";
export { searchSessions, getSession, logSessionAssessment, sessionAnchor, type Session, type SessionSummary } from "./sessions.js";
export {
  Trace,
  type TraceInfo,
  type TraceSpan,
  type SpanEvent,
  type TraceStatus,
  type StoredAssessment,
  type AssessmentKind,
  type SearchAssessmentsOptions,
  type TraceJson,
} from "./trace-object.js";
export { GavelApiError, GavelConnectionError } from "./client.js";
export { SpanType } from "./attributes.js";
export {
  logAssessment,
  logFeedback,
  logExpectation,
  overrideFeedback,
  getAssessment,
  deleteAssessment,
  updateAssessment,
  type LogFeedbackOptions,
  type LogExpectationOptions,
} from "./assessments.js";
export {
  getScorer,
  listScorers,
  listScorerVersions,
  deleteScorer,
  judgeFromRecord,
  type ScorerRecord,
  type SamplingConfig,
} from "./registry.js";
export { getRun, linkTracesToRun, unlinkTracesFromRun, MAX_TRACES_PER_LINK, type RunKind } from "./experiments.js";
export {
  evaluate,
  evalAssessmentId,
  type EvaluateOptions,
  type EvaluationResult,
  type EvalRow,
  type EvalResultRow,
  type EvalScorer,
} from "./evaluate.js";
export {
  scorer,
  isCodeScorer,
  type CodeScorer,
  type CodeScorerArgs,
  type CodeScorerConfig,
  type CodeScorerResult,
} from "./code-scorer.js";
export { evaluationMetrics, scorerMetrics, percentile, type ScorerOutcomes } from "./eval-metrics.js";
