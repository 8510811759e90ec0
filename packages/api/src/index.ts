/**
 * The JSON the REST API answers with (docs/rest-api.md). One definition for the collector that
 * produces it and the SDK and UI that read it, so the three cannot drift apart.
 */

export type TraceStatus = "OK" | "ERROR" | "UNSET";
export type SourceType = "HUMAN" | "LLM_JUDGE" | "CODE";
export type AssessmentKind = "feedback" | "expectation";
export type RunStatus = "RUNNING" | "FINISHED" | "FAILED";
export type RunKind = "run" | "evaluation";

export interface Experiment {
  experimentId: string;
  name: string;
  createdAt: number;
  tags: Record<string, string>;
  traceCount: number;
  lastActivity: number | null;
}

export interface Run {
  runId: string;
  experimentId: string;
  name: string;
  /** "evaluation" for runs made by evaluate(). */
  kind: RunKind;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  /** Metrics stored when the run ended, e.g. evaluate()'s `support_quality/mean`. */
  metrics: Record<string, number>;
}

export interface TraceInfo {
  traceId: string;
  experimentId: string;
  runId: string | null;
  name: string;
  timestampMs: number;
  executionTimeMs: number;
  status: TraceStatus;
  serviceName: string;
  spanType: string;
  /** Parsed JSON when the stored value is JSON, else the string. */
  inputs: unknown;
  outputs: unknown;
  tags: Record<string, string>;
  metadata?: Record<string, string>;
}

export interface SpanEvent {
  name: string;
  timeUnixNano: string;
  attributes: Record<string, string>;
}

export interface Span {
  traceId: string;
  spanId: string;
  /** Empty for the root span. */
  parentSpanId: string;
  name: string;
  kind: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationMs: number;
  status: { code: TraceStatus; message: string };
  serviceName: string;
  spanType: string;
  inputs: unknown;
  outputs: unknown;
  attributes: Record<string, string>;
  resourceAttributes: Record<string, string>;
  events: SpanEvent[];
}

/** A judge's or a person's feedback, or an expectation, as stored on a trace. */
export interface Assessment {
  assessmentId: string;
  traceId: string;
  /** The judged span; absent when the assessment is on the whole trace and its root is unknown. */
  spanId?: string;
  name: string;
  kind: AssessmentKind;
  value: unknown;
  rationale?: string;
  source: { sourceType: SourceType; sourceId: string };
  error?: { code: string; message: string };
  metadata: Record<string, unknown>;
  /** False once overridden; searchAssessments() hides these unless `all`. */
  valid: boolean;
  /** The id of the assessment this one overrides. */
  overrides?: string;
  runId?: string;
  judgeVersion?: number;
  createTimeMs: number;
  /** When this version was written (an update changes it, the creation time stays). */
  lastUpdateTimeMs?: number;
}

export interface TraceJson {
  info: TraceInfo;
  data: { spans: Span[] };
  /** Valid and overridden assessments of the trace (deleted ones are gone). */
  assessments?: Assessment[];
}

/** A registered judge version. */
export interface Scorer {
  experimentId: string;
  name: string;
  version: number;
  /** The judge's toJSON(): instructions, model, value type, optimizer memory. */
  judge: Record<string, unknown>;
  /** The alignment report that produced this version, when it came from alignment. */
  report: Record<string, unknown> | null;
  alignmentRunId: string | null;
  sampling: { sampleRate: number; filter: string | null };
  createdAt: number;
}

/** `{"error": …}` bodies of 4xx/5xx answers. */
export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export type AlignmentStatus = "RUNNING" | "SUCCEEDED" | "FAILED";

export interface AlignmentProgress {
  phase: string;
  message: string;
  step?: number;
  totalSteps?: number;
  llmCalls: number;
  elapsedMs: number;
}

/** A server-side alignment job (`POST /experiments/:id/alignments`). */
export interface AlignmentRun {
  alignmentId: string;
  experimentId: string;
  judgeName: string;
  baseVersion: number;
  optimizer: string;
  status: AlignmentStatus;
  /** Live progress while RUNNING (from the collector running the job). */
  progress: AlignmentProgress | null;
  report: Record<string, unknown> | null;
  alignedJudge: Record<string, unknown> | null;
  registeredVersion: number | null;
  error: string | null;
  startedAt: number;
  endedAt: number | null;
}

/** `POST /sql`. */
export interface SqlResult {
  rows: Record<string, unknown>[];
  /** True when the row or time limit cut the result short. */
  truncated: boolean;
  meta: { name: string; type: string }[];
  rowCount: number;
  elapsedMs: number;
}
