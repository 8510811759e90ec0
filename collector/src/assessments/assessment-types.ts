import type { Assessment as AssessmentJson } from "@gavel/api";

export type { AssessmentJson };

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
