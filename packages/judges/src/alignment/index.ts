// Judge alignment. `judge.align()` and `judge.alignmentReport` are Judge's own (judge.ts);
// loading memalign-judge.ts (below) registers the codec that makes Judge.fromJSON restore MemAlign judges.
export { alignJudge, alignmentReportOf, DEFAULT_ALIGNMENT_SEED } from "./align.js";
export type {
  RetrievalCounts,
  AlignmentExample,
  AlignmentOptimizer,
  AlignmentPhase,
  AlignmentProgress,
  AlignmentReport,
  AlignOptions,
  AgreementStats,
  ConfusionMatrix,
  LabelledAssessment,
  LabelledTrace,
  LlmUsage,
  OptimizerContext,
  OptimizerResult,
  PlainLabelledTrace,
  SdkLikeTrace,
  SkipCounts,
  TrainingExample,
  TrainingSet,
} from "./types.js";
export { extractTrainingSet, humanLabelOf, normalizeLabel, describeSkips } from "./training-set.js";
export { agreementScore, agreementStats, cohenKappa, confusionMatrix, ERROR_LABEL } from "./metrics.js";
export { stratifiedSplit, DEFAULT_HELD_OUT_FRACTION, MIN_HELD_OUT } from "./split.js";
export type { SplitResult } from "./split.js";
export { SeededRandom, roundHalfEven, percentile } from "./rng.js";
export { mapLimit, runJudge, judgeArgs, isFatalAlignmentError, DEFAULT_CONCURRENCY } from "./run.js";
export type { JudgeRun } from "./run.js";
export { unifiedDiff } from "./diff.js";
export { buildReport, formatReport } from "./report.js";
export { SIMBAAlignmentOptimizer, SIMBA_DEFAULTS } from "./simba.js";
export type { SIMBAOptions, SIMBADetails, StepLog, CandidateLog } from "./simba.js";
export { offerFeedback, offerFeedbackMessages, OFFER_FEEDBACK_SCHEMA } from "./offer-feedback.js";
export type { Demo, Program } from "./program.js";
export { MemAlignOptimizer } from "./memalign.js";
export type { MemAlignOptions } from "./memalign.js";
export { MemAlignJudge, isMemAlignJudge } from "./memalign-judge.js";
export type { SerializedMemAlignJudge, Retrieved } from "./memalign-judge.js";
export { DEFAULT_EMBEDDING_MODEL, DEFAULT_EMBEDDING_DIMENSIONS, DEFAULT_RETRIEVAL_K } from "./memory.js";
export type { Guideline, MemoryExample, MemAlignMemory, SerializedMemAlign } from "./memory.js";
