import type { Judge } from "../judge.js";
import type { TemplateVariable } from "../template.js";
import type { JudgeSpan, JudgeTrace } from "../trace-format.js";

/** An assessment as alignment reads it: the SDK's StoredAssessment or a plain object. */
export interface LabelledAssessment {
  name: string;
  value: unknown;
  source: { sourceType: string; sourceId?: string };
  /** False once overridden; undefined counts as valid. */
  valid?: boolean;
  rationale?: string;
  /** ms since epoch; orders a reviewer's labels (newest wins). */
  createTimeMs?: number;
  kind?: "feedback" | "expectation";
  error?: unknown;
}

/** The plain form: a trace's judge fields and its assessments. */
export interface PlainLabelledTrace {
  traceId: string;
  inputs?: unknown;
  outputs?: unknown;
  expectations?: unknown;
  /** The trace itself, for judges that use {{ trace }} (also supplies inputs/outputs when absent). */
  trace?: JudgeTrace;
  assessments: readonly LabelledAssessment[];
}

/** The SDK's `Trace` (from searchTraces/getTrace), duck-typed so this package need not import the SDK. */
export interface SdkLikeTrace {
  info: { traceId: string; inputs?: unknown; outputs?: unknown };
  data?: { spans?: readonly JudgeSpan[] };
  searchAssessments(opts?: { name?: string; all?: boolean }): readonly LabelledAssessment[];
}

/** What `judge.align(traces)` accepts: SDK traces or plain labelled traces, mixed freely. */
export type AlignmentExample = PlainLabelledTrace | SdkLikeTrace;
/** Alias used in the docs. */
export type LabelledTrace = AlignmentExample;

/** One usable training example: the judge's fields and the human label. */
export interface TrainingExample {
  traceId: string;
  /** Values for the judge's template variables (only those it uses). */
  fields: Partial<Record<TemplateVariable, unknown>>;
  /** `String(value).toLowerCase().trim()` of the winning human label. */
  label: string;
  /** The human rationale that came with the winning label, if any. */
  rationale?: string;
  /** Reviewers who gave the winning label, and reviewers in all. */
  votes: number;
  reviewers: number;
}

export interface SkipCounts {
  /** Traces missing a field the judge's template needs. */
  missingField: number;
  /** Traces without a valid human label of the judge's name. */
  noLabel: number;
  /** Repeats of a trace id already seen (the first is kept). */
  duplicate: number;
}

export interface TrainingSet {
  examples: TrainingExample[];
  total: number;
  skipped: SkipCounts;
  /** Skips by missing field, e.g. { expectations: 3 }. */
  missingByField: Partial<Record<TemplateVariable, number>>;
}

export type AlignmentPhase = "prepare" | "baseline" | "optimize" | "evaluate" | "retrain" | "done";

export interface AlignmentProgress {
  phase: AlignmentPhase;
  /** Human-readable, one line. */
  message: string;
  /** Optimizer step (1-based) and the number of steps, when the optimizer has steps. */
  step?: number;
  totalSteps?: number;
  /** LLM calls so far in this alignment. */
  llmCalls: number;
  elapsedMs: number;
}

/** Token and call accounting shared by everything an alignment runs. */
export interface LlmUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

export interface OptimizerContext {
  seed: number;
  /** Judge calls in flight at most (default 16). */
  concurrency: number;
  signal: AbortSignal | undefined;
  /** Add every LLM/embedding call the optimizer makes. */
  record(usage: Partial<LlmUsage>): void;
  /** Optimizer progress; phase "optimize" is filled in. */
  progress(p: { message: string; step?: number; totalSteps?: number }): void;
}

export interface OptimizerResult {
  /** The aligned judge: same class and template variables as the input judge. */
  judge: Judge;
  /** Said in the report (e.g. "lexical retrieval: no embedding model"). */
  note?: string;
  /** Optimizer-specific facts for the report (JSON-serialisable). */
  details?: Record<string, unknown>;
  /**
   * The text the instruction diff compares with the original instructions; default the new
   * judge's instructions. MemAlign passes its instructions plus the distilled guidelines.
   */
  effectiveInstructions?: string;
}

/**
 * An alignment algorithm. Implement it to plug your own optimizer into `judge.align`:
 * `align` gets the training split (already extracted and labelled) and returns a new judge.
 */
export interface AlignmentOptimizer {
  /** Shown in the report, e.g. "SIMBA". */
  readonly name: string;
  /** Fewest usable examples the optimizer accepts; align() throws below it. Default 1. */
  readonly minExamples?: number;
  /** The optimizer's own seed, if it was given one; otherwise the align() seed is used. */
  readonly seed?: number | undefined;
  align(judge: Judge, trainset: readonly TrainingExample[], context: OptimizerContext): Promise<OptimizerResult>;
  /**
   * After the held-out measurement: the judge to return, trained on every labelled example.
   * Default: `align(judge, all, context)` from the input judge. MemAlign continues from the
   * measured judge (it only has to learn the held-out examples).
   */
  retrain?(judge: Judge, measured: Judge, all: readonly TrainingExample[], context: OptimizerContext): Promise<OptimizerResult>;
  /** Settings for the report (JSON-serialisable). */
  describe?(): Record<string, unknown>;
}

export interface ConfusionMatrix {
  /** Row and column labels, in the same order. */
  labels: string[];
  /** matrix[i][j]: examples the human labelled labels[i] and the judge labels[j]. */
  matrix: number[][];
}

export interface AgreementStats {
  /** Examples measured. */
  n: number;
  /** Share of examples where the judge's result equals the human label. */
  agreement: number;
  /** Cohen's kappa; null when undefined (both raters used a single, identical class). */
  kappa: number | null;
  confusion: ConfusionMatrix;
  /** Judge calls that failed (counted as disagreement, column "(error)"). */
  errors: number;
}

/** Judge calls by how their examples were retrieved (MemAlign judges; empty for others). */
export type RetrievalCounts = { embedding?: number; lexical?: number };

// A type alias (not an interface) so it is assignable to Record<string, unknown>, the type
// the SDK's registry gives `judge.alignmentReport`.
export type AlignmentReport = {
  optimizer: string;
  optimizerSettings?: Record<string, unknown>;
  judge: { name: string; model: string };
  seed: number;
  examples: { total: number; used: number; skipped: SkipCounts };
  split: { train: number; heldOut: number; stratified: boolean; heldOutFraction: number; note?: string };
  /** Measured on the held-out split (on all data when it was too small to split; see split.note). */
  before: AgreementStats;
  /** The judge trained on the training split only ("measured"), on the same examples as `before`. */
  after: AgreementStats;
  /**
   * Which judge align() returned: "measured", the one `after` describes; or "retrained", the same
   * optimizer run again on every labelled example (train + held out) after the measurement, so
   * no label is wasted. Its agreement on fresh data is not measured (no data is left over).
   */
  returned: "measured" | "retrained";
  retrained?: { examples: number; details?: Record<string, unknown>; note?: string };
  /** How MemAlign judges retrieved their examples in the before/after calls (only for MemAlign judges). */
  retrieval?: { before: RetrievalCounts; after: RetrievalCounts };
  /** LLM and embedding calls: optimizer (on the train split), evaluation (before/after), retrain (on everything). */
  llm: LlmUsage & { optimizer: LlmUsage; evaluation: LlmUsage; retrain: LlmUsage };
  wallTimeMs: number;
  /** Unified diff of the returned judge's instructions (MemAlign: instructions plus distilled guidelines). */
  instructionDiff: string;
  details?: Record<string, unknown>;
  note?: string;
};

export interface AlignOptions {
  onProgress?: (p: AlignmentProgress) => void;
  /** Seeds the split and (unless the optimizer has its own) the optimizer. Default 42. */
  seed?: number;
  /** Share of examples held out for the before/after report. Default 0.2; 0 reports on all data. */
  heldOutFraction?: number;
  /** Judge calls in flight at most. Default 16. */
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * After measuring on the held-out split, run the optimizer again on every labelled example and
   * return that judge (default true). false: return the measured judge, trained on the split only.
   */
  retrainOnAll?: boolean;
  /** Traces the caller left out before align() because they carry no human label (counted in the report). */
  unlabelled?: number;
}
