/**
 * Assessment types shared by the judge engine, the SDK and the collector.
 * Names follow MLflow's (Feedback, Expectation, AssessmentSource) so code ported
 * from MLflow reads the same.
 */
export const AssessmentSourceType = {
  HUMAN: "HUMAN",
  LLM_JUDGE: "LLM_JUDGE",
  /** MLflow's older name of LLM_JUDGE; stored as LLM_JUDGE. */
  AI_JUDGE: "LLM_JUDGE",
  CODE: "CODE",
} as const;
export type AssessmentSourceType = (typeof AssessmentSourceType)[keyof typeof AssessmentSourceType];

export interface AssessmentSource {
  sourceType: AssessmentSourceType;
  /** Who or what produced it: a reviewer's name, a model URI, a function name. */
  sourceId: string;
}

/** A value a judge or a person can give: a scalar, or (MLflow's list and dict value types) a list or an object of them. */
export type FeedbackValue = string | number | boolean | null | FeedbackValue[] | { [key: string]: FeedbackValue };

/** What one judge call cost: set by every LLM judge on its Feedback. */
export interface FeedbackUsage {
  /** Chat completions made (the first ask and any re-asks). */
  llmCalls: number;
  /** HTTP attempts in all (retries included). */
  attempts: number;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  /** Embedding requests made for the call (MemAlign judges: the query, and the index on a first call). */
  embeddingCalls?: number;
  embeddingTokens?: number;
  /** How a MemAlign judge found its examples for this call. */
  retrieval?: "embedding" | "lexical";
}

export interface Feedback {
  name: string;
  value: FeedbackValue;
  rationale?: string;
  source: AssessmentSource;
  /** Set when the judge could not produce a valid value; `value` is then null. */
  error?: { code: string; message: string };
  /** The call's cost, typed (LLM judges set it; code scorers need not). Also copied into metadata for storage. */
  usage?: FeedbackUsage;
  metadata: Record<string, unknown>;
}

export interface Expectation {
  name: string;
  value: unknown;
  source: AssessmentSource;
  metadata?: Record<string, unknown>;
}

/** Normalise a source type given in any case ("human", "Llm_Judge"); MLflow's AI_JUDGE is LLM_JUDGE. */
export function parseSourceType(raw: string): AssessmentSourceType {
  const up = raw.trim().toUpperCase();
  if (up === "HUMAN" || up === "LLM_JUDGE" || up === "CODE") return up;
  if (up === "AI_JUDGE") return "LLM_JUDGE";
  throw new Error(
    `Unknown assessment source type "${raw}". Use one of HUMAN, LLM_JUDGE (or AI_JUDGE), CODE (any case).`,
  );
}
