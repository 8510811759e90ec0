/** An assessment as the REST API shows it (the SDK's StoredAssessment). */
export interface AssessmentJson {
  assessmentId: string;
  traceId: string;
  spanId?: string;
  name: string;
  kind: "feedback" | "expectation";
  value: unknown;
  rationale?: string;
  source: { sourceType: "HUMAN" | "LLM_JUDGE" | "CODE"; sourceId: string };
  error?: { code: string; message: string };
  metadata: Record<string, unknown>;
  valid: boolean;
  overrides?: string;
  runId?: string;
  judgeVersion?: number;
  createTimeMs: number;
}

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
