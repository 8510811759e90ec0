import type { Assessment as AssessmentJson } from "@gavel/api";

export type { AssessmentJson };

/**
 * MLflow's TraceMetadataKey.TRACE_SESSION. In an assessment's metadata it makes the assessment
 * session-level: it is about the whole session, and is stored on the session's first trace.
 */
export const SESSION_KEY = "mlflow.trace.session";

/** What a writer supplies; the store fills ids and times. */
export interface NewAssessment {
  traceId: string;
  assessmentId?: string;
  spanId?: string;
  name: string;
  kind: "feedback" | "expectation";
  value: unknown;
  rationale?: string;
  source: { sourceType: "HUMAN" | "LLM_JUDGE" | "CODE"; sourceId: string };
  error?: { code: string; message: string };
  metadata?: Record<string, unknown>;
  overrides?: string;
  runId?: string;
  judgeVersion?: number;
}
